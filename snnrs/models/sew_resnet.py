"""SEW ResNet (Fang et al., NeurIPS 2021) and the plain spiking ResNet, multi-step (``docs/semantics.md#sew-resnet``).

A SEW block outputs ``g(A, S)``: A is the residual branch ending in a spiking neuron, S the
shortcut (the block input, or a spiking conv1x1-BN-SN when the shape changes), and ``cnf``
chooses g: ``'ADD'`` A + S, ``'AND'`` A·S, ``'IAND'`` (1 - A)·S — the same order in BasicBlock
and Bottleneck. Stem: conv7x7-BN on the image repeated T times, SN, max-pool; head: average
pool, mean over T, linear. Convolutions run on ``[T·N, ...]`` (one call for all steps); the
neurons are multi-step. With IF neurons the parameter counts equal torchvision's ResNets.
"""

from collections.abc import Callable

import torch
from torch import nn

from snnrs import layer, neuron
from snnrs.layer import SeqToANNContainer

CONNECT_FUNCTIONS = ("ADD", "AND", "IAND")


def connect(a: torch.Tensor, s: torch.Tensor, cnf: str) -> torch.Tensor:
    """g(A, S) of a SEW block."""
    if cnf == "ADD":
        return a + s
    if cnf == "AND":
        return a * s
    if cnf == "IAND":
        return (1.0 - a) * s
    raise ValueError(f"cnf: expected one of {CONNECT_FUNCTIONS}, got {cnf!r}")


def _neuron(spiking_neuron: Callable, kwargs: dict) -> nn.Module:
    return spiking_neuron(**{**kwargs, "step_mode": "m"})


def _conv_bn(cin, cout, kernel, stride=1, padding=0, groups=1, dilation=1, norm_layer=nn.BatchNorm2d):
    return SeqToANNContainer(layer.Conv2d(cin, cout, kernel, stride, padding, groups=groups, dilation=dilation,
                                       bias=False), norm_layer(cout))


class BasicBlock(nn.Module):
    expansion = 1

    def __init__(self, inplanes, planes, stride=1, downsample=None, groups=1, base_width=64, dilation=1,
                 norm_layer=nn.BatchNorm2d, cnf: str | None = "ADD", spiking_neuron=neuron.IFNode, **kwargs):
        super().__init__()
        if groups != 1 or base_width != 64:
            raise ValueError("BasicBlock: groups = 1 and base_width = 64 only (as torchvision)")
        if dilation > 1:
            raise ValueError("BasicBlock: dilation > 1 is not supported (as torchvision)")
        self.conv1 = _conv_bn(inplanes, planes, 3, stride, 1, norm_layer=norm_layer)
        self.sn1 = _neuron(spiking_neuron, kwargs)
        self.conv2 = _conv_bn(planes, planes, 3, 1, 1, norm_layer=norm_layer)
        self.sn2 = _neuron(spiking_neuron, kwargs)
        self.downsample = downsample
        if downsample is not None and cnf is not None:
            self.downsample_sn = _neuron(spiking_neuron, kwargs)
        self.cnf = cnf

    def forward(self, x):
        return _finish(self, self.conv2(self.sn1(self.conv1(x))), self.sn2, x)


class Bottleneck(nn.Module):
    expansion = 4

    def __init__(self, inplanes, planes, stride=1, downsample=None, groups=1, base_width=64, dilation=1,
                 norm_layer=nn.BatchNorm2d, cnf: str | None = "ADD", spiking_neuron=neuron.IFNode, **kwargs):
        super().__init__()
        width = int(planes * (base_width / 64.0)) * groups
        self.conv1 = _conv_bn(inplanes, width, 1, norm_layer=norm_layer)
        self.sn1 = _neuron(spiking_neuron, kwargs)
        self.conv2 = _conv_bn(width, width, 3, stride, dilation, groups, dilation, norm_layer=norm_layer)
        self.sn2 = _neuron(spiking_neuron, kwargs)
        self.conv3 = _conv_bn(width, planes * self.expansion, 1, norm_layer=norm_layer)
        self.sn3 = _neuron(spiking_neuron, kwargs)
        self.downsample = downsample
        if downsample is not None and cnf is not None:
            self.downsample_sn = _neuron(spiking_neuron, kwargs)
        self.cnf = cnf

    def forward(self, x):
        return _finish(self, self.conv3(self.sn2(self.conv2(self.sn1(self.conv1(x))))), self.sn3, x)


