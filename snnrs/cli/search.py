"""``snnrs search``: Auto-Spikformer on the embedded digits — supernet training, evolutionary search
under F_AEB, the Pareto front written as a table and a PNG, the best subnet retrained stand-alone; rerun
with the same ``--out`` to resume. ``--dataset NAME --root PATH`` searches any 2-D event dataset class of
``snnrs.datasets`` as ``--T`` frames (as ``snnrs train`` reads it), ``--dataset dvs_digits`` the digits
through the DVS emulator."""

from pathlib import Path

# the digits, the digits through the DVS emulator, and the 2-D event datasets of snnrs.datasets whose frames
# the Spikformer can take (ASL-DVS and N-Caltech101's 240x180 frames give 45x60 tokens: not offered)
DATASETS = ("digits", "dvs_digits", "NMNIST", "CIFAR10DVS", "DVS128Gesture", "NAVGesture")


def add_parser(sub):
    p = sub.add_parser("search", help="Auto-Spikformer: supernet + evolutionary search (default: on the digits)",
                       description=__doc__.split("\n\n")[0].replace("``", "`"))
    p.add_argument("--dataset", default="digits", choices=DATASETS)
    p.add_argument("--root", type=Path, default=None, help="the dataset's folder (any dataset but the digits)")
    p.add_argument("--T", type=int, default=None,
                   help="frames of event data (default 4; every subnet runs them); the digits search T as a gene")
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--out", type=Path, default=Path("runs/search"),
                   help="supernet.pt + supernet.json, search_state.json (resumable), front.csv/.md/.png, best.json")
    p.add_argument("--epochs", type=int, default=15, help="supernet training epochs")
    p.add_argument("--lr", type=float, default=1e-2)
    p.add_argument("--generations", type=int, default=5)
    p.add_argument("--population", type=int, default=12)
    p.add_argument("--top-k", type=int, default=4)
    p.add_argument("--mutations", type=int, default=6)
    p.add_argument("--crossovers", type=int, default=6)
    p.add_argument("--beta", type=float, default=0.01, help="F_AEB's energy weight (accuracy per halving)")
    p.add_argument("--scheme", choices=["sandwich", "uniform"], default="sandwich",
                   help="supernet training: largest + smallest + 2 random subnets per batch with in-place "
                   "distillation (sandwich), or one random subnet per batch (uniform)")
    p.add_argument("--validate", type=int, default=5, metavar="K",
                   help="train K subnets spread over the space stand-alone and report the Kendall tau / Spearman "
                   "rho of the supernet's ranking (ranking.csv, ranking.png); 0: skip")
    p.add_argument("--validate-epochs", type=int, default=None,
                   help="epochs per stand-alone subnet (default: half of --epochs)")
    p.add_argument("--retrain-epochs", type=int, default=None,
                   help="retrain the best subnet stand-alone and score it on the validation and test splits "
                   "(default: --epochs; 0: skip)")
    p.add_argument("--retrain-seeds", type=int, default=1,
                   help="retrain (and train the baseline) this many times; means are reported")
    p.add_argument("--baseline", action="store_true",
                   help="also train the cheapest hand-designed Spikformer (LIF tau 2, threshold 1, the largest T "
                   "and MLP ratio) whose energy is no lower than the best subnet's, with the retraining's budget "
                   "(--retrain-epochs, or --epochs where that is 0) and seeds")
    p.add_argument("--compare-random", type=int, default=0, metavar="SEEDS",
                   help="run ESNN and random search with as many evaluated subnets for SEEDS seeds and compare "
                   "the hypervolumes of their fronts (search_quality.csv, search_quality.png); 0: skip")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--no-progress", action="store_true")
    return p


