"""The networks of the PLIF paper (Fang et al., ICCV 2021), in its notation:

* MNIST / Fashion-MNIST: ``{c128k3s1-BN-PLIF-MPk2s2}*2-DP-FC2048-PLIF-DP-FC100-PLIF-APk10s10``
* N-MNIST: the same with two polarity channels on 34x34 (first FC 8192 inputs)
* CIFAR-10: ``{{c256k3s1-BN-PLIF}*3-MPk2s2}*2-DP-FC2048-PLIF-DP-FC100-PLIF-APk10s10``
* CIFAR10-DVS: ``{c128k3s1-BN-PLIF-MPk2s2}*4-DP-FC512-PLIF-DP-FC100-PLIF-APk10s10``
* DVS128 Gesture: ``{c128k3s1-BN-PLIF-MPk2s2}*5-DP-FC512-PLIF-DP-FC110-PLIF-APk10s10``

c: conv3x3 stride 1 (no bias: BN follows), MP: max-pool, DP: multi-step dropout (p 0.5, one mask
per sample for all T), FC: linear without bias (as the paper's code), APk10s10: the voting layer
(mean of each group of 10 output neurons). PLIF: init_tau 2, hard reset to 0, detached reset, ATan.
Output: the voted firing rates ``[N, classes]`` (mean over T; the paper trains with MSE against
one-hot labels), or ``[T, N, classes]`` with ``return_sequence=True``.
"""

from collections.abc import Callable, Sequence

import torch
from torch import nn

from snnrs import layer, neuron, surrogate
from snnrs.layer import Dropout, SeqToANNContainer, VotingLayer

PLIF_KWARGS = dict(init_tau=2.0, v_reset=0.0, detach_reset=True)


class PLIFNet(nn.Module):
    """``stages``: (channels, convs) per stage, each stage ending in a 2x2 max-pool; then
    ``DP-FC{hidden}-SN-DP-FC{10·classes}-SN-vote``. Input ``[N, C, H, W]`` (repeated T times) or
    ``[T, N, C, H, W]``. The fully connected layers have biases (``linear_bias=True``), as SpikingJelly's
    ``parametric_lif_net`` models do, so their checkpoints load (:func:`load_spikingjelly_state_dict`)."""

    def __init__(self, stages: Sequence[tuple[int, int]], in_channels: int, image_size: int, hidden: int,
                 num_classes: int = 10, T: int = 8, dropout: float = 0.5, voting_size: int = 10,
                 spiking_neuron: Callable = neuron.ParametricLIFNode, return_sequence: bool = False,
                 linear_bias: bool = True, **neuron_kwargs):
        super().__init__()
        if isinstance(T, bool) or not isinstance(T, int) or T < 1:
            raise ValueError(f"T: expected a positive int, got {T!r}")
        self.T, self.return_sequence = T, bool(return_sequence)
        kwargs = {**PLIF_KWARGS, "surrogate_function": surrogate.ATan()} if spiking_neuron is neuron.ParametricLIFNode \
            else {}
        kwargs = {**kwargs, **neuron_kwargs, "step_mode": "m"}
        layers, c, size = [], in_channels, image_size
        for channels, convs in stages:
            for _ in range(convs):
                layers += [SeqToANNContainer(layer.Conv2d(c, channels, 3, 1, 1, bias=False), nn.BatchNorm2d(channels)),
                           spiking_neuron(**kwargs)]
                c = channels
            layers.append(SeqToANNContainer(nn.MaxPool2d(2, 2)))
            size //= 2
        if size < 1:
            raise ValueError(f"image_size: {image_size} is too small for {len(stages)} pooling stages")
        self.features = nn.Sequential(*layers)
        self.classifier = nn.Sequential(
            SeqToANNContainer(nn.Flatten()), Dropout(dropout, step_mode="m"),
            SeqToANNContainer(layer.Linear(c * size * size, hidden, bias=linear_bias)), spiking_neuron(**kwargs),
            Dropout(dropout, step_mode="m"),
            SeqToANNContainer(layer.Linear(hidden, num_classes * voting_size, bias=linear_bias)),
            spiking_neuron(**kwargs),
            VotingLayer(voting_size, step_mode="m"))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() == 4:
            x = x.unsqueeze(0).repeat(self.T, 1, 1, 1, 1)
        elif x.dim() != 5:
            raise ValueError(f"x: expected [N, C, H, W] or [T, N, C, H, W], got shape {tuple(x.shape)}")
        out = self.classifier(self.features(x))
        return out if self.return_sequence else out.mean(0)


def plif_net_mnist(**kwargs) -> PLIFNet:
    """MNIST / Fashion-MNIST (28x28, T=8)."""
    return PLIFNet(**{**dict(stages=[(128, 1)] * 2, in_channels=1, image_size=28, hidden=2048, T=8), **kwargs})


def plif_net_nmnist(**kwargs) -> PLIFNet:
    """N-MNIST (2x34x34 frames, T=10)."""
    return PLIFNet(**{**dict(stages=[(128, 1)] * 2, in_channels=2, image_size=34, hidden=2048, T=10), **kwargs})


def plif_net_cifar10(**kwargs) -> PLIFNet:
    """CIFAR-10 (32x32, T=8)."""
    return PLIFNet(**{**dict(stages=[(256, 3)] * 2, in_channels=3, image_size=32, hidden=2048, T=8), **kwargs})


def plif_net_cifar10_dvs(**kwargs) -> PLIFNet:
    """CIFAR10-DVS (2x128x128 frames, T=20)."""
    return PLIFNet(**{**dict(stages=[(128, 1)] * 4, in_channels=2, image_size=128, hidden=512, T=20), **kwargs})


def plif_net_dvs_gesture(**kwargs) -> PLIFNet:
    """DVS128 Gesture (2x128x128 frames, 11 classes, T=20)."""
    return PLIFNet(**{**dict(stages=[(128, 1)] * 5, in_channels=2, image_size=128, hidden=512, num_classes=11,
                             T=20), **kwargs})


__all__ = ["PLIFNet", "plif_net_mnist", "plif_net_nmnist", "plif_net_cifar10", "plif_net_cifar10_dvs",
           "plif_net_dvs_gesture"]
