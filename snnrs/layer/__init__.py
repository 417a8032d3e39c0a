"""Layers with SpikingJelly's names and arguments (``activation_based.layer``):

- :mod:`~snnrs.layer.wrappers` — stateless torch layers with a ``step_mode``, and tdBN;
- :mod:`~snnrs.layer.containers` — sequence containers and recurrent containers;
- :mod:`~snnrs.layer.stateful` — dropout, synapse filter, delay, voting;
- :mod:`~snnrs.layer.attention` — the attention layers of the transformer and MA-SNN models;
- :mod:`~snnrs.layer.online` — the ``[spike, trace]`` plumbing of online training through time (OTTT);
- :mod:`~snnrs.layer.weight_standardization` — weight-standardised Conv2d and Linear;
- :mod:`~snnrs.layer.normalization` — NeuNorm, TEBN and BNTT;
- :mod:`~snnrs.layer.spike_count` — spike counts to binary slots and back;
- :mod:`~snnrs.layer.drop_connect` — DropConnect Linear; :mod:`~snnrs.layer.print_shape` — a shape logger.
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
from snnrs.layer.drop_connect import DropConnectLinear
from snnrs.layer.normalization import (
    BatchNormThroughTime1d,
    BatchNormThroughTime2d,
    BatchNormThroughTime3d,
    NeuNorm,
    TemporalEffectiveBatchNorm1d,
    TemporalEffectiveBatchNorm2d,
    TemporalEffectiveBatchNorm3d,
)
from snnrs.layer.online import GradwithTrace, OTTTSequential, ReplaceforGrad, SpikeTraceOp
from snnrs.layer.print_shape import PrintShapeModule
from snnrs.layer.spike_count import SpikeCountToBinary, TemporalBinSum
from snnrs.layer.stateful import Delay, Dropout, Dropout2d, SynapseFilter, VotingLayer
from snnrs.layer.weight_standardization import WSConv2d, WSLinear
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
    "ReplaceforGrad", "GradwithTrace", "SpikeTraceOp", "OTTTSequential", "WSConv2d", "WSLinear",
    "NeuNorm", "TemporalEffectiveBatchNorm1d", "TemporalEffectiveBatchNorm2d", "TemporalEffectiveBatchNorm3d",
    "BatchNormThroughTime1d", "BatchNormThroughTime2d", "BatchNormThroughTime3d", "SpikeCountToBinary",
    "TemporalBinSum", "DropConnectLinear", "PrintShapeModule",
]
