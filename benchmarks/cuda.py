"""`python benchmarks/cuda.py --help`: the script form of `snnrs bench cuda` (code in snnrs/bench/cuda.py)."""

from snnrs.bench.cuda import main

if __name__ == "__main__":
    main()
