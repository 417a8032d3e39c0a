"""`python benchmarks/runtime.py --help`: the script form of `snnrs bench runtime` (code in snnrs/bench/runtime.py)."""

from snnrs.bench.runtime import main

if __name__ == "__main__":
    main()
