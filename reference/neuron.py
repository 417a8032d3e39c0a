"""Multi-step IF / LIF / ParametricLIF neurons: forward and exact BPTT (docs/semantics.md#neurons,
docs/semantics.md#bptt).

Time-major arrays: ``x_seq`` is ``[T, ...]``; the state ``v`` has the shape of
one step. float64 throughout.

One step::

    H[t] = f(V[t-1], X[t])                       charge (below)
    S[t] = Θ(H[t] - V_th)                        fire (>=)
    V[t] = H[t]·(1 - S[t]) + v_reset·S[t]        hard reset (v_reset is a float)
    V[t] = H[t] - V_th·S[t]                      soft reset (v_reset is None)

Charge, with Vr = v_reset (0 for soft reset)::

    IF:                   H = V + X
    LIF, decay_input:     H = V + (X - (V - Vr)) / tau
    LIF, not decay_input: H = V - (V - Vr) / tau + X
    ParametricLIF:        as LIF with 1/tau = k = sigmoid(w)

``V[-1] = v_init`` (``v_reset``, or 0 for soft reset, unless carried over).
"""

import math

import numpy as np

from reference import surrogate as sg

NEURONS = ("if", "lif", "plif")


def sigmoid(w):
    """k = 1 / (1 + exp(-w)): ParametricLIF's 1/tau."""
    return 1.0 / (1.0 + math.exp(-w))


def charge(neuron, v, x, *, v_rest, tau=2.0, w=0.0, decay_input=True):
    """H = f(V, X) for one step."""
    if neuron == "if":
        return v + x
    if neuron == "lif":
        if decay_input:
            return v + (x - (v - v_rest)) / tau
        return v - (v - v_rest) / tau + x
    if neuron == "plif":
        k = sigmoid(w)
        if decay_input:
            return v + (x - (v - v_rest)) * k
        return v - (v - v_rest) * k + x
    raise ValueError(f"neuron: expected one of {NEURONS}, got {neuron!r}")


def charge_partials(neuron, *, tau=2.0, w=0.0, decay_input=True):
    """(dH/dV, dH/dX): constants for these three neurons."""
    if neuron == "if":
        return 1.0, 1.0
    k = 1.0 / tau if neuron == "lif" else sigmoid(w)
    return 1.0 - k, (k if decay_input else 1.0)


def reset(h, s, *, v_threshold, v_reset):
    """V from H and S: hard reset to v_reset, or soft reset (v_reset None) by V_th."""
    if v_reset is None:
        return h - v_threshold * s
    return h * (1.0 - s) + v_reset * s


def multistep_forward(x_seq, v_init=None, *, neuron="lif", v_threshold=1.0, v_reset=0.0, tau=2.0, w=0.0,
                      decay_input=True):
    """Runs T steps. Returns a dict with ``spikes``, ``h_seq`` and ``v_seq`` (post-reset), all [T, ...]."""
    x_seq = np.asarray(x_seq, dtype=np.float64)
    v_rest = 0.0 if v_reset is None else v_reset
    v = np.full(x_seq.shape[1:], v_rest) if v_init is None else np.array(v_init, dtype=np.float64)
    spikes, h_seq, v_seq = (np.empty_like(x_seq) for _ in range(3))
    for t in range(x_seq.shape[0]):
        h = charge(neuron, v, x_seq[t], v_rest=v_rest, tau=tau, w=w, decay_input=decay_input)
        s = sg.heaviside(h - v_threshold)
        v = reset(h, s, v_threshold=v_threshold, v_reset=v_reset)
        spikes[t], h_seq[t], v_seq[t] = s, h, v
    return {"spikes": spikes, "h_seq": h_seq, "v_seq": v_seq}


def multistep_backward(x_seq, v_init=None, grad_spikes=None, grad_v_seq=None, *, neuron="lif", v_threshold=1.0,
                       v_reset=0.0, tau=2.0, w=0.0, decay_input=True, detach_reset=False, surrogate="Sigmoid",
                       surrogate_params=None):
    """Exact BPTT through :func:`multistep_forward` (docs/semantics.md#bptt).

    With D = 1 if detach_reset else 0 and sg' evaluated at H[t] - V_th::

        dV/dH = 1 - S[t] + (Vr - H[t])·sg'·(1 - D)          hard reset
        dV/dH = 1 - V_th·sg'·(1 - D)                          soft reset
        gH[t] = gS[t]·sg' + (gV[t] + gH[t+1]·dH/dV)·dV/dH     (gH[T] = 0)
        gX[t] = gH[t]·dH/dX,    g_v_init = gH[0]·dH/dV
        PLIF:  g_w = Σ_t,n gH[t]·dH/dk · k(1 - k),
               dH/dk = X - (V[t-1] - Vr) (decay_input) or -(V[t-1] - Vr)

    ``grad_v_seq`` is the gradient arriving at the post-reset voltages (0 if
    None). Returns a dict with ``grad_x``, ``grad_v_init`` and ``grad_w``.
    """
    x_seq = np.asarray(x_seq, dtype=np.float64)
    v_rest = 0.0 if v_reset is None else v_reset
    v_start = np.full(x_seq.shape[1:], v_rest) if v_init is None else np.array(v_init, dtype=np.float64)
    fwd = multistep_forward(x_seq, v_start, neuron=neuron, v_threshold=v_threshold, v_reset=v_reset, tau=tau, w=w,
                            decay_input=decay_input)
    h_seq, spikes, v_seq = fwd["h_seq"], fwd["spikes"], fwd["v_seq"]
    g_s = np.zeros_like(x_seq) if grad_spikes is None else np.asarray(grad_spikes, dtype=np.float64)
    g_v = np.zeros_like(x_seq) if grad_v_seq is None else np.asarray(grad_v_seq, dtype=np.float64)
    dh_dv, dh_dx = charge_partials(neuron, tau=tau, w=w, decay_input=decay_input)
    keep = 0.0 if detach_reset else 1.0
    params = surrogate_params or {}

    grad_x = np.empty_like(x_seq)
    grad_k = 0.0
    carry = np.zeros(x_seq.shape[1:])  # gH[t+1]·dH[t+1]/dV[t]
    for t in reversed(range(x_seq.shape[0])):
        h, s = h_seq[t], spikes[t]
        sgp = sg.derivative(surrogate, h - v_threshold, **params)
        if v_reset is None:
            dv_dh = 1.0 - v_threshold * sgp * keep
        else:
            dv_dh = 1.0 - s + (v_reset - h) * sgp * keep
        g_h = g_s[t] * sgp + (g_v[t] + carry) * dv_dh
        grad_x[t] = g_h * dh_dx
        carry = g_h * dh_dv
        if neuron == "plif":
            v_prev = v_start if t == 0 else v_seq[t - 1]
            dh_dk = x_seq[t] - (v_prev - v_rest) if decay_input else -(v_prev - v_rest)
            grad_k += float(np.sum(g_h * dh_dk))
    k = sigmoid(w)
    grad_w = grad_k * k * (1.0 - k) if neuron == "plif" else 0.0
    return {"grad_x": grad_x, "grad_v_init": carry, "grad_w": grad_w}
