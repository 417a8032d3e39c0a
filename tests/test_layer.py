"""Layers with step_mode, containers and functional helpers."""

import pytest
import torch
from torch import nn

from snnrs import functional, layer, neuron

STATELESS = [
    (lambda m: layer.Conv1d(2, 3, 3, padding=1, step_mode=m), (2, 8)),
    (lambda m: layer.Conv2d(2, 3, 3, step_mode=m), (2, 6, 6)),
    (lambda m: layer.Conv3d(2, 3, 2, step_mode=m), (2, 4, 4, 4)),
    (lambda m: layer.ConvTranspose1d(2, 3, 2, stride=2, step_mode=m), (2, 5)),
    (lambda m: layer.ConvTranspose2d(2, 3, 2, stride=2, step_mode=m), (2, 3, 3)),
    (lambda m: layer.Linear(6, 4, step_mode=m), (6,)),
    (lambda m: layer.MaxPool1d(2, step_mode=m), (2, 8)),
    (lambda m: layer.MaxPool2d(2, step_mode=m), (2, 6, 6)),
    (lambda m: layer.MaxPool3d(2, step_mode=m), (2, 4, 4, 4)),
    (lambda m: layer.AvgPool1d(2, step_mode=m), (2, 8)),
    (lambda m: layer.AvgPool2d(2, step_mode=m), (2, 6, 6)),
    (lambda m: layer.AvgPool3d(2, step_mode=m), (2, 4, 4, 4)),
    (lambda m: layer.AdaptiveAvgPool1d(3, step_mode=m), (2, 8)),
    (lambda m: layer.AdaptiveAvgPool2d((2, 3), step_mode=m), (2, 6, 6)),
    (lambda m: layer.AdaptiveAvgPool3d(1, step_mode=m), (2, 4, 4, 4)),
    (lambda m: layer.Flatten(step_mode=m), (2, 3, 3)),
    (lambda m: layer.Upsample(scale_factor=2, step_mode=m), (2, 3, 3)),
    (lambda m: layer.GroupNorm(2, 4, step_mode=m), (4, 3, 3)),
]


@pytest.mark.parametrize("make,shape", STATELESS)
def test_multi_step_equals_each_step_for_stateless_layers(make, shape):
    torch.manual_seed(0)
    single = make("s")
    multi = make("m")
    multi.load_state_dict(single.state_dict())
    x = torch.randn(4, 3, *shape)
    expected = torch.stack([single(x[t]) for t in range(4)])
    torch.testing.assert_close(multi(x), expected)


@pytest.mark.parametrize("cls,shape", [(layer.BatchNorm1d, (3, 4, 5)), (layer.BatchNorm2d, (3, 4, 5, 5)),
                                       (layer.BatchNorm3d, (3, 4, 2, 3, 3))])
def test_multi_step_batchnorm_uses_statistics_over_time_and_batch(cls, shape):
    torch.manual_seed(1)
    bn = cls(4, step_mode="m")
    plain = getattr(nn, cls.__name__)(4)
    x = torch.randn(5, *shape)
    torch.testing.assert_close(bn(x), plain(x.flatten(0, 1)).reshape(x.shape))
    torch.testing.assert_close(bn.running_mean, plain.running_mean)


def test_containers_agree():
    torch.manual_seed(2)
    conv, bn = nn.Conv2d(1, 2, 3), nn.BatchNorm2d(2).eval()
    x = torch.randn(6, 3, 1, 7, 7)
    expected = torch.stack([bn(conv(x[t])) for t in range(6)])
    torch.testing.assert_close(layer.SeqToANNContainer(conv, bn)(x), expected)
    torch.testing.assert_close(layer.MultiStepContainer(conv, bn)(x), expected)
    torch.testing.assert_close(layer.StepModeContainer(False, conv, bn, step_mode="m")(x), expected)
    lif = neuron.LIFNode()
    stateful = layer.StepModeContainer(True, conv, lif, step_mode="m")
    out = stateful(x)
    functional.reset_net(lif)
    torch.testing.assert_close(out, torch.stack([lif(conv(x[t])) for t in range(6)]))


def test_set_step_mode_reaches_layers_and_neurons():
    net = nn.Sequential(layer.Linear(3, 4), neuron.IFNode(), layer.Linear(4, 2))
    assert functional.set_step_mode(net, "m") == 3
    assert net(torch.rand(5, 2, 3)).shape == (5, 2, 2)
    with pytest.raises(ValueError, match="step_mode"):
        layer.Linear(3, 4, step_mode="x")


