"""More neuron models (docs/semantics.md#charge-rules, #more-neurons): QIF, EIF, Izhikevich, KLIF, LIAF,
CUBA-LIF; ternary IF/LIF, I-LIF, resonate-and-fire, CLIF, GLIF, and LIF for online training.

Each ``*_multistep`` runs T steps on ``x_seq [T, ...]`` and returns a dict of
sequences. They are written with :mod:`reference.autodiff` operations, so the
same code gives the forward values on arrays and, run on dual numbers, the
exact surrogate gradients (``autodiff.gradients``).

Fire and reset are shared (docs/semantics.md#firing): ``S = Θ(H - V_th)``, then
``V = H·(1 - S) + v_reset·S`` (hard) or ``V = H - V_th·S`` (soft, v_reset None);
``detach_reset`` removes the reset path from the gradient. The initial voltage is
``v_reset`` (0 for soft reset) unless given.
"""

from reference import autodiff as ad


def fire_and_reset(h, *, v_threshold=1.0, v_reset=0.0, detach_reset=False, surrogate="Sigmoid",
                   surrogate_params=None):
    """(S, V) after charge H."""
    s = ad.spike(h - v_threshold, surrogate, surrogate_params)
    sr = ad.detach(s) if detach_reset else s
    if v_reset is None:
        return s, h - v_threshold * sr
    return s, h * (1.0 - sr) + v_reset * sr


def _initial(value, like, default):
    return default + 0.0 * ad.value_of(like) if value is None else value


def qif_charge(v, x, *, tau=2.0, v_c=0.8, a0=1.0, v_rest=0.0):
    """Quadratic IF: H = V + (X + a0·(V - v_rest)·(V - v_c)) / tau."""
    return v + (x + a0 * (v - v_rest) * (v - v_c)) / tau


def eif_charge(v, x, *, tau=2.0, delta_T=1.0, theta_rh=0.8, v_rest=0.0):
    """Exponential IF: H = V + (X + v_rest - V + delta_T·exp((V - theta_rh)/delta_T)) / tau."""
    return v + (x + v_rest - v + delta_T * ad.exp((v - theta_rh) / delta_T)) / tau


def lif_charge(v, x, *, tau=2.0, decay_input=True, v_rest=0.0):
    if decay_input:
        return v + (x - (v - v_rest)) / tau
    return v - (v - v_rest) / tau + x


def single_state_multistep(charge, x_seq, v_init=None, **firing):
    """Any neuron whose only state is V, with ``charge(v, x) -> H``. Returns spikes, h_seq, v_seq."""
    v = _initial(v_init, x_seq[0], 0.0 if firing.get("v_reset", 0.0) is None else firing.get("v_reset", 0.0))
    spikes, hs, vs = [], [], []
    for t in range(len(ad.value_of(x_seq))):
        h = charge(v, x_seq[t])
        s, v = fire_and_reset(h, **firing)
        spikes.append(s)
        hs.append(h)
        vs.append(v)
    return {"spikes": ad.stack(spikes), "h_seq": ad.stack(hs), "v_seq": ad.stack(vs)}


def izhikevich_multistep(x_seq, v_init=None, w_init=None, *, tau=2.0, v_c=0.8, a0=1.0, v_rest=-0.1, w_rest=0.0,
                         tau_w=2.0, a=0.0, b=0.0, **firing):
    """Izhikevich (docs/semantics.md#izhikevich), recovery variable w (initially w_rest):

        H = V + (X + a0·(V - v_rest)·(V - v_c) - w) / tau
        w ← w + (a·(H - v_rest) - w) / tau_w          (after the charge, with V = H)
        fire and reset V; then w ← w + b·S
    """
    v = _initial(v_init, x_seq[0], 0.0 if firing.get("v_reset", 0.0) is None else firing.get("v_reset", 0.0))
    w = _initial(w_init, x_seq[0], w_rest)
    spikes, vs, ws = [], [], []
    for t in range(len(ad.value_of(x_seq))):
        h = v + (x_seq[t] + a0 * (v - v_rest) * (v - v_c) - w) / tau
        w = w + (a * (h - v_rest) - w) / tau_w
        s, v = fire_and_reset(h, **firing)
        w = w + b * s
        spikes.append(s)
        vs.append(v)
        ws.append(w)
    return {"spikes": ad.stack(spikes), "v_seq": ad.stack(vs), "w_seq": ad.stack(ws)}


