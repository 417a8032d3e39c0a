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


def _small_spikformer():
    from snnrs.models import Spikformer
    torch.manual_seed(0)
    # v_threshold 0.3 (the attention neuron keeps 0.5) so that every layer fires at initialisation
    return Spikformer(img_size=16, patch_size=4, embed_dim=32, num_heads=4, depths=2, T=2, num_classes=5,
                      v_threshold=0.3)


def test_spikformer_formula_structure_first_layer_mac_the_rest_sop():
    """E = 4.6 pJ·MACs(first conv) + 0.9 pJ·(ΣSOP conv + ΣSOP linear + ΣSOP SSA), as the Spikformer
    paper counts; the SSA term computed here from the Q, K, V spikes the test captures itself."""
    net = _small_spikformer()  # training-mode BN: batch statistics keep every layer firing at init
    x = torch.rand(3, 3, 16, 16)
    captured = {}
    handles = []
    for name, m in net.named_modules():
        if name.endswith(("q_lif", "k_lif", "v_lif")):
            handles.append(m.register_forward_hook(
                lambda mod, i, o, name=name: captured.__setitem__(name, o.detach().clone())))
    with torch.no_grad(), EnergyCounter(net, spike_counts=True) as counter:
        net(x)
    for h in handles:
        h.remove()
    counted = {n: c for n, c in counter.layers.items() if c.calls}
    first = "patch_embed.stages.0.conv.0"
    assert counted[first].macs > 0 and counted[first].sops == 0
    # The head reads features averaged over tokens and T (real values), so it multiply-accumulates:
    # 32 x 5 per sample, which the paper's formula leaves out.
    assert counted["head"].macs == 3 * 32 * 5 and not counted["head"].binary
    others = [c for n, c in counted.items() if n not in (first, "head")]
    assert others and all(c.macs == 0 and c.binary for c in others), [c.name for c in others if c.macs]
    assert all(c.firing_rate > 0 for c in others), [c.name for c in others if not c.firing_rate]
    # residual sums (spike counts, not just 0/1) reach the second block: the default rule
    # (docs/semantics.md#energy) says MAC
    with torch.no_grad(), EnergyCounter(net) as strict:
        net(x)
    assert strict.layers["blocks.1.attn.q.linear"].macs > 0 and strict.layers["patch_embed.stages.1.conv.0"].sops > 0
    # the first conv: 3x3 kernel, 3 -> embed_dim/8 channels, 16x16 outputs, T·N rows
    assert counted[first].macs == 2 * 3 * (3 * 3 * 3 * 4 * 16 * 16)
    for block in range(2):
        prefix = f"blocks.{block}.attn"
        q, k, v = (captured[f"{prefix}.{s}_lif"] for s in "qkv")
        steps, batch, tokens, dim = q.shape
        assert tokens == (16 // 4) ** 2
        d_h = dim // 4
        expected = steps * batch * 4 * tokens * d_h ** 2 * (q.mean() + min(k.mean(), v.mean())).item()
        assert counted[prefix].kind == "SSA"
        assert counted[prefix].sops == pytest.approx(expected, rel=1e-6)
    totals = counter.totals(samples=3)
    sops = sum(c.sops for c in others)
    macs = counted[first].macs + counted["head"].macs
    assert totals["energy_mJ"] == pytest.approx((4.6 * macs + 0.9 * sops) / 3 * 1e-9)


def test_spike_counts_are_macs_unless_asked_for():
    """Residual sums of spikes (values 0, 1, 2) are not binary: MACs by default (docs/semantics.md#energy), SOPs
    weighted by the count with spike_counts=True."""
    fc = nn.Linear(4, 3, bias=False)
    x = torch.tensor([[0.0, 1.0, 2.0, 2.0]])
    with EnergyCounter(fc) as strict:
        fc(x)
    assert strict.layers[""].macs == 12 and strict.layers[""].sops == 0
    with EnergyCounter(fc, spike_counts=True) as counting:
        fc(x)
    assert counting.layers[""].sops == pytest.approx(5 * 3) and counting.layers[""].macs == 0
    with EnergyCounter(fc, spike_counts=True) as real:
        fc(torch.tensor([[0.5, 1.0, 2.0, 2.0]]))
    assert real.layers[""].macs == 12
