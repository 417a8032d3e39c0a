"""Parallel spiking neurons (PSN family, ``docs/semantics.md#psn``), re-exported by :mod:`snnrs.neuron`.

PSN removes the reset so all T charges are one matrix product; masked and sliding
variants restore causality. Reference: ``reference/psn.py``. Arguments follow
SpikingJelly (``neuron.PSN``, ``MaskedPSN``, ``SlidingPSN``); biases are stored
``[T, 1]`` (PSN, MaskedPSN) and scalar (SlidingPSN), as there.
"""

import math
from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import nn

from snnrs import surrogate
from snnrs.base import BackendModule, MemoryModule

__all__ = ["PSN", "MaskedPSN", "SlidingPSN", "masked_psn_lambda", "sliding_psn_step", "masked_psn_step"]


def _positive_int(name, value):
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{name}: expected an integer >= 1, got {value!r}")
    return value


def _kaiming(*shape):
    weight = torch.empty(*shape)
    nn.init.kaiming_uniform_(weight, a=math.sqrt(5))
    return weight


def masked_psn_lambda(epoch: int, epochs: int) -> float:
    """The paper's ramp of the mask weight: ``λ = min(8·epoch/(epochs - 1), 1)``."""
    return 1.0 if epochs <= 1 else min(8.0 * epoch / (epochs - 1), 1.0)


class PSN(MemoryModule):
    """``H = W·X + b`` over all T steps at once (``X`` as ``[T, -1]``), ``S = Θ(H)``. Multi-step only."""

    def __init__(self, T: int, surrogate_function: Callable = surrogate.ATan()):
        super().__init__()
        self.T = _positive_int("T", T)
        self.surrogate_function = surrogate_function
        self.weight = nn.Parameter(_kaiming(T, T))
        self.bias = nn.Parameter(torch.full((T, 1), -1.0))
        self._step_mode = "m"

    def supported_step_mode(self):
        return ("m",)

    def _check(self, x_seq):
        if x_seq.dim() < 1 or x_seq.shape[0] != self.T:
            raise ValueError(f"x_seq: expected [T={self.T}, ...], got shape {tuple(x_seq.shape)}")

    def effective_weight(self):
        return self.weight

    def forward(self, x_seq):
        self._check(x_seq)
        h = torch.addmm(self.bias.to(x_seq.dtype), self.effective_weight().to(x_seq.dtype), x_seq.flatten(1))
        return self.surrogate_function(h).view(x_seq.shape)


class MaskedPSN(PSN):
    """PSN with weight ``W ⊙ M(λ)``, ``M(λ) = λ·B_k + (1-λ)·1`` (band ``B_k``: the current and k-1 previous
    steps). Ramp ``lambda_`` from 0 to 1 during training (:func:`masked_psn_lambda`); at λ = 1 it is causal
    and runs in single-step mode too (a queue of the last k inputs)."""

    def __init__(self, k: int, T: int, lambda_init: float = 0.0, surrogate_function: Callable = surrogate.ATan(),
                 step_mode: str = "s"):
        super().__init__(T, surrogate_function)
        self.k = _positive_int("k", k)
        band = torch.tensor([[1.0 if j <= i <= j + k - 1 else 0.0 for j in range(T)] for i in range(T)])
        self.register_buffer("mask0", band)
        self.register_buffer("_lambda_", torch.tensor(float(lambda_init)))
        # All ones: SpikingJelly keeps it as a buffer, so its checkpoints carry it.
        self.register_buffer("mask1", torch.ones(T, T))
        self.step_mode = step_mode
        self.register_memory("queue", [])
        self.register_memory("time_step", 0)

    def supported_step_mode(self):
        return ("s", "m")

    @property
    def lambda_(self):
        return self._lambda_.item()

    @lambda_.setter
    def lambda_(self, value):
        if not 0.0 <= value <= 1.0:
            raise ValueError(f"lambda_: expected a value in [0, 1], got {value}")
        self._lambda_.fill_(value)

    def effective_weight(self):
        lam = self._lambda_
        if lam >= 1:
            return self.weight * self.mask0
        return self.weight * (lam * self.mask0 + (1.0 - lam) * self.mask1)

    def forward(self, x):
        if self.step_mode == "m":
            return super().forward(x)
        if self.lambda_ < 1:
            raise ValueError(f"lambda_: single-step mode needs the causal mask (lambda_ = 1), got {self.lambda_}")
        t = self.time_step
        if t >= self.T:
            raise OverflowError(f"MaskedPSN ran {self.T} steps (T); call reset() before the next sequence")
        self.queue.append(x.flatten())
        self.queue = self.queue[-self.k:]
        w = self.effective_weight()[t, t + 1 - len(self.queue): t + 1].to(x.dtype)
        h = torch.stack(self.queue, dim=1) @ w + self.bias[t].to(x.dtype)
        self.time_step = t + 1
        return self.surrogate_function(h).view(x.shape)


