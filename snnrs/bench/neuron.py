"""Multi-step LIF (ATan surrogate, hard reset, decay_input): engine vs torch backend.

Prints, per (T, N), nanoseconds per neuron-step for forward (inference, no
autograd) and forward+backward, the speed-up of the engine over the torch
backend (a plain loop over T with autograd, what SpikingJelly does on CPU),
and the memory-traffic bound: the bytes the engine's kernels must move divided
by the copy bandwidth measured in the same run.

    python benchmarks/neuron.py            # full table (a few minutes)
    python benchmarks/neuron.py --quick    # T=8, N=2^20 only
"""

import argparse
import statistics
import time

import torch

from snnrs import _engine, neuron, surrogate


def seconds(fn):
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


class CopyBandwidth:
    """A large multi-threaded tensor copy (read + write bytes counted), far beyond the last-level cache."""

    def __init__(self):
        self.src = torch.ones(64 << 20)  # 256 MiB
        self.dst = torch.empty_like(self.src)
        self.dst.copy_(self.src)

    def bytes_per_second(self):
        return 2 * self.src.nbytes / seconds(lambda: self.dst.copy_(self.src))


def kernel_bytes(itemsize, steps, neurons, backward):
    """Bytes the engine must move per call. Inference forward reads X and writes S (and V once).
    For training, forward also writes H and the spike bits, and backward reads grad S, H and
    the bits and writes grad X (and grad V once)."""
    if not backward:
        return steps * neurons * 2 * itemsize + 2 * neurons * itemsize
    per_step = (3 * itemsize + 1 / 8) + (3 * itemsize + 1 / 8)
    return steps * neurons * per_step + 2 * neurons * itemsize


def lif(backend):
    return neuron.LIFNode(tau=2.0, decay_input=True, v_reset=0.0, surrogate_function=surrogate.ATan(),
                          step_mode="m", backend=backend)


def runner(backend, steps, neurons, backward):
    """A closure running one forward (inference) or forward+backward pass."""
    node = lif(backend)
    x = torch.rand(steps, neurons) * 1.5
    if not backward:
        def run():
            with torch.no_grad():
                node(x)
            node.reset()
        return run
    x.requires_grad_(True)
    grad = torch.ones(steps, neurons)

    def run():
        x.grad = None
        node(x).backward(grad)
        node.reset()
    return run


def median_ns(run, repeats, cells):
    return statistics.median(seconds(run) for _ in range(repeats)) / cells * 1e9


def measure(steps, neurons, backward, repeats, copy):
    """Median ns per neuron-step of engine and torch (each timed back to back, as
    the copy is), and the bound from the copy bandwidth timed right before and
    after the engine (the machine is shared: bandwidth drifts)."""
    engine, baseline = runner("engine", steps, neurons, backward), runner("torch", steps, neurons, backward)
    for run in (engine, baseline):  # warm-up: first calls, the engine's buffer pool
        run()
        run()
    cells = steps * neurons
    before = statistics.median(copy.bytes_per_second() for _ in range(repeats))
    engine_ns = median_ns(engine, repeats, cells)
    after = statistics.median(copy.bytes_per_second() for _ in range(repeats))
    bound_ns = kernel_bytes(4, steps, neurons, backward) / ((before + after) / 2) / cells * 1e9
    return engine_ns, median_ns(baseline, repeats, cells), bound_ns


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--quick", action="store_true", help="only T=8, N=2^20")
    args = parser.parse_args(argv)
    sizes = [(8, 1 << 20)] if args.quick else [(t, n) for n in (1 << 16, 1 << 20) for t in (4, 8, 32)]

    copy = CopyBandwidth()
    bandwidth = statistics.median(copy.bytes_per_second() for _ in range(args.repeats))
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads; copy bandwidth {bandwidth / 1e9:.1f} GB/s "
          f"(median); saved for backward: {_engine.saved_bytes_per_neuron_step(4)} B per neuron-step (float32)")
    print(f"median of {args.repeats}; ns per neuron-step; "
          "bound = bytes moved / copy bandwidth timed around the engine\n")
    print("| T | N | pass | engine | torch | speed-up | bound | engine / bound |")
    print("|---|---|---|---|---|---|---|---|")
    for steps, neurons in sizes:
        for backward in (False, True):
            engine, baseline, bound = measure(steps, neurons, backward, args.repeats, copy)
            label = "fwd+bwd" if backward else "fwd"
            print(f"| {steps} | 2^{neurons.bit_length() - 1} | {label} | {engine:.2f} | {baseline:.2f} | "
                  f"{baseline / engine:.1f}x | {bound:.2f} | {engine / bound:.2f} |", flush=True)


if __name__ == "__main__":
    main()
