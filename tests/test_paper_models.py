"""Spikformer, the PLIF-paper networks and the PSN paper's CIFAR-10 network against facts from
outside this code: the parameter counts of the official Spikformer code (reported as 9.32M,
16.81M, 29.68M, 66.34M, 2.57M), the PLIF paper's layer notation, and SSA's formula."""

import re

import pytest
import torch
from torch import nn

from snnrs import functional, models, neuron
from snnrs.models.spikformer import SpikingSelfAttention
from snnrs.psn import PSN
from snnrs.stateful_layer import Dropout, VotingLayer

SPIKFORMER_PARAMETERS = {  # the official code's layer shapes, counted
    "spikformer_cifar_4_384": 9_324_730, "spikformer_imagenet_8_384": 16_816_024,
    "spikformer_imagenet_8_512": 29_689_384, "spikformer_imagenet_8_768": 66_338_632,
    "spikformer_dvs_2_256": 2_566_666,
}


@pytest.mark.parametrize("name", sorted(SPIKFORMER_PARAMETERS))
def test_spikformer_parameter_counts_equal_the_official_code(name):
    net = getattr(models, name)()
    assert sum(p.numel() for p in net.parameters()) == SPIKFORMER_PARAMETERS[name]


@pytest.mark.parametrize("name,tokens", [("spikformer_cifar_4_384", 64), ("spikformer_imagenet_8_384", 196),
                                         ("spikformer_dvs_2_256", 64)])
def test_spikformer_token_grid_and_neurons(name, tokens):
    net = getattr(models, name)(T=1)
    seen = {}
    net.blocks[0].register_forward_hook(lambda m, i, o: seen.__setitem__("shape", i[0].shape))
    channels = net.patch_embed.stages[0]["conv"][0].in_channels
    with torch.no_grad():
        net.eval()(torch.rand(1, channels, net.img_size, net.img_size))
    assert seen["shape"][2] == tokens
    attention = [m for m in net.modules() if isinstance(m, SpikingSelfAttention)]
    assert all(a.attn_lif.v_threshold == 0.5 and a.scale == 0.125 for a in attention)
    lifs = [m for m in net.modules() if isinstance(m, neuron.LIFNode)]
    others = [m for m in lifs if all(m is not a.attn_lif for a in attention)]
    assert all(m.tau == 2.0 and m.v_reset == 0.0 and m.v_threshold == 1.0 and m.detach_reset for m in others)
    mlp = net.blocks[0].mlp
    assert mlp.fc1.linear.out_features == 4 * mlp.fc1.linear.in_features


def test_ssa_is_q_kt_v_scaled_into_a_half_threshold_neuron():
    torch.manual_seed(0)
    ssa = SpikingSelfAttention(dim=16, num_heads=2, v_threshold=0.2)
    x = (torch.rand(3, 2, 5, 16) < 0.5).float()
    seen = {}
    for key in ("q_lif", "k_lif", "v_lif", "attn_lif"):
        getattr(ssa, key).register_forward_hook(
            lambda m, i, o, key=key: seen.__setitem__(key, (i[0].detach(), o.detach())))
    with torch.no_grad():
        ssa(x)
    q, k, v = (seen[f"{s}_lif"][1].view(3, 2, 5, 2, 8).transpose(2, 3) for s in "qkv")
    expected = torch.einsum("tnhld,tnhmd,tnhme->tnhle", q, k, v) * 0.125
    assert torch.allclose(seen["attn_lif"][0], expected)
    assert seen["attn_lif"][0].abs().sum() > 0
    # a multi-step LIF with threshold 0.5 on that input, by hand (tau 2, hard reset to 0)
    v_mem, spikes = torch.zeros_like(expected[0]), []
    for t in range(3):
        h = v_mem + (expected[t] - v_mem) / 2
        s = (h >= 0.5).float()
        spikes.append(s)
        v_mem = h * (1 - s)
    assert torch.equal(seen["attn_lif"][1], torch.stack(spikes))


def test_spikformer_trains_a_step_with_either_backend_alike():
    outputs = []
    for backend in ("engine", "torch"):
        torch.manual_seed(0)
        net = models.Spikformer(img_size=16, patch_size=4, embed_dim=32, num_heads=4, depths=1, T=2,
                                backend=backend, return_sequence=True)
        out = net(torch.rand(2, 3, 16, 16))
        assert out.shape == (2, 2, 10)
        out.square().sum().backward()
        outputs.append((out.detach(), net.head.weight.grad.clone(), net.patch_embed.stages[0]["conv"][0].weight.grad))
        functional.reset_net(net)
    for a, b in zip(*outputs):
        assert torch.allclose(a, b, atol=1e-5)
    with pytest.raises(ValueError, match="num_heads"):
        models.Spikformer(embed_dim=32, num_heads=5)
    with pytest.raises(ValueError, match="patch_size"):
        models.Spikformer(img_size=30, patch_size=3)


