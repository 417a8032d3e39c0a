"""Kept for imports written before :mod:`snnrs.neuron` became a package: QIF, EIF, Izhikevich,
KLIF, LIAF and CUBA-LIF now live in its modules and are all reachable as ``snnrs.neuron.X``."""

from snnrs.neuron import CUBALIFNode, EIFNode, IzhikevichNode, KLIFNode, LIAFNode, QIFNode

__all__ = ["QIFNode", "EIFNode", "IzhikevichNode", "KLIFNode", "LIAFNode", "CUBALIFNode"]