def klif_multistep(x_seq, k, v_init=None, *, tau=2.0, decay_input=True, scale_reset=False, **firing):
    """KLIF: LIF charge, then F = relu(k·H) (k learnable, init 1); S = Θ(F - V_th). Reset on F;
    with ``scale_reset`` the result is divided by k (hard: ``(F/k)(1 - S) + v_reset·S``)."""
    v_reset = firing.get("v_reset", 0.0)
    v_rest = 0.0 if v_reset is None else v_reset
    v = _initial(v_init, x_seq[0], v_rest)
    spikes, vs = [], []
    for t in range(len(ad.value_of(x_seq))):
        f = ad.relu(k * lif_charge(v, x_seq[t], tau=tau, decay_input=decay_input, v_rest=v_rest))
        s, v_after = fire_and_reset(f, **firing)
        if scale_reset:
            sr = ad.detach(s) if firing.get("detach_reset", False) else s
            v = (f - firing.get("v_threshold", 1.0) * sr) / k if v_reset is None else f / k * (1.0 - sr) + v_reset * sr
        else:
            v = v_after
        spikes.append(s)
        vs.append(v)
    return {"spikes": ad.stack(spikes), "v_seq": ad.stack(vs)}


def liaf_multistep(x_seq, v_init=None, *, act=ad.relu, threshold_related=True, tau=2.0, decay_input=True,
                   **firing):
    """LIAF: LIF dynamics (spikes reset V) but the output is analog: ``act(H - V_th)`` when
    ``threshold_related``, else ``act(H)``, taken after the charge and before the reset."""
    v_reset = firing.get("v_reset", 0.0)
    v_rest = 0.0 if v_reset is None else v_reset
    v = _initial(v_init, x_seq[0], v_rest)
    outputs, vs = [], []
    for t in range(len(ad.value_of(x_seq))):
        h = lif_charge(v, x_seq[t], tau=tau, decay_input=decay_input, v_rest=v_rest)
        outputs.append(act(h - firing.get("v_threshold", 1.0)) if threshold_related else act(h))
        _, v = fire_and_reset(h, **firing)
        vs.append(v)
    return {"outputs": ad.stack(outputs), "v_seq": ad.stack(vs)}


def cuba_lif_multistep(x_seq, v_init=None, c_init=None, *, c_decay=0.5, v_decay=0.75, **firing):
    """Current-based LIF: ``I ← I·c_decay + X``, ``H = V·v_decay + I``, then fire and reset.
    Defaults as SpikingJelly's CUBALIFNode: v_threshold 0.5, surrogate Rect."""
    firing = {"v_threshold": 0.5, "surrogate": "Rect", **firing}
    v_reset = firing.get("v_reset", 0.0)
    v = _initial(v_init, x_seq[0], 0.0 if v_reset is None else v_reset)
    c = _initial(c_init, x_seq[0], 0.0)
    spikes, vs, cs = [], [], []
    for t in range(len(ad.value_of(x_seq))):
        c = c * c_decay + x_seq[t]
        h = v * v_decay + c
        s, v = fire_and_reset(h, **firing)
        spikes.append(s)
        vs.append(v)
        cs.append(c)
    return {"spikes": ad.stack(spikes), "v_seq": ad.stack(vs), "c_seq": ad.stack(cs)}


def ternary_multistep(charge, x_seq, v_init=None, *, v_threshold=1.0, v_reset=0.0, detach_reset=False,
                      surrogate="Sigmoid", surrogate_params=None):
    """Ternary spikes (docs/semantics.md#more-neurons) after any single-state ``charge(v, x) -> H``:
    ``S = Θ(H - V_th) - Θ(-H - V_th)`` ∈ {-1, 0, 1}; soft reset ``V = H - V_th·S``; hard reset
    ``V = H·(1 - F) + v_reset·F`` with ``F = Θ(H - V_th) + Θ(-H - V_th)`` (a spike of either sign)."""
    v = _initial(v_init, x_seq[0], 0.0 if v_reset is None else v_reset)
    spikes, vs = [], []
    for t in range(len(ad.value_of(x_seq))):
        h = charge(v, x_seq[t])
        positive = ad.spike(h - v_threshold, surrogate, surrogate_params)
        negative = ad.spike(-h - v_threshold, surrogate, surrogate_params)
        s = positive - negative
        fired = s if v_reset is None else positive + negative
        fired = ad.detach(fired) if detach_reset else fired
        v = h - v_threshold * fired if v_reset is None else h * (1.0 - fired) + v_reset * fired
        spikes.append(s)
        vs.append(v)
    return {"spikes": ad.stack(spikes), "v_seq": ad.stack(vs)}


