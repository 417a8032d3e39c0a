"""Plasticity learners: trace-based STDP for Linear, Conv1d and Conv2d synapses, and reward-modulated STDP
(MSTDP, MSTDPET) for Linear synapses (``docs/semantics.md#stdp``).

A learner watches a synapse's input spikes and the following neuron's output spikes (forward hooks).
``step()`` turns what it saw into a weight change (``reference/plasticity.py`` defines STDP's; the STDP learner
computes it with matrix products over unfolded windows, any padding and stride; the reward-modulated learners use
the rules of :mod:`snnrs.learning_rules`) and, with ``on_grad=True``, writes ``-Δw`` into ``weight.grad`` so any
torch optimizer applies it (SGD with lr η adds η·Δw); combine with surrogate-gradient losses freely. With nothing
recorded since the last step, ``step()`` returns None and leaves ``weight.grad`` alone.
"""

from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import nn

from snnrs import learning_rules
from snnrs.learning_rules import _identity

__all__ = ["STDPLearner", "MSTDPLearner", "MSTDPETLearner"]


class _SpikeRecorder:
    """Records what enters ``synapse`` and what leaves ``sn`` on every call, until consumed."""

    def __init__(self, synapse: nn.Module, sn: nn.Module):
        self.synapse, self.sn = synapse, sn
        self.in_spikes, self.out_spikes = [], []
        self._enabled = True
        self._hooks = [
            synapse.register_forward_pre_hook(lambda m, inputs: self._record(self.in_spikes, inputs[0])),
            sn.register_forward_hook(lambda m, inputs, output: self._record(self.out_spikes, output)),
        ]

    def _record(self, records, value):
        if self._enabled:
            records.append(value.detach())

    def enable(self):
        if not self._hooks:
            raise RuntimeError(f"{type(self).__name__} is closed; create a new learner to resume")
        self._enabled = True

    def disable(self):
        self._enabled = False

    def _forget_spikes(self):
        self.in_spikes.clear()
        self.out_spikes.clear()

    def remove_hooks(self):
        for h in self._hooks:
            h.remove()
        self._hooks.clear()

    def close(self):
        """Stops watching the network for good (SpikingJelly's name) and forgets all state."""
        self.remove_hooks()
        self.reset()

    def _write_gradient(self, delta):
        w = self.synapse.weight
        w.grad = -delta if w.grad is None else w.grad - delta


