"""Surrogate gradient functions (``docs/semantics.md#surrogates``), as torch modules.

Each surrogate computes the Heaviside step ``Θ(x)`` in forward and uses its
``sg'(x)`` in backward; with ``spiking=False`` it returns the smooth primitive
``g(x)`` instead. Names, arguments and defaults follow SpikingJelly
(``spikingjelly.activation_based.surrogate``). The formulas are those of
``reference/surrogate.py``; conformance tests hold the two equal.
"""

import math

import torch
from torch import nn

from snnrs.checks import finite

__all__ = [
    "SurrogateFunctionBase", "heaviside", "Sigmoid", "ATan", "PiecewiseQuadratic", "PiecewiseExp", "SoftSign",
    "SuperSpike", "Erf", "PiecewiseLeakyReLU", "Rect", "QPseudoSpike", "S2NN", "LeakyKReLU",
    "FakeNumericalGradient", "LogTailedReLU", "NonzeroSignLogAbs", "SquarewaveFourierSeries",
]


def heaviside(x: torch.Tensor) -> torch.Tensor:
    """Θ(x) = 1 where x >= 0, else 0 (same dtype as x)."""
    return (x >= 0).to(x.dtype)


def _sign_prime(x):
    return 2.0 * heaviside(x) - 1.0


class _SpikeFunction(torch.autograd.Function):
    """Θ(x) forward, ``grad · sg'(x)`` backward."""

    @staticmethod
    def forward(x, surrogate):
        return heaviside(x)

    @staticmethod
    def setup_context(ctx, inputs, output):
        x, surrogate = inputs
        ctx.save_for_backward(x)
        ctx.surrogate = surrogate

    @staticmethod
    def backward(ctx, grad_output):
        (x,) = ctx.saved_tensors
        return grad_output * ctx.surrogate.derivative(x), None


def _check_number(name, value, *, positive=False):
    value = finite(name, value)
    if positive and value <= 0:
        raise ValueError(f"{name}: expected a positive number, got {value!r}")
    return float(value)


class SurrogateFunctionBase(nn.Module):
    """Base class: subclasses define ``derivative(x)`` and, where published, ``primitive(x)``.

    ``params`` names the constructor arguments the engine kernels receive, in order.
    """

    params: tuple = ("alpha",)
    has_primitive: bool = True

    def __init__(self, spiking: bool = True):
        super().__init__()
        if not isinstance(spiking, bool):
            raise TypeError(f"spiking: expected a bool, got {type(spiking).__name__}")
        if not spiking and not self.has_primitive:
            raise ValueError(f"{type(self).__name__} defines only sg'(x); spiking=False needs a primitive g(x)")
        self.spiking = spiking

    def engine_spec(self):
        """(name, parameter list) understood by the engine kernels."""
        return type(self).__name__, [float(getattr(self, p)) for p in self.params]

    def extra_repr(self):
        args = ", ".join(f"{p}={getattr(self, p)}" for p in self.params)
        return f"{args}, spiking={self.spiking}"

    def primitive(self, x):
        raise ValueError(f"{type(self).__name__} has no primitive g(x)")

    def forward(self, x):
        if self.spiking:
            return _SpikeFunction.apply(x, self)
        return self.primitive(x)


def is_engine_surrogate(sg) -> bool:
    """True for an unmodified built-in surrogate with ``spiking=True``: the engine kernels know
    exactly these derivatives (a user subclass may redefine ``derivative``)."""
    return type(sg) in _ENGINE_CLASSES and sg.spiking


class Sigmoid(SurrogateFunctionBase):
    """g = sigmoid(αx); sg' = α·σ(αx)(1 - σ(αx))."""

    def __init__(self, alpha=4.0, spiking=True):
        super().__init__(spiking)
        self.alpha = _check_number("alpha", alpha, positive=True)

    def primitive(self, x):
        return torch.sigmoid(self.alpha * x)

    def derivative(self, x):
        s = torch.sigmoid(self.alpha * x)
        return self.alpha * s * (1.0 - s)


class ATan(SurrogateFunctionBase):
    """g = atan(π/2·αx)/π + 1/2; sg' = α/2 / (1 + (π/2·αx)²)."""

    def __init__(self, alpha=2.0, spiking=True):
        super().__init__(spiking)
        self.alpha = _check_number("alpha", alpha, positive=True)

    def primitive(self, x):
        return torch.atan(math.pi / 2 * self.alpha * x) / math.pi + 0.5

    def derivative(self, x):
        return self.alpha / 2 / (1 + (math.pi / 2 * self.alpha * x) ** 2)


