"""The base of neurons with an adaptation current ``w`` (SpikingJelly's ``AdaptBaseNode``;
``docs/semantics.md#izhikevich``): memory ``w`` (from ``w_rest``) relaxes towards ``a·(V - v_rest)``
with time constant ``tau_w``; a subclass adds its charge and the spike increment ``b·S``."""

from collections.abc import Callable

import torch

from snnrs import surrogate
from snnrs.neuron.base import BaseNode, finite, state_like, time_constant

__all__ = ["AdaptBaseNode"]


class AdaptBaseNode(BaseNode):
    """Subclasses write ``single_step_functional_forward(inputs, states)`` with ``states = (v, w)`` (as
    SpikingJelly 2.0 asks), or ``neuronal_charge`` calling :meth:`neuronal_adaptation`."""

    def __init__(self, v_threshold: float = 1.0, v_reset: float | None = 0.0, v_rest: float = 0.0,
                 w_rest: float = 0.0, tau_w: float = 2.0, a: float = 0.0, b: float = 0.0,
                 surrogate_function: Callable = surrogate.Sigmoid(), detach_reset: bool = False,
                 step_mode: str = "s", store_v_seq: bool = False, backend: str = "engine"):
        super().__init__(v_threshold, v_reset, surrogate_function, detach_reset, step_mode, store_v_seq, backend)
        self.v_rest, self.w_rest = finite("v_rest", v_rest), finite("w_rest", w_rest)
        self.tau_w = time_constant("tau_w", tau_w, above=0.0)
        self.a, self.b = finite("a", a), finite("b", b)
        self.register_memory("w", self.w_rest)

    @staticmethod
    def jit_neuronal_adaptation(w: torch.Tensor, tau_w: float, a: float, v_rest: float, v: torch.Tensor):
        """``w + (a·(V - v_rest) - w)/tau_w``."""
        return w + 1.0 / tau_w * (a * (v - v_rest) - w)

    def neuronal_adaptation(self):
        self.w = self.jit_neuronal_adaptation(self.w, self.tau_w, self.a, self.v_rest, self.v)

    def materialize_states(self, inputs, states, step_mode):
        states = super().materialize_states(inputs, states, step_mode)
        return (*states[:-1], state_like(states[-1], states[0], self.w_rest))

    def extra_repr(self):
        return (super().extra_repr() + f", v_rest={self.v_rest}, w_rest={self.w_rest}, tau_w={self.tau_w}, "
                f"a={self.a}, b={self.b}")
