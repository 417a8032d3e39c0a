"""Run exported NIR graphs without torch: NumPy for the synapses, the CPU engine or the WGSL
shaders for the neurons, state kept across calls (streaming)."""

from snnrs.runtime.conventions import DiscreteNeuron, discrete_neuron, inclusive_threshold, strict_threshold
from snnrs.runtime.plan import Plan, graph_dt, load_graph, plan
from snnrs.runtime.runner import Runtime, load

__all__ = ["Runtime", "load", "Plan", "plan", "load_graph", "graph_dt", "DiscreteNeuron", "discrete_neuron",
           "inclusive_threshold", "strict_threshold"]