def test_set_step_mode_leaves_the_modules_inside_containers_alone():
    """SpikingJelly 2.0's rule: a container that calls its modules step by step (or on [T·N, ...])
    gets the mode, the modules inside keep theirs. Switching the neuron inside a recurrent
    container to 'm' would make it read the batch axis as time: a silently wrong answer."""

    def build():
        torch.manual_seed(1)
        return nn.Sequential(
            layer.Linear(6, 5),
            layer.LinearRecurrentContainer(neuron.IFNode(v_threshold=0.5), 5, 5),
            layer.ElementWiseRecurrentContainer(neuron.LIFNode(v_threshold=0.6), lambda y, x: x + 0.5 * y),
        )

    torch.manual_seed(0)
    x = torch.rand(7, 4, 6) * 3
    stepwise = build()  # single-step everywhere: one call per time step defines the answer
    expected = torch.stack([stepwise(xt) for xt in x])
    assert 0.05 < expected.mean() < 0.95  # spikes that a wrong stepping would change (16 of 140 did)
    net = build()
    assert functional.set_step_mode(net, "m") == 3  # the Linear and the two containers
    assert [net[1].sub_module.step_mode, net[2].sub_module.step_mode] == ["s", "s"]
    torch.testing.assert_close(net(x), expected)
    blocks = nn.Sequential(layer.MultiStepContainer(nn.Linear(4, 3), neuron.IFNode()),
                           layer.StepModeContainer(True, nn.Linear(3, 3), neuron.LIFNode()))
    functional.set_step_mode(blocks, "m")
    assert [blocks[0][1].step_mode, blocks[1].step_mode, blocks[1][1].step_mode] == ["s", "m", "s"]


def test_functional_forwards_and_first_spike():
    x = torch.randn(4, 2, 3)
    lin = nn.Linear(3, 5)
    torch.testing.assert_close(functional.seq_to_ann_forward(x, lin), lin(x))
    torch.testing.assert_close(functional.multi_step_forward(x, [lin, torch.relu]), torch.relu(lin(x)))
    spikes = torch.tensor([[0, 1, 0], [1, 1, 0], [1, 0, 0]], dtype=torch.float32)
    expected = torch.tensor([[False, True, False], [True, False, False], [False, False, False]])
    assert torch.equal(functional.first_spike_index(spikes, dim=0), expected)  # [T, N]
    assert torch.equal(functional.first_spike_index(spikes.T), expected.T)  # [N, T], SpikingJelly's default
    with pytest.raises(ValueError, match="x_seq"):
        functional.seq_to_ann_forward(torch.ones(3), lin)


@pytest.mark.parametrize("dims", [1, 2, 3])
def test_conv_bn_fusion_equals_conv_then_bn_in_eval(dims):
    torch.manual_seed(3)
    conv = getattr(nn, f"Conv{dims}d")(3, 4, 3, bias=dims != 2)
    bn = getattr(nn, f"BatchNorm{dims}d")(4)
    bn.running_mean.uniform_(-1, 1)
    bn.running_var.uniform_(0.5, 2)
    nn.init.uniform_(bn.weight, 0.5, 1.5)
    nn.init.uniform_(bn.bias, -0.5, 0.5)
    bn.eval()
    x = torch.randn(2, 3, *([6] * dims))
    torch.testing.assert_close(functional.fuse_conv_bn(conv, bn)(x), bn(conv(x)), rtol=1e-5, atol=1e-5)
    with pytest.raises(ValueError, match="bn: 5 features"):
        functional.fuse_conv_bn(conv, nn.BatchNorm2d(5))


def test_stateless_neuron_forward_equals_stateful_calls():
    torch.manual_seed(4)
    x = torch.rand(8, 3, 5) * 2
    stateful = neuron.IzhikevichNode(step_mode="m", b=0.2, a=0.1)
    expected = torch.cat([stateful(x[:4]), stateful(x[4:])])
    node = neuron.IzhikevichNode(step_mode="m", b=0.2, a=0.1)
    first, state = functional.neuron_forward(node, x[:4])
    second, state = functional.neuron_forward(node, x[4:], state)
    assert torch.equal(torch.cat([first, second]), expected)
    assert torch.equal(state["v"], stateful.v) and torch.equal(state["w"], stateful.w)
    assert node.v == 0.0  # the module itself was left untouched
    with pytest.raises(ValueError, match="state: unknown memories"):
        functional.neuron_forward(node, x, {"u": 1})
    with pytest.raises(TypeError, match="module: expected a stateful"):
        functional.neuron_forward(nn.Linear(2, 2), x)


def test_leaky_integrate_equals_its_recursion_with_gradients():
    torch.manual_seed(5)
    x = torch.randn(6, 3, 4, dtype=torch.float64, requires_grad=True)
    c0 = torch.randn(3, 4, dtype=torch.float64, requires_grad=True)
    got = functional.leaky_integrate(x, 0.7, c0)
    c, expected = c0, []
    for t in range(6):
        c = c * 0.7 + x[t]
        expected.append(c)
    assert torch.equal(got, torch.stack(expected))
    assert torch.autograd.gradcheck(lambda a, b: functional.leaky_integrate(a, 0.7, b), (x, c0))
    assert torch.autograd.gradcheck(lambda a: functional.leaky_integrate(a, 0.3), (x,))
    with pytest.raises(ValueError, match="c_init: expected shape"):
        functional.leaky_integrate(x, 0.5, torch.zeros(2))
