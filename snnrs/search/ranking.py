"""How far the supernet's ranking of subnets can be trusted (``docs/semantics.md#auto-spikformer``).

One-shot search picks subnets by their accuracy with weights inherited from the supernet; that is only
useful if the order agrees with the order the same subnets reach when each is trained on its own. So:
``k`` subnets spread over the space (by size, smallest to largest), each trained stand-alone with the same
budget, and the rank correlation (Kendall τ, Spearman ρ) between the two accuracies, with a scatter plot.
"""

import csv
import math
import random
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn.functional as F

from snnrs import atomic, functional
from snnrs.search.space import SearchSpace, key


def size(config: dict) -> float:
    """A subnet's work per sample, up to a constant: T steps of depth blocks, each with the attention's
    four D x D projections and the MLP's two D x (r D) layers."""
    d = config["embed_dim"]
    return config["T"] * config["depth"] * d * d * (4 + 2 * config["mlp_ratio"])


def spread_configs(space: SearchSpace, k: int, seed: int = 0, pool: int = 400) -> list[dict]:
    """``k`` distinct subnets at evenly spaced quantiles of :func:`size` among ``pool`` random ones
    (so the smallest and the largest kinds are both in)."""
    if k < 3:
        raise ValueError(f"k: expected at least 3 subnets to rank, got {k}")
    rng = random.Random(seed)
    found = {}
    for _ in range(pool):
        config = space.sample(rng)
        found.setdefault(key(config), config)
    ordered = sorted(found.values(), key=lambda c: (size(c), key(c)))
    if len(ordered) < k:
        raise ValueError(f"k: the space holds only {len(ordered)} distinct subnets among {pool} samples, asked {k}")
    picks, used = [], set()
    for i in range(k):
        j = round(i * (len(ordered) - 1) / (k - 1))
        while key(ordered[j]) in used:  # neighbours at equal quantiles: the next free one
            j = (j + 1) % len(ordered)
        used.add(key(ordered[j]))
        picks.append(ordered[j])
    return picks


def train_standalone(make_supernet: Callable, config: dict, batches, epochs: int, lr: float, seed: int = 0):
    """A fresh network of the supernet's shape trained on ``config`` alone (its slice of the weights), on
    the labels: what the subnet reaches without sharing."""
    torch.manual_seed(seed)
    return fit(make_supernet().set_config(config), batches, epochs, lr, order_seed=seed)


def fit(net: torch.nn.Module, batches, epochs: int, lr: float, progress: str | None = None,
        order_seed: int | None = None) -> torch.nn.Module:
    """Trains ``net`` on the labels: Adam at ``lr`` with a cosine schedule over ``epochs``, the network's
    state reset after every batch (the budget every stand-alone network of the search gets).
    ``progress``: a progress bar's label (None: no bar). ``order_seed``: restart the batches' shuffling there
    first (:func:`snnrs.search.data.reseed`), so the training does not depend on what used them before."""
    if order_seed is not None:
        from snnrs.search.data import reseed
        reseed(batches, order_seed)
    optimizer = torch.optim.Adam(net.parameters(), lr=lr)
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, max(1, epochs * len(batches)))
    net.train()
    epochs_iter = range(epochs)
    if progress is not None:
        from tqdm.auto import tqdm
        epochs_iter = tqdm(epochs_iter, desc=progress, unit="epoch", mininterval=0.5)
    for _ in epochs_iter:
        for x, y in batches:
            optimizer.zero_grad(set_to_none=True)
            F.cross_entropy(net(x), y).backward()
            optimizer.step()
            schedule.step()
            functional.reset_net(net)
    return net


def rank_correlation(a: list[float], b: list[float]) -> tuple[float, float]:
    """(Kendall τ-b, Spearman ρ) of two score lists; 0 where one list has no order at all (every score
    tied: nothing is ranked)."""
    from scipy import stats
    if len(a) != len(b) or len(a) < 3:
        raise ValueError(f"expected two lists of the same length >= 3, got {len(a)} and {len(b)}")
    if len(set(a)) < 2 or len(set(b)) < 2:
        return 0.0, 0.0
    tau = float(stats.kendalltau(a, b).statistic)
    rho = float(stats.spearmanr(a, b).statistic)
    return (0.0 if math.isnan(tau) else tau), (0.0 if math.isnan(rho) else rho)


@dataclass
class Ranking:
    rows: list[dict]
    tau: float
    rho: float


def validate_ranking(evaluate_inherited: Callable, make_supernet: Callable, make_evaluator: Callable,
                     configs: list[dict], batches, epochs: int, lr: float, seed: int = 0,
                     progress: bool = True) -> Ranking:
    """Each config's accuracy with inherited weights (``evaluate_inherited(config) -> (accuracy, energy)``)
    and stand-alone (trained by :func:`train_standalone`, scored by ``make_evaluator(net)(config)``, the same
    protocol)."""
    rows = []
    bar = configs
    if progress:
        from tqdm.auto import tqdm
        bar = tqdm(configs, desc="stand-alone subnets", unit="subnet", mininterval=0.5)
    for i, config in enumerate(bar):
        inherited, energy = evaluate_inherited(config)
        net = train_standalone(make_supernet, config, batches, epochs, lr, seed + i)
        standalone, _ = make_evaluator(net)(config)
        rows.append({"subnet": key(config), "config": config, "inherited": float(inherited),
                     "standalone": float(standalone), "energy_mJ": float(energy)})
    tau, rho = rank_correlation([r["inherited"] for r in rows], [r["standalone"] for r in rows])
    return Ranking(rows, tau, rho)


def write_ranking(ranking: Ranking, out: Path) -> dict[str, Path]:
    """``ranking.csv`` and ``ranking.png`` (inherited vs stand-alone accuracy, τ and ρ in the title)."""
    out.mkdir(parents=True, exist_ok=True)
    with atomic.atomic_path(out / "ranking.csv") as tmp, tmp.open("w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=["subnet", "inherited", "standalone", "energy_mJ"])
        writer.writeheader()
        writer.writerows({k: r[k] for k in writer.fieldnames} for r in ranking.rows)
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(5.5, 4.5))
    x = [r["inherited"] for r in ranking.rows]
    y = [r["standalone"] for r in ranking.rows]
    ax.scatter(x, y, color="tab:blue")
    low, high = min(x + y), max(x + y)
    ax.plot([low, high], [low, high], color="0.7", lw=1, label="equal")
    ax.set(xlabel="accuracy with inherited weights", ylabel="accuracy trained stand-alone",
           title=f"supernet ranking of {len(x)} subnets\nKendall τ = {ranking.tau:.2f}, Spearman ρ = {ranking.rho:.2f}")
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    atomic.save_figure(fig, out / "ranking.png")
    plt.close(fig)
    return {"csv": out / "ranking.csv", "png": out / "ranking.png"}


__all__ = ["size", "spread_configs", "train_standalone", "fit", "rank_correlation", "validate_ranking", "write_ranking",
           "Ranking"]
