"""Spikformer (Zhou et al., ICLR 2023), multi-step (``docs/semantics.md#spikformer``).

* **SPS** (spiking patch splitting): conv3x3-BN-LIF stages with D/8, D/4, D/2, D channels; a
  2x2-stride max-pool (kernel 3, padding 1) after the LIF of the last log2(patch_size) stages;
  then the relative position embedding ``x + LIF(BN(conv3x3(x)))``. Tokens ``[T, N, L, D]``.
* **SSA** (spiking self-attention), per head: ``SN_0.5(Q·Kᵀ·V · scale)`` with
  ``Q, K, V = LIF(BN(Linear(x)))``, no softmax, scale 0.125; then ``LIF(BN(Linear(.)))``.
* **MLP**: ``LIF(BN(Linear(D, 4D)))``, ``LIF(BN(Linear(4D, D)))``. Blocks: ``x + SSA(x)``, ``x + MLP(x)``.
* LIF: tau 2, V_th 1, hard reset to 0, detached reset; the attention neuron has V_th 0.5.
  BatchNorm statistics are over T·N (and tokens). Head: Linear on the mean over tokens and T.

Configurations (name = depth-dim): CIFAR 4-384 (32x32, patch 4, 12 heads, q/k/v with bias),
ImageNet 8-384/8-512/8-768 (224x224, patch 16, 8 heads, q/k/v without bias), DVS 2-256
(128x128 two-polarity frames, patch 16, 16 heads, q/k/v without bias); their parameter counts
equal the official code's (9.32M, 16.81M, 29.68M, 66.34M, 2.57M).
"""

import math
from collections.abc import Callable

import torch
from torch import nn

from snnrs import layer, neuron, surrogate

LIF_KWARGS = dict(tau=2.0, v_threshold=1.0, v_reset=0.0, detach_reset=True)


def _lif(spiking_neuron: Callable, neuron_kwargs: dict, v_threshold: float | None = None) -> nn.Module:
    kwargs = {**LIF_KWARGS, "surrogate_function": surrogate.Sigmoid(), **neuron_kwargs, "step_mode": "m"}
    if v_threshold is not None:
        kwargs["v_threshold"] = v_threshold
    return spiking_neuron(**kwargs)


class TokenLinear(nn.Module):
    """``BN(Linear(x))`` on tokens ``[T, N, L, C]``: BatchNorm1d over the channels, statistics
    over T·N·L."""

    def __init__(self, in_features: int, out_features: int, bias: bool = True):
        super().__init__()
        self.linear = layer.Linear(in_features, out_features, bias=bias)
        self.bn = nn.BatchNorm1d(out_features)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.linear(x)
        return self.bn(y.flatten(0, -2)).view_as(y)


class SpikingSelfAttention(nn.Module):
    """SSA over tokens ``[T, N, L, D]``. The energy counter reads ``q_lif``, ``k_lif``, ``v_lif``
    firing rates and counts ``T·H·L·d_h²·(fr_Q + min(fr_K, fr_V))`` SOPs per sample."""

    def __init__(self, dim: int, num_heads: int, scale: float = 0.125, qkv_bias: bool = True,
                 spiking_neuron: Callable = neuron.LIFNode, attention_threshold: float = 0.5, **neuron_kwargs):
        super().__init__()
        if dim % num_heads:
            raise ValueError(f"num_heads: {num_heads} does not divide dim {dim}")
        self.dim, self.num_heads, self.scale = dim, num_heads, float(scale)
        self.q, self.k, self.v = (TokenLinear(dim, dim, qkv_bias) for _ in range(3))
        self.q_lif, self.k_lif, self.v_lif = (_lif(spiking_neuron, neuron_kwargs) for _ in range(3))
        self.attn_lif = _lif(spiking_neuron, neuron_kwargs, attention_threshold)
        self.proj = TokenLinear(dim, dim)
        self.proj_lif = _lif(spiking_neuron, neuron_kwargs)

    def _heads(self, x: torch.Tensor) -> torch.Tensor:
        steps, batch, tokens, _ = x.shape
        return x.view(steps, batch, tokens, self.num_heads, -1).transpose(2, 3)  # [T, N, H, L, d_h]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        q = self._heads(self.q_lif(self.q(x)))
        k = self._heads(self.k_lif(self.k(x)))
        v = self._heads(self.v_lif(self.v(x)))
        attention = (q @ k.transpose(-2, -1)) @ v * self.scale
        out = self.attn_lif(attention).transpose(2, 3).flatten(3)  # [T, N, L, D]
        return self.proj_lif(self.proj(out))


