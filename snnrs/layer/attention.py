"""Attention layers of SpikingJelly 2.0's model zoo, multi-step (``[T, N, ...]``), with its
module names (so its checkpoints load) and arguments:

- :class:`TemporalWiseAttention` — a per-step gate ``σ(MLP(avg) + MLP(max))`` over T (TA-SNN);
- :class:`MultiDimensionalAttention` — temporal, channel and spatial gates in turn, then ReLU (MA-SNN);
- :class:`SpikingSelfAttention` — Spikformer's SSA: spiking Q, K, V and ``(V·Kᵀ)·Q·scale`` per head;
- :class:`QKAttention` (``TokenQKAttention``, ``ChannelQKAttention``) — QKFormer's Q-K attention:
  spiking Q summed over tokens or channels, fired, gating K;
- :class:`SpikeDrivenSelfAttention` — Spike-driven Transformer's SDSA: ``Q ⊙ SN(Σ_tokens K ⊙ V)``.

Neurons default to LIF (tau 2, detach_reset; the attention neuron's threshold 0.5) unless
``spiking_neuron`` and its keyword arguments are given.
"""

from collections.abc import Callable

import torch
from torch import nn

from snnrs._neuron import _make_multi_step_neuron
from snnrs.base import MultiStepModule
from snnrs.layer.containers import SeqToANNContainer
from snnrs.layer.wrappers import BatchNorm2d, Conv2d

__all__ = ["TemporalWiseAttention", "MultiDimensionalAttention", "SpikingSelfAttention", "QKAttention",
           "TokenQKAttention", "ChannelQKAttention", "SpikeDrivenSelfAttention"]

_LIF = {"tau": 2.0, "detach_reset": True}
_ATTENTION_LIF = {"tau": 2.0, "v_threshold": 0.5, "detach_reset": True}


def _check_heads(dim: int, num_heads: int):
    if num_heads < 1 or dim % num_heads:
        raise ValueError(f"num_heads: must divide dim={dim}, got {num_heads}")


def _check_shape(x: torch.Tensor, ndim: int, layout: str):
    if not isinstance(x, torch.Tensor) or x.dim() != ndim:
        shape = tuple(x.shape) if isinstance(x, torch.Tensor) else type(x).__name__
        raise ValueError(f"x_seq: expected {layout}, got {shape}")


def _gate_mlp(features: int, reduction: int, conv: bool) -> nn.Sequential:
    """features -> features//reduction -> ReLU -> features, without biases (1x1x1 convs or linears)."""
    hidden = features // reduction
    if conv:
        return nn.Sequential(nn.Conv3d(features, hidden, 1, bias=False), nn.ReLU(), nn.Conv3d(hidden, features, 1,
                                                                                              bias=False))
    return nn.Sequential(nn.Linear(features, hidden, bias=False), nn.ReLU(), nn.Linear(hidden, features, bias=False))


class TemporalWiseAttention(nn.Module, MultiStepModule):
    """Scales each step of ``[T, N, M]`` (``dimension=2``) or ``[T, N, C, H, W]`` (``dimension=4``)
    by ``σ(MLP(mean) + MLP(max))``, the pools taken over everything but T and N."""

    def __init__(self, T: int, reduction: int = 16, dimension: int = 4):
        super().__init__()
        if dimension not in (2, 4):
            raise ValueError(f"dimension: expected 2 or 4, got {dimension!r}")
        if reduction > T:
            raise ValueError(f"reduction: must not exceed T={T}, got {reduction}")
        self.step_mode = "m"
        pool = (nn.AdaptiveAvgPool1d, nn.AdaptiveMaxPool1d) if dimension == 2 else (nn.AdaptiveAvgPool3d,
                                                                                    nn.AdaptiveMaxPool3d)
        self.avg_pool, self.max_pool = pool[0](1), pool[1](1)
        self.sharedMLP = _gate_mlp(T, reduction, conv=False)

    def forward(self, x_seq: torch.Tensor) -> torch.Tensor:
        if not isinstance(x_seq, torch.Tensor) or x_seq.dim() not in (3, 5):
            raise ValueError("x_seq: expected [T, N, M] or [T, N, C, H, W]")
        by_sample = x_seq.transpose(0, 1)  # [N, T, ...]: T is the pools' channel axis
        n, steps = by_sample.shape[:2]
        gate = self.sharedMLP(self.avg_pool(by_sample).view(n, steps)) + \
            self.sharedMLP(self.max_pool(by_sample).view(n, steps))
        gate = torch.sigmoid(gate).view(n, steps, *([1] * (by_sample.dim() - 2)))
        return (by_sample * gate).transpose(0, 1)


