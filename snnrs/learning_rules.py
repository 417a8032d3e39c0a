"""Stateless plasticity rules with SpikingJelly 2.0's names and arguments (``functional.stdp_linear_step``,
…; ``docs/semantics.md#stdp``). Each takes one step's pre- and postsynaptic spikes, the traces
``(trace_pre, trace_post)`` from the step before, and the weight, and returns the change and the new
traces. The learners of :mod:`snnrs.learning` are built on them.

- STDP (``stdp_*_step``): traces ``a ← a - a/tau + s`` (tau >= 1); ``Δw = f_post(w)·(post spike ×
  pre trace) - f_pre(w)·(post trace × pre spike)``, summed over the batch (and positions for a conv).
- Reward-modulated STDP (Florian 2007): traces ``a ← a·e^{-1/tau} + s`` (tau > 0); the same pairing
  kept per sample as the eligibility ``[N, out, in]`` (MSTDP) or for one sample ``[out, in]`` (MSTDPET,
  whose eligibility trace ``z ← z·e^{-1/tau_z} + ζ/tau_z`` times the reward is the change).
"""

import math
from collections.abc import Callable

import torch

__all__ = ["stdp_linear_step", "stdp_conv1d_step", "stdp_conv2d_step", "mstdp_linear_step", "mstdpet_linear_step",
           "mstdpet_reward_step"]


def _identity(w):
    return w


def _check_time_constants(exponential: bool, **taus):
    for name, tau in taus.items():
        if not (math.isfinite(tau) and tau > 0 and (exponential or tau >= 1)):
            raise ValueError(f"{name}: expected a finite time constant {'> 0' if exponential else '>= 1'} (in steps), "
                             f"got {tau}")


def _check_shapes(in_spike, out_spike, trace, weight, ndim):
    if in_spike.dim() != ndim or out_spike.dim() != ndim:
        raise ValueError(f"in_spike, out_spike: expected {ndim} dimensions, got {in_spike.dim()} and {out_spike.dim()}")
    channel = 0 if ndim == 1 else 1
    if in_spike.shape[channel] != weight.shape[1] or out_spike.shape[channel] != weight.shape[0]:
        raise ValueError(f"in_spike, out_spike: {in_spike.shape[channel]} inputs and {out_spike.shape[channel]} "
                         f"outputs do not match the weight {tuple(weight.shape)}")
    if ndim > 1 and in_spike.shape[0] != out_spike.shape[0]:
        raise ValueError(f"in_spike, out_spike: batch sizes differ ({in_spike.shape[0]} and {out_spike.shape[0]})")
    for name, spike, state in (("trace_pre", in_spike, trace[0]), ("trace_post", out_spike, trace[1])):
        if state.shape != spike.shape:
            raise ValueError(f"trace: {name} has shape {tuple(state.shape)}, the spikes {tuple(spike.shape)} "
                             "(reset the learner after changing the batch size)")


def _linear_traces(trace, in_spike, out_spike, tau_pre, tau_post):
    trace_pre, trace_post = trace
    return trace_pre - trace_pre / tau_pre + in_spike, trace_post - trace_post / tau_post + out_spike


def _exponential_traces(trace, in_spike, out_spike, tau_pre, tau_post):
    trace_pre, trace_post = trace
    return trace_pre * math.exp(-1 / tau_pre) + in_spike, trace_post * math.exp(-1 / tau_post) + out_spike


def stdp_linear_step(in_spike, out_spike, trace, weight, *, tau_pre: float, tau_post: float,
                     f_pre: Callable = _identity, f_post: Callable = _identity):
    """``in_spike [N, in]``, ``out_spike [N, out]``, ``weight [out, in]`` → ``(Δw, (trace_pre, trace_post))``."""
    _check_time_constants(False, tau_pre=tau_pre, tau_post=tau_post)
    _check_shapes(in_spike, out_spike, trace, weight, 2)
    trace_pre, trace_post = _linear_traces(trace, in_spike, out_spike, tau_pre, tau_post)
    depression = -f_pre(weight) * (trace_post.unsqueeze(2) * in_spike.unsqueeze(1)).sum(0)
    potentiation = f_post(weight) * (trace_pre.unsqueeze(1) * out_spike.unsqueeze(2)).sum(0)
    return depression + potentiation, (trace_pre, trace_post)