def _data(args):
    from snnrs.search import data
    if args.dataset in ("digits", "dvs_digits"):
        if args.root is not None:
            raise ValueError(f"--root: {args.dataset} is made from the embedded digits; --root is for the other "
                             "datasets")
        if args.dataset == "digits":
            if args.T is not None:
                raise ValueError("--T: the digits search T as a gene (DIGITS_SPACE's T); --T is for event data")
            return data.digits(args.seed, args.batch_size)
        return data.dvs_digits(args.T or 4, args.seed, args.batch_size)
    if args.root is None:
        raise ValueError(f"--root: {args.dataset} needs the folder holding its files")
    return data.from_dataset(args.dataset, args.root, args.T or 4, args.seed, args.batch_size)


def run(args):
    from snnrs.search import search
    for name in ("epochs", "generations", "population", "top_k", "T", "batch_size", "retrain_seeds"):
        if getattr(args, name) is not None and getattr(args, name) < 1:
            raise ValueError(f"--{name.replace('_', '-')}: expected a positive integer, got {getattr(args, name)}")
    if args.validate < 0 or 0 < args.validate < 3:
        raise ValueError(f"--validate: expected 0 (off) or at least 3 subnets, got {args.validate}")
    if args.validate_epochs is not None and args.validate_epochs < 1:
        raise ValueError(f"--validate-epochs: expected a positive integer, got {args.validate_epochs}")
    if args.retrain_epochs is not None and args.retrain_epochs < 0:
        raise ValueError(f"--retrain-epochs: expected 0 (skip) or a positive integer, got {args.retrain_epochs}")
    if args.compare_random < 0:
        raise ValueError(f"--compare-random: expected a number of seeds >= 0, got {args.compare_random}")
    data = _data(args)
    result = search(data, args.out, epochs=args.epochs, lr=args.lr, generations=args.generations,
                           population=args.population, top_k=args.top_k, mutations=args.mutations,
                           crossovers=args.crossovers, beta=args.beta, seed=args.seed, progress=not args.no_progress,
                           scheme=args.scheme, validate=args.validate, validate_epochs=args.validate_epochs,
                           retrain_epochs=args.retrain_epochs, baseline=args.baseline,
                           compare_random=args.compare_random, retrain_seeds=args.retrain_seeds)
    best = result["best"]
    print(f"{data.name}: {result['space'].max_config['embed_dim']}-wide supernet, patch {data.patch_size}, "
          f"T {'/'.join(map(str, result['space'].T))}")
    print(f"largest subnet: accuracy {result['largest'][0]:.4f}, {result['largest'][1]:.3e} mJ per sample")
    print(f"best F_AEB: {best.fitness:.4f} (accuracy {best.accuracy:.4f}, {best.energy_mj:.3e} mJ): "
          f"{result['search'].history[-1]['evaluated']} subnets evaluated")
    print((args.out / "front.md").read_text(), end="")
    for name, label in (("retrained", "best subnet retrained stand-alone"), ("baseline", "hand-designed")):
        if name in result:
            r = result[name]
            runs = f", mean of {r['seeds']} trainings" if r["seeds"] > 1 else ""
            if r.get("energy_no_lower") is False:
                print("note: no hand design reaches the best subnet's energy; the costliest is compared instead")
            print(f"{label} {r['subnet'].removeprefix('hand-designed ')} ({r['epochs']} epochs{runs}): validation "
                  f"{r['validation_accuracy']:.4f}, test {r['test_accuracy']:.4f}, {r['energy_mJ']:.3e} mJ per sample")
    if "ranking" in result:
        r = result["ranking"]
        print(f"supernet ranking over {len(r.rows)} subnets trained stand-alone: Kendall tau {r.tau:.2f}, "
              f"Spearman rho {r.rho:.2f} (ranking.csv, ranking.png)")
    if "comparison" in result:
        print("ESNN vs random search, same number of evaluated subnets (hypervolume of the accuracy-energy front):")
        for run in result["comparison"]:
            verdict = "ESNN" if run.esnn_hv > run.random_hv else "random" if run.random_hv > run.esnn_hv else "tie"
            print(f"  seed {run.seed}: {run.evaluated} subnets, ESNN {run.esnn_hv:.4f}, random {run.random_hv:.4f}"
                  f" -> {verdict}")
    print(f"wrote front.csv, front.md, front.png, best.json, supernet.pt, search_state.json in {args.out}")
