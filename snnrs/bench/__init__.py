"""The benchmarks behind the README's tables, runnable as ``snnrs bench NAME`` or
``python benchmarks/NAME.py``: each prints one table of measured ratios (median of repeats)."""

import importlib

BENCHMARKS = {
    "neuron": "multi-step LIF: engine vs torch backend, against the copy bandwidth",
    "neuron_models": "every neuron model, forward+backward: engine vs torch backend",
    "events": "event-file reading and frame integration: engine vs NumPy",
    "gpu": "WGSL kernels vs CPU engine (and torch on CUDA)",
    "cuda": "the Triton kernels on a CUDA GPU vs SpikingJelly 2.0, a torch loop and torch.compile",
    "runtime": "a NIR graph (the NIR paper's CNN) in the torch-free runtime: frames/s on CPU vs wgpu",
    "synapse": "spike-sparse convolution vs torch's dense one, by input density (the crossover)",
    "train_step": "training steps of SEW ResNet-18, VGG-11-BN, Spikformer: SpikingJelly vs torch vs fast path",
    "vs_spikingjelly": "snnrs vs SpikingJelly (if installed): same numbers, measured speed",
}


def run(name: str, argv=None):
    if name not in BENCHMARKS:
        raise ValueError(f"benchmark: expected one of {', '.join(BENCHMARKS)}, got {name!r}")
    return importlib.import_module(f"snnrs.bench.{name}").main(argv)


__all__ = ["BENCHMARKS", "run"]
