"""Torch modules for NIR nodes that snnrs has no layer for: a per-element scale, a threshold,
and a general NIR neuron (per-neuron parameters, leaks, synaptic current) following the discrete
rule of :mod:`snnrs.runtime.conventions`, single- or multi-step, with a surrogate gradient."""

import numpy as np
import torch
from torch import nn

from snnrs import surrogate
from snnrs.base import MemoryModule
from snnrs.runtime.conventions import DiscreteNeuron


class Scale(nn.Module):
    """``x · scale`` (NIR Scale), the scale broadcast over the trailing dims."""

    def __init__(self, scale):
        super().__init__()
        self.register_buffer("scale", torch.as_tensor(np.asarray(scale), dtype=torch.float32))

    def forward(self, x):
        return x * self.scale.to(x.dtype)


class Threshold(nn.Module):
    """``Θ(x - θ)`` with NIR's strict comparison (x > θ); ATan surrogate gradient."""

    def __init__(self, threshold, surrogate_function=None):
        super().__init__()
        self.register_buffer("threshold", torch.as_tensor(np.asarray(threshold), dtype=torch.float32))
        self.surrogate_function = surrogate_function or surrogate.ATan()

    def forward(self, x):
        th = self.threshold.to(x.dtype)
        soft = self.surrogate_function(x - th)
        hard = (x > th).to(x.dtype)
        return soft + (hard - soft).detach()


class NIRNeuron(MemoryModule):
    """A NIR neuron layer as its discrete rule; ``step_mode`` 's' (``[N, ...]``) or 'm'
    (``[T, N, ...]``). Spiking kinds output spikes (ATan surrogate), the others their voltage."""

    def __init__(self, spec: DiscreteNeuron, step_mode: str = "m", surrogate_function=None):
        super().__init__()
        self.kind, self.spiking, self.step_mode = spec.kind, spec.spiking, step_mode
        self.soft_reset = spec.soft_reset
        self.surrogate_function = surrogate_function or surrogate.ATan()
        for name in ("mem_leak", "v_leak", "gain", "v_threshold", "v_reset", "syn_decay", "syn_gain"):
            value = getattr(spec, name)
            self.register_buffer(name, None if value is None else torch.as_tensor(np.asarray(value, np.float64)))
        self.register_memory("v", None)
        self.register_memory("current", None)

    def _p(self, name, like):
        return getattr(self, name).to(like.dtype)

    def _step(self, x):
        if self.v is None or self.v.shape != x.shape:
            rest = self.v_reset if self.spiking else torch.zeros_like(self.v_leak)
            self.v = torch.broadcast_to(rest.to(x.dtype), x.shape).clone()
            self.current = torch.zeros_like(x) if self.syn_decay is not None else None
        u = x
        if self.syn_decay is not None:
            self.current = self._p("syn_decay", x) * self.current + self._p("syn_gain", x) * x
            u = self.current
        v = self.v + self._p("mem_leak", x) * (self._p("v_leak", x) - self.v) + self._p("gain", x) * u
        if not self.spiking:
            self.v = v
            return v
        th = self._p("v_threshold", x)
        soft = self.surrogate_function(v - th)
        spike = soft + ((v > th).to(x.dtype) - soft).detach()
        if self.soft_reset:  # subtract the inclusive threshold V_th (v > θ exactly when v >= V_th)
            self.v = v - torch.nextafter(th, torch.full_like(th, float("inf"))) * spike
        else:
            self.v = v * (1 - spike) + self._p("v_reset", x) * spike
        return spike

    def forward(self, x):
        if self.step_mode == "s":
            return self._step(x)
        return torch.stack([self._step(x[t]) for t in range(x.shape[0])])

    def extra_repr(self):
        return f"kind={self.kind}, step_mode={self.step_mode}"


__all__ = ["Scale", "Threshold", "NIRNeuron"]
