"""The spiking-network normalisation and spike-count layers give SpikingJelly 2.0.0's numbers: the same
state dict in, the same outputs, input gradients, parameter gradients and running statistics out
(float64, 1e-12), in each step mode they support."""

import pytest
import torch

import snnrs.functional
import snnrs.layer
from tests.compat.sj_sources import spikingjelly

T = 4


def _x(shape, seed=0):
    return torch.rand(shape, dtype=torch.float64, generator=torch.Generator().manual_seed(seed)) * 2 - 0.5


CASES = {
    "TemporalEffectiveBatchNorm1d": (lambda L: L.TemporalEffectiveBatchNorm1d(T, 3), (T, 2, 3, 5), ("m",)),
    "TemporalEffectiveBatchNorm2d": (lambda L: L.TemporalEffectiveBatchNorm2d(T, 3), (T, 2, 3, 4, 4), ("m",)),
    "TemporalEffectiveBatchNorm3d": (lambda L: L.TemporalEffectiveBatchNorm3d(T, 3), (T, 2, 3, 2, 3, 3), ("m",)),
    "BatchNormThroughTime1d": (lambda L: L.BatchNormThroughTime1d(T, 3), (T, 4, 3), ("s", "m")),
    "BatchNormThroughTime2d": (lambda L: L.BatchNormThroughTime2d(T, 3), (T, 2, 3, 4, 4), ("s", "m")),
    "BatchNormThroughTime3d": (lambda L: L.BatchNormThroughTime3d(T, 3), (T, 2, 3, 2, 3, 3), ("s", "m")),
    "NeuNorm": (lambda L: L.NeuNorm(3, 4, 5, k=0.8), (T, 2, 3, 4, 5), ("s", "m")),
    "NeuNorm shared": (lambda L: L.NeuNorm(3, 4, 5, shared_across_channels=True), (T, 2, 3, 4, 5), ("s", "m")),
    "WSLinear": (lambda L: L.WSLinear(5, 4), (T, 2, 5), ("s", "m")),
    "WSConv2d": (lambda L: L.WSConv2d(3, 4, 3, padding=1, gain=False), (T, 2, 3, 5, 5), ("s", "m")),
}


def _run(layer, x, mode, train=True):
    layer.train(train)
    if hasattr(layer, "step_mode") and "m" in getattr(layer, "supported_step_modes", ("s", "m")):
        layer.step_mode = mode
    xi = x.clone().requires_grad_(True)
    y = layer(xi) if mode == "m" else torch.stack([layer(step) for step in xi])
    (y * torch.linspace(-1, 1, y.numel(), dtype=y.dtype).reshape(y.shape)).sum().backward()
    return y.detach(), xi.grad, {n: p.grad for n, p in layer.named_parameters()}, layer.state_dict()


@pytest.mark.parametrize(("name", "mode"), [(n, m) for n, (_, _, modes) in CASES.items() for m in modes])
def test_layer_gives_spikingjelly_numbers(name, mode):
    sj = spikingjelly()
    build, shape, _ = CASES[name]
    torch.manual_seed(0)
    theirs = build(sj.layer).double()
    mine = build(snnrs.layer).double()
    mine.load_state_dict(theirs.state_dict(), strict=True)
    x = _x(shape)
    (y_sj, g_sj, p_sj, s_sj), (y_us, g_us, p_us, s_us) = _run(theirs, x, mode), _run(mine, x, mode)
    torch.testing.assert_close(y_us, y_sj, rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(g_us, g_sj, rtol=1e-12, atol=1e-12)
    assert p_sj.keys() == p_us.keys()
    for key in p_sj:
        torch.testing.assert_close(p_us[key], p_sj[key], rtol=1e-12, atol=1e-12, msg=key)
    for key in s_sj:  # running statistics after the step
        torch.testing.assert_close(s_us[key], s_sj[key], rtol=1e-12, atol=1e-12, msg=key)


@pytest.mark.parametrize("name", ["SpikeCountToBinary", "TemporalBinSum"])
@pytest.mark.parametrize("train", [True, False])
def test_spike_count_layers_give_spikingjelly_numbers(name, train):
    sj = spikingjelly()
    x = torch.randint(0, 4, (5, 2, 3), generator=torch.Generator().manual_seed(1)).double()
    results = []
    for layer_module in (sj.layer, snnrs.layer):
        layer = getattr(layer_module, name)(3)
        layer.train(train)
        xi = x.clone().requires_grad_(True)
        y = layer(xi)
        (y * torch.linspace(-1, 1, y.numel(), dtype=y.dtype).reshape(y.shape)).sum().backward()
        results.append((y.detach(), xi.grad))
    torch.testing.assert_close(results[1][0], results[0][0], rtol=0, atol=0)
    torch.testing.assert_close(results[1][1], results[0][1], rtol=1e-12, atol=1e-12)


def test_bntt_beyond_its_steps_is_a_clear_error():
    layer = snnrs.layer.BatchNormThroughTime1d(2, 3)
    layer(torch.rand(4, 3))
    layer(torch.rand(4, 3))
    with pytest.raises(ValueError, match="reset_net"):
        layer(torch.rand(4, 3))


def test_neunorm_step_is_spikingjellys():
    sj = spikingjelly()
    x, state, w = _x((2, 3, 4, 5)), _x((2, 1, 4, 5), 1), _x((3, 4, 5), 2)
    for a, b in zip(snnrs.functional.neunorm_step(x, state, w, 0.9, 0.01),
                    sj.functional.neunorm_step(x, state, w, 0.9, 0.01), strict=True):
        torch.testing.assert_close(a, b, rtol=0, atol=0)


@pytest.mark.parametrize("invariant", [False, True])
@pytest.mark.parametrize("train", [True, False])
def test_drop_connect_linear_gives_spikingjelly_numbers_for_the_same_seed(invariant, train):
    sj = spikingjelly()
    x = _x((3, 4, 6))
    results = []
    for layer_module in (sj.layer, snnrs.layer):
        torch.manual_seed(0)
        layer = layer_module.DropConnectLinear(6, 5, p=0.3, samples_num=64, invariant=invariant, step_mode="m").double()
        layer.train(train)
        torch.manual_seed(1)
        xi = x.clone().requires_grad_(True)
        y = layer(xi)
        if train:  # evaluation samples a Gaussian: no gradient
            (y * torch.linspace(-1, 1, y.numel(), dtype=y.dtype).reshape(y.shape)).sum().backward()
        results.append((y.detach(), xi.grad, layer.weight.grad))
    assert results[0][0].abs().sum() > 0
    for a, b in zip(results[1][1:], results[0][1:], strict=True):
        assert (a is None) == (b is None) == (not train)
        if train:
            torch.testing.assert_close(a, b, rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(results[1][0], results[0][0], rtol=1e-12, atol=1e-12)


def test_print_shape_module_passes_its_input_through_and_logs_the_shape(caplog):
    import logging
    x = torch.rand(2, 3)
    with caplog.at_level(logging.DEBUG, logger="snnrs"):
        assert snnrs.layer.PrintShapeModule("here")(x) is x
    assert "here shape=(2, 3)" in caplog.text
