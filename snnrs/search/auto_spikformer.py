"""Auto-Spikformer end to end: train the supernet (the sandwich rule with in-place distillation), then
search it with evolution under F_AEB, and write the Pareto front (CSV, Markdown table, PNG), the best
subnet and resumable checkpoints; optionally measure how well the supernet ranks subnets.
``DIGITS_SPACE`` is a small space for the embedded 8x8 digits."""

import csv
import json
import random
from pathlib import Path

import torch
import torch.nn.functional as F

from snnrs import atomic, functional
from snnrs.energy import EnergyCounter
from snnrs.search import ranking
from snnrs.search.evolution import Evaluation, EvolutionSearch
from snnrs.search.space import SearchSpace, key
from snnrs.search.supernet import SpikformerSupernet
from snnrs.training import TensorBatches

DIGITS_SPACE = SearchSpace(embed_dim=(16, 24, 32), num_heads=(2, 4), mlp_ratio=(3.0, 3.5, 4.0), depth=(1, 2),
                           T=(2, 3, 4))


SCHEMES = ("sandwich", "uniform")


def train_supernet(supernet: SpikformerSupernet, batches, epochs: int, lr: float = 5e-3, seed: int = 0,
                   progress: bool = True, scheme: str = "sandwich", random_subnets: int = 2,
                   temperature: float = 1.0) -> list[float]:
    """Trains the shared weights; returns the largest subnet's mean loss per epoch (``uniform``: the
    sampled subnet's).

    ``sandwich`` (the default): each batch trains the largest subnet on the labels, then the smallest and
    ``random_subnets`` random ones on the largest's softened outputs (in-place distillation, KL divergence
    at ``temperature``), their gradients summed into one optimizer step. Training both ends of the space
    every step keeps small and large subnets in one ranking; learning from the largest's outputs rather
    than the labels gives the small ones a smoother target. ``uniform``: one random subnet per batch on
    the labels (what the paper describes)."""
    if scheme not in SCHEMES:
        raise ValueError(f"scheme: expected one of {SCHEMES}, got {scheme!r}")
    if random_subnets < 0:
        raise ValueError(f"random_subnets: expected a count >= 0, got {random_subnets}")
    space = supernet.space
    rng = random.Random(seed)
    optimizer = torch.optim.Adam(supernet.parameters(), lr=lr)
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, max(1, epochs * len(batches)))
    losses = []
    epochs_iter = range(epochs)
    if progress:
        from tqdm.auto import tqdm
        epochs_iter = tqdm(epochs_iter, desc=f"supernet ({scheme})", unit="epoch", mininterval=0.5)
    supernet.train()

    def run(x, config, target, soft):
        supernet.set_config(config)
        logits = supernet(x)
        if soft:
            loss = F.kl_div(F.log_softmax(logits / temperature, 1), target, reduction="batchmean") * temperature ** 2
        else:
            loss = F.cross_entropy(logits, target)
        loss.backward()
        functional.reset_net(supernet)
        return logits.detach(), float(loss.detach())

    for _ in epochs_iter:
        total = count = 0
        for x, y in batches:
            optimizer.zero_grad(set_to_none=True)
            if scheme == "uniform":
                _, loss = run(x, space.sample(rng), y, False)
            else:
                teacher, loss = run(x, space.max_config, y, False)
                soft = F.softmax(teacher / temperature, 1)
                for config in [space.min_config] + [space.sample(rng) for _ in range(random_subnets)]:
                    run(x, config, soft, True)
            optimizer.step()
            schedule.step()
            total, count = total + loss * len(y), count + len(y)
        losses.append(total / count)
        if hasattr(epochs_iter, "set_postfix"):
            epochs_iter.set_postfix(loss=f"{losses[-1]:.4f}")
    supernet.set_config(space.max_config)
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


def _trained_scheme(out: Path) -> str:
    """The scheme ``out/supernet.pt`` was trained with (``supernet.json``; a run from before the sandwich
    rule wrote none, and trained one random subnet per batch)."""
    meta = out / "supernet.json"
    if not meta.is_file():
        return "uniform"
    try:
        return str(json.loads(meta.read_text())["scheme"])
    except (OSError, ValueError, KeyError, TypeError) as e:
        raise ValueError(f"{meta}: not a readable supernet description ({e!r}); delete it with supernet.pt to "
                         "train anew") from None


def search_digits(out: Path | None = None, space: SearchSpace = DIGITS_SPACE, epochs: int = 15, lr: float = 1e-2,
                  generations: int = 5, population: int = 12, top_k: int = 4, mutations: int = 6,
                  crossovers: int = 6, beta: float = 0.02, seed: int = 0, progress: bool = True,
                  scheme: str = "sandwich", validate: int = 0, validate_epochs: int | None = None) -> dict:
    """Supernet on the digits' training part (80% of the training split), search on the other 20%
    (validation); resumable from ``out`` (``supernet.pt``, ``search_state.json``). ``validate=k`` then
    trains ``k`` subnets spread over the space stand-alone (``validate_epochs`` each, default ``epochs``)
    and measures the ranking (:mod:`snnrs.search.ranking`: ``ranking.csv``, ``ranking.png``)."""
    if validate and validate < 3:
        raise ValueError(f"validate: expected 0 (off) or at least 3 subnets, got {validate}")
    if scheme not in SCHEMES:
        raise ValueError(f"scheme: expected one of {SCHEMES}, got {scheme!r}")
    out = Path(out) if out is not None else None
    from snnrs.datasets import load_digits
    torch.manual_seed(seed)
    (x_train, y_train), (x_test, y_test) = load_digits(seed=seed)
    cut = int(0.8 * len(y_train))
    x_fit, y_fit, x_val, y_val = x_train[:cut], y_train[:cut], x_train[cut:], y_train[cut:]
    def make_supernet():
        return SpikformerSupernet(space, img_size=8, patch_size=2, in_channels=1, num_classes=10)

    supernet = make_supernet()
    batches = TensorBatches(x_fit, y_fit, 64, seed=seed)
    weights = out / "supernet.pt" if out is not None else None
    if weights is not None and weights.is_file():
        trained_with = _trained_scheme(out)
        if trained_with != scheme:
            raise ValueError(f"{weights}: trained with scheme {trained_with!r}, asked {scheme!r}: resume with "
                             f"--scheme {trained_with}, or delete it to train the supernet anew")
        supernet.load_state_dict(torch.load(weights, map_location="cpu", weights_only=True))
        losses = []
    else:
        losses = train_supernet(supernet, batches, epochs, lr=lr, seed=seed, progress=progress, scheme=scheme)
        if weights is not None:
            atomic.write_json(out / "supernet.json", {"scheme": scheme, "epochs": epochs, "lr": lr, "seed": seed})
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
    if validate:
        configs = ranking.spread_configs(space, validate, seed)
        result["ranking"] = ranking.validate_ranking(
            evaluate, make_supernet, lambda net: SubnetEvaluator(net, calibration, x_val, y_val), configs, batches,
            validate_epochs or epochs, lr, seed, progress)
    if out is not None:
        result["files"] = write_front(front, list(search.cache.values()), out)
        if validate:
            written = ranking.write_ranking(result["ranking"], out)
            result["files"].update({f"ranking_{k}": v for k, v in written.items()})
        atomic.write_json(out / "best.json", {"subnet": key(best.config), "config": best.config,
                                               "accuracy": best.accuracy, "energy_mJ": best.energy_mj,
                                               "fitness": best.fitness}, indent=2)
    return result


__all__ = ["DIGITS_SPACE", "SCHEMES", "train_supernet", "SubnetEvaluator", "write_front", "search_digits"]
