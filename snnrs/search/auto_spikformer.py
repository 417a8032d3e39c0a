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
from snnrs.search import data as search_data
from snnrs.search import quality, ranking
from snnrs.search.data import SearchData
from snnrs.search.evolution import Evaluation, EvolutionSearch
from snnrs.search.space import SearchSpace, key
from snnrs.search.supernet import SpikformerSupernet

# wide enough to learn the digits: SPS's first stage has D/8 channels, and trained alone D 32 stops near
# 91% where D 64 reaches 97.6% and D 128 98.6%
DIGITS_SPACE = SearchSpace(embed_dim=(64, 96, 128), num_heads=(4, 8), mlp_ratio=(3.0, 3.5, 4.0), depth=(1, 2),
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
    counter (spike counts as SOPs). The validation split: tensors ``x_val, y_val``, or batches of
    ``(x, y)`` as ``x_val`` alone."""

    def __init__(self, supernet: SpikformerSupernet, calibration, x_val, y_val: torch.Tensor | None = None,
                 calibration_steps: int = 4, calibration_seed: int = 0):
        self.supernet, self.calibration, self.steps = supernet, calibration, calibration_steps
        self.validation = [(x_val, y_val)] if y_val is not None else x_val
        self.calibration_seed = calibration_seed

    def __call__(self, config: dict) -> tuple[float, float]:
        net = self.supernet.set_config(config)
        if hasattr(getattr(self.calibration, "loader", self.calibration), "generator"):
            # the same calibration batches for every subnet: a score must not depend on how many came before
            search_data.reseed(self.calibration, self.calibration_seed)
        net.recalibrate(self.calibration, self.steps)
        return measure(net, self.validation)


def measure(net: torch.nn.Module, batches) -> tuple[float, float]:
    """``(accuracy, energy mJ per sample)`` of ``net`` in eval mode over ``batches`` of ``(x, y)`` (one pass
    under the energy counter, spike counts as SOPs; the state reset after each batch)."""
    net.eval()
    correct = seen = 0
    with torch.no_grad(), EnergyCounter(net, spike_counts=True) as counter:
        for x, y in batches:
            correct += int((net(x).argmax(1) == y).sum())
            seen += len(y)
            functional.reset_net(net)
    if not seen:
        raise ValueError("batches: no samples to measure on")
    return correct / seen, counter.totals(samples=seen)["energy_mJ"]


def hand_designed_configs(space: SearchSpace) -> list[dict]:
    """Spikformers as the paper's recipe writes them, at every embed_dim × depth of the space: the model's
    own neurons (LIF, tau 2, threshold 1 — :attr:`SearchSpace.max_config`'s), the largest T and mlp_ratio,
    the most heads that divide the width. Each is also a subnet, so the supernet prices it."""
    top = space.max_config
    return [{**top, "embed_dim": d, "depth": depth, "threshold": list(top["threshold"]),
             "num_heads": max(h for h in space.num_heads if d % h == 0)}
            for d in space.embed_dim if any(d % h == 0 for h in space.num_heads) for depth in space.depth]


def standalone_spikformer(config: dict, img_size: int, patch_size: int, in_channels: int,
                          num_classes: int) -> torch.nn.Module:
    """A subnet written as a plain :class:`snnrs.models.Spikformer` with fresh weights: its width, heads, MLP
    ratio, depth and T, tau on every LIF, each block's threshold on the block's LIF neurons (the attention
    neuron keeps 0.5), as :meth:`SpikformerSupernet.set_config` applies them. Retrained subnets and hand
    designs are built this way alike: a slice of the supernet's initialisation would give the convolutions
    the largest width's (smaller) initial scale."""
    from snnrs.models import Spikformer
    net = Spikformer(img_size=img_size, patch_size=patch_size, in_channels=in_channels, num_classes=num_classes,
                     embed_dim=config["embed_dim"], num_heads=config["num_heads"], mlp_ratio=config["mlp_ratio"],
                     depths=config["depth"], T=config["T"], tau=float(config["tau"]))
    for block, threshold in zip(net.blocks, config["threshold"]):
        attention = block.attn
        for lif in (attention.q_lif, attention.k_lif, attention.v_lif, attention.proj_lif, block.mlp.lif1,
                    block.mlp.lif2):
            lif.v_threshold = float(threshold)
    return net


def hand_designed(space: SearchSpace, img_size: int, patch_size: int, in_channels: int, num_classes: int,
                  config: dict | None = None) -> torch.nn.Module:
    """The hand-designed Spikformer at ``config``, one of :func:`hand_designed_configs` (default: the space's
    largest), as :func:`standalone_spikformer` builds it."""
    return standalone_spikformer(space.max_config if config is None else config, img_size, patch_size,
                                 in_channels, num_classes)


def cheapest_hand_design_above(space: SearchSpace, evaluate, energy: float) -> tuple[dict, bool]:
    """``(config, no_lower)``: the hand-designed Spikformer (:func:`hand_designed_configs`) of least energy
    that is no lower than ``energy``, energies priced by ``evaluate`` (the supernet's), and True; the
    costliest and False if none reaches it (the comparison is then not the one asked for, and says so)."""
    priced = sorted((evaluate(c)[1], key(c), c) for c in hand_designed_configs(space))
    above = [entry for entry in priced if entry[0] >= energy]
    return (above[0][2], True) if above else (priced[-1][2], False)


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


def _trained_with(out: Path) -> dict:
    """How ``out/supernet.pt`` was trained (``supernet.json``; a run from before the sandwich rule wrote
    none, and trained one random subnet per batch on the digits)."""
    meta = out / "supernet.json"
    if not meta.is_file():
        return {"scheme": "uniform", "dataset": "digits"}
    try:
        recorded = json.loads(meta.read_text())
        found = {"scheme": str(recorded["scheme"]), "dataset": str(recorded.get("dataset", "digits"))}
        for name in ("frames", "seed"):  # recorded since event data came (seed: since the first scheme)
            if name in recorded:
                found[name] = recorded[name]
        return found
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as e:
        raise ValueError(f"{meta}: not a readable supernet description ({e!r}); delete it with supernet.pt to "
                         "train anew") from None


def search(data: SearchData, out: Path | None = None, space: SearchSpace | None = None, epochs: int = 15,
           lr: float = 1e-2, generations: int = 5, population: int = 12, top_k: int = 4, mutations: int = 6,
           crossovers: int = 6, beta: float = 0.01, seed: int = 0, progress: bool = True, scheme: str = "sandwich",
           validate: int = 0, validate_epochs: int | None = None, retrain_epochs: int | None = None,
           baseline: bool = False, compare_random: int = 0, retrain_seeds: int = 1) -> dict:
    """Auto-Spikformer on ``data`` (:mod:`snnrs.search.data`): the supernet learns from ``data.fit``, the
    search scores subnets on ``data.validation``; resumable from ``out`` (``supernet.pt``,
    ``search_state.json``). ``space`` defaults to ``data.default_space()``.

    ``validate=k`` trains ``k`` subnets spread over the space stand-alone (``validate_epochs`` each, default
    half of ``epochs``, which keeps the default digits run within 5 minutes on 2 cores) and measures the
    ranking (:mod:`snnrs.search.ranking`: ``ranking.csv``, ``ranking.png``).
    ``retrain_epochs`` (None: ``epochs``; 0: skip) retrains the best subnet stand-alone ``retrain_seeds``
    times and scores it on the validation and test splits (means and each run); ``baseline`` trains the
    cheapest hand-designed Spikformer of no lower energy (:func:`cheapest_hand_design_above`) the same way.
    ``compare_random=n`` runs ESNN and random search with the same number of evaluated subnets for ``n``
    seeds (:mod:`snnrs.search.quality`: ``search_quality.csv``, ``search_quality.png``)."""
    if validate and validate < 3:
        raise ValueError(f"validate: expected 0 (off) or at least 3 subnets, got {validate}")
    if scheme not in SCHEMES:
        raise ValueError(f"scheme: expected one of {SCHEMES}, got {scheme!r}")
    if compare_random < 0:
        raise ValueError(f"compare_random: expected a number of seeds >= 0, got {compare_random}")
    retrain_epochs = epochs if retrain_epochs is None else retrain_epochs
    if retrain_epochs < 0:
        raise ValueError(f"retrain_epochs: expected 0 (off) or a positive integer, got {retrain_epochs}")
    if retrain_seeds < 1:
        raise ValueError(f"retrain_seeds: expected a positive integer, got {retrain_seeds}")
    space = data.default_space() if space is None else data.fit_space(space)
    out = Path(out) if out is not None else None
    torch.manual_seed(seed)

    def make_supernet():
        return SpikformerSupernet(space, **data.shape)

    supernet = make_supernet()
    batches = data.fit
    weights = out / "supernet.pt" if out is not None else None
    if weights is not None and weights.is_file():
        trained_with = _trained_with(out)
        if trained_with["scheme"] != scheme:
            raise ValueError(f"{weights}: trained with scheme {trained_with['scheme']!r}, asked {scheme!r}: resume "
                             f"with --scheme {trained_with['scheme']}, or delete it to train the supernet anew")
        asked = {"dataset": data.name, "frames": data.frames, "seed": seed}
        for name, value in asked.items():  # the seed cuts the validation split: another one was trained on
            if name in trained_with and trained_with[name] != value:
                raise ValueError(f"{weights}: trained with {name} {trained_with[name]!r}, asked {value!r}: give "
                                 "another --out, or delete it to train the supernet anew")
        try:
            supernet.load_state_dict(torch.load(weights, map_location="cpu", weights_only=True))
        except RuntimeError as e:  # another space or input shape: the tensors do not fit
            raise ValueError(f"{weights}: does not fit this search's supernet (another space, frames or input "
                             f"size?): {str(e).splitlines()[0]}; give another --out, or delete it") from None
        losses = []
    else:
        losses = train_supernet(supernet, batches, epochs, lr=lr, seed=seed, progress=progress, scheme=scheme)
        if weights is not None:
            atomic.write_json(out / "supernet.json", {"scheme": scheme, "epochs": epochs, "lr": lr, "seed": seed,
                                                      "dataset": data.name, "frames": data.frames})
            atomic.save_torch(supernet.state_dict(), weights)
    evaluate = quality.CachedEvaluator(SubnetEvaluator(supernet, data.calibration, data.validation))
    top_accuracy, reference_energy = evaluate(space.max_config)
    sizes = dict(population=population, top_k=top_k, mutations=mutations, crossovers=crossovers,
                 generations=generations, beta=beta)
    search = EvolutionSearch(space, evaluate, reference_energy, seed=seed,
                             checkpoint=out / "search_state.json" if out is not None else None, progress=progress,
                             **sizes)
    front = search.run()
    best = search.best()
    result = {"front": front, "best": best, "search": search, "supernet": supernet, "supernet_losses": losses,
              "largest": (top_accuracy, reference_energy), "evaluate": evaluate, "space": space, "data": data}
    budget = retrain_epochs or epochs

    def standalone(make, what):
        runs = []
        for k in range(retrain_seeds):
            torch.manual_seed(seed + k)
            net = ranking.fit(make(), batches, budget, lr, progress=f"{what} ({k + 1}/{retrain_seeds})"
                              if progress else None, order_seed=seed + k)
            (val_accuracy, energy), (test_accuracy, _) = measure(net, data.validation), measure(net, data.test)
            runs.append({"validation_accuracy": val_accuracy, "test_accuracy": test_accuracy, "energy_mJ": energy})
        mean = {name: sum(r[name] for r in runs) / len(runs) for name in runs[0]}
        return {**mean, "epochs": budget, "seeds": retrain_seeds, "runs": runs}

    if retrain_epochs:
        result["retrained"] = {"subnet": key(best.config),
                               **standalone(lambda: standalone_spikformer(best.config, **data.shape), "retrain best")}
    if baseline:
        # the hand-designed Spikformer to beat: the cheapest one whose energy is no lower than the best's
        design, no_lower = cheapest_hand_design_above(space, evaluate, best.energy_mj)
        result["baseline"] = {"subnet": "hand-designed " + key(design), "energy_no_lower": no_lower,
                              **standalone(lambda: hand_designed(space, **data.shape, config=design),
                                           "hand-designed")}
    if validate:
        configs = ranking.spread_configs(space, validate, seed)
        result["ranking"] = ranking.validate_ranking(
            evaluate, make_supernet, lambda net: SubnetEvaluator(net, data.calibration, data.validation), configs,
            batches, validate_epochs or max(1, epochs // 2), lr, seed, progress)
    if compare_random:
        result["comparison"] = quality.compare_with_random(space, evaluate, reference_energy,
                                                           [seed + k for k in range(compare_random)],
                                                           floor=0.9 * top_accuracy, progress=progress, **sizes)
    if out is not None:
        result["files"] = write_front(front, list(search.cache.values()), out)
        if validate:
            written = ranking.write_ranking(result["ranking"], out)
            result["files"].update({f"ranking_{k}": v for k, v in written.items()})
        if compare_random:
            written = quality.write_comparison(result["comparison"], out)
            result["files"].update({f"search_quality_{k}": v for k, v in written.items()})
        summary = {"dataset": data.name, "subnet": key(best.config), "config": best.config,
                   "accuracy": best.accuracy, "energy_mJ": best.energy_mj, "fitness": best.fitness}
        for name in ("retrained", "baseline"):
            if name in result:
                summary[name] = result[name]
        atomic.write_json(out / "best.json", summary, indent=2)
    return result


def search_digits(out: Path | None = None, space: SearchSpace = DIGITS_SPACE, *, seed: int = 0, **kwargs) -> dict:
    """:func:`search` on the embedded digits (keyword arguments as :func:`search`); the result also holds
    ``test`` and ``validation`` as ``(x, y)`` tensors."""
    data = search_data.digits(seed)
    result = search(data, out, space, seed=seed, **kwargs)
    result["validation"], result["test"] = data.validation[0], data.test[0]
    return result


__all__ = ["DIGITS_SPACE", "SCHEMES", "train_supernet", "SubnetEvaluator", "measure", "hand_designed",
           "standalone_spikformer", "hand_designed_configs", "cheapest_hand_design_above", "write_front", "search",
           "search_digits"]
