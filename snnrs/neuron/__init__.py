"""Spiking neurons, with SpikingJelly's names, arguments and defaults
(``activation_based.neuron``); semantics in ``docs/semantics.md#neurons``.

- :mod:`~snnrs.neuron.base` — :class:`BaseNode` (charge, fire, reset; backends; checks);
- :mod:`~snnrs.neuron.integrate` — IF;
- :mod:`~snnrs.neuron.lif` — the LIF family (LIF, ParametricLIF, KLIF, LIAF), one charge function;
- :mod:`~snnrs.neuron.nonlinear` — QIF, EIF;
- :mod:`~snnrs.neuron.izhikevich` — Izhikevich (two states);
- :mod:`~snnrs.neuron.cuba` — current-based LIF;
- :mod:`~snnrs.neuron.psn` — the parallel spiking neurons (PSN, masked, sliding);
- :mod:`~snnrs.neuron.nonspiking` — readout neurons that integrate without firing (NonSpiking*);
- :mod:`~snnrs.neuron.simple` — SpikingJelly 2.0's minimal base for custom neurons (SimpleBaseNode).
"""

from snnrs.neuron.base import BACKENDS, GPU_BACKENDS, BaseNode
from snnrs.neuron.cuba import CUBALIFNode
from snnrs.neuron.integrate import IFNode
from snnrs.neuron.izhikevich import IzhikevichNode
from snnrs.neuron.lif import KLIFNode, LIAFNode, LIFNode, ParametricLIFNode
from snnrs.neuron.nonlinear import EIFNode, QIFNode
from snnrs.neuron.nonspiking import NonSpikingBaseNode, NonSpikingIFNode, NonSpikingLIFNode
from snnrs.neuron.psn import PSN, MaskedPSN, SlidingPSN
from snnrs.neuron.simple import SimpleBaseNode, SimpleIFNode, SimpleLIFNode

__all__ = ["BaseNode", "IFNode", "LIFNode", "ParametricLIFNode", "QIFNode", "EIFNode", "IzhikevichNode",
           "KLIFNode", "LIAFNode", "CUBALIFNode", "PSN", "MaskedPSN", "SlidingPSN", "BACKENDS", "GPU_BACKENDS",
           "SimpleBaseNode", "SimpleIFNode", "SimpleLIFNode", "NonSpikingBaseNode", "NonSpikingIFNode",
           "NonSpikingLIFNode"]
