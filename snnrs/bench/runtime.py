"""Frames per second of a NIR graph in the torch-free runtime: CPU (NumPy + engine) vs the whole graph
on the WebGPU device, in one run, with their outputs compared.

    python benchmarks/runtime.py [--graph cnn_sinabs.nir] [--dt 1] [--steps 300] [--batch 8] [--repeats 3]

The default graph is the NIR paper's N-MNIST CNN (the Sinabs export, read with its own dt = 1) when
``SNNRS_SAMPLE_DATA`` points at the sample data; otherwise a graph of the same layout (3 convolutions,
2 sum pools, 2 linear layers, IF neurons; 34x34x2 input) with random weights. The frames are 1 ms bins
of the real N-MNIST recording repeated over the batch when it is there, else random spikes at its
density. A call uploads the frames, runs every node and downloads the output; frames/s counts
time steps x samples. On lavapipe (a software Vulkan device) the GPU column measures the shaders'
CPU emulation, not a GPU.
"""

import argparse
import os
from pathlib import Path

import numpy as np

from snnrs.bench.timing import median_seconds

INPUT = (2, 34, 34)


def sample_graph() -> Path | None:
    root = os.environ.get("SNNRS_SAMPLE_DATA")
    path = Path(root) / "nir" / "cnn_sinabs.nir" if root else None
    return path if path is not None and path.is_file() else None


def paper_layout_graph(seed: int = 0):
    """A NIR graph with the NIR paper's N-MNIST CNN layout and random weights (IF neurons, dt = 1)."""
    import nir
    rng = np.random.default_rng(seed)

    def conv(c_in, c_out, k, stride):
        w = rng.normal(0, 1.0 / np.sqrt(k * k * c_in), (c_out, c_in, k, k)).astype(np.float32)
        return nir.Conv2d(None, w, stride, 1, 1, 1, np.zeros(c_out, np.float32))

    def neuron(shape):
        return nir.IF(r=np.ones(shape, np.float32), v_threshold=np.full(shape, 0.5, np.float32),
                      v_reset=np.zeros(shape, np.float32))

    def pool():
        return nir.SumPool2d(np.array([2, 2]), np.array([2, 2]), np.array([0, 0]))

    def dense(n_in, n_out):
        return nir.Affine(rng.normal(0, 1.0 / np.sqrt(n_in), (n_out, n_in)).astype(np.float32),
                          np.zeros(n_out, np.float32))

    nodes = {"input": nir.Input(np.array(INPUT)), "conv0": conv(2, 16, 5, 2), "if0": neuron((16, 16, 16)),
             "conv1": conv(16, 16, 3, 1), "if1": neuron((16, 16, 16)), "pool1": pool(),
             "conv2": conv(16, 8, 3, 1), "if2": neuron((8, 8, 8)), "pool2": pool(),
             "flatten": nir.Flatten(np.array([8, 4, 4]), 0, -1), "fc0": dense(128, 256), "if3": neuron((256,)),
             "fc1": dense(256, 10), "if4": neuron((10,)), "output": nir.Output(np.array([10]))}
    names = list(nodes)
    return nir.NIRGraph(nodes=nodes, edges=list(zip(names, names[1:])))


def frames(steps: int, batch: int, seed: int = 0) -> tuple[np.ndarray, str]:
    root = os.environ.get("SNNRS_SAMPLE_DATA")
    recording = Path(root) / "events" / "sample_nmnist.bin" if root else None
    if recording is not None and recording.is_file():
        from snnrs.events import integrate_events_by_fixed_duration, read_events
        one = integrate_events_by_fixed_duration(read_events(recording), 1000, 34, 34)[:steps].astype(np.float32)
        one = np.concatenate([one, np.zeros((steps - len(one), *INPUT), np.float32)]) if len(one) < steps else one
        return np.repeat(one[:, None], batch, axis=1), "the real N-MNIST recording (1 ms frames)"
    x = (np.random.default_rng(seed).random((steps, batch, *INPUT)) < 0.01).astype(np.float32)
    return x, "random spikes (1% of pixels per step)"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--graph", type=Path, default=None, help="a NIR file (default: the NIR paper's CNN)")
    parser.add_argument("--dt", type=float, default=None, help="the graph's dt (default: 1 for the paper's CNN)")
    parser.add_argument("--steps", type=int, default=300)
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="100 steps, batch 2, one repeat")
    args = parser.parse_args(argv)
    if args.quick:
        args.steps, args.batch, args.repeats = 100, 2, 1
    from snnrs import gpu, runtime
    graph = args.graph or sample_graph()
    described = str(graph) if graph is not None else "the NIR paper's CNN layout, random weights"
    if graph is None:
        graph = paper_layout_graph()
    dt = args.dt if args.dt is not None else (1.0 if args.graph is None else None)
    x, source = frames(args.steps, args.batch)
    n_frames = args.steps * args.batch
    cpu = runtime.Runtime(graph, dt=dt)
    rows = []

    def timed(rt):
        def once():
            rt.reset()
            return rt.run(x)
        return median_seconds(once, args.repeats), once()

    cpu_s, cpu_out = timed(cpu)
    rows.append(("CPU (NumPy + engine)", cpu_s, "—"))
    device = "no WebGPU adapter"
    if gpu.available():
        device = gpu.gpu().name
        gpu_s, gpu_out = timed(runtime.Runtime(graph, dt=dt, device="wgpu"))
        same = "equal" if np.array_equal(gpu_out, cpu_out) else \
            f"{int((gpu_out != cpu_out).sum())} of {gpu_out.size} outputs differ"
        rows.append((f"wgpu ({device})", gpu_s, same))
    print(f"graph: {described}; input: {source}; T = {args.steps}, batch {args.batch}; median of {args.repeats}\n")
    print("| runtime | frames/s | vs CPU | output vs CPU |")
    print("|---|---|---|---|")
    for name, seconds, same in rows:
        print(f"| {name} | {n_frames / seconds:,.0f} | {cpu_s / seconds:.2f}x | {same} |", flush=True)
    return rows


if __name__ == "__main__":
    main()
