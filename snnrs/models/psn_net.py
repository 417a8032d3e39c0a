"""The PSN paper's static CIFAR-10 network (Fang et al., NeurIPS 2023):

``{c256k3s1-BN-PSN}*3-APk2s2-{c256k3s1-BN-PSN}*3-APk2s2-FC4096-PSN-FC10``

conv3x3 without bias (BN follows), average pooling, linear layers with bias, no dropout,
the output averaged over T (the paper trains it with label-smoothed cross-entropy, T=4). Any
multi-step neuron class can replace PSN: ``neuron_factory(T)`` builds each neuron.
"""

from collections.abc import Callable

import torch
from torch import nn

from snnrs import layer
from snnrs.layer import SeqToANNContainer
from snnrs.neuron.psn import PSN


class PSNCifar10Net(nn.Module):
    def __init__(self, T: int = 4, channels: int = 256, num_classes: int = 10, in_channels: int = 3,
                 image_size: int = 32, neuron_factory: Callable[[int], nn.Module] | None = None,
                 return_sequence: bool = False):
        super().__init__()
        if isinstance(T, bool) or not isinstance(T, int) or T < 1:
            raise ValueError(f"T: expected a positive int, got {T!r}")
        if image_size % 4:
            raise ValueError(f"image_size: expected a multiple of 4, got {image_size}")
        self.T, self.return_sequence = T, bool(return_sequence)
        make = neuron_factory or PSN
        layers, c = [], in_channels
        for _ in range(2):
            for _ in range(3):
                layers += [SeqToANNContainer(layer.Conv2d(c, channels, 3, 1, 1, bias=False), nn.BatchNorm2d(channels)),
                           make(T)]
                c = channels
            layers.append(SeqToANNContainer(nn.AvgPool2d(2, 2)))
        self.features = nn.Sequential(*layers)
        side = image_size // 4
        self.classifier = nn.Sequential(SeqToANNContainer(nn.Flatten(), layer.Linear(channels * side * side, 4096)),
                                        make(T), SeqToANNContainer(layer.Linear(4096, num_classes)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() == 4:
            x = x.unsqueeze(0).repeat(self.T, 1, 1, 1, 1)
        elif x.dim() != 5 or x.shape[0] != self.T:
            raise ValueError(f"x: expected [N, C, H, W] or [T={self.T}, N, C, H, W], got shape {tuple(x.shape)}")
        out = self.classifier(self.features(x))
        return out if self.return_sequence else out.mean(0)


__all__ = ["PSNCifar10Net"]
