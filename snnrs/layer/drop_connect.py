"""DropConnect for a Linear layer (Wan et al. 2013), as SpikingJelly's ``DropConnectLinear``
(``docs/semantics.md#layers``).

Training: every sample draws its own mask of the weights (and bias), each entry kept with probability
``1 - p``, and the output is ``activation(W_masked·x + b_masked)``; ``invariant=True`` keeps the masks
drawn at the first step until ``reset()`` (the same connections for a whole sequence). Evaluation:
the pre-activation is approximated by a Gaussian of the masked sum's mean ``(1-p)·(W·x + b)`` and
variance ``p(1-p)·(W²·x² + b²)``, and ``samples_num`` draws of it are passed through the activation and
averaged.
"""

import math

import torch
from torch import Tensor, nn
from torch.nn import functional as F

from snnrs.base import MemoryModule

__all__ = ["DropConnectLinear"]

_RELU = nn.ReLU()  # parameter-free, so layers may share it (as SpikingJelly's default does)


class DropConnectLinear(MemoryModule):
    def __init__(self, in_features: int, out_features: int, bias: bool = True, p: float = 0.5,
                 samples_num: int = 1024, invariant: bool = False, activation: nn.Module | None = _RELU,
                 step_mode: str = "s"):
        if not 0 <= p <= 1:
            raise ValueError(f"p: expected a probability in [0, 1], got {p}")
        super().__init__()
        self.step_mode = step_mode
        self.in_features, self.out_features = in_features, out_features
        self.weight = nn.Parameter(torch.empty(out_features, in_features))
        self.bias = nn.Parameter(torch.empty(out_features)) if bias else None
        self.reset_parameters()
        self.p, self.samples_num, self.invariant, self.activation = p, samples_num, invariant, activation
        self.register_memory("dropped_w", None)
        if self.bias is not None:
            self.register_memory("dropped_b", None)

    def reset_parameters(self):
        """As ``nn.Linear``: Kaiming-uniform weight, bias uniform in ±1/sqrt(fan_in)."""
        nn.init.kaiming_uniform_(self.weight, a=math.sqrt(5))
        if self.bias is not None:
            bound = 1 / math.sqrt(self.in_features)
            nn.init.uniform_(self.bias, -bound, bound)

    def reset(self):
        super().reset()
        if hasattr(self.activation, "reset"):
            self.activation.reset()

    def drop(self, batch_size: int) -> tuple:
        """Per-sample masked copies ``([N, out, in], [N, out] or None)``."""
        keep_w = torch.rand_like(self.weight.unsqueeze(0).expand(batch_size, *self.weight.shape)) >= self.p
        dropped_b = None
        if self.bias is not None:
            keep_b = torch.rand_like(self.bias.unsqueeze(0).expand(batch_size, *self.bias.shape)) >= self.p
            dropped_b = self.bias * keep_b
        return self.weight * keep_w, dropped_b

    def single_step_forward(self, x: Tensor) -> Tensor:
        if self.training:
            if not self.invariant or self.dropped_w is None:
                self.dropped_w, dropped_b = self.drop(x.shape[0])
                if self.bias is not None:
                    self.dropped_b = dropped_b
            out = torch.bmm(self.dropped_w, x.unsqueeze(-1)).squeeze(-1)
            if self.bias is not None:
                out = out + self.dropped_b
            return out if self.activation is None else self.activation(out)
        mean = (1 - self.p) * F.linear(x, self.weight, self.bias)
        variance = self.p * (1 - self.p) * F.linear(x.square(), self.weight.square(),
                                                    None if self.bias is None else self.bias.square())
        samples = torch.distributions.normal.Normal(mean, variance.sqrt()).sample(torch.Size([self.samples_num]))
        if self.activation is not None:
            samples = self.activation(samples)
        return samples.mean(dim=0)

    def forward(self, x: Tensor) -> Tensor:
        if self.step_mode == "s":
            return self.single_step_forward(x)
        return torch.stack([self.single_step_forward(step) for step in x])

    def extra_repr(self):
        return (f"in_features={self.in_features}, out_features={self.out_features}, bias={self.bias is not None}, "
                f"p={self.p}, invariant={self.invariant}, step_mode={self.step_mode}")
