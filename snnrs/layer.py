"""Layers with ``step_mode``, containers, and stateful layers (SPEC §4).

Stateless torch layers gain a ``step_mode``: in ``'m'`` they take ``[T, N, ...]``
and run once on ``[T·N, ...]`` (so BatchNorm statistics are over T·N), then
restore the time dimension. Names and arguments follow SpikingJelly's
``activation_based.layer``; every torch argument is passed through.
"""

import torch
from torch import nn

from snnrs import functional
from snnrs.base import StepModule
from snnrs.stateful_layer import (  # noqa: F401  (re-exported)
    Delay, Dropout, Dropout2d, ElementWiseRecurrentContainer, LinearRecurrentContainer, SynapseFilter,
    ThresholdDependentBatchNorm1d, ThresholdDependentBatchNorm2d, ThresholdDependentBatchNorm3d, VotingLayer,
)

__all__ = [
    "SeqToANNContainer", "MultiStepContainer", "StepModeContainer",
    "Conv1d", "Conv2d", "Conv3d", "ConvTranspose1d", "ConvTranspose2d", "Linear",
    "BatchNorm1d", "BatchNorm2d", "BatchNorm3d", "GroupNorm",
    "MaxPool1d", "MaxPool2d", "MaxPool3d", "AvgPool1d", "AvgPool2d", "AvgPool3d",
    "AdaptiveAvgPool1d", "AdaptiveAvgPool2d", "AdaptiveAvgPool3d", "Flatten", "Upsample",
    "Dropout", "Dropout2d", "SynapseFilter", "Delay", "VotingLayer", "ElementWiseRecurrentContainer",
    "LinearRecurrentContainer", "ThresholdDependentBatchNorm1d", "ThresholdDependentBatchNorm2d",
    "ThresholdDependentBatchNorm3d",
]


class _StepModeLayer(StepModule):
    """Mixin for a stateless torch layer: multi-step mode folds T into the batch."""

    def forward(self, x):
        if self.step_mode == "s":
            return super().forward(x)
        return functional.seq_to_ann_forward(x, super().forward)

    def extra_repr(self):
        return f"{super().extra_repr()}, step_mode={self.step_mode}"


def _step_mode_layer(torch_class):
    """A subclass of ``torch_class`` taking an extra keyword ``step_mode='s'``."""

    def __init__(self, *args, step_mode="s", **kwargs):
        torch_class.__init__(self, *args, **kwargs)
        self.step_mode = step_mode

    doc = (f"``torch.nn.{torch_class.__name__}`` with ``step_mode`` ('s': as torch; 'm': input "
           f"``[T, N, ...]``, computed on ``[T·N, ...]``).")
    return type(torch_class.__name__, (_StepModeLayer, torch_class), {"__init__": __init__, "__doc__": doc,
                                                                       "__module__": __name__})


Conv1d = _step_mode_layer(nn.Conv1d)
Conv2d = _step_mode_layer(nn.Conv2d)
Conv3d = _step_mode_layer(nn.Conv3d)
ConvTranspose1d = _step_mode_layer(nn.ConvTranspose1d)
ConvTranspose2d = _step_mode_layer(nn.ConvTranspose2d)
Linear = _step_mode_layer(nn.Linear)
BatchNorm1d = _step_mode_layer(nn.BatchNorm1d)
BatchNorm2d = _step_mode_layer(nn.BatchNorm2d)
BatchNorm3d = _step_mode_layer(nn.BatchNorm3d)
GroupNorm = _step_mode_layer(nn.GroupNorm)
MaxPool1d = _step_mode_layer(nn.MaxPool1d)
MaxPool2d = _step_mode_layer(nn.MaxPool2d)
MaxPool3d = _step_mode_layer(nn.MaxPool3d)
AvgPool1d = _step_mode_layer(nn.AvgPool1d)
AvgPool2d = _step_mode_layer(nn.AvgPool2d)
AvgPool3d = _step_mode_layer(nn.AvgPool3d)
AdaptiveAvgPool1d = _step_mode_layer(nn.AdaptiveAvgPool1d)
AdaptiveAvgPool2d = _step_mode_layer(nn.AdaptiveAvgPool2d)
AdaptiveAvgPool3d = _step_mode_layer(nn.AdaptiveAvgPool3d)
Flatten = _step_mode_layer(nn.Flatten)
Upsample = _step_mode_layer(nn.Upsample)


class SeqToANNContainer(nn.Sequential):
    """Runs stateless modules on ``[T, N, ...]`` by folding T into the batch (always multi-step)."""

    def forward(self, x_seq: torch.Tensor) -> torch.Tensor:
        return functional.seq_to_ann_forward(x_seq, super().forward)


class MultiStepContainer(nn.Sequential):
    """Runs single-step modules over ``[T, N, ...]`` one step at a time (always multi-step)."""

    def forward(self, x_seq: torch.Tensor) -> torch.Tensor:
        return functional.multi_step_forward(x_seq, super().forward)


class StepModeContainer(nn.Sequential, StepModule):
    """Gives a block of plain torch modules a ``step_mode``.

    ``stateful=False``: in 'm' the block runs once on ``[T·N, ...]``; ``stateful=True``: in 'm' it
    runs step by step (modules with state see the steps in order).
    """

    def __init__(self, stateful: bool, *modules, step_mode: str = "s"):
        super().__init__(*modules)
        self.stateful = bool(stateful)
        self.step_mode = step_mode

    def forward(self, x):
        if self.step_mode == "s":
            return super().forward(x)
        if self.stateful:
            return functional.multi_step_forward(x, super().forward)
        return functional.seq_to_ann_forward(x, super().forward)