class SpikingMLP(nn.Module):
    def __init__(self, dim: int, hidden: int, spiking_neuron: Callable = neuron.LIFNode, **neuron_kwargs):
        super().__init__()
        self.fc1, self.lif1 = TokenLinear(dim, hidden), _lif(spiking_neuron, neuron_kwargs)
        self.fc2, self.lif2 = TokenLinear(hidden, dim), _lif(spiking_neuron, neuron_kwargs)

    def forward(self, x):
        return self.lif2(self.fc2(self.lif1(self.fc1(x))))


class SpikformerBlock(nn.Module):
    def __init__(self, dim, num_heads, mlp_ratio=4.0, scale=0.125, qkv_bias=True, spiking_neuron=neuron.LIFNode,
                 attention_threshold=0.5, **neuron_kwargs):
        super().__init__()
        self.attn = SpikingSelfAttention(dim, num_heads, scale, qkv_bias, spiking_neuron, attention_threshold,
                                         **neuron_kwargs)
        self.mlp = SpikingMLP(dim, int(dim * mlp_ratio), spiking_neuron, **neuron_kwargs)

    def forward(self, x):
        x = x + self.attn(x)
        return x + self.mlp(x)


class SpikingPatchSplitting(nn.Module):
    """SPS: images ``[T, N, C, H, W]`` to tokens ``[T, N, (H/p)·(W/p), D]``."""

    def __init__(self, in_channels: int, dim: int, patch_size: int, spiking_neuron=neuron.LIFNode,
                 **neuron_kwargs):
        super().__init__()
        pools = int(math.log2(patch_size)) if patch_size >= 1 else -1
        if dim % 8 or not 0 <= pools <= 4 or 2 ** pools != patch_size:
            raise ValueError(f"patch_size: expected 1, 2, 4, 8 or 16 and dim a multiple of 8, got {patch_size}, {dim}")
        widths = [in_channels, dim // 8, dim // 4, dim // 2, dim]
        self.stages = nn.ModuleList()
        for k in range(4):
            layers = [layer.Conv2d(widths[k], widths[k + 1], 3, 1, 1, bias=False), nn.BatchNorm2d(widths[k + 1])]
            self.stages.append(nn.ModuleDict({"conv": nn.Sequential(*layers),
                                              "lif": _lif(spiking_neuron, neuron_kwargs)}))
            if k >= 4 - pools:
                self.stages[k]["pool"] = nn.MaxPool2d(3, 2, 1)
        self.rpe = nn.Sequential(layer.Conv2d(dim, dim, 3, 1, 1, bias=False), nn.BatchNorm2d(dim))
        self.rpe_lif = _lif(spiking_neuron, neuron_kwargs)

    @staticmethod
    def _per_frame(module, x):
        return module(x.flatten(0, 1)).unflatten(0, x.shape[:2])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for stage in self.stages:
            x = stage["lif"](self._per_frame(stage["conv"], x))
            if "pool" in stage:
                x = self._per_frame(stage["pool"], x)
        x = x + self.rpe_lif(self._per_frame(self.rpe, x))
        return x.flatten(3).transpose(2, 3)  # [T, N, L, D]


class Spikformer(nn.Module):
    """Input ``[N, C, H, W]`` (repeated T times) or ``[T, N, C, H, W]`` (event frames); output
    ``[N, num_classes]``, or ``[T, N, num_classes]`` with ``return_sequence=True``.
    ``spiking_neuron`` and ``neuron_kwargs`` replace the LIF (tau 2, hard reset, V_th 1)."""

    def __init__(self, img_size: int = 32, patch_size: int = 4, in_channels: int = 3, num_classes: int = 10,
                 embed_dim: int = 384, num_heads: int = 12, mlp_ratio: float = 4.0, depths: int = 4, T: int = 4,
                 scale: float = 0.125, qkv_bias: bool = True, attention_threshold: float = 0.5,
                 spiking_neuron: Callable = neuron.LIFNode, return_sequence: bool = False, **neuron_kwargs):
        super().__init__()
        if isinstance(T, bool) or not isinstance(T, int) or T < 1:
            raise ValueError(f"T: expected a positive int, got {T!r}")
        if img_size % patch_size:
            raise ValueError(f"img_size: {img_size} is not a multiple of patch_size {patch_size}")
        self.T, self.img_size, self.return_sequence = T, img_size, bool(return_sequence)
        self.patch_embed = SpikingPatchSplitting(in_channels, embed_dim, patch_size, spiking_neuron, **neuron_kwargs)
        self.blocks = nn.ModuleList(
            SpikformerBlock(embed_dim, num_heads, mlp_ratio, scale, qkv_bias, spiking_neuron, attention_threshold,
                            **neuron_kwargs) for _ in range(depths))
        self.head = nn.Linear(embed_dim, num_classes)
        nn.init.trunc_normal_(self.head.weight, std=0.02)
        nn.init.zeros_(self.head.bias)
        for m in self.modules():
            if isinstance(m, TokenLinear):
                nn.init.trunc_normal_(m.linear.weight, std=0.02)
                if m.linear.bias is not None:
                    nn.init.zeros_(m.linear.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() == 4:
            x = x.unsqueeze(0).repeat(self.T, 1, 1, 1, 1)
        elif x.dim() != 5:
            raise ValueError(f"x: expected [N, C, H, W] or [T, N, C, H, W], got shape {tuple(x.shape)}")
        x = self.patch_embed(x)
        for block in self.blocks:
            x = block(x)
        x = x.mean(2)  # over tokens: [T, N, D]
        return self.head(x) if self.return_sequence else self.head(x.mean(0))


def _config(img_size, patch_size, in_channels, num_classes, embed_dim, num_heads, depths, qkv_bias, T, doc):
    def build(**kwargs) -> Spikformer:
        settings = dict(img_size=img_size, patch_size=patch_size, in_channels=in_channels, num_classes=num_classes,
                        embed_dim=embed_dim, num_heads=num_heads, depths=depths, qkv_bias=qkv_bias, T=T)
        return Spikformer(**{**settings, **kwargs})
    build.__doc__ = doc + " Keyword arguments override the configuration (see :class:`Spikformer`)."
    return build


spikformer_cifar_4_384 = _config(32, 4, 3, 10, 384, 12, 4, True, 4, "Spikformer-4-384 for CIFAR (32x32, T=4).")
spikformer_imagenet_8_384 = _config(224, 16, 3, 1000, 384, 8, 8, False, 4, "Spikformer-8-384 for ImageNet.")
spikformer_imagenet_8_512 = _config(224, 16, 3, 1000, 512, 8, 8, False, 4, "Spikformer-8-512 for ImageNet.")
spikformer_imagenet_8_768 = _config(224, 16, 3, 1000, 768, 8, 8, False, 4, "Spikformer-8-768 for ImageNet.")
spikformer_dvs_2_256 = _config(128, 16, 2, 10, 256, 16, 2, False, 16,
                               "Spikformer-2-256 for 128x128 event frames (CIFAR10-DVS, T=16).")

__all__ = ["Spikformer", "SpikingSelfAttention", "SpikingPatchSplitting", "SpikingMLP", "SpikformerBlock",
           "TokenLinear", "spikformer_cifar_4_384", "spikformer_imagenet_8_384", "spikformer_imagenet_8_512",
           "spikformer_imagenet_8_768", "spikformer_dvs_2_256"]
