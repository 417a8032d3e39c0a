"""The integrate-and-fire neuron (``docs/semantics.md#if``), and two variants for ANN-to-SNN conversion: a
half-threshold start, and per-channel thresholds with an offset."""

from collections.abc import Callable

import torch

from snnrs import ops, surrogate
from snnrs.base import MemoryModule
from snnrs.functional import voltage_reset
from snnrs.neuron.base import BaseNode

__all__ = ["IFNode", "HalfThresholdIFNode", "ActivationAwareIFNode", "activation_aware_if_step",
           "activation_aware_if_multi_step"]


class IFNode(BaseNode, engine_neuron="if"):
    """Integrate-and-fire: ``H = V + X``."""

    def neuronal_charge(self, x):
        self.v = self.v + x


class HalfThresholdIFNode(IFNode):
    """IF with soft reset whose voltage starts (and resets between sequences) at ``V_th/2`` instead of 0:
    the rate then rounds the accumulated input to the nearest multiple of ``V_th`` rather than flooring it,
    halving the conversion error of an ANN-converted network (Rueckauer et al. 2017; Deng & Gu 2021).
    Runs in the fused kernels like IF."""

    def __init__(self, v_threshold: float = 1.0, surrogate_function: Callable = surrogate.Sigmoid(),
                 detach_reset: bool = False, step_mode: str = "s", store_v_seq: bool = False,
                 backend: str = "engine"):
        if isinstance(v_threshold, torch.Tensor):
            if v_threshold.numel() != 1:
                raise ValueError(f"v_threshold: expected one value, got a tensor of shape {tuple(v_threshold.shape)}")
            v_threshold = float(v_threshold)
        if not v_threshold > 0:
            raise ValueError(f"v_threshold: expected a finite value > 0, got {v_threshold}")
        super().__init__(v_threshold, None, surrogate_function, detach_reset, step_mode, store_v_seq, backend)
        self.set_reset_value("v", self.v_threshold / 2.0)
        self.v = self.v_threshold / 2.0

    @property
    def vr(self) -> float:
        return self.v_threshold / 2.0  # IF has no resting level: vr is only the starting voltage

    def _carried_v(self, x):
        v = super()._carried_v(x)
        # in the state's dtype: float32 for a 16-bit x (docs/semantics.md#mixed-precision)
        return torch.full_like(x, self.vr, dtype=ops.state_dtype(x)) if v is None else v


def activation_aware_if_step(x, v, v_threshold, v_offset, v_reset, surrogate_function, detach_reset=False):
    """``H = V + X``; ``S = sg(H + v_offset - v_threshold)``; reset by ``v_threshold`` (soft) or to ``v_reset``."""
    h = v + x
    spike = surrogate_function(h + v_offset - v_threshold)
    return spike, voltage_reset(h, spike, v_threshold, v_reset, detach_reset)


def activation_aware_if_multi_step(x_seq, v, v_threshold, v_offset, channel_size: int, inner_size: int,
                                   v_reset=0.0, store_v_seq: bool = False):
    """Heaviside firing over ``x_seq [T, ...]`` with thresholds/offsets of length ``channel_size`` (or one),
    element ``i`` of a step using entry ``(i // inner_size) % channel_size``: ``(spikes, v_last, v_seq or None)``."""
    def per_element(p):
        p = p.reshape(-1).to(x_seq)
        if p.numel() == 1:
            return p.reshape(())
        index = torch.arange(v.numel(), device=x_seq.device) // inner_size % channel_size
        return p[index].reshape(v.shape)

    threshold, offset = per_element(torch.as_tensor(v_threshold)), per_element(torch.as_tensor(v_offset))
    spikes, vs = [], []
    for x in x_seq:
        spike, v = activation_aware_if_step(x, v, threshold, offset, v_reset, surrogate.heaviside)
        spikes.append(spike)
        vs.append(v)
    return torch.stack(spikes), v, torch.stack(vs) if store_v_seq else None


class ActivationAwareIFNode(MemoryModule):
    """IF whose threshold and firing offset may differ per channel (``channel_dim`` of a step's input):
    the firing condition is ``H + v_offset >= v_threshold``, the soft reset subtracts the channel's
    threshold. ``v_threshold`` > 0 and ``v_offset`` are scalars or 1-d (one per channel), kept as buffers."""

    def __init__(self, v_threshold=1.0, v_offset=0.0, channel_dim: int = -1, v_reset: float | None = None,
                 surrogate_function: Callable = surrogate.Sigmoid(), detach_reset: bool = False, step_mode: str = "s",
                 store_v_seq: bool = False):
        threshold, offset = torch.as_tensor(v_threshold).clone().detach(), torch.as_tensor(v_offset).clone().detach()
        for name, value in (("v_threshold", threshold), ("v_offset", offset)):
            if value.dim() > 1 or not torch.isfinite(value.double()).all():
                raise ValueError(f"{name}: expected a finite scalar or 1-d tensor, got {value!r}")
        if not bool((threshold > 0).all()):
            raise ValueError(f"v_threshold: expected values > 0, got {threshold}")
        if v_reset is not None and not isinstance(v_reset, float):
            raise ValueError(f"v_reset: expected a float or None, got {v_reset!r}")
        if isinstance(channel_dim, bool) or not isinstance(channel_dim, int):
            raise ValueError(f"channel_dim: expected an int, got {channel_dim!r}")
        super().__init__()
        self.register_buffer("v_threshold", threshold)
        self.register_buffer("v_offset", offset)
        self.channel_dim, self.v_reset, self.detach_reset = channel_dim, v_reset, bool(detach_reset)
        self.surrogate_function = surrogate_function
        self.register_memory("v", 0.0 if v_reset is None else v_reset)
        self.store_v_seq = bool(store_v_seq)
        self.v_seq = None
        self.step_mode = step_mode

    def reset(self):
        super().reset()
        self.v_seq = None

    def _per_channel(self, p: torch.Tensor, x: torch.Tensor, name: str) -> torch.Tensor:
        p = p.to(device=x.device, dtype=x.dtype)
        if p.dim() == 0:
            return p
        dim = self.channel_dim + x.dim() if self.channel_dim < 0 else self.channel_dim
        if not 0 <= dim < x.dim() or p.numel() != x.shape[dim]:
            raise ValueError(f"{name}: {p.numel()} values for input shape {tuple(x.shape)} at channel_dim="
                             f"{self.channel_dim}")
        shape = [1] * x.dim()
        shape[dim] = p.numel()
        return p.view(shape)

    def _step(self, x):
        v = self.v
        if not isinstance(v, torch.Tensor) or v.shape != x.shape:
            v = torch.full_like(x, 0.0 if self.v_reset is None else self.v_reset)
        spike, self.v = activation_aware_if_step(
            x, v.to(x), self._per_channel(self.v_threshold, x, "v_threshold"),
            self._per_channel(self.v_offset, x, "v_offset"), self.v_reset, self.surrogate_function, self.detach_reset)
        return spike

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.step_mode == "s":
            return self._step(x)
        spikes, vs = [], []
        for step in x:
            spikes.append(self._step(step))
            vs.append(self.v)
        self.v_seq = torch.stack(vs) if self.store_v_seq else None
        return torch.stack(spikes)

    def extra_repr(self):
        return (f"v_threshold_shape={tuple(self.v_threshold.shape)}, v_offset_shape={tuple(self.v_offset.shape)}, "
                f"channel_dim={self.channel_dim}, v_reset={self.v_reset}, detach_reset={self.detach_reset}, "
                f"step_mode={self.step_mode}")
