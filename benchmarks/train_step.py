"""`python benchmarks/train_step.py --help`: the script form of `snnrs bench train_step`
(code in snnrs/bench/train_step.py)."""

from snnrs.bench.train_step import main

if __name__ == "__main__":
    main()
