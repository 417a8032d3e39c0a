"""One step of each neuron written in SpikingJelly 2.0's functional style, as a stateless function of
its input and states (``docs/semantics.md#more-neurons``). The neuron classes call these; users can too,
through ``snnrs.functional`` (same names and argument order as ``spikingjelly.activation_based.functional``).

Each returns the spike (or spike count) and the new states; nothing is stored.
"""

import math

import torch

from snnrs.functional import lif_charge, voltage_reset

__all__ = ["ternary_if_step", "ternary_lif_step", "ilif_step", "ilif_multi_step", "raf_charge", "raf_step", "clif_step",
           "gated_lif_step"]


def _ternary_fire_and_reset(h, v_threshold, v_reset, surrogate_function, detach_reset):
    """Spikes in {-1, 0, +1}: +1 at ``H >= V_th``, -1 at ``H <= -V_th``. Soft reset moves V towards 0 by
    ``V_th·S``; hard reset sets V to ``v_reset`` after a spike of either sign."""
    positive = surrogate_function(h - v_threshold)
    negative = surrogate_function(-h - v_threshold)
    spike = positive - negative
    fired = spike if v_reset is None else positive + negative
    return spike, voltage_reset(h, fired, v_threshold, v_reset, detach_reset)


def ternary_if_step(x, v, v_threshold, v_reset, surrogate_function, detach_reset=False):
    """Ternary IF (Guo et al. 2024): ``H = V + X``, then ternary firing."""
    return _ternary_fire_and_reset(v + x, v_threshold, v_reset, surrogate_function, detach_reset)


def ternary_lif_step(x, v, tau, decay_input, v_threshold, v_reset, surrogate_function, detach_reset=False):
    """Ternary LIF: LIF charge, then ternary firing."""
    h = lif_charge(x, v, tau, decay_input, v_reset)
    return _ternary_fire_and_reset(h, v_threshold, v_reset, surrogate_function, detach_reset)


def ilif_step(x, v, tau, v_threshold, surrogate_function, detach_reset=False):
    """Integer LIF (I-LIF): LIF charge without input decay, a spike count
    ``surrogate_function(H / V_th)`` (a :class:`~snnrs.surrogate.MultiLevelSpikeCount`), soft reset by
    ``count · V_th``."""
    h = lif_charge(x, v, tau, False, None)
    count = surrogate_function(h / v_threshold)
    return count, voltage_reset(h, count, v_threshold, None, detach_reset)


def ilif_multi_step(x_seq, v, tau=2.0, v_threshold=1.0, surrogate_function=None, detach_reset=False,
                    store_v_seq=False):
    """:func:`ilif_step` over ``x_seq [T, ...]``: ``(counts, v_last, v_seq or None)``."""
    if surrogate_function is None:
        from snnrs.surrogate import MultiLevelSpikeCount
        surrogate_function = MultiLevelSpikeCount(4)
    counts, vs = [], []
    for x in x_seq:
        count, v = ilif_step(x, v, tau, v_threshold, surrogate_function, detach_reset)
        counts.append(count)
        vs.append(v)
    return torch.stack(counts), v, torch.stack(vs) if store_v_seq else None


def raf_charge(x, u, v, b, omega, dt):
    """The resonate-and-fire charge, ``(H, u')``: the exact update of the damped oscillator
    ``d(u + iv)/dt = (b + iω)(u + iv)`` over ``dt``, plus the input on ``u``:
    ``u' = e^{b·dt}(u·cos ωdt - v·sin ωdt) + X``, ``H = e^{b·dt}(u·sin ωdt + v·cos ωdt)``
    (constants in float64, in this operation order, as the engine's kernel)."""
    decay = math.exp(b * dt)
    cos, sin = math.cos(omega * dt), math.sin(omega * dt)
    return decay * (u * sin + v * cos), decay * (u * cos - v * sin) + x


def raf_step(x, u, v, b, omega, dt, v_threshold, v_reset, surrogate_function, detach_reset=False):
    """Resonate-and-fire (Izhikevich 2001): :func:`raf_charge`, then fire on H and reset V (u is not
    reset). Returns ``(spike, u', V)``."""
    h, u_next = raf_charge(x, u, v, b, omega, dt)
    spike = surrogate_function(h - v_threshold)
    return spike, u_next, voltage_reset(h, spike, v_threshold, v_reset, detach_reset)


def clif_step(x, v, m, tau, v_threshold, spike_function):
    """Complementary LIF (Huang et al. 2024): LIF charge ``H = V - V/tau + X``; the complementary
    potential ``M = M·sigmoid(H/tau) + S``; soft reset by ``S·(V_th + sigmoid(M))``.
    Returns ``(spike, V, M)``."""
    h = v - (v - 0.0) / tau + x
    decayed = m * torch.sigmoid(h / tau)
    spike = spike_function(h - v_threshold)
    m_next = decayed + spike
    return spike, h - spike * (v_threshold + torch.sigmoid(m_next)), m_next


def gated_lif_step(x, v, spike, alpha, beta, gamma, tau, v_threshold, linear_decay, v_subreset, conduct,
                   surrogate_function):
    """Gated LIF (GLIF, Yao et al. 2022) from the previous step's spike: gates ``alpha`` (exponential vs
    linear leak), ``beta`` (input conductance), ``gamma`` (multiplicative vs subtractive reset), all in
    (0, 1). Returns ``(spike, V)``; the reset acts on the next step."""
    current = x * (1 - beta * (1 - conduct))
    leak = 1 - alpha * (1 - tau)
    v_next = leak * v - (1 - alpha) * linear_decay + current
    v_next = v_next - leak * v * gamma * spike - (1 - gamma) * v_subreset * spike
    return surrogate_function(v_next - v_threshold), v_next
