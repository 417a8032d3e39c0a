"""Differentiation on spike representation (DSR, Meng et al., CVPR 2022; ``docs/semantics.md#dsr``).

The forward pass is an IF or LIF neuron run over the whole sequence; the backward pass does not go
through time but through the neuron's *rate*: the spike output's average is (almost) a clamp of the
input's average, so the gradient is that clamp's — passed to each step equally — and the threshold gets
the gradient of the clipped part. Multi-step only; ``T`` is the length of the sequences.

- IF: ``V += X[t]``; spike ``S = V_th·[V >= alpha·V_th]``; ``V -= S``. Rate = mean over T; the input
  gradient passes where ``0 <= rate <= V_th``, the threshold's where ``rate > V_th``.
- LIF (time step ``delta_t``, constant ``tau``): ``V = β·V + (1-β)·X[t]``, ``β = e^{-delta_t/tau}``;
  output ``S/delta_t``. Rate = the average weighted by ``e^{-(T - i)·delta_t/tau}``; the input gradient
  (divided by tau) passes where ``0 < rate < V_th·tau/delta_t``, the threshold's elsewhere (× delta_t).

The learnable threshold is clamped below at ``v_threshold_lower_bound``; its gradient is multiplied by
``v_threshold_grad_scaling``.
"""

import math

import torch
from torch import nn

from snnrs.base import MemoryModule

__all__ = ["DSRIFNode", "DSRLIFNode"]


def _rate(seq: torch.Tensor, weights: torch.Tensor | None) -> torch.Tensor:
    if weights is None:
        return seq.mean(0)
    return (seq * weights.view(-1, *([1] * (seq.dim() - 1)))).sum(0) / weights.sum()


def lif_rate_weights(steps: int, tau: float, delta_t: float, like: torch.Tensor) -> torch.Tensor:
    """``e^{-(T·delta_t - i·delta_t)/tau}`` for i = 1..T: recent steps weigh more."""
    return torch.tensor([math.exp(-1 / tau * (delta_t * steps - i * delta_t)) for i in range(1, steps + 1)],
                        dtype=like.dtype, device=like.device)


class _DSRFunction(torch.autograd.Function):
    """``forward(x_seq, v_threshold, alpha, grad_scaling, leak)`` with ``leak = None`` (IF) or
    ``(tau, delta_t)`` (LIF)."""

    @staticmethod
    def forward(ctx, x_seq, v_threshold, alpha, grad_scaling, leak):
        ctx.save_for_backward(x_seq, v_threshold)
        ctx.grad_scaling, ctx.leak = grad_scaling, leak
        v = torch.zeros_like(x_seq[0])
        beta = None if leak is None else math.exp(-leak[1] / leak[0])
        outputs = []
        for x in x_seq:
            v = v + x if beta is None else beta * v + (1 - beta) * x
            spike = (v >= alpha * v_threshold).to(x_seq.dtype) * v_threshold
            v = v - spike
            outputs.append(spike if leak is None else spike / leak[1])
        return torch.stack(outputs)

    @staticmethod
    def backward(ctx, grad_seq):
        x_seq, v_threshold = ctx.saved_tensors
        steps = x_seq.shape[0]
        with torch.no_grad():
            if ctx.leak is None:
                weights, upper, input_scale, threshold_scale = None, v_threshold, 1.0, 1.0
            else:
                tau, delta_t = ctx.leak
                weights = lif_rate_weights(steps, tau, delta_t, x_seq)
                upper, input_scale, threshold_scale = v_threshold / delta_t * tau, 1.0 / tau, delta_t
            rate = _rate(x_seq, weights)
            grad_rate = _rate(grad_seq, weights) * steps
            if ctx.leak is None:
                passes = (rate >= 0) & (rate <= upper)
                clipped = rate > upper
            else:
                passes = (rate > 0) & (rate < upper)
                clipped = rate > upper
            grad_x = torch.where(passes, grad_rate * input_scale, torch.zeros_like(grad_rate))
            grad_x = grad_x.unsqueeze(0).expand_as(x_seq) / steps
            grad_threshold = (grad_rate * clipped).sum() * threshold_scale * ctx.grad_scaling
        return grad_x.clone(), grad_threshold.to(v_threshold), None, None, None


