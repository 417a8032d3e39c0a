"""Behaviour of snnrs.neuron modules that SpikingJelly users rely on."""

import math
import os

import pytest
import torch
from torch import nn

from snnrs import functional, neuron, surrogate


def test_defaults_match_spikingjelly():
    n = neuron.LIFNode()
    assert (n.v_threshold, n.v_reset, n.detach_reset, n.step_mode, n.tau, n.decay_input) == \
        (1.0, 0.0, False, "s", 2.0, True)
    assert isinstance(n.surrogate_function, surrogate.Sigmoid) and n.surrogate_function.alpha == 4.0
    p = neuron.ParametricLIFNode()
    assert p.w.item() == 0.0 and p.w.requires_grad  # init_tau = 2 → w = -ln(1) = 0
    assert neuron.IFNode(v_reset=None).v == 0.0


@pytest.mark.parametrize("cls", [neuron.IFNode, neuron.LIFNode, neuron.ParametricLIFNode])
def test_engine_and_torch_backends_agree_in_float32(cls):
    torch.manual_seed(0)
    x = torch.randn(8, 4, 33) * 1.5
    a, b = cls(step_mode="m"), cls(step_mode="m", backend="torch")
    xa, xb = x.clone().requires_grad_(), x.clone().requires_grad_()
    ya, yb = a(xa), b(xb)
    g = torch.randn_like(ya)
    (ya * g).sum().backward()
    (yb * g).sum().backward()
    assert torch.equal(ya, yb)
    torch.testing.assert_close(xa.grad, xb.grad, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("backend", ["engine", "torch"])
def test_single_step_equals_multi_step(backend):
    torch.manual_seed(1)
    x = torch.randn(6, 3, 5, dtype=torch.float64)
    multi = neuron.LIFNode(step_mode="m", backend=backend)
    single = neuron.LIFNode(step_mode="s", backend=backend)
    xm, xs = x.clone().requires_grad_(), x.clone().requires_grad_()
    ym = multi(xm)
    ys = torch.stack([single(xs[t]) for t in range(6)])
    assert torch.equal(ym, ys)
    assert torch.equal(multi.v, single.v)
    ym.sum().backward()
    ys.sum().backward()
    torch.testing.assert_close(xm.grad, xs.grad, rtol=1e-12, atol=1e-12)


def test_state_carries_across_calls_with_gradient():
    torch.manual_seed(2)
    x = torch.randn(8, 2, 4, dtype=torch.float64)
    whole, split = neuron.LIFNode(step_mode="m"), neuron.LIFNode(step_mode="m")
    xw, xs = x.clone().requires_grad_(), x.clone().requires_grad_()
    yw = whole(xw)
    ys = torch.cat([split(xs[:3]), split(xs[3:])])
    assert torch.equal(yw, ys)
    yw.sum().backward()
    ys.sum().backward()
    torch.testing.assert_close(xw.grad, xs.grad, rtol=1e-12, atol=1e-12)


def test_batch_size_change_reinitialises_state():
    n = neuron.LIFNode(step_mode="m")
    n(torch.rand(4, 3, 5) * 3)
    y = n(torch.rand(4, 7, 5))  # new batch size, no reset_net in between
    fresh = neuron.LIFNode(step_mode="m")
    assert y.shape == (4, 7, 5)
    functional.reset_net(n)
    x = torch.rand(4, 7, 5) * 3
    assert torch.equal(n(x), fresh(x))


def test_reset_net_and_helpers():
    net = nn.Sequential(nn.Linear(3, 4), neuron.LIFNode(), nn.Linear(4, 2), neuron.IFNode())
    net(torch.randn(5, 3))
    assert isinstance(net[1].v, torch.Tensor)
    functional.reset_net(net)
    assert net[1].v == 0.0 and net[3].v == 0.0
    assert functional.set_step_mode(net, "m") == 2 and net[1].step_mode == "m"
    assert functional.set_backend(net, "torch", instance=neuron.LIFNode) == 1
    assert net[1].backend == "torch" and net[3].backend == "engine"
    with pytest.raises(ValueError, match="backend: no module supports 'lava'"):
        functional.set_backend(net, "lava")
    mixed = nn.Sequential(neuron.LIFNode(), neuron.SlidingPSN(2))
    with pytest.warns(UserWarning, match="SlidingPSN do not support 'torch'"):
        assert functional.set_backend(mixed, "torch") == 1


def test_store_v_seq_and_non_contiguous_input():
    n = neuron.IFNode(step_mode="m", store_v_seq=True)
    x = torch.rand(5, 4, 6).transpose(1, 2)  # not contiguous
    y = n(x)
    ref = neuron.IFNode(step_mode="m", store_v_seq=True, backend="torch")
    assert torch.equal(y, ref(x))
    assert torch.equal(n.v_seq, ref.v_seq) and n.v_seq.shape == (5, 6, 4)


def test_unsupported_configurations_fall_back_to_torch():
    x = torch.rand(3, 4, dtype=torch.bfloat16) * 2
    y = neuron.LIFNode(step_mode="m")(x)  # bfloat16: not an engine dtype
    assert y.dtype == torch.bfloat16
    custom = neuron.LIFNode(step_mode="m", surrogate_function=lambda h: (h >= 0).float())
    assert not custom.engine_supports(torch.rand(3, 4))
    assert custom(torch.full((2, 3), 2.5)).sum() == 6  # H = 1.25 at both steps: every neuron fires twice


def test_spikes_are_binary_and_threshold_inclusive():
    n = neuron.IFNode(step_mode="m", v_threshold=0.5)
    y = n(torch.tensor([[0.5, 0.49]]))
    assert y.tolist() == [[1.0, 0.0]]
    assert math.isclose(n.v[1].item(), 0.49, rel_tol=1e-6)


def test_custom_surrogate_falls_back_to_torch_and_saturated_plif_runs_on_the_engine():
    class Steeper(surrogate.Sigmoid):
        def derivative(self, x):
            return 2 * super().derivative(x)

    x = (torch.rand(1, 3, 5, dtype=torch.float64) * 2).requires_grad_()  # one step: grad linear in sg'
    custom = neuron.LIFNode(step_mode="m", surrogate_function=Steeper())
    assert not custom.engine_supports(x)
    custom(x).sum().backward()  # runs on the torch backend with the subclass's own derivative
    reference = neuron.LIFNode(step_mode="m", surrogate_function=surrogate.Sigmoid(), backend="torch")
    x2 = x.detach().clone().requires_grad_()
    reference(x2).sum().backward()
    torch.testing.assert_close(x.grad, 2 * x2.grad)
    engine, loop = neuron.ParametricLIFNode(step_mode="m").double(), neuron.ParametricLIFNode(
        step_mode="m", backend="torch").double()
    for node in (engine, loop):
        with torch.no_grad():
            node.w.fill_(40.0)  # sigmoid(40) == 1.0 in float64: the kernel holds k just below 1
    assert torch.equal(engine(x.detach()), loop(x.detach()))


@pytest.mark.parametrize("make", [lambda b: neuron.LIFNode(step_mode="m", backend=b, v_reset=None),
                                  lambda b: neuron.ParametricLIFNode(step_mode="m", backend=b, detach_reset=True),
                                  lambda b: neuron.IFNode(step_mode="m", backend=b, store_v_seq=True)])
def test_wgpu_backend_trains_like_the_engine(make):
    """Values and gradients (input, carried state, PLIF's w) of backend='wgpu' match the engine's."""
    from snnrs import gpu
    if not gpu.available():
        if os.environ.get("CI") == "true":
            pytest.fail("no WebGPU adapter in CI")
        pytest.skip("no WebGPU adapter")
    torch.manual_seed(0)
    x = torch.rand(6, 4, 9) * 1.5
    results = []
    for backend in ("wgpu", "engine"):
        torch.manual_seed(1)
        node = make(backend)
        xi = x.clone().requires_grad_()
        out = torch.cat([node(xi[:3]), node(xi[3:])])
        loss = (out * torch.linspace(-1, 1, out.numel()).view(out.shape)).sum() + node.v.sum()
        loss.backward()
        params = [p.grad.clone() for p in node.parameters()]
        results.append((out.detach(), xi.grad, params))
    (ow, gw, pw), (oe, ge, pe) = results
    assert torch.equal(ow, oe)
    torch.testing.assert_close(gw, ge, rtol=1e-5, atol=1e-6)
    for a, b in zip(pw, pe):
        torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-6)


def test_wgpu_backend_without_adapter_warns_and_runs_on_the_engine(monkeypatch):
    from snnrs import gpu
    from snnrs.ops import wgsl
    monkeypatch.setattr(gpu, "available", lambda: False)
    monkeypatch.setattr(wgsl, "_AVAILABLE", None)
    monkeypatch.setattr(wgsl, "_warned", set())
    x = torch.rand(5, 3, 4) * 2
    with pytest.warns(UserWarning, match="no WebGPU adapter found; running on the CPU engine"):
        node = neuron.LIFNode(step_mode="m", backend="wgpu")
    out = node(x)
    assert torch.equal(out, neuron.LIFNode(step_mode="m")(x))
    with pytest.raises(ValueError, match="backend: expected one of"):
        neuron.QIFNode(backend="wgpu")
