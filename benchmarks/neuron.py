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


def median_seconds(fn, repeats, warmup=2):
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def copy_bandwidth(repeats):
    """Bytes per second of a large multi-threaded tensor copy (read + write counted)."""
    src = torch.ones(64 << 20)  # 256 MiB, far beyond the last-level cache
    dst = torch.empty_like(src)
    return 2 * src.nbytes / median_seconds(lambda: dst.copy_(src), repeats)


def kernel_bytes(itemsize, steps, neurons, backward):
    """Bytes the engine must move per call: forward reads X and writes S, H and the
    spike bits (V in/out once); backward reads grad S, H and the bits and writes grad X."""
    per_step = 3 * itemsize + 1 / 8
    if backward:
        per_step += 3 * itemsize + 1 / 8
    return steps * neurons * per_step + 2 * neurons * itemsize


def lif(backend):
    return neuron.LIFNode(tau=2.0, decay_input=True, v_reset=0.0, surrogate_function=surrogate.ATan(),
                          step_mode="m", backend=backend)


def measure(backend, steps, neurons, backward, repeats):
    node = lif(backend)
    x = torch.rand(steps, neurons) * 1.5
    if not backward:
        def run():
            with torch.no_grad():
                node(x)
            node.reset()
    else:
        x.requires_grad_(True)
        grad = torch.ones(steps, neurons)

        def run():
            x.grad = None
            node(x).backward(grad)
            node.reset()
    return median_seconds(run, repeats) / (steps * neurons) * 1e9


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--quick", action="store_true", help="only T=8, N=2^20")
    args = parser.parse_args()
    sizes = [(8, 1 << 20)] if args.quick else [(t, n) for n in (1 << 16, 1 << 20) for t in (4, 8, 32)]

    bandwidth = copy_bandwidth(args.repeats)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads; copy bandwidth {bandwidth / 1e9:.1f} GB/s; "
          f"saved for backward: {_engine.saved_bytes_per_neuron_step(4)} B per neuron-step (float32)")
    print(f"median of {args.repeats}; ns per neuron-step\n")
    print("| T | N | pass | engine | torch | speed-up | bound | engine / bound |")
    print("|---|---|---|---|---|---|---|---|")
    for steps, neurons in sizes:
        for backward in (False, True):
            engine = measure("engine", steps, neurons, backward, args.repeats)
            baseline = measure("torch", steps, neurons, backward, args.repeats)
            bound = kernel_bytes(4, steps, neurons, backward) / bandwidth / (steps * neurons) * 1e9
            label = "fwd+bwd" if backward else "fwd"
            print(f"| {steps} | 2^{neurons.bit_length() - 1} | {label} | {engine:.2f} | {baseline:.2f} | "
                  f"{baseline / engine:.1f}x | {bound:.2f} | {engine / bound:.2f} |", flush=True)


if __name__ == "__main__":
    main()