class _AxisGate(nn.Module):
    """``σ(MLP(avg) + MLP(max))`` over one axis of ``[N, T, C, H, W]`` (T, or C with ``channel_axis``)."""

    def __init__(self, features: int, ratio: int, channel_axis: bool = False):
        super().__init__()
        self.channel_axis = channel_axis
        self.avg_pool, self.max_pool = nn.AdaptiveAvgPool3d(1), nn.AdaptiveMaxPool3d(1)
        self.sharedMLP = _gate_mlp(features, ratio, conv=True)

    def forward(self, x):
        if self.channel_axis:
            x = x.transpose(1, 2)
        gate = torch.sigmoid(self.sharedMLP(self.avg_pool(x)) + self.sharedMLP(self.max_pool(x)))
        return gate.transpose(1, 2) if self.channel_axis else gate


class _SpatialGate(nn.Module):
    """``σ(conv([mean_c, max_c]))`` over H×W, the means and maxima taken over T and C together."""

    def __init__(self, kernel_size: int):
        super().__init__()
        self.conv = nn.Conv2d(2, 1, kernel_size, padding=kernel_size // 2, bias=False)

    def forward(self, x):
        flat = x.flatten(1, 2)
        pooled = torch.cat((flat.mean(dim=1, keepdim=True), flat.max(dim=1, keepdim=True).values), dim=1)
        return torch.sigmoid(self.conv(pooled)).unsqueeze(1)


class MultiDimensionalAttention(nn.Module, MultiStepModule):
    """Temporal, channel and spatial gates applied in turn to ``[T, N, C, H, W]`` (each optional),
    then ReLU."""

    def __init__(self, T: int, C: int, reduction_t: int = 16, reduction_c: int = 16, kernel_size: int = 3,
                 use_temporal: bool = True, use_channel: bool = True, use_spatial: bool = True):
        super().__init__()
        if not (use_temporal or use_channel or use_spatial):
            raise ValueError("use_temporal, use_channel, use_spatial: at least one must be True")
        if use_temporal and reduction_t > T:
            raise ValueError(f"reduction_t: must not exceed T={T}, got {reduction_t}")
        if use_channel and reduction_c > C:
            raise ValueError(f"reduction_c: must not exceed C={C}, got {reduction_c}")
        if kernel_size not in (3, 7):
            raise ValueError(f"kernel_size: expected 3 or 7, got {kernel_size!r}")
        self._step_mode = "m"
        self.ta = _AxisGate(T, reduction_t) if use_temporal else None
        self.ca = _AxisGate(C, reduction_c, channel_axis=True) if use_channel else None
        self.sa = _SpatialGate(kernel_size) if use_spatial else None
        self.relu = nn.ReLU()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        _check_shape(x, 5, "[T, N, C, H, W]")
        out = x.transpose(0, 1)
        for gate in (self.ta, self.ca, self.sa):
            if gate is not None:
                out = gate(out) * out
        return self.relu(out).transpose(0, 1)


def _conv1d_bn(cin: int, cout: int) -> SeqToANNContainer:
    return SeqToANNContainer(nn.Conv1d(cin, cout, kernel_size=1, stride=1, bias=False), nn.BatchNorm1d(cout))


class SpikingSelfAttention(nn.Module):
    """Spikformer's spiking self-attention on tokens ``[T, N, C, L]``: Q, K, V from one 1x1
    conv-BN and a neuron; per head ``(V·Kᵀ)·Q·0.125``, fired; then a 1x1 conv-BN and a neuron."""

    def __init__(self, dim: int, num_heads: int = 8, spiking_neuron: Callable | None = None, **kwargs):
        super().__init__()
        _check_heads(dim, num_heads)
        self.dim, self.num_heads, self.head_dim = dim, num_heads, dim // num_heads
        self.scale = 0.125
        self.qkv_conv_bn = _conv1d_bn(dim, dim * 3)
        self.qkv_lif = _make_multi_step_neuron(spiking_neuron, kwargs, _LIF)
        self.attn_lif = _make_multi_step_neuron(spiking_neuron, kwargs, _ATTENTION_LIF)
        self.proj_conv_bn = _conv1d_bn(dim, dim)
        self.proj_lif = _make_multi_step_neuron(spiking_neuron, kwargs, _LIF)

    def forward(self, x_seq: torch.Tensor) -> torch.Tensor:
        _check_shape(x_seq, 4, "[T, N, C, L]")
        steps, batch, _, tokens = x_seq.shape
        qkv = self.qkv_lif(self.qkv_conv_bn(x_seq))
        # [T, N, 3C, L] -> q, k, v of [T, N, heads, head_dim, L]
        q, k, v = qkv.reshape(steps, batch, 3, self.num_heads, self.head_dim, tokens).unbind(2)
        attention = (v @ k.transpose(-2, -1)) @ q * self.scale
        out = self.attn_lif(attention).reshape(steps, batch, self.dim, tokens)
        return self.proj_lif(self.proj_conv_bn(out))

    def extra_repr(self):
        return f"dim={self.dim}, num_heads={self.num_heads}"


class QKAttention(nn.Module):
    """QKFormer's Q-K attention on ``[T, N, C, L]``: spiking Q and K from one 1x1 conv-BN and a
    neuron; Q summed over tokens (``qka_type='token'``) or over each head's channels ('channel') and
    fired gates K; then a 1x1 conv-BN and a neuron."""

    def __init__(self, dim: int, num_heads: int = 8, qka_type: str = "token", spiking_neuron: Callable | None = None,
                 **kwargs):
        super().__init__()
        _check_heads(dim, num_heads)
        if qka_type not in ("token", "channel"):
            raise ValueError(f"qka_type: expected 'token' or 'channel', got {qka_type!r}")
        self.dim, self.num_heads, self.head_dim = dim, num_heads, dim // num_heads
        self._qka_type = qka_type
        self.qk_conv_bn = _conv1d_bn(dim, dim * 2)
        self.qk_lif = _make_multi_step_neuron(spiking_neuron, kwargs, _LIF)
        self.sum_dim = 3 if qka_type == "token" else 4  # of [T, N, heads, head_dim, L]
        self.attn_lif = _make_multi_step_neuron(spiking_neuron, kwargs, _ATTENTION_LIF)
        self.proj_conv_bn = _conv1d_bn(dim, dim)
        self.proj_lif = _make_multi_step_neuron(spiking_neuron, kwargs, _LIF)

    @property
    def qka_type(self) -> str:
        return self._qka_type

    def forward(self, x_seq: torch.Tensor) -> torch.Tensor:
        _check_shape(x_seq, 4, "[T, N, C, L]")
        steps, batch, channels, tokens = x_seq.shape
        qk = self.qk_lif(self.qk_conv_bn(x_seq))
        q, k = qk.reshape(steps, batch, 2, self.num_heads, channels // self.num_heads, tokens).unbind(2)
        gate = self.attn_lif(q.sum(dim=self.sum_dim, keepdim=True))
        out = (gate * k).flatten(2, 3)
        return self.proj_lif(self.proj_conv_bn(out))

    def extra_repr(self):
        return f"dim={self.dim}, num_heads={self.num_heads}, qka_type={self.qka_type}"


class TokenQKAttention(QKAttention):
    """:class:`QKAttention` with ``qka_type='token'``."""

    def __init__(self, dim: int, num_heads: int = 8, spiking_neuron: Callable | None = None, **kwargs):
        super().__init__(dim, num_heads, "token", spiking_neuron, **kwargs)


class ChannelQKAttention(QKAttention):
    """:class:`QKAttention` with ``qka_type='channel'``."""

    def __init__(self, dim: int, num_heads: int = 8, spiking_neuron: Callable | None = None, **kwargs):
        super().__init__(dim, num_heads, "channel", spiking_neuron, **kwargs)


class SpikeDrivenSelfAttention(nn.Module):
    """Spike-driven self-attention on ``[T, N, C, H, W]``: the input fired, spiking Q, K, V from 1x1
    conv-BN-neuron each; per head ``Q ⊙ SN(Σ_tokens K ⊙ V)``; a 1x1 conv-BN; plus the input."""

    def __init__(self, dim: int, num_heads: int = 8, spiking_neuron: Callable | None = None, **kwargs):
        super().__init__()
        _check_heads(dim, num_heads)
        self.dim, self.num_heads, self.head_dim = dim, num_heads, dim // num_heads
        self.shortcut_lif = _make_multi_step_neuron(spiking_neuron, kwargs, _LIF)
        for name in ("q", "k", "v"):
            setattr(self, f"{name}_conv", Conv2d(dim, dim, 1, bias=False, step_mode="m"))
            setattr(self, f"{name}_bn", BatchNorm2d(dim, step_mode="m"))
            setattr(self, f"{name}_lif", _make_multi_step_neuron(spiking_neuron, kwargs, _LIF))
        self.attn_lif = _make_multi_step_neuron(spiking_neuron, kwargs, _ATTENTION_LIF)
        self.proj_conv = Conv2d(dim, dim, 1, step_mode="m")
        self.proj_bn = BatchNorm2d(dim, step_mode="m")

    def _heads(self, x: torch.Tensor) -> torch.Tensor:
        """``[T, N, C, H, W]`` -> ``[T, N, heads, H·W, head_dim]``."""
        steps, batch, _, height, width = x.shape
        tokens = x.flatten(3).transpose(-1, -2)  # [T, N, H·W, C]
        return tokens.reshape(steps, batch, height * width, self.num_heads, self.head_dim).transpose(2, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        _check_shape(x, 5, "[T, N, C, H, W]")
        steps, batch, channels, height, width = x.shape
        fired = self.shortcut_lif(x)
        q, k, v = (self._heads(getattr(self, f"{n}_lif")(getattr(self, f"{n}_bn")(getattr(self, f"{n}_conv")(fired))))
                   for n in ("q", "k", "v"))
        kv = self.attn_lif((k * v).sum(dim=-2, keepdim=True))
        out = (q * kv).transpose(3, 4).reshape(steps, batch, channels, height, width)
        return self.proj_bn(self.proj_conv(out)) + x

    def extra_repr(self):
        return f"dim={self.dim}, num_heads={self.num_heads}"