class PiecewiseQuadratic(SurrogateFunctionBase):
    """sg' = α - α²|x| where |x| <= 1/α, else 0."""

    def __init__(self, alpha=1.0, spiking=True):
        super().__init__(spiking)
        self.alpha = _check_number("alpha", alpha, positive=True)

    def primitive(self, x):
        a = self.alpha
        mid = -(a**2 / 2) * x**2 * torch.sign(x) + a * x + 0.5
        return torch.where(x < -1 / a, torch.zeros_like(x), torch.where(x > 1 / a, torch.ones_like(x), mid))

    def derivative(self, x):
        a = self.alpha
        return torch.where(x.abs() <= 1 / a, a - a**2 * x.abs(), torch.zeros_like(x))


class PiecewiseExp(SurrogateFunctionBase):
    """g = Θ(x) - sign'(x)·exp(-α|x|)/2; sg' = α/2·exp(-α|x|)."""

    def __init__(self, alpha=1.0, spiking=True):
        super().__init__(spiking)
        self.alpha = _check_number("alpha", alpha, positive=True)

    def primitive(self, x):
        return heaviside(x) - _sign_prime(x) * torch.exp(-self.alpha * x.abs()) / 2

    def derivative(self, x):
        return self.alpha / 2 * torch.exp(-self.alpha * x.abs())


class SoftSign(SurrogateFunctionBase):
    """g = (αx/(1+|αx|) + 1)/2; sg' = 1/(2α(1/α + |x|)²)."""

    def __init__(self, alpha=2.0, spiking=True):
        super().__init__(spiking)
        self.alpha = _check_number("alpha", alpha, positive=True)

    def primitive(self, x):
        return (self.alpha * x / (1 + (self.alpha * x).abs()) + 1) / 2

    def derivative(self, x):
        return 1 / (2 * self.alpha * (1 / self.alpha + x.abs()) ** 2)


class SuperSpike(SurrogateFunctionBase):
    """sg' = α/(|x|+1)² (no published primitive)."""

    has_primitive = False

    def __init__(self, alpha=1.0, spiking=True):
        super().__init__(spiking)
        self.alpha = _check_number("alpha", alpha)

    def derivative(self, x):
        return self.alpha / (x.abs() + 1) ** 2


class Erf(SurrogateFunctionBase):
    """g = erfc(-αx)/2; sg' = α/√π·exp(-(αx)²)."""

    def __init__(self, alpha=2.0, spiking=True):
        super().__init__(spiking)
        self.alpha = _check_number("alpha", alpha)

    def primitive(self, x):
        return torch.erfc(-self.alpha * x) / 2

    def derivative(self, x):
        return self.alpha / math.sqrt(math.pi) * torch.exp(-((self.alpha * x) ** 2))


class PiecewiseLeakyReLU(SurrogateFunctionBase):
    """sg' = 1/(2w) where |x| < w, else c."""

    params = ("w", "c")

    def __init__(self, w=1.0, c=0.01, spiking=True):
        super().__init__(spiking)
        self.w = _check_number("w", w, positive=True)
        self.c = _check_number("c", c)

    def primitive(self, x):
        w, c = self.w, self.c
        inside = x / (2 * w) + 0.5
        return torch.where(x.abs() <= w, inside, torch.where(x < -w, c * x + c * w, c * x + 1 - c * w))

    def derivative(self, x):
        return torch.where(x.abs() < self.w, torch.full_like(x, 1 / (2 * self.w)), torch.full_like(x, self.c))


class Rect(SurrogateFunctionBase):
    """g = clamp(αx + 1/2, 0, 1); sg' = α·[|x| < 1/(2α)]."""

    def __init__(self, alpha=1.0, spiking=True):
        super().__init__(spiking)
        self.alpha = _check_number("alpha", alpha, positive=True)

    def primitive(self, x):
        return torch.clamp(self.alpha * x + 0.5, 0.0, 1.0)

    def derivative(self, x):
        return self.alpha * (x.abs() < 1 / (2 * self.alpha)).to(x.dtype)


class QPseudoSpike(SurrogateFunctionBase):
    """sg' = (1 + 2/(α-1)·|x|)^(-α), α > 1."""

    def __init__(self, alpha=2.0, spiking=True):
        super().__init__(spiking)
        self.alpha = _check_number("alpha", alpha)
        if self.alpha <= 1:
            raise ValueError(f"alpha: QPseudoSpike needs alpha > 1, got {alpha}")

    def primitive(self, x):
        a = self.alpha
        return heaviside(x) - _sign_prime(x) / 2 * (1 + 2 / (a - 1) * x.abs()) ** (1 - a)

    def derivative(self, x):
        return (1 + 2 / (self.alpha - 1) * x.abs()) ** (-self.alpha)