def _finish(block, branch, last_neuron, x):
    """SEW: ``g(SN(branch), S)`` with S spiking. Plain spiking ResNet (cnf None): ``SN(branch + shortcut)``,
    the neuron after the sum and a non-spiking downsample, as in ResNet."""
    if block.cnf is None:
        return last_neuron(branch + (x if block.downsample is None else block.downsample(x)))
    shortcut = x if block.downsample is None else block.downsample_sn(block.downsample(x))
    return connect(last_neuron(branch), shortcut, block.cnf)


class SEWResNet(nn.Module):
    """Args as torchvision's ResNet, plus ``T`` (time steps an image is repeated for), ``cnf``
    (None: the plain spiking ResNet), ``spiking_neuron`` (any snnrs neuron class) and its kwargs.
    Input ``[N, C, H, W]`` (repeated T times) or ``[T, N, C, H, W]``; output ``[N, num_classes]``,
    or ``[T, N, num_classes]`` with ``return_sequence=True`` (for TET-style losses)."""

    def __init__(self, block: type[BasicBlock | Bottleneck], layers: list[int], num_classes: int = 1000,
                 zero_init_residual: bool = False, groups: int = 1, width_per_group: int = 64,
                 replace_stride_with_dilation: list[bool] | None = None, norm_layer=None, T: int = 4,
                 cnf: str | None = "ADD", spiking_neuron: Callable = neuron.IFNode, return_sequence: bool = False,
                 **kwargs):
        super().__init__()
        self.return_sequence = bool(return_sequence)
        if cnf is not None and cnf not in CONNECT_FUNCTIONS:
            raise ValueError(f"cnf: expected one of {CONNECT_FUNCTIONS} (or None), got {cnf!r}")
        if isinstance(T, bool) or not isinstance(T, int) or T < 1:
            raise ValueError(f"T: expected a positive int, got {T!r}")
        norm_layer = norm_layer or nn.BatchNorm2d
        self.T, self.cnf = T, cnf
        self.inplanes, self.dilation = 64, 1
        replace = replace_stride_with_dilation or [False, False, False]
        if len(replace) != 3:
            raise ValueError(f"replace_stride_with_dilation: expected 3 booleans, got {replace}")
        self.groups, self.base_width = groups, width_per_group
        self.conv1 = _conv_bn(3, 64, 7, 2, 3, norm_layer=norm_layer)
        self.sn1 = _neuron(spiking_neuron, kwargs)
        self.maxpool = SeqToANNContainer(nn.MaxPool2d(kernel_size=3, stride=2, padding=1))
        common = dict(norm_layer=norm_layer, cnf=cnf, spiking_neuron=spiking_neuron, **kwargs)
        self.layer1 = self._make_layer(block, 64, layers[0], 1, False, common)
        self.layer2 = self._make_layer(block, 128, layers[1], 2, replace[0], common)
        self.layer3 = self._make_layer(block, 256, layers[2], 2, replace[1], common)
        self.layer4 = self._make_layer(block, 512, layers[3], 2, replace[2], common)
        self.avgpool = SeqToANNContainer(nn.AdaptiveAvgPool2d((1, 1)))
        self.fc = nn.Linear(512 * block.expansion, num_classes)
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
            elif isinstance(m, (nn.BatchNorm2d, nn.GroupNorm)):
                nn.init.constant_(m.weight, 1)
                nn.init.constant_(m.bias, 0)
        if zero_init_residual:
            for m in self.modules():
                last = m.conv3 if isinstance(m, Bottleneck) else m.conv2 if isinstance(m, BasicBlock) else None
                if last is not None:
                    nn.init.constant_(last[1].weight, 0)

    def _make_layer(self, block, planes, blocks, stride, dilate, common):
        downsample = None
        previous_dilation = self.dilation
        if dilate:
            self.dilation *= stride
            stride = 1
        if stride != 1 or self.inplanes != planes * block.expansion:
            downsample = _conv_bn(self.inplanes, planes * block.expansion, 1, stride,
                                  norm_layer=common["norm_layer"])
        layers = [block(self.inplanes, planes, stride, downsample, self.groups, self.base_width, previous_dilation,
                        **common)]
        self.inplanes = planes * block.expansion
        for _ in range(1, blocks):
            layers.append(block(self.inplanes, planes, groups=self.groups, base_width=self.base_width,
                                dilation=self.dilation, **common))
        return nn.Sequential(*layers)

    def nir_layers(self) -> list[nn.Module]:
        """What ``snnrs.export.to_nir`` writes, one time step at a time: input frames ``[C, H, W]`` (feed
        the image T times, as forward does), output the head's logits per step (``return_sequence=True``;
        the mean over T that forward takes otherwise is the reader's to take). The stem's max pool follows
        a spiking neuron, so it is written exactly as a sum pool and a threshold; AND and IAND refuse."""
        return [self.conv1, self.sn1, self.maxpool, self.layer1, self.layer2, self.layer3, self.layer4,
                self.avgpool, nn.Flatten(1), self.fc]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() == 4:
            x = x.unsqueeze(0).repeat(self.T, 1, 1, 1, 1)
        elif x.dim() != 5:
            raise ValueError(f"x: expected [N, C, H, W] or [T, N, C, H, W], got shape {tuple(x.shape)}")
        x = self.maxpool(self.sn1(self.conv1(x)))
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        x = torch.flatten(self.avgpool(x), 2)
        # The head is linear, so fc(mean_t x) == mean_t fc(x); the mean first is T times cheaper.
        return self.fc(x) if self.return_sequence else self.fc(x.mean(0))


