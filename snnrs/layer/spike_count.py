"""Layers between spike-count training and binary-spike inference (``docs/semantics.md#layers``): a
network trained with integer spike counts per step (I-LIF) runs on binary-spike hardware by unfolding
each step into ``num_slots`` binary slots, and a binary-spike sequence folds back by summing slots.

Both act in evaluation only unless ``always_convert=True`` (training keeps the counts), on ``[T, N, ...]``.
"""

import torch
from torch import nn

from snnrs.base import MultiStepModule

__all__ = ["SpikeCountToBinary", "TemporalBinSum"]


def _check(x_seq):
    if x_seq.dim() < 2 or x_seq.shape[0] == 0:
        raise ValueError(f"x_seq: expected [T, N, ...] with T >= 1, got shape {tuple(x_seq.shape)}")


class _SlotLayer(nn.Module, MultiStepModule):
    def __init__(self, num_slots: int, always_convert: bool = False):
        super().__init__()
        if isinstance(num_slots, bool) or not isinstance(num_slots, int) or num_slots < 1:
            raise ValueError(f"num_slots: expected an int >= 1, got {num_slots!r}")
        self.num_slots = num_slots
        self.always_convert = bool(always_convert)
        self.step_mode = "m"

    def extra_repr(self):
        return f"num_slots={self.num_slots}, always_convert={self.always_convert}"


class SpikeCountToBinary(_SlotLayer):
    """Counts ``[T, N, ...]`` → binary ``[T·num_slots, N, ...]``: slot j of step t fires iff ``count > j``.
    The gradient passes straight through as ``count / num_slots`` to every slot."""

    def forward(self, x_seq: torch.Tensor) -> torch.Tensor:
        if not self.always_convert and self.training:
            return x_seq
        _check(x_seq)
        counts = x_seq.unsqueeze(1)
        slots = torch.arange(self.num_slots, device=x_seq.device).view(1, self.num_slots, *([1] * (x_seq.dim() - 1)))
        binary = (slots < counts).to(x_seq.dtype)
        proxy = counts / self.num_slots
        return (binary + (proxy - proxy.detach())).flatten(0, 1)


class TemporalBinSum(_SlotLayer):
    """Binary ``[T, N, ...]`` → counts ``[ceil(T/num_slots), N, ...]``: each run of ``num_slots`` steps summed
    (the last run padded with zeros)."""

    def forward(self, x_seq: torch.Tensor) -> torch.Tensor:
        if not self.always_convert and self.training:
            return x_seq
        _check(x_seq)
        short = -x_seq.shape[0] % self.num_slots
        if short:
            x_seq = torch.cat((x_seq, x_seq.new_zeros((short, *x_seq.shape[1:]))))
        return x_seq.reshape(-1, self.num_slots, *x_seq.shape[1:]).sum(dim=1)
