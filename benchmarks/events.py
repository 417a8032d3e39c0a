"""`python benchmarks/events.py --help`: the script form of `snnrs bench events` (code in snnrs/bench/events.py)."""

from snnrs.bench.events import main

if __name__ == "__main__":
    main()
