"""The executable NumPy reference: it *defines* snnrs semantics (stated in docs/semantics.md).

Plain float64 NumPy, written to be read against the formulas: every engine
kernel and torch path is tested equal to these functions. No torch, no Rust.
"""

from reference import neuron, surrogate

__all__ = ["neuron", "surrogate"]
