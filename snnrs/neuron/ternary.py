"""Ternary spiking neurons (Guo et al., AAAI 2024; ``docs/semantics.md#more-neurons``): IF and LIF
charge, spikes in {-1, 0, +1}. Not fused in the engine (the torch loop runs them on every backend)."""

import math
from collections.abc import Callable

from snnrs import surrogate
from snnrs.neuron.base import BaseNode, time_constant
from snnrs.neuron.steps import ternary_if_step, ternary_lif_step

__all__ = ["TernaryIFNode", "TernaryLIFNode"]


def _check_ternary(v_threshold, v_reset):
    if not math.isfinite(v_threshold) or v_threshold <= 0:
        raise ValueError(f"v_threshold: expected a finite value > 0 (spikes fire at ±v_threshold), got {v_threshold}")
    if v_reset is not None and not -v_threshold < v_reset < v_threshold:
        raise ValueError(f"v_reset: expected a value strictly between -v_threshold and v_threshold, got {v_reset}")


class TernaryIFNode(BaseNode):
    """``H = V + X``; ``S = Θ(H - V_th) - Θ(-H - V_th)``; soft reset ``V = H - V_th·S`` or hard reset to
    ``v_reset`` after a spike of either sign."""

    def __init__(self, v_threshold: float = 1.0, v_reset: float | None = 0.0,
                 surrogate_function: Callable = surrogate.Sigmoid(), detach_reset: bool = False,
                 step_mode: str = "s", store_v_seq: bool = False, backend: str = "engine"):
        _check_ternary(v_threshold, v_reset)
        super().__init__(v_threshold, v_reset, surrogate_function, detach_reset, step_mode, store_v_seq, backend)

    def single_step_functional_forward(self, inputs, states, **kwargs):
        spike, v = ternary_if_step(inputs[0], states[0], self.v_threshold, self.v_reset, self.surrogate_function,
                                   self.detach_reset)
        return (spike,), (v, *states[1:])


class TernaryLIFNode(BaseNode):
    """LIF charge (``docs/semantics.md#lif``), then ternary firing as :class:`TernaryIFNode`."""

    def __init__(self, tau: float = 2.0, decay_input: bool = True, v_threshold: float = 1.0,
                 v_reset: float | None = 0.0, surrogate_function: Callable = surrogate.Sigmoid(),
                 detach_reset: bool = False, step_mode: str = "s", store_v_seq: bool = False,
                 backend: str = "engine"):
        _check_ternary(v_threshold, v_reset)
        super().__init__(v_threshold, v_reset, surrogate_function, detach_reset, step_mode, store_v_seq, backend)
        self.tau = time_constant("tau", tau)
        self.decay_input = bool(decay_input)

    def extra_repr(self):
        return super().extra_repr() + f", tau={self.tau}, decay_input={self.decay_input}"

    def single_step_functional_forward(self, inputs, states, **kwargs):
        spike, v = ternary_lif_step(inputs[0], states[0], self.tau, self.decay_input, self.v_threshold, self.v_reset,
                                    self.surrogate_function, self.detach_reset)
        return (spike,), (v, *states[1:])
