"""`python benchmarks/gpu.py --help`: the script form of `snnrs bench gpu` (code in snnrs/bench/gpu.py)."""

from snnrs.bench.gpu import main

if __name__ == "__main__":
    main()
