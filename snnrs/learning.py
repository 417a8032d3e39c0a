"""Unsupervised plasticity: a trace-based STDP learner for Linear and Conv2d synapses.

The learner watches a synapse's input spikes and the following neuron's output
spikes (forward hooks). ``step()`` turns what it saw into a weight change
(``reference/plasticity.py`` defines it) and, with ``on_grad=True``, writes
``-Δw`` into ``weight.grad`` so any torch optimizer applies it (SGD with lr η
adds η·Δw); combine with surrogate-gradient losses freely.
"""

from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import nn

__all__ = ["STDPLearner"]


def _identity(w):
    return w


class STDPLearner:
    """STDP for ``synapse`` (``nn.Linear`` or ``nn.Conv2d``) followed by spiking neurons ``sn``.

    Args:
        step_mode: 's' if the network runs one step per call, 'm' for ``[T, N, ...]`` calls.
        synapse, sn: the synaptic layer and the neuron layer after it.
        tau_pre, tau_post: trace time constants (> 1).
        f_pre, f_post: weight dependence of potentiation and depression (identity by default).
    """

    def __init__(self, step_mode: str, synapse: nn.Module, sn: nn.Module, tau_pre: float, tau_post: float,
                 f_pre: Callable = _identity, f_post: Callable = _identity):
        if step_mode not in ("s", "m"):
            raise ValueError(f"step_mode: expected 's' or 'm', got {step_mode!r}")
        if not isinstance(synapse, (nn.Linear, nn.Conv2d)):
            raise TypeError(f"synapse: expected nn.Linear or nn.Conv2d, got {type(synapse).__name__}")
        if isinstance(synapse, nn.Conv2d) and (
                synapse.groups != 1 or synapse.dilation != (1, 1) or isinstance(synapse.padding, str)
                or synapse.stride[0] != synapse.stride[1] or synapse.padding[0] != synapse.padding[1]):
            raise ValueError("synapse: Conv2d STDP needs groups=1, dilation=1 and equal numeric stride/padding")
        for name, tau in (("tau_pre", tau_pre), ("tau_post", tau_post)):
            if not tau > 1:
                raise ValueError(f"{name}: expected a time constant > 1, got {tau}")
        self.step_mode, self.synapse, self.sn = step_mode, synapse, sn
        self.tau_pre, self.tau_post, self.f_pre, self.f_post = tau_pre, tau_post, f_pre, f_post
        self.in_spikes, self.out_spikes = [], []
        self.trace_pre = self.trace_post = None
        self._enabled = True
        self._hooks = [
            synapse.register_forward_pre_hook(lambda m, inputs: self._record(self.in_spikes, inputs[0])),
            sn.register_forward_hook(lambda m, inputs, output: self._record(self.out_spikes, output)),
        ]

    def _record(self, records, value):
        if self._enabled:
            records.append(value.detach())

    def enable(self):
        self._enabled = True

    def disable(self):
        self._enabled = False

    def reset(self):
        """Forgets traces and unprocessed spikes (call between sequences, like reset_net)."""
        self.in_spikes.clear()
        self.out_spikes.clear()
        self.trace_pre = self.trace_post = None

    def remove_hooks(self):
        for h in self._hooks:
            h.remove()
        self._hooks.clear()

    def _steps(self, records):
        for r in records:
            yield from (r if self.step_mode == "m" else [r])

    def step(self, on_grad: bool = True, scale: float = 1.0) -> torch.Tensor:
        """Δw for every recorded step (traces carried on), times ``scale``; with ``on_grad`` it is
        subtracted from ``weight.grad``. Consumes the recorded spikes."""
        if len(self.in_spikes) != len(self.out_spikes):
            raise RuntimeError("the synapse and the neuron layer were called a different number of times")
        weight = self.synapse.weight.detach()
        delta = torch.zeros_like(weight)
        for s_pre, s_post in zip(self._steps(self.in_spikes), self._steps(self.out_spikes)):
            delta += self._delta(weight, s_pre.to(weight.dtype), s_post.to(weight.dtype))
        self.in_spikes.clear()
        self.out_spikes.clear()
        delta = delta * scale
        if on_grad:
            w = self.synapse.weight
            w.grad = -delta if w.grad is None else w.grad - delta
        return delta

    def _traces(self, s_pre, s_post):
        if self.trace_pre is None or self.trace_pre.shape != s_pre.shape:
            self.trace_pre = torch.zeros_like(s_pre)
        if self.trace_post is None or self.trace_post.shape != s_post.shape:
            self.trace_post = torch.zeros_like(s_post)
        self.trace_pre = self.trace_pre - self.trace_pre / self.tau_pre + s_pre
        self.trace_post = self.trace_post - self.trace_post / self.tau_post + s_post
        return self.trace_pre, self.trace_post

    def _delta(self, weight, s_pre, s_post):
        trace_pre, trace_post = self._traces(s_pre, s_post)
        if isinstance(self.synapse, nn.Linear):
            ltp = s_post.flatten(0, -2).t() @ trace_pre.flatten(0, -2)
            ltd = trace_post.flatten(0, -2).t() @ s_pre.flatten(0, -2)
        else:
            conv = self.synapse
            unfold = lambda a: F.unfold(a, conv.kernel_size, padding=conv.padding, stride=conv.stride)
            pre_s, pre_t = unfold(s_pre), unfold(trace_pre)  # [N, C_in·kh·kw, L]
            post_s, post_t = s_post.flatten(2), trace_post.flatten(2)  # [N, C_out, L]
            ltp = torch.einsum("nol,nil->oi", post_s, pre_t).view_as(weight)
            ltd = torch.einsum("nol,nil->oi", post_t, pre_s).view_as(weight)
        return self.f_pre(weight) * ltp - self.f_post(weight) * ltd
