"""snnrs: spiking neural networks with fused Rust kernels and a NumPy reference.

Modules follow SpikingJelly's names: :mod:`snnrs.neuron`, :mod:`snnrs.surrogate`,
:mod:`snnrs.functional`. Importing snnrs registers the ``torch.ops.snnrs`` custom ops.
"""

from snnrs import _ops, base, encoding, functional, layer, monitor, neuron, surrogate  # noqa: F401  (_ops registers the custom ops)

__version__ = "0.1.0"
__all__ = ["base", "encoding", "functional", "layer", "monitor", "neuron", "surrogate"]
