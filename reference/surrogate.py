"""Surrogate gradient functions (docs/semantics.md#surrogates).

Forward is always the Heaviside step ``Θ(x) = 1 if x >= 0 else 0``; backward
uses ``sg'(x)``. ``primitive`` is the smooth ``g(x)`` returned when a surrogate
is used with ``spiking=False``. Each entry of :data:`SURROGATES` names its
parameters with their defaults.

Our definition: SuperSpike and FakeNumericalGradient publish only ``sg'``;
they have no primitive here (``spiking=False`` is refused for them).
"""

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np


def heaviside(x):
    """Θ(x) = 1 where x >= 0, else 0."""
    return (np.asarray(x) >= 0).astype(np.float64)


def _sign_prime(x):
    """sign'(x) = 2Θ(x) - 1 (so sign'(0) = +1)."""
    return 2.0 * heaviside(x) - 1.0


def _sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


# --- primitives g(x) and derivatives sg'(x), one pair per row of docs/semantics.md#surrogates ---

def sigmoid_primitive(x, alpha):
    return _sigmoid(alpha * x)


def sigmoid_derivative(x, alpha):
    s = _sigmoid(alpha * x)
    return alpha * s * (1.0 - s)


def atan_primitive(x, alpha):
    return np.arctan(math.pi / 2 * alpha * x) / math.pi + 0.5


def atan_derivative(x, alpha):
    return alpha / 2 / (1 + (math.pi / 2 * alpha * x) ** 2)


def piecewise_quadratic_primitive(x, alpha):
    mid = -(alpha**2 / 2) * x**2 * np.sign(x) + alpha * x + 0.5
    return np.where(x < -1 / alpha, 0.0, np.where(x > 1 / alpha, 1.0, mid))


def piecewise_quadratic_derivative(x, alpha):
    return np.where(np.abs(x) <= 1 / alpha, alpha - alpha**2 * np.abs(x), 0.0)


def piecewise_exp_primitive(x, alpha):
    return heaviside(x) - _sign_prime(x) * np.exp(-alpha * np.abs(x)) / 2


def piecewise_exp_derivative(x, alpha):
    return alpha / 2 * np.exp(-alpha * np.abs(x))


def soft_sign_primitive(x, alpha):
    return (alpha * x / (1 + np.abs(alpha * x)) + 1) / 2


def soft_sign_derivative(x, alpha):
    return 1 / (2 * alpha * (1 / alpha + np.abs(x)) ** 2)


def super_spike_derivative(x, alpha):
    return alpha / (np.abs(x) + 1) ** 2


def erf_primitive(x, alpha):
    return np.vectorize(math.erfc, otypes=[np.float64])(-alpha * np.asarray(x)) / 2


def erf_derivative(x, alpha):
    return alpha / math.sqrt(math.pi) * np.exp(-((alpha * x) ** 2))


def piecewise_leaky_relu_primitive(x, w, c):
    inside = x / (2 * w) + 0.5
    below = c * x + c * w
    above = c * x + 1 - c * w
    return np.where(np.abs(x) <= w, inside, np.where(x < -w, below, above))


def piecewise_leaky_relu_derivative(x, w, c):
    return np.where(np.abs(x) < w, 1 / (2 * w), c)


def rect_primitive(x, alpha):
    return np.clip(alpha * x + 0.5, 0.0, 1.0)


def rect_derivative(x, alpha):
    return alpha * (np.abs(x) < 1 / (2 * alpha))


def q_pseudo_spike_primitive(x, alpha):
    return heaviside(x) - _sign_prime(x) / 2 * (1 + 2 / (alpha - 1) * np.abs(x)) ** (1 - alpha)


def q_pseudo_spike_derivative(x, alpha):
    return (1 + 2 / (alpha - 1) * np.abs(x)) ** (-alpha)


def s2nn_primitive(x, alpha, beta):
    neg = _sigmoid(alpha * x)
    # np.where evaluates both branches: keep log's argument positive everywhere.
    pos = beta * np.log(np.abs(np.maximum(x, 0) + 1) + 1e-5) + 0.5
    return np.where(x < 0, neg, pos)


def s2nn_derivative(x, alpha, beta):
    s = _sigmoid(alpha * x)
    return np.where(x < 0, alpha * s * (1 - s), beta / (np.maximum(x, 0) + 1))


def leaky_k_relu_primitive(x, leak, k):
    return np.where(x < 0, leak, k) * x


def leaky_k_relu_derivative(x, leak, k):
    return np.where(x >= 0, k, leak) * np.ones_like(x, dtype=np.float64)


def fake_numerical_gradient_derivative(x, alpha):
    with np.errstate(divide="ignore", over="ignore"):  # 1/x is +inf at and near 0; min() takes alpha
        return np.minimum(_sign_prime(x) / x, alpha)


