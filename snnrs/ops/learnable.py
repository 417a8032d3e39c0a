"""Learnable neuron scalars, shared by every backend: how a kernel's parameter comes from the
module's tensor ``w``, and the chain rule from the kernel's ``Σ gH·dH/dk`` back to ``w``
(``docs/semantics.md#bptt``)."""

import math
from collections.abc import Callable
from typing import NamedTuple

import torch
from torch import Tensor


def decay_k(w) -> float:
    """ParametricLIF's ``k = 1/tau = sigmoid(w)``, in float64 as ``reference/neuron.py`` computes it.

    For ``|w| >~ 37`` sigmoid(w) rounds to exactly 0 or 1, which the kernels refuse
    (``0 < k < 1``): it is held one float64 ulp inside instead, far below the resolution of H.
    A float32 kernel (the GPU's) then rounds k to float32 as torch's float32 sigmoid would, so
    for ``|w| >~ 17`` it sees k = 0 or 1 exactly, like the torch backend in float32.
    """
    w = min(max(float(w), -700.0), 700.0)
    return min(max(1.0 / (1.0 + math.exp(-w)), math.ulp(0.0)), 1.0 - 2.0**-53)


class Learnable(NamedTuple):
    """One neuron's learnable scalar: the kernel parameters from (w, the other parameters), and
    dL/dw from (w, the kernel's Σ gH·dH/dk)."""

    kernel_params: Callable[[Tensor, list[float]], list[float]]
    grad_w: Callable[[Tensor, float], float]


def _plif_grad_w(w: Tensor, grad_k: float) -> float:
    k = decay_k(w)
    return grad_k * k * (1.0 - k)  # dk/dw = sigmoid'(w) = k(1 - k)


LEARNABLE: dict[str, Learnable] = {
    # ParametricLIF: the kernel's decay k = sigmoid(w) replaces its parameter list.
    "plif": Learnable(lambda w, params: [decay_k(w)], _plif_grad_w),
    # KLIF: the kernel takes k = w itself after tau.
    "klif": Learnable(lambda w, params: list(params) + [float(w)], lambda w, grad_k: grad_k),
}


def kernel_params(neuron: str, w: Tensor | None, params: list[float]) -> list[float]:
    """The kernel's parameter list: ``params``, completed from ``w`` for a learnable neuron."""
    if w is None:
        return list(params)
    if neuron not in LEARNABLE:
        raise ValueError(f"w: only {sorted(LEARNABLE)} take a learnable parameter, got neuron {neuron!r}")
    return LEARNABLE[neuron].kernel_params(w, params)


def grad_w(neuron: str, w: Tensor | None, grad_k: float, like: Tensor) -> Tensor:
    """dL/dw as a tensor shaped like ``w`` (a 0-d tensor like ``like`` when there is no w)."""
    if w is None:
        return like.new_zeros(())
    return torch.full_like(w, LEARNABLE[neuron].grad_w(w, grad_k))
