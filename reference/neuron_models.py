"""More neuron models (docs/semantics.md#charge-rules): QIF, EIF, Izhikevich, KLIF, LIAF, CUBA-LIF.

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
