"""The energy counter against operation counts worked out by hand for a small network."""

import pytest
import torch
from torch import nn

from snnrs import layer, neuron
from snnrs.energy import EnergyCounter


def test_counts_equal_a_hand_computation():
    torch.manual_seed(0)
    T, N = 3, 2
    conv = nn.Conv2d(2, 3, 3, padding=1, bias=False)        # real-valued input: MACs
    fc = nn.Linear(3 * 4 * 4, 5, bias=False)                 # spikes in: SOPs
    net = nn.Sequential(layer.SeqToANNContainer(conv), neuron.IFNode(step_mode="m", v_threshold=0.1),
                        nn.Flatten(2), layer.SeqToANNContainer(fc))
    x = torch.rand(T, N, 2, 4, 4)
    with EnergyCounter(net) as counter:
        net(x)
    # conv: every one of T·N rows computes 3x3 kernels x 2 in-channels x 3 out-channels at 4x4 positions
    conv_macs = T * N * (3 * 3 * 2 * 3 * 4 * 4)
    assert counter.layers["0.0"].macs == conv_macs and counter.layers["0.0"].sops == 0
    # fc: SOPs = fr_in · rows · in·out = (number of input spikes) · out
    net[1].reset()
    with torch.no_grad():
        s = net[1](net[0](x))
    input_spikes = float(s.sum())
    assert 0 < input_spikes < s.numel()
    assert counter.layers["3.0"].sops == pytest.approx(input_spikes * 5)
    assert counter.layers["3.0"].macs == 0
    totals = counter.totals(samples=N)
    assert totals["MACs"] == conv_macs / N and totals["SOPs"] == pytest.approx(input_spikes * 5 / N)
    assert totals["energy_mJ"] == pytest.approx((4.6 * conv_macs + 0.9 * input_spikes * 5) / N * 1e-9)
    text = counter.summary(samples=N)
    assert "MAC" in text and "SOP" in text and "mJ" in text


def test_hooks_are_removed_and_reset_clears():
    net = nn.Sequential(nn.Linear(4, 2))
    with EnergyCounter(net) as counter:
        net(torch.rand(3, 4))
    assert counter.layers["0"].macs == 3 * 8
    net(torch.rand(3, 4))
    assert counter.layers["0"].macs == 3 * 8  # no longer counting
    counter.reset()
    assert counter.layers["0"].macs == 0
