"""Losses of the training methods (``docs/semantics.md#losses``; definitions and references in reference/losses.py).

* :func:`tet_loss`: TET, ``(1 - λ)·mean_t CE(O_t, y) + λ·mean_t MSE(O_t, φ)`` on time-first outputs.
* :func:`tcl_loss` / :func:`stcl_loss`: temporal (and Siamese temporal) supervised contrastive
  losses, **our definition**: L2-normalised per-step representations are views; positives are the
  other views with the same label. Train with ``CE(mean_t logits) + λ·TCL`` (:func:`tcl_objective`).
"""

import torch
import torch.nn.functional as F
from torch import nn


def tet_loss(outputs: torch.Tensor, labels: torch.Tensor, lamb: float = 0.05, means: float = 1.0) -> torch.Tensor:
    """outputs ``[T, N, C]`` (time first), labels ``[N]``."""
    if outputs.dim() != 3:
        raise ValueError(f"outputs: expected [T, N, C], got shape {tuple(outputs.shape)}")
    steps = outputs.shape[0]
    ce = F.cross_entropy(outputs.flatten(0, 1), labels.repeat(steps))
    mse = F.mse_loss(outputs, torch.full_like(outputs, means))
    return (1 - lamb) * ce + lamb * mse


def supervised_contrastive(views: torch.Tensor, labels: torch.Tensor, temperature: float = 0.07) -> torch.Tensor:
    """views ``[V, N, D]``, labels ``[N]``; mean over anchors with at least one positive (0 if none)."""
    if views.dim() != 3 or labels.shape != views.shape[1:2]:
        raise ValueError(f"views: expected [V, N, D] with labels [N], got {tuple(views.shape)} and "
                         f"{tuple(labels.shape)}")
    if not temperature > 0:
        raise ValueError(f"temperature: expected > 0, got {temperature}")
    count, batch, _ = views.shape
    z = F.normalize(views.reshape(count * batch, -1), dim=1)
    y = labels.repeat(count)
    sims = z @ z.t() / temperature
    self_mask = torch.eye(len(z), dtype=torch.bool, device=z.device)
    sims = sims.masked_fill(self_mask, float("-inf"))
    log_prob = sims - torch.logsumexp(sims, dim=1, keepdim=True)
    positives = (y.unsqueeze(0) == y.unsqueeze(1)) & ~self_mask
    counts = positives.sum(1)
    has = counts > 0
    if not has.any():
        return views.sum() * 0.0
    per_anchor = -(log_prob.masked_fill(~positives, 0.0)).sum(1)[has] / counts[has]
    return per_anchor.mean()


def tcl_loss(z_seq: torch.Tensor, labels: torch.Tensor, temperature: float = 0.07) -> torch.Tensor:
    """z_seq ``[T, N, D]`` (projected per-step features): the T steps are the views."""
    return supervised_contrastive(z_seq, labels, temperature)


def stcl_loss(z_seq_a: torch.Tensor, z_seq_b: torch.Tensor, labels: torch.Tensor,
              temperature: float = 0.07) -> torch.Tensor:
    """Two augmented views of each sample, each ``[T, N, D]``: 2T views."""
    return supervised_contrastive(torch.cat([z_seq_a, z_seq_b]), labels, temperature)


def tcl_objective(logits_seq: torch.Tensor, z_seq: torch.Tensor, labels: torch.Tensor, lamb: float = 0.1,
                  temperature: float = 0.07) -> torch.Tensor:
    """``CE(mean_t logits) + λ·TCL``."""
    return F.cross_entropy(logits_seq.mean(0), labels) + lamb * tcl_loss(z_seq, labels, temperature)


class ProjectionHead(nn.Module):
    """``Linear-ReLU-Linear`` applied to each step's features: the ``z_t`` that TCL/STCL contrast
    (the losses L2-normalise them). Input ``[..., in_features]``."""

    def __init__(self, in_features: int, out_features: int = 128, hidden_features: int = 256):
        super().__init__()
        self.net = nn.Sequential(nn.Linear(in_features, hidden_features), nn.ReLU(),
                                 nn.Linear(hidden_features, out_features))

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        return self.net(features)


__all__ = ["ProjectionHead", "tet_loss", "supervised_contrastive", "tcl_loss", "stcl_loss", "tcl_objective"]
