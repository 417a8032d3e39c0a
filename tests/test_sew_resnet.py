"""SEW ResNet and spiking ResNet (docs/semantics.md#sew-resnet): parameter counts equal torchvision's
ResNets with IF neurons (the numbers docs/semantics.md#sew-resnet states), the connect functions' truth
tables in both block types, and a forward/backward pass."""

import itertools

import pytest
import torch

from snnrs import functional, models, neuron
from snnrs.models.sew_resnet import BasicBlock, Bottleneck, _conv_bn

PARAMETERS = {18: 11_689_512, 34: 21_797_672, 50: 25_557_032, 101: 44_549_160, 152: 60_192_808}


@pytest.mark.parametrize("depth", sorted(PARAMETERS))
@pytest.mark.parametrize("family", ["sew_resnet", "spiking_resnet"])
def test_parameter_counts_equal_torchvision_resnets(depth, family):
    net = getattr(models, f"{family}{depth}")()
    assert sum(p.numel() for p in net.parameters()) == PARAMETERS[depth]


def test_variants_build_with_their_torchvision_parameter_counts():
    # torchvision: resnext50_32x4d 25,028,904; wide_resnet50_2 68,883,240
    assert sum(p.numel() for p in models.sew_resnext50_32x4d().parameters()) == 25_028_904
    assert sum(p.numel() for p in models.sew_wide_resnet50_2().parameters()) == 68_883_240


class _Fixed(torch.nn.Module):
    """A 'neuron' that returns a prescribed spike tensor, to read g(A, S) off a block."""

    def __init__(self, value, **kwargs):
        super().__init__()
        self.value = value

    def forward(self, x):
        return self.value.expand_as(x)


@pytest.mark.parametrize("block", [BasicBlock, Bottleneck])
def test_connect_functions_truth_tables_hold_in_both_blocks(block):
    expected = {"ADD": lambda a, s: a + s, "AND": lambda a, s: a * s, "IAND": lambda a, s: (1 - a) * s}
    planes = 4
    channels = planes * block.expansion
    for cnf, (a, s) in itertools.product(expected, itertools.product((0.0, 1.0), repeat=2)):
        blk = block(channels, planes, cnf=cnf, spiking_neuron=_Fixed, value=torch.tensor(a))
        x = torch.full((1, 2, channels, 3, 3), s)
        out = blk(x)
        assert torch.all(out == expected[cnf](a, s)), (block.__name__, cnf, a, s)


def test_iand_uses_the_shortcut_spikes_as_s_with_downsampling():
    blk = Bottleneck(8, 4, stride=2, downsample=_conv_bn(8, 16, 1, 2), cnf="IAND", spiking_neuron=neuron.IFNode)
    blk.sn3 = _Fixed(torch.tensor(0.0))
    blk.downsample_sn = _Fixed(torch.tensor(1.0))
    out = blk(torch.rand(2, 1, 8, 6, 6))
    assert out.shape == (2, 1, 16, 3, 3) and torch.all(out == 1.0)  # (1 - 0)·1


def test_forward_backward_and_bad_arguments():
    net = models.sew_resnet18(num_classes=10, T=2, cnf="IAND", spiking_neuron=neuron.LIFNode, tau=2.0)
    x = torch.rand(2, 3, 32, 32)
    out = net(x)
    assert out.shape == (2, 10)
    out.sum().backward()
    assert net.conv1[0].weight.grad is not None and net.conv1[0].weight.grad.abs().sum() > 0
    functional.reset_net(net)
    with pytest.raises(ValueError, match="cnf: expected one of"):
        models.sew_resnet18(cnf="OR")
    with pytest.raises(ValueError, match="x: expected"):
        net(torch.rand(3, 32, 32))