def ilif_multistep(x_seq, v_init=None, *, tau=4.0 / 3.0, v_threshold=1.0, max_count=4, grad_min=0.0,
                   grad_max=None, detach_reset=False):
    """I-LIF: ``H = V - V/tau + X``; count ``C = round(clip(H/V_th, 0, D))`` (gradient 1 on
    ``[grad_min, grad_max]``, default ``[0, D]``); soft reset ``V = H - C·V_th``."""
    grad_max = float(max_count) if grad_max is None else grad_max
    v = _initial(v_init, x_seq[0], 0.0)
    counts, vs = [], []
    for t in range(len(ad.value_of(x_seq))):
        h = lif_charge(v, x_seq[t], tau=tau, decay_input=False)
        c = ad.spike_count(h / v_threshold, max_count, grad_min, grad_max)
        v = h - (ad.detach(c) if detach_reset else c) * v_threshold
        counts.append(c)
        vs.append(v)
    return {"spikes": ad.stack(counts), "v_seq": ad.stack(vs)}


def raf_multistep(x_seq, v_init=None, u_init=None, *, b=-0.2, omega=1.0, dt=1.0, **firing):
    """Resonate-and-fire: the damped rotation of (u, V) over dt, input added to u:
    ``u' = e^{b·dt}(u·cos ωdt - V·sin ωdt) + X``, ``H = e^{b·dt}(u·sin ωdt + V·cos ωdt)``; then fire
    on H and reset V (u is never reset)."""
    import math
    decay, cos, sin = math.exp(b * dt), math.cos(omega * dt), math.sin(omega * dt)
    v_reset = firing.get("v_reset", 0.0)
    v = _initial(v_init, x_seq[0], 0.0 if v_reset is None else v_reset)
    u = _initial(u_init, x_seq[0], 0.0)
    spikes, vs, us = [], [], []
    for t in range(len(ad.value_of(x_seq))):
        u_next = decay * (u * cos - v * sin) + x_seq[t]
        h = decay * (u * sin + v * cos)
        s, v = fire_and_reset(h, **firing)
        u = u_next
        spikes.append(s)
        vs.append(v)
        us.append(u)
    return {"spikes": ad.stack(spikes), "v_seq": ad.stack(vs), "u_seq": ad.stack(us)}


def clif_multistep(x_seq, v_init=None, m_init=None, *, tau=2.0, v_threshold=1.0, surrogate="Rect",
                   surrogate_params=None):
    """Complementary LIF: ``H = V - V/tau + X``; ``S = Θ(H - V_th)``; ``M = M·σ(H/tau) + S``;
    ``V = H - S·(V_th + σ(M))`` (σ the logistic sigmoid)."""
    v = _initial(v_init, x_seq[0], 0.0)
    m = _initial(m_init, x_seq[0], 0.0)
    spikes, vs, ms = [], [], []
    for t in range(len(ad.value_of(x_seq))):
        h = lif_charge(v, x_seq[t], tau=tau, decay_input=False)
        s = ad.spike(h - v_threshold, surrogate, surrogate_params)
        m = m * ad.sigmoid(h / tau) + s
        v = h - s * (v_threshold + ad.sigmoid(m))
        spikes.append(s)
        vs.append(v)
        ms.append(m)
    return {"spikes": ad.stack(spikes), "v_seq": ad.stack(vs), "m_seq": ad.stack(ms)}


def gated_lif_multistep(x_seq, v_init=None, *, alpha, beta, gamma, tau, v_threshold, linear_decay, v_subreset,
                        conduct, surrogate="Sigmoid", surrogate_params=None):
    """Gated LIF (GLIF) with its gates already in (0, 1) (the module stores logits) and ``conduct`` one
    value per step. From the previous spike S (0 at first):
    ``V' = L·V - (1-α)·linear_decay + X·(1 - β(1 - conduct_t)) - L·V·γ·S - (1-γ)·v_subreset·S`` with
    ``L = 1 - α(1 - tau)``; then ``S = Θ(V' - V_th)``. V is never reset otherwise."""
    v = _initial(v_init, x_seq[0], 0.0)
    s = 0.0 * ad.value_of(x_seq[0])
    spikes, vs = [], []
    leak = 1 - alpha * (1 - tau)
    for t in range(len(ad.value_of(x_seq))):
        current = x_seq[t] * (1 - beta * (1 - conduct[t]))
        v_next = leak * v - (1 - alpha) * linear_decay + current
        v = v_next - leak * v * gamma * s - (1 - gamma) * v_subreset * s
        s = ad.spike(v - v_threshold, surrogate, surrogate_params)
        spikes.append(s)
        vs.append(v)
    return {"spikes": ad.stack(spikes), "v_seq": ad.stack(vs)}


