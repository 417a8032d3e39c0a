"""Encoders: intensities in [0, 1] to spike trains (``docs/semantics.md#encoders``), as in SpikingJelly's
``activation_based.encoding``; ``reference/encoding.py`` defines them.

Stateless encoders (Poisson) draw a fresh step per call; in multi-step mode they
encode each step of a ``[T, N, ...]`` input. Stateful encoders (Latency,
WeightedPhase, Periodic) compute a whole period on first use and emit one step
per call, cycling; in multi-step mode they return the whole ``[T, N, ...]``
period at once. ``reset()`` (or ``functional.reset_net``) forgets the input.
"""

import math

import torch
from torch import nn

from snnrs.base import MemoryModule, StepModule

__all__ = ["StatelessEncoder", "StatefulEncoder", "PoissonEncoder", "LatencyEncoder", "WeightedPhaseEncoder",
           "PeriodicEncoder", "PopEncoder", "PopSpikeEncoderDeterministic", "PopSpikeEncoderRandom"]


def _positive_int(name, value):
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{name}: expected an integer >= 1, got {value!r}")
    return value


def _check_intensity(x, upper=1.0):
    if not isinstance(x, torch.Tensor) or not x.is_floating_point():
        raise TypeError(f"x: expected a floating-point tensor, got {getattr(x, 'dtype', type(x).__name__)}")
    if x.numel() and (x.min() < 0 or x.max() > upper):
        raise ValueError(f"x: expected intensities in [0, {upper}], got values in [{x.min().item()}, {x.max().item()}]")


class StatelessEncoder(nn.Module, StepModule):
    """Base of encoders without state: a subclass defines ``forward(x)`` (SpikingJelly's base class)."""

    def __init__(self, step_mode: str = "s"):
        super().__init__()
        self.step_mode = step_mode

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError(f"{type(self).__name__} must define forward(x)")


class PoissonEncoder(nn.Module, StepModule):
    """S = (U < x), U uniform on [0, 1): each element fires with probability x at every step."""

    def __init__(self, step_mode: str = "s"):
        super().__init__()
        self.step_mode = step_mode

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        _check_intensity(x)
        return (torch.rand_like(x) < x).to(x.dtype)


class StatefulEncoder(MemoryModule):
    """Encodes a whole period ``[T, ...]`` once, then emits it step by step (single-step mode), or
    returns it at once (multi-step mode). A subclass defines ``encode(x)`` — or, as for SpikingJelly's
    base class of this name, ``single_step_encode(x)`` — returning the period."""

    def __init__(self, T: int, step_mode: str = "s"):
        super().__init__()
        self.T = _positive_int("T", T)
        self.step_mode = step_mode
        self.register_memory("spike", None)
        self.register_memory("t", 0)

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """The whole period [T, ...] for input x."""
        return self.single_step_encode(x)

    def single_step_encode(self, x: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError(f"{type(self).__name__} must define encode(x) or single_step_encode(x)")

    def extra_repr(self):
        return f"T={self.T}, step_mode={self.step_mode}"

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.step_mode == "m":
            return self.encode(x)
        if self.spike is None:
            self.spike = self.encode(x)
        out = self.spike[self.t]
        self.t = (self.t + 1) % self.spike.shape[0]
        return out


class LatencyEncoder(StatefulEncoder):
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


class WeightedPhaseEncoder(StatefulEncoder):
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


class PeriodicEncoder(StatefulEncoder):
    """Repeats a given spike pattern ``spike`` of shape [T, ...] (the input of forward is ignored)."""

    def __init__(self, spike: torch.Tensor, step_mode: str = "s"):
        if not isinstance(spike, torch.Tensor) or spike.dim() < 1:
            raise ValueError("spike: expected a [T, ...] tensor")
        super().__init__(spike.shape[0], step_mode)
        self.register_buffer("pattern", spike)  # moves with .to(device)

    def encode(self, x=None):
        return self.pattern


class PopEncoder(nn.Module):
    """Population coding of observations ``[N, obs_dim]``: ``pop_dim`` Gaussian receptive fields per
    dimension (learnable centres spread evenly over ``mean_range``, learnable widths ``std``); the
    activities ``exp(-((x - μ)/σ)²/2)`` ``[N, obs_dim·pop_dim]`` repeated over ``spike_ts`` steps."""

    def __init__(self, obs_dim: int, pop_dim: int, spike_ts: int, mean_range: tuple, std: float):
        super().__init__()
        self.obs_dim, self.pop_dim = _positive_int("obs_dim", obs_dim), _positive_int("pop_dim", pop_dim)
        self.spike_ts = _positive_int("spike_ts", spike_ts)
        self.encoder_neuron_num = obs_dim * pop_dim
        centres = torch.linspace(float(mean_range[0]), float(mean_range[1]), pop_dim).expand(1, obs_dim, pop_dim)
        self.mean = nn.Parameter(centres.clone())
        self.std = nn.Parameter(torch.full_like(centres, float(std)))

    def activity(self, obs: torch.Tensor) -> torch.Tensor:
        """``[N, obs_dim·pop_dim]`` receptive-field activities in (0, 1]."""
        z = (obs.reshape(-1, self.obs_dim, 1) - self.mean) / self.std
        return torch.exp(-0.5 * z.square()).flatten(1)

    def forward(self, obs: torch.Tensor) -> torch.Tensor:
        return self.activity(obs).unsqueeze(0).repeat(self.spike_ts, 1, 1)


class PopSpikeEncoderDeterministic(PopEncoder):
    """:class:`PopEncoder` whose activities drive soft-reset IF neurons (threshold 0.999) for
    ``spike_ts`` steps: deterministic spikes, straight-through gradients."""

    def __init__(self, obs_dim: int, pop_dim: int, spike_ts: int, mean_range: tuple, std: float):
        super().__init__(obs_dim, pop_dim, spike_ts, mean_range, std)
        from snnrs import neuron, surrogate
        self.neurons = neuron.IFNode(v_threshold=0.999, v_reset=None, surrogate_function=surrogate.DeterministicPass(),
                                     detach_reset=True, step_mode="m")

    def forward(self, obs: torch.Tensor) -> torch.Tensor:
        return self.neurons(super().forward(obs))  # stateful: reset_net between samples, as for any SNN


class PopSpikeEncoderRandom(PopEncoder):
    """:class:`PopEncoder` whose activities are Bernoulli firing probabilities at each of
    ``spike_ts`` steps (straight-through gradients)."""

    def forward(self, obs: torch.Tensor) -> torch.Tensor:
        from snnrs import surrogate
        activity = self.activity(obs)
        return surrogate.poisson_pass.apply(activity.unsqueeze(0).expand(self.spike_ts, *activity.shape))