class _DSRNode(MemoryModule):
    def __init__(self, T, v_threshold, alpha, v_threshold_training, v_threshold_grad_scaling,
                 v_threshold_lower_bound, step_mode):
        if isinstance(T, bool) or not isinstance(T, int) or T < 1:
            raise ValueError(f"T: expected an int >= 1, got {T!r}")
        if not 0.0 < alpha <= 1.0:
            raise ValueError(f"alpha: expected a value in (0, 1], got {alpha}")
        if not v_threshold_lower_bound > 0.0:
            raise ValueError(f"v_threshold_lower_bound: expected > 0, got {v_threshold_lower_bound}")
        if not v_threshold >= v_threshold_lower_bound:
            raise ValueError(f"v_threshold: expected >= v_threshold_lower_bound ({v_threshold_lower_bound}), "
                             f"got {v_threshold}")
        super().__init__()
        self.step_mode = step_mode
        self.T = T
        threshold = torch.tensor(float(v_threshold))
        self.v_threshold = nn.Parameter(threshold) if v_threshold_training else threshold
        self.alpha = float(alpha)
        self.v_threshold_lower_bound = float(v_threshold_lower_bound)
        self.v_threshold_grad_scaling = float(v_threshold_grad_scaling)

    def supported_step_mode(self):
        return ("m",)

    def _leak(self):
        return None

    def forward(self, x_seq: torch.Tensor) -> torch.Tensor:
        if not isinstance(x_seq, torch.Tensor) or x_seq.dim() < 2 or x_seq.shape[0] != self.T:
            raise ValueError(f"x_seq: expected [T={self.T}, N, ...], got "
                             f"{tuple(x_seq.shape) if isinstance(x_seq, torch.Tensor) else type(x_seq).__name__}")
        threshold = self.v_threshold.clamp(min=self.v_threshold_lower_bound)
        return _DSRFunction.apply(x_seq, threshold, self.alpha, self.v_threshold_grad_scaling, self._leak())

    def extra_repr(self):
        return (f"T={self.T}, v_threshold={float(self.v_threshold.detach()):g}, alpha={self.alpha}, "
                f"v_threshold_lower_bound={self.v_threshold_lower_bound}, "
                f"v_threshold_grad_scaling={self.v_threshold_grad_scaling}")


class DSRIFNode(_DSRNode):
    """DSR with an IF neuron (module docstring). SpikingJelly's defaults: ``v_threshold=6``, ``alpha=0.5``."""

    def __init__(self, T: int = 20, v_threshold: float = 6.0, alpha: float = 0.5, v_threshold_training: bool = True,
                 v_threshold_grad_scaling: float = 1.0, v_threshold_lower_bound: float = 0.01, step_mode: str = "m"):
        super().__init__(T, v_threshold, alpha, v_threshold_training, v_threshold_grad_scaling,
                         v_threshold_lower_bound, step_mode)


class DSRLIFNode(_DSRNode):
    """DSR with a LIF neuron (module docstring)."""

    def __init__(self, T: int = 20, v_threshold: float = 1.0, tau: float = 2.0, delta_t: float = 0.05,
                 alpha: float = 0.3, v_threshold_training: bool = True, v_threshold_grad_scaling: float = 1.0,
                 v_threshold_lower_bound: float = 0.1, step_mode: str = "m"):
        super().__init__(T, v_threshold, alpha, v_threshold_training, v_threshold_grad_scaling,
                         v_threshold_lower_bound, step_mode)
        if not (tau > 0 and delta_t > 0):
            raise ValueError(f"tau, delta_t: expected > 0, got {tau}, {delta_t}")
        self.tau, self.delta_t = float(tau), float(delta_t)

    def _leak(self):
        return (self.tau, self.delta_t)

    def extra_repr(self):
        return super().extra_repr() + f", tau={self.tau}, delta_t={self.delta_t}"