def online_lif_multistep(x_seq, v_init=None, *, tau=2.0, decay_input=True, trace_decay=None, **firing):
    """LIF for online training (OTTT, SLTT): the forward of LIF, with the carried voltage detached at
    every step (no gradient through time); and the presynaptic trace ``a = a·(1 - 1/tau) + S``
    (no gradient) that OTTT passes on."""
    v_reset = firing.get("v_reset", 0.0)
    v_rest = 0.0 if v_reset is None else v_reset
    v = _initial(v_init, x_seq[0], v_rest)
    trace = 0.0 * ad.value_of(x_seq[0])
    spikes, vs, traces = [], [], []
    for t in range(len(ad.value_of(x_seq))):
        h = lif_charge(ad.detach(v), x_seq[t], tau=tau, decay_input=decay_input, v_rest=v_rest)
        s, v = fire_and_reset(h, **firing)
        trace = trace * (1.0 - 1.0 / tau) + ad.value_of(s)
        spikes.append(s)
        vs.append(v)
        traces.append(trace)
    return {"spikes": ad.stack(spikes), "v_seq": ad.stack(vs), "traces": ad.stack(traces)}


def _sum_over_batch(a, batch):
    total = a[0]
    for n in range(1, batch):
        total = total + a[n]
    return total


def mpbn_lif_multistep(x_seq, v_init=None, *, tau=2.0, decay_input=False, v_threshold=1.0, v_reset=0.0,
                       detach_reset=False, gamma, beta, running_mean=None, running_var=None, eps=1e-5,
                       training=True, surrogate="Sigmoid", surrogate_params=None):
    """MPBN-LIF on ``x_seq [T, N, C]`` (per-channel BatchNorm of the charged potential, before firing): in
    training the batch's mean and biased variance over N; otherwise ``running_mean``/``running_var``. The
    normalised potential fires against ``V_th`` and is carried on (reset as LIF)."""
    v_rest = 0.0 if v_reset is None else v_reset
    v = _initial(v_init, x_seq[0], v_rest)
    batch = ad.value_of(x_seq).shape[1]
    spikes, vs = [], []
    for t in range(len(ad.value_of(x_seq))):
        h = lif_charge(v, x_seq[t], tau=tau, decay_input=decay_input, v_rest=v_rest)
        if training:
            mean = _sum_over_batch(h, batch) / batch
            var = _sum_over_batch((h - mean) ** 2, batch) / batch
        else:
            mean, var = running_mean, running_var
        h = (h - mean) / (var + eps) ** 0.5 * gamma + beta
        s, v = fire_and_reset(h, v_threshold=v_threshold, v_reset=v_reset, detach_reset=detach_reset,
                              surrogate=surrogate, surrogate_params=surrogate_params)
        spikes.append(s)
        vs.append(v)
    return {"spikes": ad.stack(spikes), "v_seq": ad.stack(vs)}


def _population_feedback(spike, weight, bias, act_dim, pop_dim):
    """The grouped Conv1d of ILC on one sample's spikes ``[act_dim·pop_dim]``: output ``a·pop + j`` gets
    ``Σ_k weight[a·pop + j][k]·spike[a·pop + k] + bias[a·pop + j]``."""
    out = []
    for a in range(act_dim):
        for j in range(pop_dim):
            o = a * pop_dim + j
            total = bias[o]
            for k in range(pop_dim):
                total = total + weight[o][k] * spike[a * pop_dim + k]
            out.append(total)
    return ad.stack(out)


def actor_population_multistep(x_seq, *, charge="if", v_decay=0.75, c_decay=0.5, v_threshold=1.0, v_reset=0.0,
                               feedback=None, noise_v=None, noise_s=None, sigma_v=0.0, sigma_s=0.0,
                               surrogate="Rect", surrogate_params=None):
    """The actor-network neurons on one sample, ``x_seq [T, M]``: ``charge`` 'if' (``V + X``), 'lif'
    (``V·v_decay + X``) or 'cuba' (``I = I·c_decay + X``, ``V·v_decay + I``); states from rest. Noise: ``X +=
    sigma_v·noise_v[t]`` and, after the reset, ``S += sigma_s·noise_s[t]``. ``feedback = (weight [M, pop],
    bias [M], act_dim, pop_dim)`` adds the inter-layer connection of the (noisy) spikes to the next input."""
    v = 0.0 * ad.value_of(x_seq[0]) + (0.0 if v_reset is None else v_reset)
    c = 0.0 * ad.value_of(x_seq[0])
    spikes, carry = [], None
    steps = len(ad.value_of(x_seq))
    for t in range(steps):
        x = x_seq[t] if carry is None else x_seq[t] + carry
        if noise_v is not None:
            x = x + sigma_v * noise_v[t]
        if charge == "cuba":
            c = c * c_decay + x
            v = v * v_decay + c
        elif charge == "lif":
            v = v * v_decay + x
        else:
            v = v + x
        s = ad.spike(v - v_threshold, surrogate, surrogate_params)
        v = v - s * v_threshold if v_reset is None else (1.0 - s) * v + s * v_reset
        if noise_s is not None:
            s = s + sigma_s * noise_s[t]
        spikes.append(s)
        carry = None if feedback is None or t + 1 == steps else _population_feedback(s, *feedback)
    return {"spikes": ad.stack(spikes)}
