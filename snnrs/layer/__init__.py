"""Layers with SpikingJelly's names and arguments (``activation_based.layer``):

- :mod:`~snnrs.layer.wrappers` — stateless torch layers with a ``step_mode``, and tdBN;
- :mod:`~snnrs.layer.containers` — sequence containers and recurrent containers;
- :mod:`~snnrs.layer.stateful` — dropout, synapse filter, delay, voting;
- :mod:`~snnrs.layer.attention` — the attention layers of the transformer and MA-SNN models.
"""

from snnrs.layer.attention import (
    ChannelQKAttention,
    MultiDimensionalAttention,
    QKAttention,
    SpikeDrivenSelfAttention,
    SpikingSelfAttention,
    TemporalWiseAttention,
    TokenQKAttention,
)
from snnrs.layer.containers import (
    ElementWiseRecurrentContainer,
    LinearRecurrentContainer,
    MultiStepContainer,
    SeqToANNContainer,
    StepModeContainer,
    TLastMultiStepContainer,
    TLastSeqToANNContainer,
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
    ConvTranspose3d,
    Flatten,
    GroupNorm,
    Linear,
    MaxPool1d,
    MaxPool2d,
    MaxPool3d,
    MaxUnpool1d,
    MaxUnpool2d,
    MaxUnpool3d,
    ThresholdDependentBatchNorm1d,
    ThresholdDependentBatchNorm2d,
    ThresholdDependentBatchNorm3d,
    Upsample,
)

__all__ = [
    "SeqToANNContainer", "MultiStepContainer", "StepModeContainer", "TLastSeqToANNContainer", "TLastMultiStepContainer",
    "Conv1d", "Conv2d", "Conv3d", "ConvTranspose1d", "ConvTranspose2d", "ConvTranspose3d", "Linear",
    "MaxUnpool1d", "MaxUnpool2d", "MaxUnpool3d",
    "BatchNorm1d", "BatchNorm2d", "BatchNorm3d", "GroupNorm",
    "MaxPool1d", "MaxPool2d", "MaxPool3d", "AvgPool1d", "AvgPool2d", "AvgPool3d",
    "AdaptiveAvgPool1d", "AdaptiveAvgPool2d", "AdaptiveAvgPool3d", "Flatten", "Upsample",
    "Dropout", "Dropout2d", "SynapseFilter", "Delay", "VotingLayer", "ElementWiseRecurrentContainer",
    "LinearRecurrentContainer", "ThresholdDependentBatchNorm1d", "ThresholdDependentBatchNorm2d",
    "ThresholdDependentBatchNorm3d", "TemporalWiseAttention", "MultiDimensionalAttention", "SpikingSelfAttention",
    "QKAttention", "TokenQKAttention", "ChannelQKAttention", "SpikeDrivenSelfAttention",
]
