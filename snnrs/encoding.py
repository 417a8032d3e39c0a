"""Encoders: intensities in [0, 1] to spike trains (``docs/semantics.md#encoders``), as in SpikingJelly's
``activation_based.encoding``; ``reference/encoding.py`` defines them.

Stateless encoders (Poisson) draw a fresh step per call; in multi-step mode they
encode each step of a ``[T, N, ...]`` input. Stateful encoders (Latency,
WeightedPhase, Periodic) compute a whole period on first use and emit one step
per call, cycling; in multi-step mode they return the whole ``[T, N, ...]``
period at once. ``reset()`` (or ``functional.reset_net``) forgets the input.
"""

import abc
import math

import torch
from torch import nn

from snnrs.base import MemoryModule, StepModule

__all__ = ["PoissonEncoder", "LatencyEncoder", "WeightedPhaseEncoder", "PeriodicEncoder"]


def _positive_int(name, value):
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{name}: expected an integer >= 1, got {value!r}")
    return value


def _check_intensity(x, upper=1.0):
    if not isinstance(x, torch.Tensor) or not x.is_floating_point():
        raise TypeError(f"x: expected a floating-point tensor, got {getattr(x, 'dtype', type(x).__name__)}")
    if x.numel() and (x.min() < 0 or x.max() > upper):
        raise ValueError(f"x: expected intensities in [0, {upper}], got values in [{x.min().item()}, {x.max().item()}]")


class PoissonEncoder(nn.Module, StepModule):
    """S = (U < x), U uniform on [0, 1): each element fires with probability x at every step."""

    def __init__(self, step_mode: str = "s"):
        super().__init__()
        self.step_mode = step_mode

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        _check_intensity(x)
        return (torch.rand_like(x) < x).to(x.dtype)


class _PeriodEncoder(MemoryModule, metaclass=abc.ABCMeta):
    """Encodes a whole period [T, ...] once, then emits it step by step."""

    def __init__(self, T: int, step_mode: str = "s"):
        super().__init__()
        self.T = _positive_int("T", T)
        self.step_mode = step_mode
        self.register_memory("spike", None)
        self.register_memory("t", 0)

    @abc.abstractmethod
    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """The whole period [T, ...] for input x."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.step_mode == "m":
            return self.encode(x)
        if self.spike is None:
            self.spike = self.encode(x)
        out = self.spike[self.t]
        self.t = (self.t + 1) % self.spike.shape[0]
        return out


class LatencyEncoder(_PeriodEncoder):
    """One spike per element at t_f: ``round((T-1)(1-x))`` ('linear') or
    ``round(T-1-ln(αx+1))``, α = e^(T-1) - 1 ('log'): stronger inputs fire earlier."""

    def __init__(self, T: int, enc_function: str = "linear", step_mode: str = "s"):
        super().__init__(T, step_mode)
        if enc_function not in ("linear", "log"):
            raise ValueError(f"enc_function: expected 'linear' or 'log', got {enc_function!r}")
        self.enc_function = enc_function

    def encode(self, x):
        _check_intensity(x)
        if self.enc_function == "linear":
            t_f = torch.round((self.T - 1) * (1.0 - x))
        else:
            t_f = torch.round(self.T - 1 - torch.log(math.expm1(self.T - 1) * x + 1.0))
        steps = torch.arange(self.T, dtype=x.dtype, device=x.device).reshape(-1, *([1] * x.dim()))
        return (t_f.unsqueeze(0) == steps).to(x.dtype)


class WeightedPhaseEncoder(_PeriodEncoder):
    """K phases weighted 2^-1 ... 2^-K: the greedy binary expansion of x in [0, 1 - 2^-K]."""

    def __init__(self, K: int, step_mode: str = "s"):
        super().__init__(K, step_mode)
        self.K = self.T

    def encode(self, x):
        _check_intensity(x, 1.0 - 2.0 ** -self.K)
        residual = x.clone()
        phases = []
        for k in range(self.K):
            weight = 2.0 ** -(k + 1)
            s = (residual >= weight).to(x.dtype)
            residual = residual - s * weight
            phases.append(s)
        return torch.stack(phases)


class PeriodicEncoder(_PeriodEncoder):
    """Repeats a given spike pattern ``spike`` of shape [T, ...] (the input of forward is ignored)."""

    def __init__(self, spike: torch.Tensor, step_mode: str = "s"):
        if not isinstance(spike, torch.Tensor) or spike.dim() < 1:
            raise ValueError("spike: expected a [T, ...] tensor")
        super().__init__(spike.shape[0], step_mode)
        self.register_buffer("pattern", spike)  # moves with .to(device)

    def encode(self, x=None):
        return self.pattern
