"""Spiking network models."""

from snnrs.models import sew_resnet
from snnrs.models.sew_resnet import (SEWResNet, sew_resnet18, sew_resnet34, sew_resnet50, sew_resnet101,
                                     sew_resnet152, sew_resnext50_32x4d, sew_resnext101_32x8d, sew_wide_resnet50_2,
                                     sew_wide_resnet101_2, spiking_resnet18, spiking_resnet34, spiking_resnet50,
                                     spiking_resnet101, spiking_resnet152)
from snnrs.models.small_cnn import SpikingCNN

__all__ = ["SpikingCNN", "SEWResNet", "sew_resnet", "sew_resnet18", "sew_resnet34", "sew_resnet50", "sew_resnet101",
           "sew_resnet152", "sew_resnext50_32x4d", "sew_resnext101_32x8d", "sew_wide_resnet50_2",
           "sew_wide_resnet101_2", "spiking_resnet18", "spiking_resnet34", "spiking_resnet50", "spiking_resnet101",
           "spiking_resnet152"]