def _stdp_conv_step(in_spike, out_spike, trace, weight, stride, tau_pre, tau_post, f_pre, f_post):
    """Conv STDP without padding: kernel tap k pairs output position p with input position p·stride + k."""
    spatial = weight.dim() - 2
    _check_time_constants(False, tau_pre=tau_pre, tau_post=tau_post)
    _check_shapes(in_spike, out_spike, trace, weight, spatial + 2)
    stride = tuple(stride)
    if len(stride) != spatial or any(s <= 0 for s in stride):
        raise ValueError(f"stride: expected {spatial} positive values, got {stride}")
    expected = tuple((size - k) // s + 1 for size, k, s in zip(in_spike.shape[2:], weight.shape[2:], stride))
    if tuple(out_spike.shape[2:]) != expected:
        raise ValueError(f"out_spike: spatial shape {tuple(out_spike.shape[2:])}, expected {expected} for the kernel "
                         f"{tuple(weight.shape[2:])} and stride {stride} (no padding)")
    trace_pre, trace_post = _linear_traces(trace, in_spike, out_spike, tau_pre, tau_post)
    delta = torch.zeros_like(weight)
    summed = (0, *range(3, 3 + spatial))  # of [N, out, in, *positions]: the batch and the positions
    for tap in torch.cartesian_prod(*(torch.arange(k) for k in weight.shape[2:])).reshape(-1, spatial).tolist():
        window = (slice(None), slice(None)) + tuple(
            slice(k, size - kernel + 1 + k, s) for k, size, kernel, s in zip(tap, in_spike.shape[2:],
                                                                               weight.shape[2:], stride))
        pre_spike, pre_trace = in_spike[window], trace_pre[window]
        w = weight[(slice(None), slice(None)) + tuple(tap)]
        depression = -f_pre(w) * (trace_post.unsqueeze(2) * pre_spike.unsqueeze(1)).sum(summed)
        potentiation = f_post(w) * (pre_trace.unsqueeze(1) * out_spike.unsqueeze(2)).sum(summed)
        delta[(slice(None), slice(None)) + tuple(tap)] += depression + potentiation
    return delta, (trace_pre, trace_post)


def stdp_conv1d_step(in_spike, out_spike, trace, weight, *, stride, tau_pre: float, tau_post: float,
                     f_pre: Callable = _identity, f_post: Callable = _identity):
    """``in_spike [N, C_in, L]``, ``out_spike [N, C_out, L']``, ``weight [C_out, C_in, k]`` (no padding)."""
    return _stdp_conv_step(in_spike, out_spike, trace, weight, stride, tau_pre, tau_post, f_pre, f_post)


def stdp_conv2d_step(in_spike, out_spike, trace, weight, *, stride, tau_pre: float, tau_post: float,
                     f_pre: Callable = _identity, f_post: Callable = _identity):
    """``in_spike [N, C_in, H, W]``, ``out_spike [N, C_out, H', W']``, ``weight [C_out, C_in, kh, kw]``
    (no padding)."""
    return _stdp_conv_step(in_spike, out_spike, trace, weight, stride, tau_pre, tau_post, f_pre, f_post)


def mstdp_linear_step(in_spike, out_spike, trace, weight, *, tau_pre: float, tau_post: float,
                      f_pre: Callable = _identity, f_post: Callable = _identity):
    """The per-sample eligibility ``[N, out, in]`` of MSTDP and the new traces."""
    _check_time_constants(True, tau_pre=tau_pre, tau_post=tau_post)
    _check_shapes(in_spike, out_spike, trace, weight, 2)
    trace_pre, trace_post = _exponential_traces(trace, in_spike, out_spike, tau_pre, tau_post)
    eligibility = (f_post(weight) * (trace_pre.unsqueeze(1) * out_spike.unsqueeze(2))
                   - f_pre(weight) * (trace_post.unsqueeze(2) * in_spike.unsqueeze(1)))
    return eligibility, (trace_pre, trace_post)


def mstdpet_linear_step(in_spike, out_spike, trace, weight, *, tau_pre: float, tau_post: float,
                        f_pre: Callable = _identity, f_post: Callable = _identity):
    """One sample (``in_spike [in]``, ``out_spike [out]``): the eligibility ``[out, in]`` and the traces."""
    _check_time_constants(True, tau_pre=tau_pre, tau_post=tau_post)
    _check_shapes(in_spike, out_spike, trace, weight, 1)
    trace_pre, trace_post = _exponential_traces(trace, in_spike, out_spike, tau_pre, tau_post)
    eligibility = f_post(weight) * torch.outer(out_spike, trace_pre) - f_pre(weight) * torch.outer(trace_post, in_spike)
    return eligibility, (trace_pre, trace_post)


def mstdpet_reward_step(reward, eligibility, trace_e, *, tau_trace: float):
    """``z ← z·e^{-1/tau_trace} + eligibility/tau_trace``; returns ``(reward·z, z)``."""
    _check_time_constants(True, tau_trace=tau_trace)
    trace_e = trace_e * math.exp(-1 / tau_trace) + eligibility / tau_trace
    return reward * trace_e, trace_e