def _builder(block, layers, cnf_default, **fixed):
    def build(*, cnf: str | None = cnf_default, spiking_neuron: Callable = neuron.IFNode, **kwargs):
        return SEWResNet(block, layers, cnf=cnf, spiking_neuron=spiking_neuron, **fixed, **kwargs)
    return build


_DEPTHS = {18: (BasicBlock, [2, 2, 2, 2]), 34: (BasicBlock, [3, 4, 6, 3]), 50: (Bottleneck, [3, 4, 6, 3]),
           101: (Bottleneck, [3, 4, 23, 3]), 152: (Bottleneck, [3, 8, 36, 3])}

sew_resnet18, sew_resnet34, sew_resnet50, sew_resnet101, sew_resnet152 = (
    _builder(*_DEPTHS[d], "ADD") for d in (18, 34, 50, 101, 152))
sew_resnext50_32x4d = _builder(Bottleneck, [3, 4, 6, 3], "ADD", groups=32, width_per_group=4)
sew_resnext101_32x8d = _builder(Bottleneck, [3, 4, 23, 3], "ADD", groups=32, width_per_group=8)
sew_wide_resnet50_2 = _builder(Bottleneck, [3, 4, 6, 3], "ADD", width_per_group=128)
sew_wide_resnet101_2 = _builder(Bottleneck, [3, 4, 23, 3], "ADD", width_per_group=128)
spiking_resnet18, spiking_resnet34, spiking_resnet50, spiking_resnet101, spiking_resnet152 = (
    _builder(*_DEPTHS[d], None) for d in (18, 34, 50, 101, 152))
