"""``snnrs search``: Auto-Spikformer on the embedded digits — supernet training, evolutionary search
under F_AEB, the Pareto front written as a table and a PNG; rerun with the same ``--out`` to resume."""

from pathlib import Path


def add_parser(sub):
    p = sub.add_parser("search", help="Auto-Spikformer: supernet + evolutionary search on the digits",
                       description=__doc__.split("\n\n")[0].replace("``", "`"))
    p.add_argument("--out", type=Path, default=Path("runs/search"),
                   help="supernet.pt + supernet.json, search_state.json (resumable), front.csv/.md/.png, best.json")
    p.add_argument("--epochs", type=int, default=15, help="supernet training epochs")
    p.add_argument("--lr", type=float, default=1e-2)
    p.add_argument("--generations", type=int, default=5)
    p.add_argument("--population", type=int, default=12)
    p.add_argument("--top-k", type=int, default=4)
    p.add_argument("--mutations", type=int, default=6)
    p.add_argument("--crossovers", type=int, default=6)
    p.add_argument("--beta", type=float, default=0.02, help="F_AEB's energy weight (accuracy per halving)")
    p.add_argument("--scheme", choices=["sandwich", "uniform"], default="sandwich",
                   help="supernet training: largest + smallest + 2 random subnets per batch with in-place "
                   "distillation (sandwich), or one random subnet per batch (uniform)")
    p.add_argument("--validate", type=int, default=5, metavar="K",
                   help="train K subnets spread over the space stand-alone and report the Kendall tau / Spearman "
                   "rho of the supernet's ranking (ranking.csv, ranking.png); 0: skip")
    p.add_argument("--validate-epochs", type=int, default=None,
                   help="epochs per stand-alone subnet (default: --epochs)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--no-progress", action="store_true")
    return p


def run(args):
    from snnrs.search import search_digits
    for name in ("epochs", "generations", "population", "top_k"):
        if getattr(args, name) < 1:
            raise ValueError(f"--{name.replace('_', '-')}: expected a positive integer, got {getattr(args, name)}")
    if args.validate < 0 or 0 < args.validate < 3:
        raise ValueError(f"--validate: expected 0 (off) or at least 3 subnets, got {args.validate}")
    if args.validate_epochs is not None and args.validate_epochs < 1:
        raise ValueError(f"--validate-epochs: expected a positive integer, got {args.validate_epochs}")
    result = search_digits(args.out, epochs=args.epochs, lr=args.lr, generations=args.generations,
                           population=args.population, top_k=args.top_k, mutations=args.mutations,
                           crossovers=args.crossovers, beta=args.beta, seed=args.seed, progress=not args.no_progress,
                           scheme=args.scheme, validate=args.validate, validate_epochs=args.validate_epochs)
    best = result["best"]
    print(f"largest subnet: accuracy {result['largest'][0]:.4f}, {result['largest'][1]:.3e} mJ per sample")
    print(f"best F_AEB: {best.fitness:.4f} (accuracy {best.accuracy:.4f}, {best.energy_mj:.3e} mJ): "
          f"{result['search'].history[-1]['evaluated']} subnets evaluated")
    print((args.out / "front.md").read_text(), end="")
    if "ranking" in result:
        r = result["ranking"]
        print(f"supernet ranking over {len(r.rows)} subnets trained stand-alone: Kendall tau {r.tau:.2f}, "
              f"Spearman rho {r.rho:.2f} (ranking.csv, ranking.png)")
    print(f"wrote front.csv, front.md, front.png, best.json, supernet.pt, search_state.json in {args.out}")
