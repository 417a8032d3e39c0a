"""Normalisation layers made for spiking networks (``docs/semantics.md#layers``), with SpikingJelly's names
and arguments:

- :class:`NeuNorm` (Wu et al. 2019): subtracts a decaying per-pixel summary of all channels' spikes;
- ``TemporalEffectiveBatchNorm{1,2,3}d`` (TEBN, Duan et al. 2022): BatchNorm over ``T·N`` followed by a
  learnable scale per time step;
- ``BatchNormThroughTime{1,2,3}d`` (BNTT, Kim & Panda 2021): a separate BatchNorm (weight only, no bias)
  for each time step.
"""

import math

import torch
from torch import nn

from snnrs import functional
from snnrs.base import MemoryModule, MultiStepModule

__all__ = ["NeuNorm", "neunorm_step", "TemporalEffectiveBatchNorm1d", "TemporalEffectiveBatchNorm2d",
           "TemporalEffectiveBatchNorm3d", "BatchNormThroughTime1d", "BatchNormThroughTime2d",
           "BatchNormThroughTime3d"]


def neunorm_step(in_spikes, state, weight, momentum: float, input_scale: float):
    """One NeuNorm step on ``[N, C, H, W]`` spikes: ``state = momentum·state + input_scale·Σ_C spikes``
    (``[N, 1, H, W]``); output ``spikes - weight·state``. Returns ``(output, state)``."""
    state = momentum * state + input_scale * in_spikes.sum(dim=1, keepdim=True)
    return in_spikes - weight * state, state


class NeuNorm(MemoryModule):
    """``k`` is the state's decay; the channel sum enters scaled by ``(1 - k)/in_channels²``. The weight
    ``[C or 1, H, W]`` is learnable (Kaiming-uniform initialised). Memory ``x``: the state."""

    def __init__(self, in_channels: int, height: int, width: int, k: float = 0.9,
                 shared_across_channels: bool = False, step_mode: str = "s"):
        super().__init__()
        self.step_mode = step_mode
        self.register_memory("x", 0.0)
        self.k0 = float(k)
        self.k1 = (1.0 - self.k0) / in_channels ** 2
        self.w = nn.Parameter(torch.empty(1 if shared_across_channels else in_channels, height, width))
        nn.init.kaiming_uniform_(self.w, a=math.sqrt(5))

    def extra_repr(self):
        return f"shape={tuple(self.w.shape)}, step_mode={self.step_mode}"

    def single_step_forward(self, x: torch.Tensor) -> torch.Tensor:
        state = self.x
        if not isinstance(state, torch.Tensor) or state.shape != x[:, :1].shape:
            state = torch.full_like(x[:, :1], float(state) if not isinstance(state, torch.Tensor) else 0.0)
        out, self.x = neunorm_step(x, state, self.w, self.k0, self.k1)
        return out

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.step_mode == "s":
            return self.single_step_forward(x)
        return torch.stack([self.single_step_forward(step) for step in x])


def _temporal_effective(bn_class, input_dims: tuple):
    """TEBN on ``bn_class``: ``[T, N, C, ...]`` in, BatchNorm on ``[T·N, C, ...]``, times ``scale[t]``."""

    class TemporalEffectiveBatchNorm(bn_class, MultiStepModule):
        def __init__(self, T: int, *args, **kwargs):
            super().__init__(*args, **kwargs)
            self.step_mode = "m"
            self.scale = nn.Parameter(torch.ones([T]))

        def _check_input_dim(self, input):
            if input.dim() not in input_dims:
                raise ValueError(f"x_seq: expected [T, N, C, ...] with {tuple(d + 1 for d in input_dims)} dimensions, "
                                 f"got {input.dim() + 1} ([T·N, ...] shape {tuple(input.shape)})")

        def forward(self, x_seq: torch.Tensor) -> torch.Tensor:
            if self.scale.shape[0] != x_seq.shape[0]:
                raise ValueError(f"x_seq: built for T={self.scale.shape[0]} steps, got {x_seq.shape[0]}")
            y_seq = functional.seq_to_ann_forward(x_seq, super().forward)
            return y_seq * self.scale.view(-1, *([1] * (y_seq.dim() - 1)))

    name = "TemporalEffective" + bn_class.__name__
    TemporalEffectiveBatchNorm.__name__ = TemporalEffectiveBatchNorm.__qualname__ = name
    TemporalEffectiveBatchNorm.__module__ = "snnrs.layer"
    TemporalEffectiveBatchNorm.__doc__ = (f"TEBN: ``torch.nn.{bn_class.__name__}`` over ``[T·N, ...]``, output of step "
                                          "t multiplied by the learnable ``scale[t]`` (T given first).")
    return TemporalEffectiveBatchNorm


TemporalEffectiveBatchNorm1d = _temporal_effective(nn.BatchNorm1d, (2, 3))
TemporalEffectiveBatchNorm2d = _temporal_effective(nn.BatchNorm2d, (4,))
TemporalEffectiveBatchNorm3d = _temporal_effective(nn.BatchNorm3d, (5,))


def _through_time(bn_class):
    class BatchNormThroughTime(MemoryModule):
        def __init__(self, T: int, num_features: int, eps: float = 1e-5, momentum: float = 0.1, affine: bool = True,
                     track_running_stats: bool = True, step_mode: str = "s"):
            super().__init__()
            self.bn_list = nn.ModuleList(bn_class(num_features, eps, momentum, affine, track_running_stats)
                                         for _ in range(T))
            for bn in self.bn_list:
                bn.bias = None  # BNTT learns a scale per step, no shift
            self.T = T
            self.step_mode = step_mode
            self.register_memory("t", -1)

        def single_step_forward(self, x: torch.Tensor) -> torch.Tensor:
            t = self.t + 1
            if t >= self.T:
                raise ValueError(f"{type(self).__name__}: step {t + 1} of a layer built for T={self.T}; call "
                                 "functional.reset_net between sequences")
            self.t = t
            return self.bn_list[t](x)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            if self.step_mode == "s":
                return self.single_step_forward(x)
            return torch.stack([self.single_step_forward(step) for step in x])

    name = bn_class.__name__.replace("BatchNorm", "BatchNormThroughTime")
    BatchNormThroughTime.__name__ = BatchNormThroughTime.__qualname__ = name
    BatchNormThroughTime.__module__ = "snnrs.layer"
    BatchNormThroughTime.__doc__ = (f"BNTT: one ``torch.nn.{bn_class.__name__}`` (bias removed) per time step; memory "
                                    "``t`` counts the steps since ``reset()``.")
    return BatchNormThroughTime


BatchNormThroughTime1d = _through_time(nn.BatchNorm1d)
BatchNormThroughTime2d = _through_time(nn.BatchNorm2d)
BatchNormThroughTime3d = _through_time(nn.BatchNorm3d)
