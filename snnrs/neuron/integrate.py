"""The integrate-and-fire neuron (``docs/semantics.md#if``)."""

from snnrs.neuron.base import BaseNode

__all__ = ["IFNode"]


class IFNode(BaseNode, engine_neuron="if"):
    """Integrate-and-fire: ``H = V + X``."""

    def neuronal_charge(self, x):
        self.v = self.v + x
