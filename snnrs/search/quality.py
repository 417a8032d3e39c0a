"""How good the search is (``docs/semantics.md#auto-spikformer``): evolution (ESNN) against random search
with the same number of evaluated subnets, judged by the hypervolume of each one's accuracy–energy front.

**Hypervolume (our definition of the axes and the reference point):** the area dominated by a front in
the plane of (log2 energy, accuracy) and bounded by a reference point (``log2 E_max``, ``floor``): the
union over front points ``p`` of the rectangles ``[log2 E_p, log2 E_max] × [floor, accuracy_p]``. Energy
on a log axis because F_AEB prices energy in halvings. ``E_max`` is the costliest subnet any compared run
evaluated, so every run is measured in the same box. The floor the search uses is 90% of the largest
subnet's accuracy: a subnet that loses more than a tenth of it is not one anybody would deploy, and with
a floor at chance level the area is decided by such subnets (on the digits, those with tau 10 barely
fire within 4 steps and score 10–33% at a small fraction of the energy; random search draws a third of
its subnets there and wins that area, which an accuracy–energy trade-off such as F_AEB rightly avoids).
The unit is "accuracy × octaves of energy".
"""

import csv
import random
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from snnrs import atomic
from snnrs.search.evolution import Evaluation, EvolutionSearch, fitness, pareto_front
from snnrs.search.space import SearchSpace, key


def hypervolume(points: list[tuple[float, float]], reference: tuple[float, float]) -> float:
    """Area dominated by ``points`` = ``[(accuracy, energy), ...]`` (accuracy up, energy down) inside the
    box bounded by ``reference = (accuracy_floor, energy_ceiling)``, energy in log2 units; points outside
    the box add nothing."""
    import math
    floor, ceiling = reference
    if ceiling <= 0:
        raise ValueError(f"reference: expected a positive energy ceiling, got {ceiling}")
    inside = sorted((math.log2(e), a) for a, e in points if e <= ceiling and a > floor and e > 0)
    top = math.log2(ceiling)
    area, best = 0.0, floor
    # sweep from the cheapest point: each later point adds only the strip where it is more accurate
    # than everything cheaper, and that strip runs from its energy to the ceiling
    for x, accuracy in inside:
        if accuracy > best:
            area += (top - x) * (accuracy - best)
            best = accuracy
    return area


class CachedEvaluator:
    """Scores each subnet once (by :func:`snnrs.search.space.key`), whichever search asks: the compared
    searches see the same number for the same subnet, and a subnet two of them visit costs one evaluation."""

    def __init__(self, evaluate: Callable[[dict], tuple]):
        self.evaluate, self.scores = evaluate, {}

    def __call__(self, config: dict) -> tuple[float, float]:
        k = key(config)
        if k not in self.scores:
            self.scores[k] = tuple(float(v) for v in self.evaluate(config))
        return self.scores[k]


def random_search(space: SearchSpace, evaluate: Callable, count: int, reference_energy: float, beta: float = 0.01,
                  seed: int = 0, max_draws: int = 100_000) -> list[Evaluation]:
    """``count`` distinct subnets drawn uniformly from the space, each evaluated once. Its own random stream
    (not ESNN's with the same seed, whose first population would be the same draws)."""
    rng = random.Random(f"random search {seed}")
    found: dict[str, Evaluation] = {}
    for _ in range(max_draws):
        if len(found) == count:
            break
        config = space.sample(rng)
        k = key(config)
        if k not in found:
            accuracy, energy = evaluate(config)
            found[k] = Evaluation(config, accuracy, energy, fitness(accuracy, energy, reference_energy, beta))
    if len(found) < count:
        raise ValueError(f"count: found only {len(found)} distinct subnets in {max_draws} draws, asked {count}")
    return list(found.values())


@dataclass
class SeedComparison:
    seed: int
    evaluated: int
    esnn: list[Evaluation]  # every subnet ESNN evaluated
    random: list[Evaluation]
    esnn_hv: float = 0.0
    random_hv: float = 0.0
    reference: tuple[float, float] = (0.0, 0.0)  # (accuracy floor, energy ceiling) of the hypervolume


