"""Scaled weight standardisation (Brock et al. 2021, as used by OTTT's VGG; ``docs/semantics.md#layers``).

Each output unit's weights are standardised before use:
``Ŵ = gain · (W - mean(W)) / sqrt(var(W) · fan_in + eps)``, mean and (unbiased) variance over the
unit's fan-in, ``gain`` a learnable per-output scale (``gain=False``: none). This keeps the scale of
pre-activations fixed without BatchNorm, which online training (one step at a time) cannot use.
"""

import math

import torch
from torch import Tensor
from torch.nn import functional as F

from snnrs import functional
from snnrs.layer.wrappers import Conv2d, Linear

__all__ = ["WSConv2d", "WSLinear"]


def standardized_weight(weight: Tensor, gain: Tensor | None, eps: float) -> Tensor:
    fan_axes = tuple(range(1, weight.dim()))
    fan_in = math.prod(weight.shape[1:])
    mean = weight.mean(dim=fan_axes, keepdim=True)
    var = weight.var(dim=fan_axes, keepdim=True)
    standardized = (weight - mean) / ((var * fan_in + eps) ** 0.5)
    return standardized if gain is None else standardized * gain


class WSConv2d(Conv2d):
    """:class:`snnrs.layer.Conv2d` with a standardised weight (SpikingJelly's arguments)."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size, stride=1, padding=0, dilation=1,
                 groups: int = 1, bias: bool = True, padding_mode: str = "zeros", step_mode: str = "s",
                 gain: bool = True, eps: float = 1e-4):
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, dilation, groups, bias,
                         padding_mode, step_mode=step_mode)
        self.gain = torch.nn.Parameter(torch.ones(out_channels, 1, 1, 1)) if gain else None
        self.eps = eps

    def get_weight(self) -> Tensor:
        return standardized_weight(self.weight, self.gain, self.eps)

    def _conv(self, x: Tensor) -> Tensor:
        return self._conv_forward(x, self.get_weight(), self.bias)

    def forward(self, x: Tensor) -> Tensor:
        if self.step_mode == "s":
            return self._conv(x)
        if x.dim() != 5:
            raise ValueError(f"x: expected [T, N, C, H, W] in multi-step mode, got shape {tuple(x.shape)}")
        return functional.seq_to_ann_forward(x, self._conv)


class WSLinear(Linear):
    """:class:`snnrs.layer.Linear` with a standardised weight (any leading dimensions, either step mode)."""

    def __init__(self, in_features: int, out_features: int, bias: bool = True, step_mode: str = "s",
                 gain: bool = True, eps: float = 1e-4):
        super().__init__(in_features, out_features, bias, step_mode=step_mode)
        self.gain = torch.nn.Parameter(torch.ones(out_features, 1)) if gain else None
        self.eps = eps

    def get_weight(self) -> Tensor:
        return standardized_weight(self.weight, self.gain, self.eps)

    def forward(self, x: Tensor) -> Tensor:
        return F.linear(x, self.get_weight(), self.bias)
