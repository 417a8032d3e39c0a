"""Membrane-potential batch normalisation (MPBN, Guo et al., ICCV 2023; ``docs/semantics.md#mpbn``).

After the charge, the membrane potential goes through a BatchNorm (``vbn``, over ``[N, C]`` or
``[N, C, H, W]``) before it fires; the normalised potential is also the state carried on. For inference
:meth:`MPBNBaseNode.re_parameterize_v_threshold` folds the BatchNorm into a per-channel threshold
``(V_th - β)·sqrt(σ² + eps)/γ + μ`` on the raw potential, which then fires exactly where the normalised
one would (γ > 0); with ``running_stats`` the folded statistics keep following the data in training (their
momentum decaying by ``bn_decay_momentum`` down to ``bn_min_momentum``), with ``normalize_residual`` the
potential that did not fire is carried on normalised. ``learnable_vth`` instead learns the threshold
``exp(a)`` per channel. Not fused in the engine (the normalisation sits inside the time loop).
"""

from collections.abc import Callable

import torch
from torch import nn
from torch.nn import functional as F

from snnrs import surrogate
from snnrs.functional import lif_charge, voltage_reset
from snnrs.neuron.base import BaseNode, time_constant

__all__ = ["MPBNBaseNode", "MPBNLIFNode"]


class MPBNBaseNode(BaseNode):
    """The normalisation and threshold folding; a subclass gives the charge (:class:`MPBNLIFNode`)."""

    def __init__(self, v_threshold: float = 1.0, v_reset: float | None = 0.0,
                 surrogate_function: Callable = surrogate.Sigmoid(), detach_reset: bool = False, step_mode: str = "s",
                 store_v_seq: bool = False, mpbn: bool = True, out_features: int | None = None,
                 out_channels: int | None = None, learnable_vth: bool = False, bn_momentum: float = 0.1,
                 bn_decay_momentum: float = 0.94, bn_min_momentum: float = 0.005, backend: str = "engine"):
        super().__init__(v_threshold, v_reset, surrogate_function, detach_reset, step_mode, store_v_seq, backend)
        if (out_features is None) == (out_channels is None):
            raise ValueError("out_features, out_channels: give exactly one (the BatchNorm's feature count)")
        features = out_channels if out_channels is not None else out_features
        if not mpbn:
            self.vbn = nn.Identity()
        else:
            self.vbn = nn.BatchNorm2d(features) if out_channels is not None else nn.BatchNorm1d(features)
        self.register_buffer("mu", None)
        self.register_buffer("sigma2", None)
        self.gamma = self.beta = self.eps = None
        self.fold_bn = self.normalize_residual = self.running_stats = False
        self.bn_momentum, self.bn_decay_momentum, self.bn_min_momentum = bn_momentum, bn_decay_momentum, bn_min_momentum
        self.learnable_vth = bool(learnable_vth)
        if self.learnable_vth:
            self.a = nn.Parameter(torch.zeros(features))

    def re_parameterize_v_threshold(self, normalize_residual: bool = False, running_stats: bool = False):
        """Folds ``vbn`` into the threshold (see the module docstring) and removes it; a learnable
        threshold becomes fixed at ``exp(a)``."""
        if isinstance(self.vbn, nn.Identity):
            return
        self.fold_bn = True
        if self.learnable_vth:
            self.v_threshold = torch.exp(self.a.detach())
            del self.a
            self.learnable_vth = False
        self.normalize_residual, self.running_stats = normalize_residual, running_stats
        self.mu, self.sigma2 = self.vbn.running_mean, self.vbn.running_var
        self.gamma, self.beta, self.eps = self.vbn.weight, self.vbn.bias, self.vbn.eps
        self.vbn = nn.Identity()

    def _normalise(self, h: torch.Tensor) -> torch.Tensor:
        bn = self.vbn
        if isinstance(bn, nn.Identity):
            return h
        factor = 0.0 if bn.momentum is None else bn.momentum
        if self.training:
            bn.num_batches_tracked.add_(1)
            if bn.momentum is None:
                factor = 1.0 / float(bn.num_batches_tracked)
        return F.batch_norm(h, bn.running_mean, bn.running_var, bn.weight, bn.bias, self.training, factor, bn.eps)

    def _follow_statistics(self, h: torch.Tensor):
        """Folded statistics in training: the batch's, or (``running_stats``) a running average of them."""
        if not (self.fold_bn and not self.learnable_vth and self.training) or (h.dim() == 2 and h.shape[0] == 1):
            return
        dims = 0 if h.dim() == 2 else (0, 2, 3)
        batch_mu = h.mean(dim=dims).detach()
        batch_sigma2 = h.var(dim=dims, unbiased=True).detach()
        if self.running_stats:
            m = self.bn_momentum
            self.mu = self.mu.detach() * (1 - m) + batch_mu * m
            self.sigma2 = self.sigma2.detach() * (1 - m) + batch_sigma2 * m
            self.bn_momentum = max(m * self.bn_decay_momentum, self.bn_min_momentum)
        else:
            self.mu, self.sigma2 = batch_mu, batch_sigma2

    def _threshold(self, h: torch.Tensor):
        shape = (1, -1) if h.dim() == 2 else (1, -1, 1, 1)
        if self.fold_bn and not self.learnable_vth:
            folded = (self.v_threshold - self.beta) * torch.sqrt(self.sigma2 + self.eps) / self.gamma + self.mu
            return folded.view(shape)
        if self.learnable_vth:
            return torch.exp(self.a).view(shape)
        return self.v_threshold

    def _fire_normalised(self, h: torch.Tensor) -> tuple:
        """(spike, V) from the charged potential ``h``: normalise, fire, reset."""
        h = self._normalise(h)
        self._follow_statistics(h)
        below = h - self._threshold(h)
        spike = self.surrogate_function(below)
        if self.normalize_residual:
            shape = (1, -1) if h.dim() == 2 else (1, -1, 1, 1)
            sigma = torch.sqrt(self.sigma2 + self.eps).view(shape)
            normalised = (h - self.mu.view(shape)) / sigma * self.gamma.view(shape) + self.beta.view(shape)
            h = torch.where(below <= 0, normalised, h)
        return spike, voltage_reset(h, spike, self.v_threshold, self.v_reset, self.detach_reset)


