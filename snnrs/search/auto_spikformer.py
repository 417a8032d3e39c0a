"""Auto-Spikformer end to end: train the supernet (a random subnet per step), then search it with
evolution under F_AEB, and write the Pareto front (CSV, Markdown table, PNG), the best subnet and
resumable checkpoints. ``DIGITS_SPACE`` is a small space for the embedded 8x8 digits."""

import csv
import random
from pathlib import Path

import torch
import torch.nn.functional as F

from snnrs import atomic, functional
from snnrs.energy import EnergyCounter
from snnrs.search.evolution import Evaluation, EvolutionSearch
from snnrs.search.space import SearchSpace, key
from snnrs.search.supernet import SpikformerSupernet
from snnrs.training import TensorBatches

DIGITS_SPACE = SearchSpace(embed_dim=(16, 24, 32), num_heads=(2, 4), mlp_ratio=(3.0, 3.5, 4.0), depth=(1, 2),
                           T=(2, 3, 4))


def train_supernet(supernet: SpikformerSupernet, batches, epochs: int, lr: float = 5e-3, seed: int = 0,
                   progress: bool = True) -> list[float]:
    """Each step trains one random subnet (uniform over the space) on one batch; returns the mean
    loss per epoch."""
    rng = random.Random(seed)
    optimizer = torch.optim.Adam(supernet.parameters(), lr=lr)
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, max(1, epochs * len(batches)))
    losses = []
    epochs_iter = range(epochs)
    if progress:
        from tqdm.auto import tqdm
        epochs_iter = tqdm(epochs_iter, desc="supernet", unit="epoch", mininterval=0.5)
    supernet.train()
    for _ in epochs_iter:
        total = count = 0
        for x, y in batches:
            supernet.set_config(supernet.space.sample(rng))
            loss = F.cross_entropy(supernet(x), y)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            schedule.step()
            functional.reset_net(supernet)
            total, count = total + float(loss.detach()) * len(y), count + len(y)
        losses.append(total / count)
        if hasattr(epochs_iter, "set_postfix"):
            epochs_iter.set_postfix(loss=f"{losses[-1]:.4f}")
    supernet.set_config(supernet.space.max_config)
    return losses


class SubnetEvaluator:
    """``(accuracy, energy mJ per sample)`` of a subnet with inherited weights: BatchNorm statistics
    re-estimated on ``calibration`` batches, then the validation split run once under the energy
    counter (spike counts as SOPs)."""

    def __init__(self, supernet: SpikformerSupernet, calibration, x_val: torch.Tensor, y_val: torch.Tensor,
                 calibration_steps: int = 4):
        self.supernet, self.calibration, self.steps = supernet, calibration, calibration_steps
        self.x_val, self.y_val = x_val, y_val

    def __call__(self, config: dict) -> tuple[float, float]:
        net = self.supernet.set_config(config)
        net.recalibrate(self.calibration, self.steps)
        net.eval()
        with torch.no_grad(), EnergyCounter(net, spike_counts=True) as counter:
            scores = net(self.x_val)
        functional.reset_net(net)
        accuracy = float((scores.argmax(1) == self.y_val).float().mean())
        return accuracy, counter.totals(samples=len(self.y_val))["energy_mJ"]


def write_front(front: list[Evaluation], evaluations: list[Evaluation], out: Path) -> dict[str, Path]:
    """``front.csv``, ``front.md`` and ``front.png`` (every evaluated subnet, the front drawn)."""
    out.mkdir(parents=True, exist_ok=True)
    rows = [{"subnet": key(e.config), "accuracy": e.accuracy, "energy_mJ": e.energy_mj, "fitness": e.fitness}
            for e in front]
    with atomic.atomic_path(out / "front.csv") as tmp, tmp.open("w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=["subnet", "accuracy", "energy_mJ", "fitness"])
        writer.writeheader()
        writer.writerows(rows)
    lines = ["| subnet | accuracy | energy (mJ) | F_AEB |", "|---|---|---|---|"]
    lines += [f"| {r['subnet']} | {r['accuracy']:.4f} | {r['energy_mJ']:.3e} | {r['fitness']:.4f} |" for r in rows]
    atomic.write_text(out / "front.md", "\n".join(lines) + "\n")
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(6.5, 4.2))
    ax.scatter([e.energy_mj for e in evaluations], [e.accuracy for e in evaluations], s=14, color="0.6",
               label="evaluated subnets")
    ax.plot([e.energy_mj for e in front], [e.accuracy for e in front], "o-", color="tab:red", label="Pareto front")
    ax.set(xscale="log", xlabel="energy per sample (mJ)", ylabel="validation accuracy",
           title="Auto-Spikformer: accuracy vs energy")
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    atomic.save_figure(fig, out / "front.png")
    plt.close(fig)
    return {"csv": out / "front.csv", "md": out / "front.md", "png": out / "front.png"}


def search_digits(out: Path | None = None, space: SearchSpace = DIGITS_SPACE, epochs: int = 15, lr: float = 1e-2,
                  generations: int = 5, population: int = 12, top_k: int = 4, mutations: int = 6,
                  crossovers: int = 6, beta: float = 0.02, seed: int = 0, progress: bool = True) -> dict:
    """Supernet on the digits' training part (80% of the training split), search on the other 20%
    (validation); resumable from ``out`` (``supernet.pt``, ``search_state.json``)."""
    from snnrs.datasets import load_digits
    torch.manual_seed(seed)
    (x_train, y_train), (x_test, y_test) = load_digits(seed=seed)
    cut = int(0.8 * len(y_train))
    x_fit, y_fit, x_val, y_val = x_train[:cut], y_train[:cut], x_train[cut:], y_train[cut:]
    supernet = SpikformerSupernet(space, img_size=8, patch_size=2, in_channels=1, num_classes=10)
    batches = TensorBatches(x_fit, y_fit, 64, seed=seed)
    weights = out / "supernet.pt" if out is not None else None
    if weights is not None and weights.is_file():
        supernet.load_state_dict(torch.load(weights, map_location="cpu", weights_only=True))
        losses = []
    else:
        losses = train_supernet(supernet, batches, epochs, lr=lr, seed=seed, progress=progress)
        if weights is not None:
            atomic.save_torch(supernet.state_dict(), weights)
    calibration = TensorBatches(x_fit, y_fit, 128, seed=seed + 1)
    evaluate = SubnetEvaluator(supernet, calibration, x_val, y_val)
    top_accuracy, reference_energy = evaluate(space.max_config)
    search = EvolutionSearch(space, evaluate, reference_energy, population=population, top_k=top_k,
                             mutations=mutations, crossovers=crossovers, generations=generations, beta=beta, seed=seed,
                             checkpoint=out / "search_state.json" if out is not None else None, progress=progress)
    front = search.run()
    best = search.best()
    result = {"front": front, "best": best, "search": search, "supernet": supernet, "supernet_losses": losses,
              "largest": (top_accuracy, reference_energy), "evaluate": evaluate,
              "test": (x_test, y_test), "validation": (x_val, y_val)}
    if out is not None:
        result["files"] = write_front(front, list(search.cache.values()), out)
        atomic.write_json(out / "best.json", {"subnet": key(best.config), "config": best.config,
                                               "accuracy": best.accuracy, "energy_mJ": best.energy_mj,
                                               "fitness": best.fitness}, indent=2)
    return result


__all__ = ["DIGITS_SPACE", "train_supernet", "SubnetEvaluator", "write_front", "search_digits"]