# ---- the PLIF paper's networks, read back into its notation ----

def expand(notation: str) -> str:
    """``{a-b}*2-c`` -> ``a-b-a-b-c`` (innermost braces first)."""
    pattern = re.compile(r"\{([^{}]*)\}\*(\d+)")
    while "{" in notation:
        notation = pattern.sub(lambda m: "-".join([m.group(1)] * int(m.group(2))), notation)
    return notation


def notation(net: nn.Module) -> str:
    parts = []
    for m in net.modules():
        if isinstance(m, nn.Conv2d):
            parts.append(f"c{m.out_channels}k{m.kernel_size[0]}s{m.stride[0]}")
        elif isinstance(m, nn.BatchNorm2d):
            parts.append("BN")
        elif isinstance(m, neuron.ParametricLIFNode):
            parts.append("PLIF")
        elif isinstance(m, PSN):
            parts.append("PSN")
        elif isinstance(m, nn.MaxPool2d):
            parts.append(f"MPk{m.kernel_size}s{m.stride}")
        elif isinstance(m, nn.AvgPool2d):
            parts.append(f"APk{m.kernel_size}s{m.stride}")
        elif isinstance(m, Dropout):
            parts.append("DP")
        elif isinstance(m, nn.Linear):
            parts.append(f"FC{m.out_features}")
        elif isinstance(m, VotingLayer):
            parts.append(f"APk{m.voting_size}s{m.voting_size}")
    return "-".join(parts)


PLIF_PAPER = {
    "plif_net_mnist": "{c128k3s1-BN-PLIF-MPk2s2}*2-DP-FC2048-PLIF-DP-FC100-PLIF-APk10s10",
    "plif_net_nmnist": "{c128k3s1-BN-PLIF-MPk2s2}*2-DP-FC2048-PLIF-DP-FC100-PLIF-APk10s10",
    "plif_net_cifar10": "{{c256k3s1-BN-PLIF}*3-MPk2s2}*2-DP-FC2048-PLIF-DP-FC100-PLIF-APk10s10",
    "plif_net_cifar10_dvs": "{c128k3s1-BN-PLIF-MPk2s2}*4-DP-FC512-PLIF-DP-FC100-PLIF-APk10s10",
    "plif_net_dvs_gesture": "{c128k3s1-BN-PLIF-MPk2s2}*5-DP-FC512-PLIF-DP-FC110-PLIF-APk10s10",
}


@pytest.mark.parametrize("name", sorted(PLIF_PAPER))
def test_plif_networks_follow_the_paper_notation(name):
    net = getattr(models, name)()
    assert notation(net) == expand(PLIF_PAPER[name])
    plifs = [m for m in net.modules() if isinstance(m, neuron.ParametricLIFNode)]
    assert all(abs(1 / torch.sigmoid(m.w).item() - 2.0) < 1e-6 and m.detach_reset and m.v_reset == 0.0
               for m in plifs)


def test_plif_mnist_parameters_by_hand_and_a_training_step():
    net = models.plif_net_mnist(T=2)
    # conv + BN, conv + BN, FC with bias (as SpikingJelly's MNISTNet), FC with bias, 4 PLIF w
    by_hand = (1 * 128 * 9 + 2 * 128) + (128 * 128 * 9 + 2 * 128) + (128 * 7 * 7 * 2048 + 2048) + (2048 * 100 + 100) + 4
    assert sum(p.numel() for p in net.parameters()) == by_hand
    without_bias = models.plif_net_mnist(T=2, linear_bias=False)
    assert sum(p.numel() for p in without_bias.parameters()) == by_hand - 2048 - 100
    out = net(torch.rand(3, 1, 28, 28))
    assert out.shape == (3, 10) and ((out >= 0) & (out <= 1)).all()  # voted firing rates
    torch.nn.functional.mse_loss(out, torch.eye(10)[:3]).backward()
    assert all(p.grad is not None for p in net.parameters())


def test_psn_cifar10_network():
    net = models.PSNCifar10Net()
    assert notation(net) == expand("{c256k3s1-BN-PSN}*3-APk2s2-{c256k3s1-BN-PSN}*3-APk2s2-FC4096-PSN-FC10")
    by_hand = (3 * 256 * 9 + 5 * 256 * 256 * 9 + 6 * 2 * 256 + 256 * 8 * 8 * 4096 + 4096 + 4096 * 10 + 10
               + 7 * (4 * 4 + 4))  # 7 PSN neurons: W [T, T] and b [T, 1] with T = 4
    assert sum(p.numel() for p in net.parameters()) == by_hand
    small = models.PSNCifar10Net(channels=8, image_size=8)
    out = small(torch.rand(2, 3, 8, 8))
    assert out.shape == (2, 10)
    out.sum().backward()
    with pytest.raises(ValueError, match="x: expected"):
        small(torch.rand(3, 2, 3, 8, 8))
