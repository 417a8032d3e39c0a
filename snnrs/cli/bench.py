"""``snnrs bench [NAME ...] [-- ARGS]``: runs the benchmarks and prints their tables."""

from snnrs.bench import BENCHMARKS
from snnrs.bench import run as run_benchmark


def add_parser(sub):
    p = sub.add_parser("bench", help="run benchmarks and print their ratio tables",
                       description="Runs benchmarks (all but gpu, cuda, runtime and vs_spikingjelly by default). "
                       "Names: " +
                       "; ".join(f"{k}: {v}" for k, v in BENCHMARKS.items()))
    p.add_argument("names", nargs="*", metavar="NAME", help="benchmarks to run")
    p.add_argument("--quick", action="store_true", help="pass --quick to the benchmarks that have it")
    p.add_argument("--repeats", type=int, default=None, help="repeats per measurement (each benchmark's default)")
    return p


def run(args):
    names = args.names or ["neuron", "neuron_models", "events", "train_step"]
    for name in names:
        if name not in BENCHMARKS:
            raise ValueError(f"benchmark: expected one of {', '.join(BENCHMARKS)}, got {name!r}")
    for name in names:
        print(f"\n## {name}: {BENCHMARKS[name]}\n", flush=True)
        quick = ("neuron", "gpu", "cuda", "events", "synapse", "train_step", "runtime")
        argv = ["--quick"] if args.quick and name in quick else []
        if args.repeats is not None:
            if args.repeats < 1:
                raise ValueError(f"--repeats: expected a positive integer, got {args.repeats}")
            argv += ["--repeats", str(args.repeats)]
        run_benchmark(name, argv)
