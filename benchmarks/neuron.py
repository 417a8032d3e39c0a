"""`python benchmarks/neuron.py --help`: the script form of `snnrs bench neuron` (code in snnrs/bench/neuron.py)."""

from snnrs.bench.neuron import main

if __name__ == "__main__":
    main()
