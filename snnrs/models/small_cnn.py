"""A small multi-step convolutional SNN for small images (e.g. 8x8 digits, 28x28 MNIST)."""

import torch
from torch import nn

from snnrs import layer, neuron, surrogate


class SpikingCNN(nn.Module):
    """``[conv3x3-BN-LIF-pool2] × len(channels)``, flatten, linear readout (``pool``: 'max' or 'avg').

    Input ``[N, C, H, W]`` (static, repeated over T: the first conv sees real values)
    or ``[T, N, C, H, W]``; output ``[T, N, num_classes]`` (real-valued readout per step;
    average over T for class scores).
    """

    def __init__(self, in_channels=1, num_classes=10, image_size=8, channels=(16, 32), T=4, tau=2.0,
                 surrogate_function=None, pool: str = "max"):
        super().__init__()
        self.T = T
        if pool not in ("max", "avg"):
            raise ValueError(f"pool: expected 'max' or 'avg', got {pool!r}")
        pooling = layer.MaxPool2d if pool == "max" else layer.AvgPool2d
        blocks, c = [], in_channels
        for out in channels:
            blocks += [layer.Conv2d(c, out, 3, padding=1, bias=False, step_mode="m"),
                       layer.BatchNorm2d(out, step_mode="m"),
                       neuron.LIFNode(tau=tau, surrogate_function=surrogate_function or surrogate.ATan(),
                                      detach_reset=True, step_mode="m"),
                       pooling(2, step_mode="m")]
            c = out
            image_size //= 2
        self.features = nn.Sequential(*blocks)
        self.classifier = nn.Sequential(layer.Flatten(step_mode="m"),
                                        layer.Linear(c * image_size * image_size, num_classes, step_mode="m"))

    def nir_layers(self):
        """The layers in order, for :func:`snnrs.export.to_nir` (``pool='avg'``: NIR has no max pool)."""
        return [*self.features, *self.classifier]

    def forward(self, x: torch.Tensor, return_features: bool = False):
        """``[T, N, classes]``; with ``return_features`` also the flattened features ``[T, N, F]``
        the readout sees (for contrastive losses such as TCL)."""
        if x.dim() == 4:
            x = x.unsqueeze(0).expand(self.T, *x.shape)
        elif x.dim() != 5:
            raise ValueError(f"x: expected [N, C, H, W] or [T, N, C, H, W], got shape {tuple(x.shape)}")
        features = self.classifier[0](self.features(x))
        logits = self.classifier[1](features)
        return (logits, features) if return_features else logits
