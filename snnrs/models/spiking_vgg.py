"""Spiking VGG, multi-step: torchvision's VGG layouts with every ReLU replaced by a spiking neuron.

Features: conv3x3 (bias, as torchvision) [-BN] -SN per entry of the configuration, max-pool
2x2 at each ``'M'``; then adaptive average pooling to 7x7 and the classifier
``Linear(512·7·7, 4096)-SN-Dropout-Linear(4096, 4096)-SN-Dropout-Linear(4096, classes)``.
Dropout is multi-step (one mask per sample for all T). Convolutions and linear layers run on
``[T·N, ...]``; the neurons are multi-step. With any neuron without parameters the parameter
counts equal torchvision's VGGs.
"""

from collections.abc import Callable, Sequence

import torch
from torch import nn

from snnrs import layer, neuron
from snnrs.layer import Dropout, SeqToANNContainer

CONFIGS = {
    11: [64, "M", 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"],
    13: [64, 64, "M", 128, 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"],
    16: [64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M", 512, 512, 512, "M"],
    19: [64, 64, "M", 128, 128, "M", 256, 256, 256, 256, "M", 512, 512, 512, 512, "M", 512, 512, 512, 512, "M"],
}


class SpikingVGG(nn.Module):
    """``cfg``: channel counts and ``'M'`` (max-pool); ``batch_norm``: BN after each conv;
    ``T``: steps a static image is repeated for; ``spiking_neuron`` and its kwargs (multi-step).
    Input ``[N, C, H, W]`` or ``[T, N, C, H, W]``; output ``[N, num_classes]`` (mean over T), or
    ``[T, N, num_classes]`` with ``return_sequence=True`` (for TET-style losses)."""

    def __init__(self, cfg: Sequence[int | str], batch_norm: bool = False, num_classes: int = 1000,
                 in_channels: int = 3, T: int = 4, dropout: float = 0.5, init_weights: bool = True,
                 spiking_neuron: Callable = neuron.IFNode, return_sequence: bool = False, **kwargs):
        super().__init__()
        if isinstance(T, bool) or not isinstance(T, int) or T < 1:
            raise ValueError(f"T: expected a positive int, got {T!r}")
        self.T, self.return_sequence = T, bool(return_sequence)
        layers: list[nn.Module] = []
        c = in_channels
        for entry in cfg:
            if entry == "M":
                layers.append(SeqToANNContainer(nn.MaxPool2d(kernel_size=2, stride=2)))
                continue
            if isinstance(entry, bool) or not isinstance(entry, int) or entry < 1:
                raise ValueError(f"cfg: expected positive channel counts and 'M', got {entry!r}")
            conv = [layer.Conv2d(c, entry, kernel_size=3, padding=1)] + ([nn.BatchNorm2d(entry)] if batch_norm else [])
            layers += [SeqToANNContainer(*conv), spiking_neuron(**{**kwargs, "step_mode": "m"})]
            c = entry
        self.features = nn.Sequential(*layers)
        self.avgpool = SeqToANNContainer(nn.AdaptiveAvgPool2d((7, 7)))
        self.classifier = nn.Sequential(
            SeqToANNContainer(layer.Linear(c * 7 * 7, 4096)), spiking_neuron(**{**kwargs, "step_mode": "m"}),
            Dropout(dropout, step_mode="m"),
            SeqToANNContainer(layer.Linear(4096, 4096)), spiking_neuron(**{**kwargs, "step_mode": "m"}),
            Dropout(dropout, step_mode="m"),
            SeqToANNContainer(layer.Linear(4096, num_classes)))
        if init_weights:
            self._init_weights()

    def _init_weights(self):
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
                nn.init.zeros_(m.bias)
            elif isinstance(m, nn.BatchNorm2d):
                nn.init.ones_(m.weight)
                nn.init.zeros_(m.bias)
            elif isinstance(m, nn.Linear):
                nn.init.normal_(m.weight, 0, 0.01)
                nn.init.zeros_(m.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() == 4:
            x = x.unsqueeze(0).repeat(self.T, 1, 1, 1, 1)
        elif x.dim() != 5:
            raise ValueError(f"x: expected [N, C, H, W] or [T, N, C, H, W], got shape {tuple(x.shape)}")
        x = torch.flatten(self.avgpool(self.features(x)), 2)
        out = self.classifier(x)
        return out if self.return_sequence else out.mean(0)


def _builder(depth: int, batch_norm: bool):
    def build(*, spiking_neuron: Callable = neuron.IFNode, **kwargs) -> SpikingVGG:
        return SpikingVGG(CONFIGS[depth], batch_norm, spiking_neuron=spiking_neuron, **kwargs)
    build.__name__ = f"spiking_vgg{depth}{'_bn' if batch_norm else ''}"
    build.__doc__ = f"Spiking VGG-{depth}{' with batch norm' if batch_norm else ''}; kwargs as :class:`SpikingVGG`."
    return build


spiking_vgg11, spiking_vgg13, spiking_vgg16, spiking_vgg19 = (_builder(d, False) for d in (11, 13, 16, 19))
spiking_vgg11_bn, spiking_vgg13_bn, spiking_vgg16_bn, spiking_vgg19_bn = (_builder(d, True) for d in (11, 13, 16, 19))

__all__ = ["SpikingVGG", "CONFIGS", "spiking_vgg11", "spiking_vgg13", "spiking_vgg16", "spiking_vgg19",
           "spiking_vgg11_bn", "spiking_vgg13_bn", "spiking_vgg16_bn", "spiking_vgg19_bn"]
