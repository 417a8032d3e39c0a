"""Spiking network models."""

from snnrs.models.small_cnn import SpikingCNN

__all__ = ["SpikingCNN"]
