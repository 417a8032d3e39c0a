"""Stateful layers, checked against values worked out by hand."""

import pytest
import torch
from torch import nn

from snnrs import functional, layer


def test_synapse_filter_by_hand():
    # tau = 2: a spike adds 1 with no decay that step; silence halves the current.
    f = layer.SynapseFilter(tau=2.0, step_mode="m")
    x = torch.tensor([1.0, 0.0, 0.0, 1.0, 1.0]).reshape(5, 1)
    assert f(x).flatten().tolist() == [1.0, 0.5, 0.25, 1.25, 2.25]
    single = layer.SynapseFilter(tau=2.0)
    assert [single(x[t]).item() for t in range(5)] == [1.0, 0.5, 0.25, 1.25, 2.25]
    learnable = layer.SynapseFilter(tau=2.0, learnable=True)
    assert learnable.w.item() == 0.0 and learnable.inverse_tau().item() == 0.5


def test_delay_by_hand_in_both_modes():
    x = torch.arange(1.0, 6.0).reshape(5, 1)
    assert layer.Delay(2, step_mode="m")(x).flatten().tolist() == [0, 0, 1, 2, 3]
    d = layer.Delay(2)
    assert [d(x[t]).item() for t in range(5)] == [0, 0, 1, 2, 3]
    assert torch.equal(layer.Delay(0, step_mode="m")(x), x)
    assert layer.Delay(7, step_mode="m")(x).abs().sum() == 0
    with pytest.raises(ValueError, match="delay_steps"):
        layer.Delay(-1)


def test_dropout_keeps_one_mask_per_sample_for_all_steps():
    torch.manual_seed(0)
    drop = layer.Dropout(0.5, step_mode="m")
    y = drop(torch.ones(6, 4, 10))
    assert set(y.unique().tolist()) <= {0.0, 2.0}
    assert all(torch.equal(y[t], y[0]) for t in range(6))
    single = layer.Dropout(0.5)
    outs = [single(torch.ones(4, 10)) for _ in range(3)]
    assert torch.equal(outs[0], outs[2])
    functional.reset_net(single)
    assert single.mask is None
    single.eval()
    assert torch.equal(single(torch.ones(2, 3)), torch.ones(2, 3))
    y2 = layer.Dropout2d(0.5, step_mode="m")(torch.ones(3, 2, 8, 4, 4))
    per_channel = y2.flatten(3)  # [T, N, C, H*W]: each channel all kept or all dropped
    assert ((per_channel == 0).all(-1) | (per_channel == 2).all(-1)).all()
    with pytest.raises(ValueError, match="p: expected a probability"):
        layer.Dropout(1.0)


def test_voting_layer_averages_groups():
    x = torch.arange(12.0).reshape(1, 12)
    assert layer.VotingLayer(3)(x).tolist() == [[1.0, 4.0, 7.0, 10.0]]
    assert layer.VotingLayer(2, step_mode="m")(torch.ones(5, 2, 8)).shape == (5, 2, 4)
    with pytest.raises(ValueError, match="multiple of voting_size"):
        layer.VotingLayer(5)(x)


def test_recurrent_containers_by_hand():
    c = layer.ElementWiseRecurrentContainer(nn.Identity(), lambda y, x: y * 10 + x, step_mode="m")
    assert c(torch.ones(3, 1)).flatten().tolist() == [1.0, 11.0, 111.0]
    sub = nn.Linear(2, 3)
    lin = layer.LinearRecurrentContainer(sub, in_features=2, out_features=3, step_mode="m")
    x = torch.randn(4, 5, 2)
    y = lin(x)
    prev = torch.zeros(5, 3)
    for t in range(4):
        prev = sub(lin.rc(torch.cat((x[t], prev), dim=-1)))
        torch.testing.assert_close(y[t], prev)


def test_threshold_dependent_batchnorm():
    bn = layer.ThresholdDependentBatchNorm2d(1.0, 0.5, 4)
    assert torch.equal(bn.weight.data, torch.full((4,), 0.5))
    x = torch.randn(3, 2, 4, 5, 5)
    plain = nn.BatchNorm2d(4)
    nn.init.constant_(plain.weight, 0.5)
    torch.testing.assert_close(bn(x), plain(x.flatten(0, 1)).reshape(x.shape))
    with pytest.raises(ValueError, match="5-D"):
        bn(torch.randn(2, 4, 5, 5))
