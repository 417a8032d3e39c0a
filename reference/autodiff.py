"""Forward-mode derivatives of reference programs, under the surrogate rule.

The gradient of a spiking network is *defined* as the derivative of its forward
program in which each Heaviside step ``Θ(h)`` is given the derivative ``sg'(h)``
and each ``detach``-ed value the derivative 0. This module implements exactly that
definition with dual numbers: every value carries its tangents along all input
directions at once, so one forward run yields the whole Jacobian. It is slow
(O(inputs) work per operation) and meant for the small cases tests use.

Write a program with the operators ``+ - * /`` and ``**`` and the functions
below; it then runs on plain floats/arrays and on :class:`Dual` alike.
"""

import numpy as np

from reference import surrogate as sg


class Dual:
    """A value (array) with tangents ``[D, *value.shape]`` along D input directions."""

    __array_ufunc__ = None  # make NumPy defer to Dual's reflected operators

    def __init__(self, value, tangent):
        self.value = np.asarray(value, dtype=np.float64)
        self.tangent = np.asarray(tangent, dtype=np.float64)

    def _binary(self, other, value_fn, tangent_fn):
        """value_fn(a, b) and tangent_fn(a, ta, b, tb), broadcasting tangents like values."""
        if isinstance(other, Dual):
            b, tb = other.value, other.tangent
        else:
            b, tb = np.asarray(other, dtype=np.float64), None
        value = value_fn(self.value, b)
        ta = _broadcast_tangent(self.tangent, value.shape)
        tb = None if tb is None else _broadcast_tangent(tb, value.shape)
        return Dual(value, tangent_fn(self.value, ta, b, tb))

    def __add__(self, other):
        return self._binary(other, np.add, lambda a, ta, b, tb: ta if tb is None else ta + tb)

    __radd__ = __add__

    def __sub__(self, other):
        return self._binary(other, np.subtract, lambda a, ta, b, tb: ta if tb is None else ta - tb)

    def __rsub__(self, other):
        return -(self - other)

    def __mul__(self, other):
        return self._binary(other, np.multiply, lambda a, ta, b, tb: ta * b if tb is None else ta * b + a * tb)

    __rmul__ = __mul__

    def __truediv__(self, other):
        return self._binary(other, np.divide,
                            lambda a, ta, b, tb: ta / b if tb is None else (ta * b - a * tb) / b**2)

    def __rtruediv__(self, other):
        return Dual(np.asarray(other, dtype=np.float64), np.zeros_like(self.tangent)) / self

    def __neg__(self):
        return Dual(-self.value, -self.tangent)

    def __pow__(self, n):
        return Dual(self.value**n, n * self.value ** (n - 1) * self.tangent)

    def __getitem__(self, index):
        index = index if isinstance(index, tuple) else (index,)
        return Dual(self.value[index], self.tangent[(slice(None),) + index])


def _broadcast_tangent(tangent, shape):
    """Tangents [D, *s] broadcast to [D, *shape] as the value s broadcasts to shape."""
    directions, own = tangent.shape[0], tangent.shape[1:]
    if own == tuple(shape):
        return tangent
    padded = tangent.reshape((directions,) + (1,) * (len(shape) - len(own)) + own)
    return np.broadcast_to(padded, (directions,) + tuple(shape))


def value_of(a):
    return a.value if isinstance(a, Dual) else np.asarray(a, dtype=np.float64)


def exp(a):
    if not isinstance(a, Dual):
        return np.exp(a)
    e = np.exp(a.value)
    return Dual(e, a.tangent * e)


def log(a):
    if not isinstance(a, Dual):
        return np.log(a)
    return Dual(np.log(a.value), a.tangent / a.value)


def relu(a):
    if not isinstance(a, Dual):
        return np.maximum(a, 0.0)
    return Dual(np.maximum(a.value, 0.0), a.tangent * (a.value > 0))


def sigmoid(a):
    """1 / (1 + e^{-a})."""
    if not isinstance(a, Dual):
        return 1.0 / (1.0 + np.exp(-np.asarray(a, dtype=np.float64)))
    s = 1.0 / (1.0 + np.exp(-a.value))
    return Dual(s, a.tangent * (s * (1.0 - s)))


def spike_count(h, max_count, grad_min, grad_max):
    """``round(clip(h, 0, max_count))`` (halves to even) with derivative 1 where
    ``grad_min <= h <= grad_max``, else 0 (the multi-level spike count's straight-through rule)."""
    value = np.round(np.clip(value_of(h), 0.0, max_count))
    if not isinstance(h, Dual):
        return value
    window = (h.value >= grad_min) & (h.value <= grad_max)
    return Dual(value, h.tangent * window)


def _as_dual(a, directions):
    if isinstance(a, Dual):
        return a
    a = np.asarray(a, dtype=np.float64)
    return Dual(a, np.zeros((directions,) + a.shape))


def where(condition, a, b):
    """Elementwise choice by a *constant* condition (no derivative through the condition)."""
    if not isinstance(a, Dual) and not isinstance(b, Dual):
        return np.where(condition, a, b)
    directions = len(a.tangent) if isinstance(a, Dual) else len(b.tangent)
    a, b = _as_dual(a, directions), _as_dual(b, directions)
    return Dual(np.where(condition, a.value, b.value), np.where(condition, a.tangent, b.tangent))


def detach(a):
    """The value with derivative 0."""
    return Dual(a.value, np.zeros_like(a.tangent)) if isinstance(a, Dual) else a


def spike(h, surrogate="Sigmoid", surrogate_params=None):
    """Θ(h) with derivative sg'(h)."""
    params = surrogate_params or {}
    if not isinstance(h, Dual):
        return sg.heaviside(h)
    return Dual(sg.heaviside(h.value), h.tangent * sg.derivative(surrogate, h.value, **params))


def stack(values):
    if not any(isinstance(v, Dual) for v in values):
        return np.stack(values)
    directions = next(len(v.tangent) for v in values if isinstance(v, Dual))
    duals = [_as_dual(v, directions) for v in values]
    return Dual(np.stack([d.value for d in duals]), np.stack([d.tangent for d in duals], axis=1))


def gradients(program, inputs, cotangent):
    """Gradients of ``Σ program(*inputs) · cotangent`` with respect to each input.

    ``inputs`` is a list of arrays or floats; returns a list of arrays of their shapes.
    """
    arrays = [np.asarray(a, dtype=np.float64) for a in inputs]
    sizes = [a.size for a in arrays]
    directions = sum(sizes)
    seeded, offset = [], 0
    for a in arrays:
        tangent = np.zeros((directions, a.size))
        tangent[offset:offset + a.size] = np.eye(a.size)
        seeded.append(Dual(a, tangent.reshape((directions,) + a.shape)))
        offset += a.size
    out = program(*seeded)
    flat = np.tensordot(out.tangent, np.asarray(cotangent, dtype=np.float64), axes=out.value.ndim)
    result, offset = [], 0
    for a, size in zip(arrays, sizes):
        result.append(flat[offset:offset + size].reshape(a.shape))
        offset += size
    return result
