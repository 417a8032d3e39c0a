"""The conversion neurons — few-spikes (FS, outlier-aware, HG), SpikeZIP's STBIF, the activation-aware IF
— and their stateless functions give SpikingJelly 2.0.0's numbers (float64, 1e-12): outputs, the states
they carry, and the gradients where they have them, in both step modes."""

import pytest
import torch

import snnrs.functional
import snnrs.neuron
import snnrs.surrogate
from tests.compat.sj_sources import spikingjelly

K = 4
TABLE = dict(theta=[1.0, 0.5, 0.25, 0.125], h=[1.0, 0.5, 0.25, 0.125], d=[1.0, 0.5, 0.25, 0.125])
OUTLIER = dict(theta=[4.0, 2.0, 1.0, 0.5], h=[4.0, 2.0, 1.0, 0.5], d=[4.0, 2.0, 1.0, 0.5])
COARSE = dict(theta=[2.0, 1.0, 0.5, 0.25], h=[2.0, 1.0, 0.5, 0.25], d=[2.0, 1.0, 0.5, 0.25])


def _few_spike(module, kind, mode):
    table = module.FewSpikeTable(**TABLE)
    if kind == "fs":
        return module.FewSpikeNode(table, step_mode=mode)
    if kind == "outlier":
        return module.OutlierAwareThresholdNode(table, module.FewSpikeTable(**OUTLIER), 1.5, clamp_value=6.0,
                                                step_mode=mode)
    return module.HGNode([table, module.FewSpikeTable(**COARSE), module.FewSpikeTable(**OUTLIER)], [0.5, 2.0],
                         step_mode=mode)


@pytest.mark.parametrize("kind", ["fs", "outlier", "hg"])
@pytest.mark.parametrize("mode", ["s", "m"])
def test_few_spike_neurons_give_spikingjelly_numbers(kind, mode):
    sj = spikingjelly()
    shape = (3, 7) if mode == "s" else (K, 3, 7)
    x = torch.rand(shape, dtype=torch.float64, generator=torch.Generator().manual_seed(0)) * 6 - 2
    results = []
    for module in (sj.neuron, snnrs.neuron):
        node = _few_spike(module, kind, mode).double()
        xi = x.clone().requires_grad_(True)
        y = node(xi)
        (y * torch.linspace(-1, 1, y.numel(), dtype=y.dtype).reshape(y.shape)).sum().backward()
        results.append((y.detach(), xi.grad, node.state_dict()))
    (y_sj, g_sj, s_sj), (y_us, g_us, s_us) = results
    assert y_sj.abs().sum() > 0 and g_sj.abs().sum() > 0
    torch.testing.assert_close(y_us, y_sj, rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(g_us, g_sj, rtol=1e-12, atol=1e-12)
    assert s_us.keys() == s_sj.keys()


@pytest.mark.parametrize("sym", [False, True])
@pytest.mark.parametrize("mode", ["s", "m"])
def test_stbif_gives_spikingjelly_numbers(sym, mode):
    sj = spikingjelly()
    x = torch.rand(6, 2, 5, dtype=torch.float64, generator=torch.Generator().manual_seed(1)) * 0.8 - 0.3
    results = []
    for module in (sj.neuron, snnrs.neuron):
        node = module.STBIFNode(0.1, level=8, sym=sym, step_mode=mode).double()
        y = node(x) if mode == "m" else torch.stack([node(step) for step in x])
        results.append((y, node.q, node.acc_q, node.cur_output, node.accumulated))
    assert (results[0][0] != 0).any()
    assert (results[0][0] < 0).any()  # negative quanta: taken back (unsigned) or below zero (symmetric)
    for a, b in zip(results[1], results[0], strict=True):
        torch.testing.assert_close(a, b, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("per_channel", [False, True])
@pytest.mark.parametrize("mode", ["s", "m"])
@pytest.mark.parametrize("v_reset", [None, 0.0])
def test_activation_aware_if_gives_spikingjelly_numbers(per_channel, mode, v_reset):
    sj = spikingjelly()
    threshold = torch.tensor([0.5, 1.0, 1.5]) if per_channel else 0.8
    offset = torch.tensor([0.1, -0.1, 0.2]) if per_channel else 0.05
    x = torch.rand(6, 2, 3, 4, dtype=torch.float64, generator=torch.Generator().manual_seed(2)) * 1.5
    results = []
    for module in (sj.neuron, snnrs.neuron):
        node = module.ActivationAwareIFNode(threshold, offset, channel_dim=1 if per_channel else -1, v_reset=v_reset,
                                            step_mode=mode, store_v_seq=True).double()
        xi = x.clone().requires_grad_(True)
        y = node(xi) if mode == "m" else torch.stack([node(step) for step in xi])
        (y * torch.linspace(-1, 1, y.numel(), dtype=y.dtype).reshape(y.shape)).sum().backward()
        results.append((y.detach(), node.v.detach(), xi.grad))
    assert results[0][0].sum() > 0
    for a, b in zip(results[1], results[0], strict=True):
        torch.testing.assert_close(a, b, rtol=1e-12, atol=1e-12)


def test_conversion_step_functions_give_spikingjelly_numbers():
    sj = spikingjelly()
    x = torch.rand(5, 2, 3, generator=torch.Generator().manual_seed(3)) * 0.8 - 0.3
    q, acc = torch.full((2, 3), 0.5), torch.zeros(2, 3)
    args = (torch.tensor(0.1), torch.tensor(7.0), torch.tensor(0.0))
    for a, b in zip(snnrs.functional.stbif_multi_step(x, q, acc, *args),
                    sj.functional.stbif_multi_step(x, q, acc, *args), strict=True):
        torch.testing.assert_close(a, b, rtol=0, atol=0)
    for a, b in zip(snnrs.functional.stbif_step(x[0], q, acc, *args), sj.functional.stbif_step(x[0], q, acc, *args),
                    strict=True):
        torch.testing.assert_close(a, b, rtol=0, atol=0)
    th, off, v = torch.tensor([0.5, 1.0, 0.7]), torch.tensor([0.0, 0.1, -0.1]), torch.zeros(2, 3)
    for reset in (None, 0.0):
        theirs = sj.functional.activation_aware_if_multi_step(x * 3, v, th, off, 3, 1, reset, True)
        mine = snnrs.functional.activation_aware_if_multi_step(x * 3, v, th, off, 3, 1, reset, True)
        assert theirs[0].sum() > 0
        for a, b in zip(mine, theirs, strict=True):
            torch.testing.assert_close(a, b, rtol=1e-6, atol=1e-6)
    sg = snnrs.surrogate.Sigmoid()
    for a, b in zip(snnrs.functional.activation_aware_if_step(x[0] * 3, v, th, off, None, sg),
                    sj.functional.activation_aware_if_step(x[0] * 3, v, th, off, None, sj.surrogate.Sigmoid()),
                    strict=True):
        torch.testing.assert_close(a, b, rtol=0, atol=0)


def test_stbif_refuses_gradients():
    with pytest.raises(RuntimeError, match="inference"):
        snnrs.neuron.STBIFNode(0.1, 4)(torch.rand(2, 3, requires_grad=True))
