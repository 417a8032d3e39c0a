"""Kept for imports written before :mod:`snnrs.layer` became a package: these layers now live
in :mod:`snnrs.layer.stateful`, :mod:`snnrs.layer.containers` and :mod:`snnrs.layer.wrappers`."""

from snnrs.layer import (
    Delay,
    Dropout,
    Dropout2d,
    ElementWiseRecurrentContainer,
    LinearRecurrentContainer,
    SynapseFilter,
    ThresholdDependentBatchNorm1d,
    ThresholdDependentBatchNorm2d,
    ThresholdDependentBatchNorm3d,
    VotingLayer,
)

__all__ = ["Dropout", "Dropout2d", "SynapseFilter", "Delay", "VotingLayer", "ElementWiseRecurrentContainer",
           "LinearRecurrentContainer", "ThresholdDependentBatchNorm1d", "ThresholdDependentBatchNorm2d",
           "ThresholdDependentBatchNorm3d"]