class STDPLearner(_SpikeRecorder):
    """STDP for ``synapse`` (``nn.Linear``, ``nn.Conv1d`` or ``nn.Conv2d``) followed by spiking neurons ``sn``.

    Args:
        step_mode: 's' if the network runs one step per call, 'm' for ``[T, N, ...]`` calls.
        synapse, sn: the synaptic layer and the neuron layer after it.
        tau_pre, tau_post: trace time constants (>= 1).
        f_pre, f_post: weight dependence of the change a presynaptic spike triggers (depression) and of
            the change a postsynaptic spike triggers (potentiation); identity by default.
    """

    def __init__(self, step_mode: str, synapse: nn.Module, sn: nn.Module, tau_pre: float, tau_post: float,
                 f_pre: Callable = _identity, f_post: Callable = _identity):
        if step_mode not in ("s", "m"):
            raise ValueError(f"step_mode: expected 's' or 'm', got {step_mode!r}")
        if not isinstance(synapse, (nn.Linear, nn.Conv1d, nn.Conv2d)):
            raise TypeError(f"synapse: expected nn.Linear, nn.Conv1d or nn.Conv2d, got {type(synapse).__name__}")
        if isinstance(synapse, (nn.Conv1d, nn.Conv2d)) and (
                synapse.groups != 1 or any(d != 1 for d in synapse.dilation) or isinstance(synapse.padding, str)
                or len(set(synapse.stride)) != 1 or len(set(synapse.padding)) != 1):
            raise ValueError("synapse: convolution STDP needs groups=1, dilation=1 and equal numeric stride/padding")
        learning_rules._check_time_constants(False, tau_pre=tau_pre, tau_post=tau_post)
        super().__init__(synapse, sn)
        self.step_mode = step_mode
        self.tau_pre, self.tau_post, self.f_pre, self.f_post = tau_pre, tau_post, f_pre, f_post
        self.trace_pre = self.trace_post = None

    def reset(self):
        """Forgets traces and unprocessed spikes (call between sequences, like reset_net)."""
        self._forget_spikes()
        self.trace_pre = self.trace_post = None

    def _steps(self, records):
        for r in records:
            yield from (r if self.step_mode == "m" else [r])

    def step(self, on_grad: bool = True, scale: float = 1.0) -> torch.Tensor | None:
        """Δw for every recorded step (traces carried on), times ``scale``; with ``on_grad`` it is
        subtracted from ``weight.grad``. Consumes the recorded spikes; None if there were none."""
        if len(self.in_spikes) != len(self.out_spikes):
            raise RuntimeError("the synapse and the neuron layer were called a different number of times")
        if not self.in_spikes:
            return None
        weight = self.synapse.weight.detach()
        delta = torch.zeros_like(weight)
        for s_pre, s_post in zip(self._steps(self.in_spikes), self._steps(self.out_spikes)):
            delta += self._delta(weight, s_pre.to(weight.dtype), s_post.to(weight.dtype))
        self._forget_spikes()
        delta = delta * scale
        if on_grad:
            self._write_gradient(delta)
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
            if conv.padding_mode != "zeros" and any(conv.padding):
                # The layer's own padding (circular, reflect, replicate) of the spikes, and so of their trace.
                pad = conv._reversed_padding_repeated_twice
                s_pre, trace_pre = (F.pad(a, pad, mode=conv.padding_mode) for a in (s_pre, trace_pre))
                padding = (0,) * len(conv.padding)
            else:
                padding = conv.padding
            if isinstance(conv, nn.Conv1d):  # as a 2-d convolution of height 1
                kernel, padding, stride = (1, *conv.kernel_size), (0, *padding), (1, *conv.stride)
                s_pre, trace_pre = s_pre.unsqueeze(2), trace_pre.unsqueeze(2)
            else:
                kernel, stride = conv.kernel_size, conv.stride
            unfold = lambda a: F.unfold(a, kernel, padding=padding, stride=stride)
            pre_s, pre_t = unfold(s_pre), unfold(trace_pre)  # [N, C_in·kernel, L]
            post_s, post_t = s_post.flatten(2), trace_post.flatten(2)  # [N, C_out, L]
            ltp = torch.einsum("nol,nil->oi", post_s, pre_t).view_as(weight)
            ltd = torch.einsum("nol,nil->oi", post_t, pre_s).view_as(weight)
        return self.f_post(weight) * ltp - self.f_pre(weight) * ltd


class _RewardLearner(_SpikeRecorder):
    """One recorded step per ``step(reward)``; Linear synapses, single-step networks."""

    def __init__(self, step_mode, synapse, sn, tau_pre, tau_post, f_pre, f_post):
        if step_mode != "s":
            raise ValueError(f"step_mode: reward-modulated learners take one step per call ('s'), got {step_mode!r}")
        if not isinstance(synapse, nn.Linear):
            raise TypeError(f"synapse: expected nn.Linear, got {type(synapse).__name__}")
        learning_rules._check_time_constants(True, tau_pre=tau_pre, tau_post=tau_post)
        super().__init__(synapse, sn)
        self.step_mode = step_mode
        self.tau_pre, self.tau_post, self.f_pre, self.f_post = tau_pre, tau_post, f_pre, f_post
        self.trace_pre = self.trace_post = self.eligibility = None

    def reset(self):
        self._forget_spikes()
        self.trace_pre = self.trace_post = self.eligibility = None

    def _one_step(self):
        """(pre, post) of the step to learn from, or None if the network has not run since."""
        if len(self.in_spikes) != len(self.out_spikes):
            raise RuntimeError("the synapse and the neuron layer were called a different number of times")
        if not self.in_spikes:
            return None
        if len(self.in_spikes) != 1:
            raise RuntimeError(f"step(reward) learns from one network step; {len(self.in_spikes)} were recorded")
        pair = self.in_spikes[0], self.out_spikes[0]
        self._forget_spikes()
        return pair

    def _traces_for(self, pre, post):
        def ready(trace, spikes):
            return trace if isinstance(trace, torch.Tensor) else torch.zeros_like(spikes)
        return ready(self.trace_pre, pre), ready(self.trace_post, post)

    def _finish(self, delta, on_grad, scale):
        delta = delta * scale
        if on_grad:
            self._write_gradient(delta)
        return delta


