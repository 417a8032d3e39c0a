"""Forward+backward cost of every neuron model, engine (where fused) vs the torch backend.

    python benchmarks/neuron_models.py [--steps 8] [--neurons 262144] [--repeats 5]

Prints ns per neuron-step (median) and the engine's speed-up, which says where a
fused kernel pays off.
"""

import argparse

import torch

from snnrs import neuron
from snnrs.bench.timing import median_seconds


def models():
    return {
        "LIF": lambda b: neuron.LIFNode(step_mode="m", backend=b),
        "QIF": lambda b: neuron.QIFNode(step_mode="m", backend=b),
        "EIF": lambda b: neuron.EIFNode(step_mode="m", backend=b),
        "Izhikevich": lambda b: neuron.IzhikevichNode(step_mode="m", backend=b),
        "KLIF": lambda b: neuron.KLIFNode(step_mode="m", backend=b),
        "LIAF": lambda b: neuron.LIAFNode(torch.relu, True, step_mode="m", backend=b),
        "CUBA-LIF": lambda b: neuron.CUBALIFNode(step_mode="m", backend=b),
    }


def time_ns(node, x, grad, repeats):
    def run():
        x.grad = None
        node(x).backward(grad)
        node.reset()
    return median_seconds(run, repeats, warmup=2) / x.numel() * 1e9


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=8)
    parser.add_argument("--neurons", type=int, default=1 << 18)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args(argv)
    x = (torch.rand(args.steps, args.neurons) * 1.5).requires_grad_()
    grad = torch.ones_like(x)
    print(f"T={args.steps}, N={args.neurons}, float32, forward+backward, "
          f"ns per neuron-step (median of {args.repeats})\n")
    print("| neuron | engine | torch backend | speed-up |")
    print("|---|---|---|---|")
    for name, make in models().items():
        torch_ns = time_ns(make("torch"), x, grad, args.repeats)
        node = make("engine")
        if node.engine_supports(x):
            engine_ns = time_ns(node, x, grad, args.repeats)
            print(f"| {name} | {engine_ns:.2f} | {torch_ns:.2f} | {torch_ns / engine_ns:.1f}x |", flush=True)
        else:
            print(f"| {name} | (torch loop) | {torch_ns:.2f} | - |", flush=True)


if __name__ == "__main__":
    main()
