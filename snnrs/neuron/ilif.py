"""The integer LIF neuron (I-LIF, Luo et al., ECCV 2024; ``docs/semantics.md#more-neurons``): trains with
integer spike counts per step, which inference unfolds into binary spikes. Not fused in the engine."""

from collections.abc import Callable

from snnrs import surrogate
from snnrs.neuron.lif import LIFNode
from snnrs.neuron.steps import ilif_step

__all__ = ["ILIFNode"]


class ILIFNode(LIFNode):
    """``H = V - V/tau + X``; count ``C = round(clamp(H/V_th, 0, D))`` (D = ``max_spike_count`` of the
    :class:`~snnrs.surrogate.MultiLevelSpikeCount`); ``V = H - C·V_th``."""

    def __init__(self, tau: float = 4.0 / 3.0, v_threshold: float = 1.0,
                 surrogate_function: Callable = surrogate.MultiLevelSpikeCount(4), detach_reset: bool = False,
                 step_mode: str = "s", store_v_seq: bool = False, backend: str = "engine"):
        if not isinstance(surrogate_function, surrogate.MultiLevelSpikeCount) or not surrogate_function.spiking:
            raise ValueError("surrogate_function: expected a spiking surrogate.MultiLevelSpikeCount (I-LIF emits "
                             f"spike counts), got {surrogate_function!r}")
        super().__init__(tau, False, v_threshold, None, surrogate_function, detach_reset, step_mode, store_v_seq,
                         backend)

    def single_step_functional_forward(self, inputs, states, **kwargs):
        count, v = ilif_step(inputs[0], states[0], self.tau, self.v_threshold, self.surrogate_function,
                             self.detach_reset)
        return (count,), (v, *states[1:])
