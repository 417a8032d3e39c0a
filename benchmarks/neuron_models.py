"""`python benchmarks/neuron_models.py --help`: the script form of `snnrs bench neuron_models`
(code in snnrs/bench/neuron_models.py)."""

from snnrs.bench.neuron_models import main

if __name__ == "__main__":
    main()
