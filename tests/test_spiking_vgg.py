"""Spiking VGG: parameter counts equal torchvision's VGGs (published in torchvision's model
table), the layout (BN after each conv only in the _bn variants, a neuron where VGG has a ReLU),
multi-step dropout sharing its mask over T, and a forward/backward pass."""

import pytest
import torch
from torch import nn

from snnrs import functional, models, neuron
from snnrs.stateful_layer import Dropout

# torchvision.models documentation, "num_params" of each VGG's weights
TORCHVISION_PARAMETERS = {
    "spiking_vgg11": 132_863_336, "spiking_vgg11_bn": 132_868_840,
    "spiking_vgg13": 133_047_848, "spiking_vgg13_bn": 133_053_736,
    "spiking_vgg16": 138_357_544, "spiking_vgg16_bn": 138_365_992,
    "spiking_vgg19": 143_667_240, "spiking_vgg19_bn": 143_678_248,
}


@pytest.mark.parametrize("name", sorted(TORCHVISION_PARAMETERS))
def test_parameter_counts_equal_torchvision_vggs(name):
    net = getattr(models, name)()
    assert sum(p.numel() for p in net.parameters()) == TORCHVISION_PARAMETERS[name]
    convs = [m for m in net.modules() if isinstance(m, nn.Conv2d)]
    norms = [m for m in net.modules() if isinstance(m, nn.BatchNorm2d)]
    neurons = [m for m in net.modules() if isinstance(m, neuron.IFNode)]
    assert len(norms) == (len(convs) if name.endswith("_bn") else 0)
    assert len(neurons) == len(convs) + 2  # every ReLU of VGG: one per conv, two in the classifier
    assert len(convs) == int(name.split("vgg")[1].split("_")[0]) - 3


def test_forward_backward_with_lif_and_sequence_output():
    torch.manual_seed(0)
    net = models.spiking_vgg11_bn(num_classes=10, T=2, spiking_neuron=neuron.LIFNode, tau=2.0,
                                  return_sequence=True)
    x = torch.rand(3, 3, 32, 32)
    out = net(x)
    assert out.shape == (2, 3, 10)
    out.sum().backward()
    assert all(p.grad is not None for p in net.parameters() if p.requires_grad)
    assert {m.tau for m in net.modules() if isinstance(m, neuron.LIFNode)} == {2.0}
    functional.reset_net(net)
    net.return_sequence = False
    net.eval()
    assert net(x).shape == (3, 10)
    with pytest.raises(ValueError, match="x: expected"):
        net(torch.rand(3, 32, 32))
    with pytest.raises(ValueError, match="T: expected"):
        models.spiking_vgg11(T=0)
    with pytest.raises(ValueError, match="cfg"):
        models.SpikingVGG([64, "X"])


def test_classifier_dropout_shares_one_mask_over_time():
    torch.manual_seed(1)
    drop = Dropout(0.5, step_mode="m")
    y = drop(torch.ones(4, 2, 4096))
    assert torch.equal(y[0], y[3]) and 0.4 < (y[0] == 0).float().mean() < 0.6
    assert set(torch.unique(y).tolist()) == {0.0, 2.0}
