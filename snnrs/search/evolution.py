"""Evolutionary search over supernet subnets (ESNN) with the accuracy–energy fitness F_AEB.

**F_AEB (our definition; the paper does not publish it):**
``F = accuracy - β·log2(E / E_ref)``, with E the subnet's energy per sample from the energy counter
(``snnrs.energy``, spike counts as SOPs), E_ref the energy of the largest subnet, β = 0.01 by
default: halving the energy is worth one point of accuracy (0.02 before: on the digits it picked a
subnet 1.7 points below the largest for a 13-fold saving, which retrained alone reached 94.8–97.2%).
Accuracy is on a validation split with
weights inherited from the supernet (BatchNorm statistics re-estimated for each subnet).

Each generation takes the ``top_k`` fittest subnets evaluated so far (in any generation: elitism, so a
good subnet stays a parent until better ones replace it) as parents, then makes ``mutations`` children (each gene
resampled with probability ``mutation_prob``) and ``crossovers`` children (each gene from either of
two parents) — ``docs/semantics.md#auto-spikformer``: population 50, top-k 10, 25 + 25, 20 generations.
Every evaluated subnet is remembered; the Pareto front of (accuracy up, energy down) over all of them is the result.
"""

import json
import math
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from snnrs import atomic
from snnrs.search.space import SearchSpace, get_gene, key, set_gene


@dataclass
class Evaluation:
    config: dict
    accuracy: float
    energy_mj: float
    fitness: float = 0.0


def fitness(accuracy: float, energy: float, reference_energy: float, beta: float = 0.01) -> float:
    """F_AEB = accuracy - β·log2(E / E_ref) (see the module doc)."""
    if energy <= 0 or reference_energy <= 0:
        raise ValueError("energy: expected positive energies")
    return accuracy - beta * math.log2(energy / reference_energy)


def pareto_front(evaluations: list[Evaluation]) -> list[Evaluation]:
    """The non-dominated evaluations (no other has accuracy >= and energy <=, one strictly),
    sorted by energy."""
    front = []
    for a in evaluations:
        dominated = any(b.accuracy >= a.accuracy and b.energy_mj <= a.energy_mj and
                        (b.accuracy > a.accuracy or b.energy_mj < a.energy_mj) for b in evaluations)
        if not dominated:
            front.append(a)
    unique = {}
    for e in front:  # one entry per point: subnets differing only in genes without effect coincide
        unique.setdefault((e.accuracy, e.energy_mj), e)
    return sorted(unique.values(), key=lambda e: e.energy_mj)


def mutate(config: dict, space: SearchSpace, rng: random.Random, prob: float) -> dict:
    child = {**config, "threshold": list(config["threshold"])}
    for gene, choices in space.genes():
        if rng.random() < prob:
            set_gene(child, gene, rng.choice(choices))
    return child


def crossover(a: dict, b: dict, space: SearchSpace, rng: random.Random) -> dict:
    child = {**a, "threshold": list(a["threshold"])}
    for gene, _ in space.genes():
        set_gene(child, gene, get_gene(a if rng.random() < 0.5 else b, gene))
    return child