def log_tailed_relu_primitive(x, alpha):
    log_part = np.log(np.maximum(x, 1.0)) + 1
    leaky = np.where(x > 0, x, alpha * x)
    return np.where(x > 1, log_part, leaky)


def log_tailed_relu_derivative(x, alpha):
    return np.where(x > 1, 1 / np.maximum(x, 1.0), np.where(x > 0, 1.0, alpha))


def nonzero_sign_log_abs_primitive(x, alpha):
    sp = _sign_prime(x)
    return sp * np.log(alpha * sp * x + 1)


def nonzero_sign_log_abs_derivative(x, alpha):
    return 1 / (1 / alpha + np.abs(x))


def squarewave_fourier_series_primitive(x, n, T_period):
    omega = 2 * math.pi / T_period
    total = np.zeros_like(np.asarray(x, dtype=np.float64))
    for i in range(1, int(n)):
        total = total + np.sin((2 * i - 1) * omega * x) / (2 * i - 1)
    return 0.5 + 2 / math.pi * total


def squarewave_fourier_series_derivative(x, n, T_period):
    omega = 2 * math.pi / T_period
    total = np.zeros_like(np.asarray(x, dtype=np.float64))
    for i in range(1, int(n)):
        total = total + np.cos((2 * i - 1) * omega * x)
    return 4 / T_period * total


@dataclass(frozen=True)
class SurrogateSpec:
    """One surrogate: its parameter names with defaults, g and sg'."""

    defaults: dict
    derivative: Callable
    primitive: Callable | None = None


SURROGATES = {
    "Sigmoid": SurrogateSpec({"alpha": 4.0}, sigmoid_derivative, sigmoid_primitive),
    "ATan": SurrogateSpec({"alpha": 2.0}, atan_derivative, atan_primitive),
    "PiecewiseQuadratic": SurrogateSpec({"alpha": 1.0}, piecewise_quadratic_derivative, piecewise_quadratic_primitive),
    "PiecewiseExp": SurrogateSpec({"alpha": 1.0}, piecewise_exp_derivative, piecewise_exp_primitive),
    "SoftSign": SurrogateSpec({"alpha": 2.0}, soft_sign_derivative, soft_sign_primitive),
    "SuperSpike": SurrogateSpec({"alpha": 1.0}, super_spike_derivative),
    "Erf": SurrogateSpec({"alpha": 2.0}, erf_derivative, erf_primitive),
    "PiecewiseLeakyReLU": SurrogateSpec(
        {"w": 1.0, "c": 0.01}, piecewise_leaky_relu_derivative, piecewise_leaky_relu_primitive
    ),
    "Rect": SurrogateSpec({"alpha": 1.0}, rect_derivative, rect_primitive),
    "QPseudoSpike": SurrogateSpec({"alpha": 2.0}, q_pseudo_spike_derivative, q_pseudo_spike_primitive),
    "S2NN": SurrogateSpec({"alpha": 4.0, "beta": 1.0}, s2nn_derivative, s2nn_primitive),
    "LeakyKReLU": SurrogateSpec({"leak": 0.0, "k": 1.0}, leaky_k_relu_derivative, leaky_k_relu_primitive),
    "FakeNumericalGradient": SurrogateSpec({"alpha": 0.3}, fake_numerical_gradient_derivative),
    "LogTailedReLU": SurrogateSpec({"alpha": 0.0}, log_tailed_relu_derivative, log_tailed_relu_primitive),
    "NonzeroSignLogAbs": SurrogateSpec(
        {"alpha": 1.0}, nonzero_sign_log_abs_derivative, nonzero_sign_log_abs_primitive
    ),
    "SquarewaveFourierSeries": SurrogateSpec(
        {"n": 2, "T_period": 8.0}, squarewave_fourier_series_derivative, squarewave_fourier_series_primitive
    ),
}


def derivative(name, x, **params):
    """sg'(x) of surrogate ``name`` with ``params`` (defaults: docs/semantics.md#surrogates)."""
    spec = SURROGATES[name]
    return np.asarray(spec.derivative(np.asarray(x, dtype=np.float64), **{**spec.defaults, **params}), dtype=np.float64)


def primitive(name, x, **params):
    """g(x) of surrogate ``name``; raises ValueError for derivative-only surrogates."""
    spec = SURROGATES[name]
    if spec.primitive is None:
        raise ValueError(f"surrogate {name} defines only sg'(x); it has no primitive g(x)")
    return np.asarray(spec.primitive(np.asarray(x, dtype=np.float64), **{**spec.defaults, **params}), dtype=np.float64)