class S2NN(SurrogateFunctionBase):
    """x < 0: sigmoid branch; x >= 0: sg' = β/(x+1)."""

    params = ("alpha", "beta")

    def __init__(self, alpha=4.0, beta=1.0, spiking=True):
        super().__init__(spiking)
        self.alpha = _check_number("alpha", alpha)
        self.beta = _check_number("beta", beta)

    def primitive(self, x):
        pos = self.beta * torch.log((x.clamp(min=0) + 1).abs() + 1e-5) + 0.5
        return torch.where(x < 0, torch.sigmoid(self.alpha * x), pos)

    def derivative(self, x):
        s = torch.sigmoid(self.alpha * x)
        return torch.where(x < 0, self.alpha * s * (1 - s), self.beta / (x.clamp(min=0) + 1))


class LeakyKReLU(SurrogateFunctionBase):
    """g = (leak·[x<0] + k·[x>=0])·x; sg' = k (x >= 0) or leak. SpikingJelly's argument order."""

    params = ("leak", "k")

    def __init__(self, spiking=True, leak=0.0, k=1.0):
        super().__init__(spiking)
        self.leak = _check_number("leak", leak)
        self.k = _check_number("k", k)

    def primitive(self, x):
        return torch.where(x < 0, self.leak * x, self.k * x)

    def derivative(self, x):
        return torch.where(x >= 0, torch.full_like(x, self.k), torch.full_like(x, self.leak))


class FakeNumericalGradient(SurrogateFunctionBase):
    """sg' = min((2Θ(x)-1)/x, α) (no primitive)."""

    has_primitive = False

    def __init__(self, alpha=0.3, spiking=True):
        super().__init__(spiking)
        self.alpha = _check_number("alpha", alpha)

    def derivative(self, x):
        return torch.clamp(_sign_prime(x) / x, max=self.alpha)


class LogTailedReLU(SurrogateFunctionBase):
    """x > 1: g = ln x + 1; else leaky_relu(x, α). SpikingJelly's default ``spiking=False``."""

    def __init__(self, alpha=0.0, spiking=False):
        super().__init__(spiking)
        self.alpha = _check_number("alpha", alpha)

    def primitive(self, x):
        return torch.where(x > 1, torch.log(x.clamp(min=1.0)) + 1, torch.where(x > 0, x, self.alpha * x))

    def derivative(self, x):
        one = torch.ones_like(x)
        return torch.where(x > 1, 1 / x.clamp(min=1.0), torch.where(x > 0, one, self.alpha * one))


class NonzeroSignLogAbs(SurrogateFunctionBase):
    """g = sign'(x)·ln(α·sign'(x)·x + 1); sg' = 1/(1/α + |x|)."""

    def __init__(self, alpha=1.0, spiking=True):
        super().__init__(spiking)
        self.alpha = _check_number("alpha", alpha, positive=True)

    def primitive(self, x):
        sp = _sign_prime(x)
        return sp * torch.log(self.alpha * sp * x + 1)

    def derivative(self, x):
        return 1 / (1 / self.alpha + x.abs())


class SquarewaveFourierSeries(SurrogateFunctionBase):
    """g = 1/2 + 2/π·Σ_{1<=i<n} sin((2i-1)ωx)/(2i-1), ω = 2π/T_period."""

    params = ("n", "T_period")

    def __init__(self, n=2, T_period=8, spiking=True):
        super().__init__(spiking)
        if isinstance(n, bool) or not isinstance(n, int) or n < 1:
            raise ValueError(f"n: expected an integer >= 1, got {n!r}")
        self.n = n
        self.T_period = _check_number("T_period", T_period, positive=True)

    def primitive(self, x):
        omega = 2 * math.pi / self.T_period
        total = torch.zeros_like(x)
        for i in range(1, self.n):
            total = total + torch.sin((2 * i - 1) * omega * x) / (2 * i - 1)
        return 0.5 + 2 / math.pi * total

    def derivative(self, x):
        omega = 2 * math.pi / self.T_period
        total = torch.zeros_like(x)
        for i in range(1, self.n):
            total = total + torch.cos((2 * i - 1) * omega * x)
        return 4 / self.T_period * total


_ENGINE_CLASSES = {Sigmoid, ATan, PiecewiseQuadratic, PiecewiseExp, SoftSign, SuperSpike, Erf, PiecewiseLeakyReLU, Rect,
                   QPseudoSpike, S2NN, LeakyKReLU, FakeNumericalGradient, LogTailedReLU, NonzeroSignLogAbs,
                   SquarewaveFourierSeries}