@dataclass
class EvolutionSearch:
    """``evaluate(config) -> (accuracy, energy_mJ)``; ``reference_energy``: E_ref of F_AEB."""

    space: SearchSpace
    evaluate: Callable[[dict], tuple]
    reference_energy: float
    population: int = 50
    top_k: int = 10
    mutations: int = 25
    crossovers: int = 25
    mutation_prob: float = 0.2
    generations: int = 20
    beta: float = 0.01
    seed: int = 0
    checkpoint: Path | None = None
    progress: bool = True
    history: list[dict] = field(default_factory=list)
    cache: dict[str, Evaluation] = field(default_factory=dict)

    def __post_init__(self):
        for name in ("population", "top_k", "generations"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name}: expected a positive integer, got {getattr(self, name)}")
        if self.top_k > self.population:
            raise ValueError(f"top_k: {self.top_k} exceeds the population {self.population}")
        if not 0 <= self.mutation_prob <= 1:
            raise ValueError(f"mutation_prob: expected a probability, got {self.mutation_prob}")

    def _score(self, config: dict) -> Evaluation:
        k = key(config)
        if k not in self.cache:
            accuracy, energy = self.evaluate(config)
            self.cache[k] = Evaluation({**config, "threshold": list(config["threshold"])}, float(accuracy),
                                       float(energy), fitness(accuracy, energy, self.reference_energy, self.beta))
        return self.cache[k]

    def _children(self, parents: list[dict], rng: random.Random) -> list[dict]:
        children = []
        for _ in range(self.mutations):
            children.append(self._valid(lambda: mutate(rng.choice(parents), self.space, rng, self.mutation_prob), rng))
        for _ in range(self.crossovers):
            children.append(self._valid(lambda: crossover(rng.choice(parents), rng.choice(parents), self.space, rng),
                                        rng))
        return children

    def _valid(self, make, rng, tries: int = 50):
        for _ in range(tries):
            child = make()
            if self.space.valid(child):
                return child
        return self.space.sample(rng)

    def run(self) -> list[Evaluation]:
        """Runs (or resumes) the search; returns the Pareto front."""
        rng = random.Random(self.seed)
        start, population = 0, None
        if self.checkpoint is not None and self.checkpoint.is_file():
            start, population = self._load(rng)
        if population is None:
            population = [self.space.sample(rng) for _ in range(self.population)]
        bar = _progress(range(start, self.generations), self.progress)
        for generation in bar:
            for config in population:
                self._score(config)
            # elitist: parents are the fittest of everything evaluated, not only of this generation, so a
            # good subnet stays a parent until better ones are found (children that all score worse used
            # to replace it)
            scored = sorted(self.cache.values(), key=lambda e: (e.fitness, key(e.config)), reverse=True)
            best = scored[0]
            self.history.append({"generation": generation + 1, "best_fitness": best.fitness,
                                 "best_accuracy": best.accuracy, "best_energy_mj": best.energy_mj,
                                 "evaluated": len(self.cache)})
            if hasattr(bar, "set_postfix"):
                bar.set_postfix(fitness=f"{best.fitness:.4f}", acc=f"{best.accuracy:.3f}", subnets=len(self.cache))
            parents = [e.config for e in scored[:self.top_k]]
            population = self._children(parents, rng) or parents
            self._save(generation + 1, population, rng)
        return pareto_front(list(self.cache.values()))

    def best(self) -> Evaluation:
        return max(self.cache.values(), key=lambda e: e.fitness)

    # ---- resumable state ----

    def _save(self, generation, population, rng):
        if self.checkpoint is None:
            return
        state = {"generation": generation, "population": population, "rng": _rng_state(rng), "history": self.history,
                 "cache": [e.__dict__ for e in self.cache.values()]}
        atomic.write_json(self.checkpoint, state)

    def _load(self, rng):
        try:
            state = json.loads(self.checkpoint.read_text())
            rng.setstate(_rng_from(state["rng"]))
            history = [dict(h) for h in state["history"]]
            cache = {}
            for e in state["cache"]:
                evaluation = Evaluation(dict(e["config"]), float(e["accuracy"]), float(e["energy_mj"]))
                # fitness again: beta or the reference energy may differ from the interrupted run's
                evaluation.fitness = fitness(evaluation.accuracy, evaluation.energy_mj, self.reference_energy,
                                             self.beta)
                cache[key(evaluation.config)] = evaluation
            generation, population = int(state["generation"]), [dict(c) for c in state["population"]]
            if not all(self.space.valid(c) for c in population):
                raise ValueError("a configuration outside the space")
        except (OSError, ValueError, KeyError, TypeError, IndexError) as e:
            raise ValueError(f"{self.checkpoint}: not a usable search checkpoint ({e!r}); delete it to start over") \
                from None
        self.history, self.cache = history, cache
        return generation, population


def _rng_state(rng):
    version, internal, gauss = rng.getstate()
    return [version, list(internal), gauss]


def _rng_from(state):
    version, internal, gauss = state
    return version, tuple(internal), gauss


def _progress(iterable, enabled):
    if not enabled:
        return iterable
    from tqdm.auto import tqdm
    return tqdm(iterable, desc="search", unit="generation", mininterval=0.5)


__all__ = ["EvolutionSearch", "Evaluation", "fitness", "pareto_front", "mutate", "crossover"]
