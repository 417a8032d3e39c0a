"""Non-spiking readout neurons (SpikingJelly's ``NonSpiking*Node``, ``docs/semantics.md#simple-neurons``):
they integrate their input over a whole sequence without firing and report the membrane potential,
decoded over time — what deep Q-learning and actor-critic SNNs read their values from.

``decode``: ``'max-mem'`` (the maximum over T), ``'max-abs-mem'`` (the maximum or the minimum,
whichever is larger in magnitude), ``'mean-mem'``, ``'last_mem'`` (the last step), or None (the list
of the T potentials). V starts at 0 on every call; input ``[T, N, ...]``.
"""

import torch
from torch import nn

from snnrs.base import MultiStepModule
from snnrs.checks import time_constant

__all__ = ["NonSpikingBaseNode", "NonSpikingIFNode", "NonSpikingLIFNode"]

DECODES = ("max-mem", "max-abs-mem", "mean-mem", "last_mem", None)


def decode_voltages(v_seq: list[torch.Tensor], decode: str | None):
    """The per-step voltages read out as ``decode`` says (module docstring); None: the list itself.
    ``'last_mem'`` (SpikingJelly's base node) and ``'last-mem'`` (its noisy nodes) both take the last step."""
    if decode is None:
        return v_seq
    if decode in ("last_mem", "last-mem"):
        return v_seq[-1]
    stacked = torch.stack(v_seq)
    if decode == "mean-mem":
        return stacked.mean(0)
    high = stacked.max(0).values
    if decode == "max-mem":
        return high
    low = stacked.min(0).values
    return torch.where(high.abs() > low.abs(), high, low)


class NonSpikingBaseNode(nn.Module, MultiStepModule):
    """A subclass defines ``neuronal_charge(x)`` (set ``self.v``)."""

    def __init__(self, decode: str | None = None):
        super().__init__()
        if decode not in DECODES:
            raise ValueError(f"decode: expected one of {DECODES}, got {decode!r}")
        self.decode = decode
        self._step_mode = "m"

    def neuronal_charge(self, x: torch.Tensor):
        raise NotImplementedError(f"{type(self).__name__} must define neuronal_charge(x), setting self.v")

    def forward(self, x_seq: torch.Tensor):
        if not isinstance(x_seq, torch.Tensor) or x_seq.dim() < 1 or x_seq.shape[0] == 0:
            raise ValueError("x_seq: expected a [T, N, ...] tensor with T >= 1")
        self.v = torch.zeros_like(x_seq[0])
        v_seq = []
        for x in x_seq:
            self.neuronal_charge(x)
            v_seq.append(self.v)
        return decode_voltages(v_seq, self.decode)

    def extra_repr(self):
        return f"decode={self.decode!r}"


class NonSpikingIFNode(NonSpikingBaseNode):
    """``V ← V + X``."""

    def neuronal_charge(self, x: torch.Tensor):
        self.v = self.v + x


class NonSpikingLIFNode(NonSpikingBaseNode):
    """``V ← V + (X - V)/tau``."""

    def __init__(self, tau: float = 2.0, decode: str | None = None):
        super().__init__(decode)
        self.tau = time_constant("tau", tau)

    def neuronal_charge(self, x: torch.Tensor):
        self.v = self.v + (x - self.v) / self.tau

    def extra_repr(self):
        return f"tau={self.tau}, " + super().extra_repr()