def compare_with_random(space: SearchSpace, evaluate: Callable, reference_energy: float, seeds: list[int],
                        floor: float, progress: bool = True, **search_args) -> list[SeedComparison]:
    """For each seed: ESNN (``search_args`` as :class:`EvolutionSearch`'s), then random search with as many
    distinct subnets as ESNN evaluated; hypervolumes against one reference point for all runs (accuracy
    ``floor``, the costliest energy evaluated)."""
    cached = evaluate if isinstance(evaluate, CachedEvaluator) else CachedEvaluator(evaluate)
    runs = []
    for seed in seeds:
        search = EvolutionSearch(space, cached, reference_energy, seed=seed, progress=progress, **search_args)
        search.run()
        esnn = list(search.cache.values())
        runs.append(SeedComparison(seed, len(esnn), esnn,
                                   random_search(space, cached, len(esnn), reference_energy,
                                                 search_args.get("beta", 0.01), seed)))
    ceiling = max(e.energy_mj for run in runs for e in run.esnn + run.random)
    for run in runs:
        run.esnn_hv = hypervolume([(e.accuracy, e.energy_mj) for e in run.esnn], (floor, ceiling))
        run.random_hv = hypervolume([(e.accuracy, e.energy_mj) for e in run.random], (floor, ceiling))
        run.reference = (floor, ceiling)
    return runs


def write_comparison(runs: list[SeedComparison], out: Path) -> dict[str, Path]:
    """``search_quality.csv`` (one row per seed) and ``search_quality.png`` (both fronts per seed, and the
    hypervolumes as bars)."""
    out.mkdir(parents=True, exist_ok=True)
    with atomic.atomic_path(out / "search_quality.csv") as tmp, tmp.open("w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["seed", "evaluated", "esnn_hypervolume", "random_hypervolume", "esnn_best_fitness",
                         "random_best_fitness", "accuracy_floor", "energy_ceiling_mJ"])
        for run in runs:
            writer.writerow([run.seed, run.evaluated, run.esnn_hv, run.random_hv, max(e.fitness for e in run.esnn),
                             max(e.fitness for e in run.random), *run.reference])
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, axes = plt.subplots(1, len(runs) + 1, figsize=(3.6 * (len(runs) + 1), 3.6), squeeze=False)
    axes = axes[0]
    for ax, run in zip(axes, runs):
        for name, points, color in (("ESNN", run.esnn, "tab:red"), ("random", run.random, "tab:blue")):
            ax.scatter([e.energy_mj for e in points], [e.accuracy for e in points], s=8, color=color, alpha=0.35)
            front = pareto_front(points)
            ax.step([e.energy_mj for e in front], [e.accuracy for e in front], where="post", color=color, label=name)
        ax.set(xscale="log", xlabel="energy per sample (mJ)", title=f"seed {run.seed}: {run.evaluated} subnets each")
        ax.grid(alpha=0.3)
    axes[0].set_ylabel("validation accuracy")
    for ax in axes[:-1]:
        ax.axhline(runs[0].reference[0], color="0.5", lw=0.8, ls="--")
    axes[0].legend()
    bars = axes[-1]
    positions = range(len(runs))
    bars.bar([p - 0.2 for p in positions], [r.esnn_hv for r in runs], 0.4, color="tab:red", label="ESNN")
    bars.bar([p + 0.2 for p in positions], [r.random_hv for r in runs], 0.4, color="tab:blue", label="random")
    bars.set(xticks=list(positions), xticklabels=[str(r.seed) for r in runs], xlabel="seed",
             ylabel="hypervolume (accuracy × octaves)", title=f"hypervolume above accuracy {runs[0].reference[0]:.3f}")
    bars.legend()
    fig.tight_layout()
    atomic.save_figure(fig, out / "search_quality.png")
    plt.close(fig)
    return {"csv": out / "search_quality.csv", "png": out / "search_quality.png"}


__all__ = ["hypervolume", "CachedEvaluator", "random_search", "SeedComparison", "compare_with_random",
           "write_comparison"]
