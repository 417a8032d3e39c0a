"""Layers with SpikingJelly's names and arguments (``activation_based.layer``):

- :mod:`~snnrs.layer.wrappers` — stateless torch layers with a ``step_mode``, and tdBN;
- :mod:`~snnrs.layer.containers` — sequence containers and recurrent containers;
- :mod:`~snnrs.layer.stateful` — dropout, synapse filter, delay, voting.
"""

from snnrs.layer.containers import (
    ElementWiseRecurrentContainer,
    LinearRecurrentContainer,
    MultiStepContainer,
    SeqToANNContainer,
    StepModeContainer,
)
from snnrs.layer.stateful import Delay, Dropout, Dropout2d, SynapseFilter, VotingLayer
from snnrs.layer.wrappers import (
    AdaptiveAvgPool1d,
    AdaptiveAvgPool2d,
    AdaptiveAvgPool3d,
    AvgPool1d,
    AvgPool2d,
    AvgPool3d,
    BatchNorm1d,
    BatchNorm2d,
    BatchNorm3d,
    Conv1d,
    Conv2d,
    Conv3d,
    ConvTranspose1d,
    ConvTranspose2d,
    Flatten,
    GroupNorm,
    Linear,
    MaxPool1d,
    MaxPool2d,
    MaxPool3d,
    ThresholdDependentBatchNorm1d,
    ThresholdDependentBatchNorm2d,
    ThresholdDependentBatchNorm3d,
    Upsample,
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
