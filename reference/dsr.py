"""Differentiation on spike representation (docs/semantics.md#dsr): forward values and the gradient
rule, in float64 loops. The gradient is *defined* here (it is not the derivative of the forward)."""

import math

import numpy as np


def _beta(tau, delta_t):
    return math.exp(-delta_t / tau)


def forward(x_seq, *, v_threshold, alpha, leak=None):
    """Outputs [T, ...]. ``leak=None``: IF, ``V += X``; ``leak=(tau, delta_t)``: ``V = β·V + (1-β)·X``
    with ``β = e^{-delta_t/tau}``. Spike ``S = V_th`` where ``V >= alpha·V_th`` (else 0), ``V -= S``;
    the LIF output is ``S / delta_t``."""
    x_seq = np.asarray(x_seq, dtype=np.float64)
    v = np.zeros(x_seq.shape[1:])
    out = np.empty_like(x_seq)
    for t in range(x_seq.shape[0]):
        v = v + x_seq[t] if leak is None else _beta(*leak) * v + (1 - _beta(*leak)) * x_seq[t]
        s = np.where(v >= alpha * v_threshold, v_threshold, 0.0)
        v = v - s
        out[t] = s if leak is None else s / leak[1]
    return out


def rate(seq, leak=None):
    """The spike representation: the mean over T (IF), or the average weighted by
    ``w_i = e^{-(T - i)·delta_t/tau}``, i = 1..T (LIF)."""
    seq = np.asarray(seq, dtype=np.float64)
    steps = seq.shape[0]
    if leak is None:
        return seq.mean(0)
    tau, delta_t = leak
    w = np.array([math.exp(-(steps - i) * delta_t / tau) for i in range(1, steps + 1)])
    return np.tensordot(w, seq, axes=1) / w.sum()


def backward(x_seq, grad_seq, *, v_threshold, leak=None, grad_scaling=1.0):
    """(grad_x [T, ...], grad_v_threshold). With r = rate(x), g = T·rate(grad):
    IF — ``grad_x[t] = g/T`` where ``0 <= r <= V_th``; ``grad_V_th = Σ g`` over ``r > V_th``.
    LIF — with ``U = V_th·tau/delta_t``: ``grad_x[t] = g/(tau·T)`` where ``0 < r < U``;
    ``grad_V_th = delta_t · Σ g`` over ``r > U``. Both threshold gradients times ``grad_scaling``."""
    x_seq, grad_seq = np.asarray(x_seq, dtype=np.float64), np.asarray(grad_seq, dtype=np.float64)
    steps = x_seq.shape[0]
    r, g = rate(x_seq, leak), rate(grad_seq, leak) * steps
    if leak is None:
        passes, clipped, scale, th_scale = (r >= 0) & (r <= v_threshold), r > v_threshold, 1.0, 1.0
    else:
        tau, delta_t = leak
        upper = v_threshold / delta_t * tau
        passes, clipped, scale, th_scale = (r > 0) & (r < upper), r > upper, 1.0 / tau, delta_t
    grad_x = np.broadcast_to(np.where(passes, g * scale, 0.0) / steps, x_seq.shape).copy()
    return grad_x, float(np.sum(np.where(clipped, g, 0.0)) * th_scale * grad_scaling)