class MSTDPLearner(_RewardLearner):
    """Reward-modulated STDP (Florian 2007) for a batch: each sample keeps its own eligibility
    ``[N, out, in]``; ``step(reward)`` (a scalar or one reward per sample) changes the weight by
    ``Σ_n reward[n]·eligibility[n]`` with the eligibility of the *previous* step (the reward judges the
    activity that led to it), then takes this step's. Exponential traces (``tau`` > 0)."""

    def __init__(self, step_mode: str, synapse: nn.Linear, sn: nn.Module, tau_pre: float, tau_post: float,
                 f_pre: Callable = _identity, f_post: Callable = _identity):
        super().__init__(step_mode, synapse, sn, tau_pre, tau_post, f_pre, f_post)

    @torch.no_grad()
    def step(self, reward, on_grad: bool = True, scale: float = 1.0) -> torch.Tensor | None:
        weight = self.synapse.weight.detach()
        reward = torch.as_tensor(reward, dtype=weight.dtype, device=weight.device)
        batch = self.in_spikes[0].shape[0] if self.in_spikes else None
        if reward.dim() != 0 and batch is not None and tuple(reward.shape) != (batch,):
            raise ValueError(f"reward: expected a scalar or one value per sample ({batch}), got shape "
                             f"{tuple(reward.shape)}")
        pair = self._one_step()
        if pair is None:
            return None
        pre, post = pair
        eligibility, (self.trace_pre, self.trace_post) = learning_rules.mstdp_linear_step(
            pre, post, self._traces_for(pre, post), weight, tau_pre=self.tau_pre, tau_post=self.tau_post,
            f_pre=self.f_pre, f_post=self.f_post)
        previous = torch.zeros_like(eligibility) if self.eligibility is None else self.eligibility
        if previous.shape != eligibility.shape:
            raise ValueError("the batch size changed: reset() the learner between differently sized batches")
        delta = (reward.reshape(-1, 1, 1) * previous).sum(0)
        self.eligibility = eligibility
        return self._finish(delta, on_grad, scale)


class MSTDPETLearner(_RewardLearner):
    """Reward-modulated STDP with an eligibility trace (Florian 2007), one sample (``[in]`` spikes):
    ``z ← z·e^{-1/tau_trace} + ζ_prev/tau_trace``, ``Δw = reward·z`` with ζ the previous step's STDP pairing."""

    def __init__(self, step_mode: str, synapse: nn.Linear, sn: nn.Module, tau_pre: float, tau_post: float,
                 tau_trace: float, f_pre: Callable = _identity, f_post: Callable = _identity):
        super().__init__(step_mode, synapse, sn, tau_pre, tau_post, f_pre, f_post)
        learning_rules._check_time_constants(True, tau_trace=tau_trace)
        self.tau_trace = tau_trace
        self.trace_e = None

    def reset(self):
        super().reset()
        self.trace_e = None

    @torch.no_grad()
    def step(self, reward, on_grad: bool = True, scale: float = 1.0) -> torch.Tensor | None:
        weight = self.synapse.weight.detach()
        reward = torch.as_tensor(reward, dtype=weight.dtype, device=weight.device)
        if reward.dim() != 0:
            raise ValueError(f"reward: expected a scalar (one sample), got shape {tuple(reward.shape)}")
        pair = self._one_step()
        if pair is None:
            return None
        pre, post = pair
        eligibility, (self.trace_pre, self.trace_post) = learning_rules.mstdpet_linear_step(
            pre, post, self._traces_for(pre, post), weight, tau_pre=self.tau_pre, tau_post=self.tau_post,
            f_pre=self.f_pre, f_post=self.f_post)
        previous = torch.zeros_like(eligibility) if self.eligibility is None else self.eligibility
        trace_e = torch.zeros_like(eligibility) if self.trace_e is None else self.trace_e
        delta, self.trace_e = learning_rules.mstdpet_reward_step(reward, previous, trace_e, tau_trace=self.tau_trace)
        self.eligibility = eligibility
        return self._finish(delta, on_grad, scale)
