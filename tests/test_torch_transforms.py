"""PyTorch's program transforms on a SEW-style multi-step convolutional network built from
``snnrs.layer`` and ``snnrs.neuron`` (engine backend, the default): ``torch.compile`` with
``fullgraph=True`` and in its default (dynamic-shape) mode, ``torch.func.vmap`` / ``grad`` /
``jacrev``, ``torch.export`` (strict) and ``torch.jit.trace`` — each against the eager network."""

import pytest
import torch
from torch import nn

from snnrs import functional, layer, neuron, surrogate


class SEWBlock(nn.Module):
    """conv-BN-LIF twice, then the identity added (SEW 'ADD')."""

    def __init__(self, channels, make_neuron):
        super().__init__()
        self.conv1 = layer.SeqToANNContainer(nn.Conv2d(channels, channels, 3, padding=1, bias=False),
                                             nn.BatchNorm2d(channels))
        self.sn1 = make_neuron()
        self.conv2 = layer.SeqToANNContainer(nn.Conv2d(channels, channels, 3, padding=1, bias=False),
                                             nn.BatchNorm2d(channels))
        self.sn2 = make_neuron()

    def forward(self, x):
        return self.sn2(self.conv2(self.sn1(self.conv1(x)))) + x


def sew_net(dtype=torch.float32):
    torch.manual_seed(0)

    def lif():
        return neuron.LIFNode(tau=2.0, surrogate_function=surrogate.ATan(), detach_reset=True)

    def plif():
        return neuron.ParametricLIFNode(surrogate_function=surrogate.ATan(), detach_reset=True)

    net = nn.Sequential(layer.Conv2d(2, 8, 3, padding=1, bias=False), layer.BatchNorm2d(8), lif(),
                        SEWBlock(8, lif), SEWBlock(8, plif), layer.MaxPool2d(2), layer.Flatten(),
                        layer.Linear(8 * 4 * 4, 10),
                        neuron.IFNode(v_threshold=0.2, surrogate_function=surrogate.ATan()))
    functional.set_step_mode(net, "m")
    return net.to(dtype)


@pytest.fixture(autouse=True)
def _fresh_dynamo():
    """Each test compiles as a fresh process would. (Dynamo remembers the shapes earlier frames of the
    same code objects saw and then compiles every dimension dynamic; torch 2.13's Inductor then fails
    to order the symbolic strides of a conv input saved for backward — SpikingJelly 2.0's layers hit
    the same, outside snnrs.)"""
    torch._dynamo.reset()
    yield
    torch._dynamo.reset()


def _inputs(steps=4, batch=2, dtype=torch.float32):
    return torch.rand(steps, batch, 2, 8, 8, generator=torch.Generator().manual_seed(steps * 10 + batch),
                      dtype=dtype) * 2


def _train_step(model, net, x):
    """Loss and parameter gradients of one step; the network's state is reset afterwards."""
    net.zero_grad(set_to_none=True)
    out = model(x).mean(0)
    loss = (out * torch.linspace(-1, 1, out.numel(), dtype=out.dtype).reshape(out.shape)).sum()
    loss.backward()
    functional.reset_net(net)
    return loss.detach(), [p.grad.clone() for p in net.parameters()]


def _assert_same_step(eager, compiled):
    (loss_e, grads_e), (loss_c, grads_c) = eager, compiled
    torch.testing.assert_close(loss_c, loss_e)
    assert any(g.abs().sum() > 0 for g in grads_e)
    for ge, gc in zip(grads_e, grads_c, strict=True):
        torch.testing.assert_close(gc, ge, rtol=1e-5, atol=1e-6)


def test_the_network_spikes_and_runs_on_the_engine():
    net = sew_net()
    x = _inputs()
    assert all(m.engine_supports(x) for m in net.modules() if isinstance(m, neuron.BaseNode))
    assert net(x).abs().sum() > 0


def test_compile_fullgraph_trains_like_eager():
    eager_net, compiled_net = sew_net(), sew_net()
    compiled = torch.compile(compiled_net, fullgraph=True)
    for x in (_inputs(), _inputs(batch=3)):
        _assert_same_step(_train_step(eager_net, eager_net, x), _train_step(compiled, compiled_net, x))


def test_compile_default_mode_with_changing_shapes_trains_like_eager():
    """The default mode recompiles with dynamic shapes on the second shape it sees."""
    eager_net, compiled_net = sew_net(), sew_net()
    compiled = torch.compile(compiled_net)
    for x in (_inputs(), _inputs(batch=3), _inputs(steps=3, batch=5)):
        _assert_same_step(_train_step(eager_net, eager_net, x), _train_step(compiled, compiled_net, x))


def _from_rest(net, x):
    functional.reset_net(net)
    return net(x)


def test_vmap_over_samples_equals_the_batched_network():
    net = sew_net(torch.float64).eval()
    x = _inputs(dtype=torch.float64)
    expected = _from_rest(net, x)
    per_sample = torch.func.vmap(lambda xi: _from_rest(net, xi.unsqueeze(1)).squeeze(1), in_dims=1, out_dims=1)(x)
    torch.testing.assert_close(per_sample, expected, rtol=0, atol=0)


def test_func_grad_and_jacrev_equal_autograd():
    net = sew_net(torch.float64).eval()
    x = _inputs(dtype=torch.float64)
    weights = torch.linspace(-1, 1, 10, dtype=torch.float64)
    g = torch.func.grad(lambda xi: (_from_rest(net, xi) * weights).sum())(x)
    xi = x.clone().requires_grad_(True)
    (_from_rest(net, xi) * weights).sum().backward()
    assert xi.grad.abs().sum() > 0
    torch.testing.assert_close(g, xi.grad, rtol=1e-12, atol=1e-12)
    small = x[:2, :1]
    jacobian = torch.func.jacrev(lambda xi: _from_rest(net, xi).sum(-1))(small)
    assert jacobian.shape == (2, 1) + small.shape
    torch.testing.assert_close(jacobian.sum(dim=(0, 1)), torch.func.grad(lambda xi: _from_rest(net, xi).sum())(small),
                               rtol=1e-12, atol=1e-12)


def test_export_strict_runs_like_eager():
    net = sew_net().eval()
    x = _inputs()
    expected = _from_rest(net, x)
    functional.reset_net(net)
    program = torch.export.export(net, (x,), strict=True)
    torch.testing.assert_close(program.module()(x), expected, rtol=0, atol=0)


def test_jit_trace_runs_like_eager():
    net = sew_net().eval()
    x = _inputs()
    expected = _from_rest(net, x)
    functional.reset_net(net)
    with pytest.warns(torch.jit.TracerWarning):  # the kernels' parameters are traced as constants
        traced = torch.jit.trace(net, (x,), check_trace=False)
    functional.reset_net(net)
    torch.testing.assert_close(traced(x), expected, rtol=0, atol=0)
