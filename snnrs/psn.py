"""Kept for imports written before :mod:`snnrs.neuron` became a package: the PSN family now
lives in :mod:`snnrs.neuron.psn`."""

from snnrs.neuron.psn import PSN, MaskedPSN, SlidingPSN, masked_psn_lambda

__all__ = ["PSN", "MaskedPSN", "SlidingPSN", "masked_psn_lambda"]
