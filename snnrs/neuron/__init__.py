"""Spiking neurons, with SpikingJelly's names, arguments and defaults
(``activation_based.neuron``); semantics in ``docs/semantics.md#neurons``.

- :mod:`~snnrs.neuron.base` — :class:`BaseNode` (charge, fire, reset; backends; checks);
- :mod:`~snnrs.neuron.integrate` — IF, and its conversion variants (half-threshold start, activation-aware);
- :mod:`~snnrs.neuron.few_spike`, :mod:`~snnrs.neuron.spikezip` — conversion neurons (few-spikes, STBIF);
- :mod:`~snnrs.neuron.lif` — the LIF family (LIF, ParametricLIF, KLIF, LIAF), one charge function;
- :mod:`~snnrs.neuron.nonlinear` — QIF, EIF;
- :mod:`~snnrs.neuron.adapt`, :mod:`~snnrs.neuron.izhikevich` — the adaptation-current base, Izhikevich;
- :mod:`~snnrs.neuron.cuba` — current-based LIF;
- :mod:`~snnrs.neuron.psn` — the parallel spiking neurons (PSN, masked, sliding);
- :mod:`~snnrs.neuron.nonspiking` — readout neurons that integrate without firing (NonSpiking*);
- :mod:`~snnrs.neuron.simple` — SpikingJelly 2.0's minimal base for custom neurons (SimpleBaseNode);
- :mod:`~snnrs.neuron.online` — LIF for online training through time (OTTT, SLTT);
- :mod:`~snnrs.neuron.resonate` — resonate-and-fire (two states, fused in the engine);
- :mod:`~snnrs.neuron.ternary`, :mod:`~snnrs.neuron.ilif`, :mod:`~snnrs.neuron.complementary`,
  :mod:`~snnrs.neuron.gated` — published neurons written as one step function each
  (:mod:`~snnrs.neuron.steps`): ternary IF/LIF, I-LIF, CLIF, GLIF;
- :mod:`~snnrs.neuron.dsr` — differentiation on spike representation (DSR IF/LIF);
- :mod:`~snnrs.neuron.mpbn` — membrane-potential batch normalisation (MPBN-LIF);
- :mod:`~snnrs.neuron.population` — actor-network neurons for reinforcement learning (ILC, Noisy*);
- :mod:`~snnrs.neuron.stateless` — SpikingJelly 2.0's stateless step functions of the fused neurons.
"""

from snnrs.neuron.adapt import AdaptBaseNode
from snnrs.neuron.base import BACKENDS, GPU_BACKENDS, BaseNode
from snnrs.neuron.complementary import ComplementaryLIFNode
from snnrs.neuron.cuba import CUBALIFNode
from snnrs.neuron.dsr import DSRIFNode, DSRLIFNode
from snnrs.neuron.few_spike import FewSpikeNode, FewSpikeTable, HGNode, OutlierAwareThresholdNode
from snnrs.neuron.gated import GatedLIFNode
from snnrs.neuron.ilif import ILIFNode
from snnrs.neuron.integrate import ActivationAwareIFNode, HalfThresholdIFNode, IFNode
from snnrs.neuron.izhikevich import IzhikevichNode
from snnrs.neuron.lif import KLIFNode, LIAFNode, LIFNode, ParametricLIFNode
from snnrs.neuron.mpbn import MPBNBaseNode, MPBNLIFNode
from snnrs.neuron.nonlinear import EIFNode, QIFNode
from snnrs.neuron.nonspiking import NonSpikingBaseNode, NonSpikingIFNode, NonSpikingLIFNode
from snnrs.neuron.online import OTTTLIFNode, SLTTLIFNode
from snnrs.neuron.population import (
    ILCBaseNode,
    ILCCUBALIFNode,
    ILCIFNode,
    ILCLIFNode,
    NoisyBaseNode,
    NoisyCUBALIFNode,
    NoisyILCBaseNode,
    NoisyILCCUBALIFNode,
    NoisyNonSpikingBaseNode,
    NoisyNonSpikingIFNode,
    powerlaw_psd_gaussian,
)
from snnrs.neuron.psn import PSN, MaskedPSN, SlidingPSN
from snnrs.neuron.resonate import RAFNode
from snnrs.neuron.simple import SimpleBaseNode, SimpleIFNode, SimpleLIFNode
from snnrs.neuron.spikezip import STBIFNode
from snnrs.neuron.ternary import TernaryIFNode, TernaryLIFNode

__all__ = ["BaseNode", "IFNode", "LIFNode", "ParametricLIFNode", "QIFNode", "EIFNode", "IzhikevichNode",
           "KLIFNode", "LIAFNode", "CUBALIFNode", "PSN", "MaskedPSN", "SlidingPSN", "BACKENDS", "GPU_BACKENDS",
           "SimpleBaseNode", "SimpleIFNode", "SimpleLIFNode", "NonSpikingBaseNode", "NonSpikingIFNode",
           "NonSpikingLIFNode", "OTTTLIFNode", "SLTTLIFNode",
           "TernaryIFNode", "TernaryLIFNode", "ILIFNode", "RAFNode", "ComplementaryLIFNode", "GatedLIFNode",
           "AdaptBaseNode", "HalfThresholdIFNode", "DSRIFNode", "DSRLIFNode",
           "powerlaw_psd_gaussian", "ILCBaseNode", "ILCIFNode", "ILCLIFNode", "ILCCUBALIFNode", "NoisyBaseNode",
           "NoisyCUBALIFNode", "NoisyILCBaseNode", "NoisyILCCUBALIFNode", "NoisyNonSpikingBaseNode",
           "NoisyNonSpikingIFNode", "MPBNBaseNode", "MPBNLIFNode",
           "FewSpikeTable", "FewSpikeNode", "OutlierAwareThresholdNode", "HGNode", "STBIFNode", "ActivationAwareIFNode"]
