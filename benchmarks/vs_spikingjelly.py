"""`python benchmarks/vs_spikingjelly.py --help`: the script form of `snnrs bench vs_spikingjelly`
(code in snnrs/bench/vs_spikingjelly.py)."""

from snnrs.bench.vs_spikingjelly import main

if __name__ == "__main__":
    main()
