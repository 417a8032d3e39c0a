"""Parallel spiking neurons (docs/semantics.md#psn), as plain loops over time.

Inputs ``x_seq [T, N]`` (neurons flattened). Written with reference.autodiff
operations, so :func:`reference.autodiff.gradients` gives their exact surrogate
gradients (weights and biases included). Surrogate: ATan (alpha 2) by default.
"""

import numpy as np

from reference import autodiff as ad


def band_mask(T, k):
    """B_k[i][j] = 1 iff j <= i <= j + k - 1: each step sees itself and the k-1 steps before."""
    return np.array([[1.0 if j <= i <= j + k - 1 else 0.0 for j in range(T)] for i in range(T)])


def masked_weight(weight, k, lam):
    """W ⊙ M(λ) with M(λ) = λ·B_k + (1 - λ)·1."""
    T = ad.value_of(weight).shape[0]
    return weight * (lam * band_mask(T, k) + (1.0 - lam))


def psn_charge(x_seq, weight, bias):
    """H[t] = Σ_j W[t][j]·X[j] + b[t]."""
    T = len(ad.value_of(x_seq))
    charges = []
    for t in range(T):
        h = weight[t, 0] * x_seq[0]
        for j in range(1, T):
            h = h + weight[t, j] * x_seq[j]
        charges.append(h + bias[t])
    return ad.stack(charges)


def psn(x_seq, weight, bias, surrogate="ATan", surrogate_params=None):
    """S[t] = Θ(H[t]) with H from :func:`psn_charge`."""
    return ad.spike(psn_charge(x_seq, weight, bias), surrogate, surrogate_params)


def sliding_weights(k):
    """exp_init: W = [2^-(k-1), ..., 1/2, 1]."""
    return np.array([2.0 ** -(k - 1 - i) for i in range(k)])


def sliding_psn_charge(x_seq, weight, bias):
    """H[t] = Σ_{i<k} W_i·X[t-k+1+i] + b  (X before step 0 is 0)."""
    T, k = len(ad.value_of(x_seq)), len(ad.value_of(weight))
    charges = []
    for t in range(T):
        h = 0.0 * x_seq[0]
        for i in range(k):
            if t - k + 1 + i >= 0:
                h = h + weight[i] * x_seq[t - k + 1 + i]
        charges.append(h + bias)
    return ad.stack(charges)


def sliding_psn(x_seq, weight, bias, surrogate="ATan", surrogate_params=None):
    """S[t] = Θ(H[t]) with H from :func:`sliding_psn_charge`."""
    return ad.spike(sliding_psn_charge(x_seq, weight, bias), surrogate, surrogate_params)
