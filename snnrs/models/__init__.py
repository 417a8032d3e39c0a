"""Spiking network models."""

from snnrs.models import sew_resnet
from snnrs.models.plif_net import (
                                     PLIFNet,
                                     plif_net_cifar10,
                                     plif_net_cifar10_dvs,
                                     plif_net_dvs_gesture,
                                     plif_net_mnist,
                                     plif_net_nmnist,
)
from snnrs.models.psn_net import PSNCifar10Net
from snnrs.models.sew_resnet import (
                                     SEWResNet,
                                     sew_resnet18,
                                     sew_resnet34,
                                     sew_resnet50,
                                     sew_resnet101,
                                     sew_resnet152,
                                     sew_resnext50_32x4d,
                                     sew_resnext101_32x8d,
                                     sew_wide_resnet50_2,
                                     sew_wide_resnet101_2,
                                     spiking_resnet18,
                                     spiking_resnet34,
                                     spiking_resnet50,
                                     spiking_resnet101,
                                     spiking_resnet152,
)
from snnrs.models.small_cnn import SpikingCNN, SpikingMLP
from snnrs.models.spikformer import (
                                     Spikformer,
                                     spikformer_cifar_4_384,
                                     spikformer_dvs_2_256,
                                     spikformer_imagenet_8_384,
                                     spikformer_imagenet_8_512,
                                     spikformer_imagenet_8_768,
)
from snnrs.models.spiking_vgg import (
                                     SpikingVGG,
                                     spiking_vgg11,
                                     spiking_vgg11_bn,
                                     spiking_vgg13,
                                     spiking_vgg13_bn,
                                     spiking_vgg16,
                                     spiking_vgg16_bn,
                                     spiking_vgg19,
                                     spiking_vgg19_bn,
)
from snnrs.models.spikingjelly import load_spikingjelly_state_dict, spikingjelly_state_dict_to_snnrs

__all__ = ["SpikingCNN", "SpikingMLP", "SEWResNet", "sew_resnet", "sew_resnet18", "sew_resnet34", "sew_resnet50",
           "sew_resnet101", "sew_resnet152", "sew_resnext50_32x4d", "sew_resnext101_32x8d", "sew_wide_resnet50_2",
           "sew_wide_resnet101_2", "spiking_resnet18", "spiking_resnet34", "spiking_resnet50", "spiking_resnet101",
           "spiking_resnet152", "SpikingVGG", "spiking_vgg11", "spiking_vgg11_bn", "spiking_vgg13", "spiking_vgg13_bn",
           "spiking_vgg16", "spiking_vgg16_bn", "spiking_vgg19", "spiking_vgg19_bn",
           "Spikformer", "spikformer_cifar_4_384", "spikformer_imagenet_8_384", "spikformer_imagenet_8_512",
           "spikformer_imagenet_8_768", "spikformer_dvs_2_256", "PLIFNet", "plif_net_mnist", "plif_net_nmnist",
           "plif_net_cifar10", "plif_net_cifar10_dvs", "plif_net_dvs_gesture", "PSNCifar10Net",
           "load_spikingjelly_state_dict", "spikingjelly_state_dict_to_snnrs"]
