"""Pruning rules (docs/semantics.md#grad-r, docs/semantics.md#lats): Grad R's update and LATS
soft-threshold reparameterisation with its threshold schedules, as plain NumPy."""

import math

import numpy as np


def grad_r_mu(alpha, target_sparsity):
    """μ = ln(2(1 - s_target)) / α; defined for s_target in [0.5, 1)."""
    if not 0.5 <= target_sparsity < 1:
        raise ValueError("target_sparsity: expected 0.5 <= s_target < 1")
    return math.log(2.0 * (1.0 - target_sparsity)) / alpha


def grad_r_step(theta, s, m, v, grad_w, t, *, lr, alpha, target_sparsity, betas=(0.9, 0.999), eps=1e-8):
    """One Grad R update (step t >= 1). Adam moments on g = ∂L/∂w; then
    θ ← θ - η̂·s⊙m/denom - η̂·α·sign(θ - μ), η̂ = lr/(1 - β1^t), denom = sqrt(v)/sqrt(1 - β2^t) + eps,
    and w = s·max(θ, 0). Returns (theta, m, v, w)."""
    b1, b2 = betas
    m = b1 * m + (1 - b1) * grad_w
    v = b2 * v + (1 - b2) * grad_w * grad_w
    step = lr / (1 - b1 ** t)
    denom = np.sqrt(v) / math.sqrt(1 - b2 ** t) + eps
    mu = grad_r_mu(alpha, target_sparsity)
    theta = theta - step * s * m / denom - step * alpha * np.sign(theta - mu)
    return theta, m, v, s * np.maximum(theta, 0.0)


def soft_threshold(theta, d):
    """w = sign(θ)·relu(|θ| - d)."""
    return np.sign(theta) * np.maximum(np.abs(theta) - d, 0.0)


def lats_threshold(D, lrs, t):
    """d_t = D·Σ_{s<t} η_s / Σ_all η_s (threshold follows the cumulative learning rate)."""
    return D * sum(lrs[:t]) / sum(lrs)


def slats_threshold(D, x):
    """S-LATS: d = D·(x + sin(πx)/π), x = training progress in [0, 1]."""
    return D * (x + math.sin(math.pi * x) / math.pi)


def _pgh_integral(beta, x):
    """∫_0^x β^u (1 + cos πu) du, in closed form."""
    b = math.log(beta)
    if b == 0:
        return x + math.sin(math.pi * x) / math.pi
    plain = (beta ** x - 1) / b
    cosine = (beta ** x * (b * math.cos(math.pi * x) + math.pi * math.sin(math.pi * x)) - b) / (b * b + math.pi ** 2)
    return plain + cosine


def pgh_threshold(D, x, beta):
    """PGH continuation: d = D·∫_0^x β^u(1 + cos πu)du / ∫_0^1 β^u(1 + cos πu)du."""
    return D * _pgh_integral(beta, x) / _pgh_integral(beta, 1.0)
