"""snnrs: spiking neural networks with fused Rust kernels and a NumPy reference.

Modules follow SpikingJelly's names: :mod:`snnrs.neuron`, :mod:`snnrs.surrogate`,
:mod:`snnrs.functional`. Submodules load on first use, so ``snnrs.runtime`` and
``snnrs.events`` run without importing torch; the ``torch.ops.snnrs`` custom ops are
registered as soon as any torch module of snnrs is imported (or at ``import snnrs`` when
torch is already loaded).
"""

import importlib
import sys

__version__ = "0.1.0"
__all__ = ["base", "encoding", "functional", "layer", "monitor", "neuron", "surrogate"]

_SUBMODULES = {"base", "encoding", "functional", "layer", "monitor", "neuron", "surrogate", "datasets", "energy",
               "events", "export", "gpu", "learning", "losses", "models", "pruning", "psn", "runtime", "training",
               "conversion", "visualizing", "stateful_layer", "neuron_models", "quantization"}


def __getattr__(name):
    if name in _SUBMODULES:
        return importlib.import_module(f"snnrs.{name}")
    raise AttributeError(f"module 'snnrs' has no attribute {name!r}")


if "torch" in sys.modules:
    from snnrs import ops  # noqa: F401  (registers torch.ops.snnrs)
