"""Layers with state or time structure: dropout with one mask per sequence, synapse filter,
delay, voting (``docs/semantics.md#layers``).

Semantics follow SpikingJelly's ``activation_based.layer`` (see each docstring);
multi-step mode takes ``[T, N, ...]``.
"""

import math

import torch
import torch.nn.functional as F
from torch import nn

from snnrs import functional
from snnrs.base import MemoryModule
from snnrs.checks import time_constant

__all__ = ["Dropout", "Dropout2d", "SynapseFilter", "Delay", "VotingLayer", "synapse_filter_step", "delay_step"]


class Dropout(MemoryModule):
    """Dropout with one mask per sample for all time steps (``docs/semantics.md#layers``), scaled by 1/(1-p).

    Single-step mode draws the mask at the first call in training and keeps it until ``reset()``;
    multi-step mode draws it from the first step and applies it to all T steps. Identity in eval mode.
    """

    _dropout = staticmethod(F.dropout)

    def __init__(self, p: float = 0.5, step_mode: str = "s"):
        super().__init__()
        if isinstance(p, bool) or not isinstance(p, (int, float)) or not 0 <= p < 1:
            raise ValueError(f"p: expected a probability in [0, 1), got {p!r}")
        self.p = float(p)
        self.step_mode = step_mode
        self.register_memory("mask", None)

    def extra_repr(self):
        return f"p={self.p}, step_mode={self.step_mode}"

    def _mask_for(self, x):
        if self.mask is None or self.mask.shape != x.shape:
            self.mask = self._dropout(torch.ones_like(x), self.p, training=True)
        return self.mask

    def forward(self, x):
        if not self.training or self.p == 0:
            return x
        if self.step_mode == "m":
            return x * self._mask_for(x[0])
        return x * self._mask_for(x)


class Dropout2d(Dropout):
    """As :class:`Dropout` but zeroing whole channels (``[N, C, H, W]`` per step); default p = 0.2."""

    _dropout = staticmethod(F.dropout2d)

    def __init__(self, p: float = 0.2, step_mode: str = "s"):
        super().__init__(p, step_mode)


class SynapseFilter(MemoryModule):
    """Synaptic current filter: ``I[t] = I[t-1] - (1 - X[t])·I[t-1]/tau + X[t]``, ``I[-1] = 0``.

    A spike (X = 1) adds 1 without decay that step; otherwise the current decays by ``1 - 1/tau``
    (SpikingJelly's rule). ``learnable=True`` learns ``1/tau = sigmoid(w)``.
    """

    def __init__(self, tau: float = 100.0, learnable: bool = False, step_mode: str = "s"):
        super().__init__()
        tau = time_constant("tau", tau)
        self.learnable = bool(learnable)
        if self.learnable:
            self.w = nn.Parameter(torch.as_tensor(-math.log(tau - 1.0)))
        else:
            self.tau = float(tau)
        self.step_mode = step_mode
        self.register_memory("out_i", 0.0)

    def inverse_tau(self):
        return self.w.sigmoid() if self.learnable else 1.0 / self.tau

    def _step(self, x):
        i = self.out_i if isinstance(self.out_i, torch.Tensor) and self.out_i.shape == x.shape else torch.zeros_like(x)
        self.out_i = i - (1.0 - x) * i * self.inverse_tau() + x
        return self.out_i

    def forward(self, x):
        if self.step_mode == "m":
            return functional.multi_step_forward(x, self._step)
        return self._step(x)


class Delay(MemoryModule):
    """Outputs its input ``delay_steps`` steps later, zeros before that."""

    def __init__(self, delay_steps: int, step_mode: str = "s"):
        super().__init__()
        if isinstance(delay_steps, bool) or not isinstance(delay_steps, int) or delay_steps < 0:
            raise ValueError(f"delay_steps: expected an integer >= 0, got {delay_steps!r}")
        self._delay_steps = delay_steps
        self.step_mode = step_mode
        self.register_memory("queue", [])

    @property
    def delay_steps(self):
        return self._delay_steps

    def forward(self, x):
        d = self._delay_steps
        if self.step_mode == "m":
            if d == 0:
                return x
            return torch.cat([torch.zeros_like(x[:d]), x[: max(x.shape[0] - d, 0)]])[: x.shape[0]]
        self.queue.append(x)
        if len(self.queue) > d:
            return self.queue.pop(0)
        return torch.zeros_like(x)


class VotingLayer(nn.Module):
    """Mean of each consecutive group of ``voting_size`` values along the last dimension
    (``[..., C·voting_size]`` to ``[..., C]``): class scores from groups of output neurons."""

    def __init__(self, voting_size: int = 10, step_mode: str = "s"):
        super().__init__()
        if isinstance(voting_size, bool) or not isinstance(voting_size, int) or voting_size < 1:
            raise ValueError(f"voting_size: expected an integer >= 1, got {voting_size!r}")
        self.voting_size = voting_size
        self.step_mode = step_mode  # the operation is the same in both modes

    def forward(self, x):
        if x.shape[-1] % self.voting_size:
            raise ValueError(f"x: last dimension {x.shape[-1]} is not a multiple of voting_size {self.voting_size}")
        return x.unflatten(-1, (-1, self.voting_size)).mean(-1)


def synapse_filter_step(x: torch.Tensor, out_i: torch.Tensor, reciprocal_tau) -> torch.Tensor:
    """One step of the synapse filter (SpikingJelly 2.0's stateless form): ``I - (1 - X)·I/tau + X``."""
    return out_i - (1.0 - x) * out_i * reciprocal_tau + x


def delay_step(x: torch.Tensor, queue: tuple, delay_steps: int) -> tuple:
    """One step of a delay line held in ``queue`` (a tuple, empty at first): ``(output, new queue)``; the
    output is the input of ``delay_steps`` calls ago, zeros before."""
    if isinstance(delay_steps, bool) or not isinstance(delay_steps, int) or delay_steps < 0:
        raise ValueError(f"delay_steps: expected an int >= 0, got {delay_steps!r}")
    queue = (*queue, x)
    if len(queue) > delay_steps:
        return queue[0], queue[1:]
    return torch.zeros_like(x), queue