class SlidingPSN(MemoryModule, BackendModule):
    """``H[t] = Σ_{i<k} W_i·X[t-k+1+i] + b`` (zeros before step 0): a causal window of k steps, any T.

    ``backend='gemm'`` multiplies by the banded ``[T, T]`` matrix ``G[i][j] = W_{k-1-(i-j)}``;
    ``'conv'`` runs a causal conv1d (left padding k-1). Both give the same numbers.
    """

    supported_backends = ("gemm", "conv")

    def __init__(self, k: int, exp_init: bool = True, surrogate_function: Callable = surrogate.ATan(),
                 step_mode: str = "s", backend: str = "gemm"):
        super().__init__()
        self.k = _positive_int("k", k)
        if exp_init:
            weight = torch.tensor([2.0 ** -(k - 1 - i) for i in range(k)])
        else:
            weight = _kaiming(1, k).flatten()
        self.weight = nn.Parameter(weight)
        self.bias = nn.Parameter(torch.tensor(-1.0))
        self.surrogate_function = surrogate_function
        self.step_mode = step_mode
        self.backend = backend
        self.register_memory("queue", [])

    def gemm_weight(self, T: int) -> torch.Tensor:
        """G[i][j] = W[k-1-(i-j)] for 0 <= i-j <= k-1, else 0."""
        i = torch.arange(T).unsqueeze(1)
        j = torch.arange(T).unsqueeze(0)
        lag = i - j
        inside = (lag >= 0) & (lag < self.k)
        index = (self.k - 1 - lag).clamp(0, self.k - 1)
        return torch.where(inside, self.weight[index], torch.zeros((), dtype=self.weight.dtype))

    def forward(self, x):
        if self.step_mode == "s":
            self.queue.append(x.flatten())
            self.queue = self.queue[-self.k:]
            w = self.weight[self.k - len(self.queue):].to(x.dtype)
            h = torch.stack(self.queue, dim=1) @ w + self.bias.to(x.dtype)
            return self.surrogate_function(h).view(x.shape)
        flat = x.flatten(1)  # [T, N]
        weight, bias = self.weight.to(x.dtype), self.bias.to(x.dtype)
        if self.backend == "gemm":
            h = self.gemm_weight(x.shape[0]).to(x.dtype) @ flat + bias
        else:
            padded = F.pad(flat.t().unsqueeze(1), (self.k - 1, 0))  # [N, 1, T + k - 1]
            h = F.conv1d(padded, weight.view(1, 1, -1)).squeeze(1).t() + bias
        return self.surrogate_function(h).view(x.shape)


def sliding_psn_step(x: torch.Tensor, queue: tuple, weight: torch.Tensor, bias: torch.Tensor,
                     surrogate_function: Callable) -> tuple:
    """One step of the sliding PSN (SpikingJelly 2.0's stateless form): the last ``k = weight.numel()`` inputs
    (``queue``, flattened, oldest first; empty at first) weighted by the last entries of ``weight``, plus
    ``bias``, fired. Returns ``(spike, new queue)``."""
    k = weight.numel()
    queue = (*queue, x.flatten())[-k:]
    h = (weight[k - len(queue):].unsqueeze(-1) * torch.stack(queue)).sum(0)
    return surrogate_function(h + bias).view(x.shape), queue


def masked_psn_step(x: torch.Tensor, time_step: int, queue: tuple, masked_weight: torch.Tensor, bias: torch.Tensor,
                    k: int, surrogate_function: Callable) -> tuple:
    """One step of the masked PSN at step ``time_step``: row ``time_step`` of the (masked) ``[T, T]`` weight over
    the last ``k`` inputs, plus ``bias[time_step]``. Returns ``(spike, time_step + 1, new queue)``."""
    queue = (*queue, x.flatten())[-k:]
    row = masked_weight[time_step, time_step + 1 - len(queue):time_step + 1]
    h = (row.unsqueeze(-1) * torch.stack(queue)).sum(0)
    return surrogate_function(h + bias[time_step]).view(x.shape), time_step + 1, queue