class MPBNLIFNode(MPBNBaseNode):
    """LIF charge (``docs/semantics.md#lif``; ``decay_input=False`` by default, as SpikingJelly's), then MPBN."""

    def __init__(self, tau: float = 2.0, decay_input: bool = False, v_threshold: float = 1.0,
                 v_reset: float | None = 0.0, surrogate_function: Callable = surrogate.Sigmoid(),
                 detach_reset: bool = False, step_mode: str = "s", store_v_seq: bool = False, mpbn: bool = True,
                 out_features: int | None = None, out_channels: int | None = None, learnable_vth: bool = False,
                 bn_momentum: float = 0.1, bn_decay_momentum: float = 0.94, bn_min_momentum: float = 0.005,
                 backend: str = "engine"):
        super().__init__(v_threshold, v_reset, surrogate_function, detach_reset, step_mode, store_v_seq, mpbn,
                         out_features, out_channels, learnable_vth, bn_momentum, bn_decay_momentum, bn_min_momentum,
                         backend)
        self.tau = time_constant("tau", tau)
        self.decay_input = bool(decay_input)

    def extra_repr(self):
        return super().extra_repr() + f", tau={self.tau}, decay_input={self.decay_input}"

    def single_step_functional_forward(self, inputs, states, **kwargs):
        h = lif_charge(inputs[0], states[0], self.tau, self.decay_input, self.v_reset)
        spike, v = self._fire_normalised(h)
        return (spike,), (v, *states[1:])
