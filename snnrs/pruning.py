"""Pruning from the papers (``docs/semantics.md#pruning``): Grad R as a torch optimizer, LATS soft-threshold
reparameterisation with the LATS / S-LATS / PGH threshold schedules, and connectivity reports.
Formulas as ``reference/pruning.py``.
"""

import abc
import math
from collections.abc import Iterable, Sequence

import torch
from torch import nn
from torch.nn.utils import parametrize

PRUNABLE = (nn.Conv1d, nn.Conv2d, nn.Conv3d, nn.Linear)


class GradR(torch.optim.Optimizer):
    """Grad R (Chen et al., 2021): each weight is ``w = s ⊙ relu(θ)`` with ``s = sign(w_init)``
    fixed and ``θ_init = |w_init|``; Adam moments on ``g = ∂L/∂w`` and

        θ ← θ - η̂·s⊙m/denom - η̂·α·sign(θ - μ),   η̂ = lr/(1 - β1^t),   μ = ln(2(1 - target_sparsity))/α

    (the prior term is not divided by denom), then ``w = s·max(θ, 0)``. No mask: pruned weights
    can grow back. Pass only the weights to prune (conv/linear), e.g. :func:`prunable_weights`.
    """

    def __init__(self, params, lr: float = 1e-3, alpha: float = 1e-4, target_sparsity: float = 0.95,
                 betas=(0.9, 0.999), eps: float = 1e-8):
        if not lr > 0 or not alpha > 0:
            raise ValueError(f"lr, alpha: expected positive values, got {lr}, {alpha}")
        if not 0.5 <= target_sparsity < 1:
            raise ValueError(f"target_sparsity: expected 0.5 <= s_target < 1 (μ needs it), got {target_sparsity}")
        super().__init__(params, dict(lr=lr, alpha=alpha, target_sparsity=target_sparsity, betas=betas, eps=eps))

    @torch.no_grad()
    def step(self, closure=None):
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        for group in self.param_groups:
            b1, b2 = group["betas"]
            mu = math.log(2.0 * (1.0 - group["target_sparsity"])) / group["alpha"]
            for w in group["params"]:
                state = self.state[w]
                if not state:
                    state["t"] = 0
                    state["sign"] = torch.sign(w.detach()).clone()
                    state["theta"] = w.detach().abs().clone()
                    state["m"] = torch.zeros_like(w)
                    state["v"] = torch.zeros_like(w)
                if w.grad is None:
                    continue
                g = w.grad
                state["t"] += 1
                t = state["t"]
                state["m"].mul_(b1).add_(g, alpha=1 - b1)
                state["v"].mul_(b2).addcmul_(g, g, value=1 - b2)
                step = group["lr"] / (1 - b1 ** t)
                denom = state["v"].sqrt() / math.sqrt(1 - b2 ** t) + group["eps"]
                theta, s = state["theta"], state["sign"]
                theta.sub_(step * s * state["m"] / denom + step * group["alpha"] * torch.sign(theta - mu))
                w.copy_(s * theta.clamp(min=0))
        return loss


def prunable_weights(model: nn.Module) -> Iterable[nn.Parameter]:
    """The weights of conv and linear layers (what pruning and connectivity count; BN excluded)."""
    return [m.weight for m in model.modules() if isinstance(m, PRUNABLE)]


def connectivity(model: nn.Module) -> dict[str, float]:
    """Nonzero fraction of each conv/linear weight, and ``'total'`` over all of them."""
    report, nonzero, count = {}, 0, 0
    for name, m in model.named_modules():
        if isinstance(m, PRUNABLE):
            w = m.weight.detach()
            report[name] = float((w != 0).sum()) / w.numel()
            nonzero, count = nonzero + int((w != 0).sum()), count + w.numel()
    report["total"] = nonzero / count if count else 1.0
    return report


def sparsity(model: nn.Module) -> dict[str, float]:
    """1 - connectivity, per layer and total."""
    return {k: 1.0 - v for k, v in connectivity(model).items()}


