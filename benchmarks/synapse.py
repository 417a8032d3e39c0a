"""`python benchmarks/synapse.py --help`: the script form of `snnrs bench synapse` (code in snnrs/bench/synapse.py)."""

from snnrs.bench.synapse import main

if __name__ == "__main__":
    main()
