"""MPBN-LIF gives SpikingJelly 2.0.0's numbers: with the BatchNorm in the loop (training and evaluation,
running statistics included), with a learnable threshold, and after folding the BatchNorm into the
threshold (plain, with running statistics, with normalised residuals) — spikes, voltages, input and
parameter gradients (float64, 1e-12), single- and multi-step."""

import pytest
import torch

import snnrs.neuron
from tests.compat.sj_sources import spikingjelly

VARIANTS = {
    "bn 4d": (dict(out_channels=3), None),
    "bn 2d": (dict(out_features=5), None),
    "learnable threshold": (dict(out_channels=3, learnable_vth=True), None),
    "folded": (dict(out_channels=3), dict()),
    "folded, running statistics": (dict(out_channels=3), dict(running_stats=True)),
    "folded, normalised residual": (dict(out_channels=3), dict(normalize_residual=True, running_stats=True)),
    "soft reset, decay_input": (dict(out_features=5, v_reset=None, decay_input=True), None),
}


def _input(variant):
    shape = (4, 2, 5) if "out_features" in VARIANTS[variant][0] else (4, 2, 3, 3, 3)
    return torch.rand(shape, dtype=torch.float64, generator=torch.Generator().manual_seed(0)) * 3 - 0.5


def _run(node, x, mode, train):
    node.train(train)
    node.step_mode = mode
    xi = x.clone().requires_grad_(True)
    y = node(xi) if mode == "m" else torch.stack([node(step) for step in xi])
    v = node.v.detach().clone()
    (y * torch.linspace(-1, 1, y.numel(), dtype=y.dtype).reshape(y.shape)).sum().backward()
    state = {k: v_.clone() for k, v_ in node.state_dict().items()}
    return y.detach(), v, xi.grad, {k: p.grad for k, p in node.named_parameters()}, state


@pytest.mark.parametrize("variant", list(VARIANTS))
@pytest.mark.parametrize("mode", ["s", "m"])
@pytest.mark.parametrize("train", [True, False])
def test_mpbn_lif_gives_spikingjelly_numbers(variant, mode, train):
    sj = spikingjelly()
    kwargs, fold = VARIANTS[variant]
    nodes = []
    for module in (sj.neuron, snnrs.neuron):
        torch.manual_seed(0)
        node = module.MPBNLIFNode(**kwargs).double()
        if not isinstance(node.vbn, torch.nn.Identity):
            with torch.no_grad():  # trained-looking statistics and affine parameters
                node.vbn.running_mean.uniform_(0.0, 0.5)
                node.vbn.running_var.uniform_(0.5, 1.5)
                node.vbn.weight.uniform_(0.5, 1.5)
                node.vbn.bias.uniform_(-0.2, 0.2)
        if fold is not None:
            node.re_parameterize_v_threshold(**fold)
        nodes.append(node)
    x = _input(variant)
    theirs, mine = (_run(node, x, mode, train) for node in nodes)
    assert theirs[0].abs().sum() > 0 and theirs[2].abs().sum() > 0
    for a, b in zip(mine[:3], theirs[:3], strict=True):
        torch.testing.assert_close(a, b, rtol=1e-12, atol=1e-12)
    assert mine[3].keys() == theirs[3].keys()
    for key in theirs[3]:
        torch.testing.assert_close(mine[3][key], theirs[3][key], rtol=1e-12, atol=1e-12, msg=key)
    assert mine[4].keys() == theirs[4].keys()
    for key in theirs[4]:
        torch.testing.assert_close(mine[4][key], theirs[4][key], rtol=1e-12, atol=1e-12, msg=key)
    if fold is not None:
        torch.testing.assert_close(nodes[1].mu, nodes[0].mu, rtol=1e-12, atol=1e-12)
        assert nodes[1].bn_momentum == nodes[0].bn_momentum


def test_mpbn_needs_exactly_one_feature_count():
    with pytest.raises(ValueError, match="exactly one"):
        snnrs.neuron.MPBNLIFNode()