# ---- LATS: soft-threshold reparameterisation ----

class ThresholdSchedule(abc.ABC):
    """The current threshold d, advanced by ``step()`` once per optimizer step."""

    def __init__(self, D: float, total_steps: int):
        if not D >= 0:
            raise ValueError(f"D: expected a threshold >= 0, got {D}")
        if isinstance(total_steps, bool) or not isinstance(total_steps, int) or total_steps < 1:
            raise ValueError(f"total_steps: expected a positive int, got {total_steps!r}")
        self.D, self.total_steps, self.t = float(D), total_steps, 0

    @property
    def progress(self) -> float:
        return min(self.t / self.total_steps, 1.0)

    @property
    @abc.abstractmethod
    def value(self) -> float:
        """The threshold d at the current step."""

    def step(self):
        self.t += 1


class LATSSchedule(ThresholdSchedule):
    """LATS: ``d_t = D·Σ_{s<t} η_s / Σ_all η_s`` for the learning rates ``lrs`` of every step."""

    def __init__(self, D: float, lrs: Sequence[float]):
        super().__init__(D, len(lrs))
        self._cumulative = [0.0]
        for lr in lrs:
            self._cumulative.append(self._cumulative[-1] + float(lr))
        if not self._cumulative[-1] > 0:
            raise ValueError("lrs: expected learning rates summing to more than 0")

    @property
    def value(self) -> float:
        return self.D * self._cumulative[min(self.t, self.total_steps)] / self._cumulative[-1]


class SLATSSchedule(ThresholdSchedule):
    """S-LATS: ``d = D·(x + sin(πx)/π)``, x = progress."""

    @property
    def value(self) -> float:
        x = self.progress
        return self.D * (x + math.sin(math.pi * x) / math.pi)


class PGHSchedule(ThresholdSchedule):
    """PGH continuation: ``d = D·∫_0^x β^u(1 + cos πu)du / ∫_0^1 β^u(1 + cos πu)du``."""

    def __init__(self, D: float, total_steps: int, beta: float = 10.0):
        super().__init__(D, total_steps)
        if not beta > 0:
            raise ValueError(f"beta: expected > 0, got {beta}")
        self.beta = float(beta)

    def _integral(self, x):
        b = math.log(self.beta)
        if b == 0:
            return x + math.sin(math.pi * x) / math.pi
        cosine = (self.beta ** x * (b * math.cos(math.pi * x) + math.pi * math.sin(math.pi * x)) - b) / (
            b * b + math.pi ** 2)
        return (self.beta ** x - 1) / b + cosine

    @property
    def value(self) -> float:
        return self.D * self._integral(self.progress) / self._integral(1.0)


class SoftThreshold(nn.Module):
    """Parametrization ``w = sign(θ)·relu(|θ| - d)`` with a straight-through gradient to θ."""

    def __init__(self, schedule: ThresholdSchedule):
        super().__init__()
        self.schedule = schedule

    def forward(self, theta: torch.Tensor) -> torch.Tensor:
        d = self.schedule.value
        pruned = torch.sign(theta) * torch.relu(theta.abs() - d)
        return theta + (pruned - theta).detach()


def apply_soft_threshold(model: nn.Module, schedule: ThresholdSchedule) -> nn.Module:
    """Reparameterises every conv/linear weight of ``model`` with :class:`SoftThreshold` (in place);
    the optimizer then trains θ (``module.parametrizations.weight.original``)."""
    for m in model.modules():
        if isinstance(m, PRUNABLE) and not parametrize.is_parametrized(m, "weight"):
            parametrize.register_parametrization(m, "weight", SoftThreshold(schedule))
    return model


__all__ = ["GradR", "prunable_weights", "connectivity", "sparsity", "LATSSchedule", "SLATSSchedule", "PGHSchedule",
           "SoftThreshold", "apply_soft_threshold"]
