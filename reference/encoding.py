"""Encoders turning intensities into spike trains (docs/semantics.md#encoders). float64 NumPy.

Spike trains are time-major: ``[T, ...]``. Inputs ``x`` are intensities in [0, 1].
"""

import math

import numpy as np


def poisson(x, uniform):
    """S = (U < x) for given uniform draws U (same shape as x)."""
    return (np.asarray(uniform) < np.asarray(x)).astype(np.float64)


def latency(x, T, enc_function="linear"):
    """One spike per input, at time t_f (docs/semantics.md#encoders):

    linear: t_f = round((T - 1)·(1 - x))
    log:    t_f = round(T - 1 - ln(α·x + 1)),  α = e^(T-1) - 1

    Rounding is half-to-even (NumPy's and torch's ``round``).
    """
    x = np.asarray(x, dtype=np.float64)
    if enc_function == "linear":
        t_f = np.round((T - 1) * (1.0 - x))
    elif enc_function == "log":
        alpha = math.exp(T - 1) - 1.0
        t_f = np.round(T - 1 - np.log(alpha * x + 1.0))
    else:
        raise ValueError(f"enc_function: expected 'linear' or 'log', got {enc_function!r}")
    spikes = np.zeros((T,) + x.shape)
    for t in range(T):
        spikes[t] = t_f == t
    return spikes


def weighted_phase(x, K):
    """K phases with weights 2^-1, 2^-2, ..., 2^-K: the greedy binary expansion of x.

    Phase k (0-based) spikes when the residual is at least 2^-(k+1); the residual then
    drops by that weight. x must lie in [0, 1 - 2^-K] to be represented exactly.
    """
    residual = np.array(x, dtype=np.float64)
    spikes = np.zeros((K,) + residual.shape)
    for k in range(K):
        weight = 2.0 ** -(k + 1)
        spikes[k] = residual >= weight
        residual = residual - spikes[k] * weight
    return spikes


def weighted_phase_decode(spikes):
    """Σ_k S[k]·2^-(k+1): the value a weighted-phase train stands for."""
    spikes = np.asarray(spikes, dtype=np.float64)
    weights = 2.0 ** -(np.arange(spikes.shape[0]) + 1.0)
    return np.tensordot(weights, spikes, axes=1)
