"""A small multi-step convolutional SNN for small images (e.g. 8x8 digits, 28x28 MNIST)."""

import torch
from torch import nn

from snnrs import layer, neuron, surrogate


class SpikingCNN(nn.Module):
    """``[conv3x3-BN-SN-pool2] × len(channels)``, flatten, linear readout (``pool``: 'max', 'avg' or 'sum').
    SN: LIF(tau) by default, or ``spiking_neuron(**neuron_kwargs)``; ``image_size``: int or (H, W).

    Input ``[N, C, H, W]`` (static, repeated over T: the first conv sees real values)
    or ``[T, N, C, H, W]``; output ``[T, N, num_classes]`` (real-valued readout per step;
    average over T for class scores).
    """

    def __init__(self, in_channels=1, num_classes=10, image_size=8, channels=(16, 32), T=4, tau=2.0,
                 surrogate_function=None, pool: str = "max", spiking_neuron=None, **neuron_kwargs):
        super().__init__()
        self.T = T
        if pool not in ("max", "avg", "sum"):
            raise ValueError(f"pool: expected 'max', 'avg' or 'sum', got {pool!r}")
        height, width = (image_size, image_size) if isinstance(image_size, int) else tuple(image_size)
        pooling = {"max": layer.MaxPool2d, "avg": layer.AvgPool2d,
                   # sum pooling keeps spike counts integer (energy as SOPs, chips); BN absorbs the scale
                   "sum": lambda k, step_mode: layer.AvgPool2d(k, divisor_override=1, step_mode=step_mode)}[pool]

        def make_neuron():
            kwargs = {"surrogate_function": surrogate_function or surrogate.ATan(), "detach_reset": True,
                      **neuron_kwargs, "step_mode": "m"}
            if spiking_neuron is None:  # the default: LIF with tau
                return neuron.LIFNode(tau=tau, **kwargs)
            return spiking_neuron(**kwargs)

        blocks, c = [], in_channels
        for out in channels:
            blocks += [layer.Conv2d(c, out, 3, padding=1, bias=False, step_mode="m"),
                       layer.BatchNorm2d(out, step_mode="m"), make_neuron(), pooling(2, step_mode="m")]
            c = out
            height, width = height // 2, width // 2
        if height < 1 or width < 1:
            raise ValueError(f"image_size: {image_size} is too small for {len(channels)} pooling stages")
        self.features = nn.Sequential(*blocks)
        self.classifier = nn.Sequential(layer.Flatten(step_mode="m"),
                                        layer.Linear(c * height * width, num_classes, step_mode="m"))

    def nir_layers(self):
        """The layers in order, for :func:`snnrs.export.to_nir` (a max pool after spikes is written exactly)."""
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


class SpikingMLP(nn.Module):
    """Flatten, ``[Linear-SN] × len(hidden)``, linear readout. Input ``[N, ...]`` (static,
    repeated over T) or ``[T, N, ...]`` with ``input_dims`` per-sample dims; output ``[T, N, classes]``."""

    def __init__(self, in_features: int, num_classes: int = 10, hidden=(128,), T: int = 4, input_dims: int = 1,
                 spiking_neuron=None, **neuron_kwargs):
        super().__init__()
        self.T, self.input_dims = T, input_dims
        make = spiking_neuron or neuron.LIFNode
        kwargs = {"surrogate_function": surrogate.ATan(), "detach_reset": True, **neuron_kwargs, "step_mode": "m"}
        layers, width = [layer.Flatten(step_mode="m")], in_features
        for h in hidden:
            layers += [layer.Linear(width, h, step_mode="m"), make(**kwargs)]
            width = h
        layers.append(layer.Linear(width, num_classes, step_mode="m"))
        self.layers = nn.Sequential(*layers)

    def nir_layers(self):
        return list(self.layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() == self.input_dims + 1:
            x = x.unsqueeze(0).expand(self.T, *x.shape)
        elif x.dim() != self.input_dims + 2:
            raise ValueError(f"x: expected [N, ...] or [T, N, ...] with {self.input_dims} sample dims, "
                             f"got shape {tuple(x.shape)}")
        return self.layers(x)
