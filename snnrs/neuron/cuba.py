"""The current-based LIF neuron (``docs/semantics.md#cuba-lif``)."""

from collections.abc import Callable

import torch

from snnrs import functional, surrogate
from snnrs.neuron.base import BaseNode, finite

__all__ = ["CUBALIFNode"]


class CUBALIFNode(BaseNode, engine_neuron="cuba"):
    """Current-based LIF: ``I ← I·c_decay + X`` (memory ``c``), ``H = V·v_decay + I``, then fire and reset.

    The current does not depend on spikes, so the engine path filters all T steps first
    (:func:`snnrs.functional.leaky_integrate`) and runs the membrane in the fused kernel
    (``neuron='cuba'``).
    """

    def __init__(self, c_decay: float = 0.5, v_decay: float = 0.75, v_threshold: float = 0.5,
                 v_reset: float | None = 0.0, surrogate_function: Callable = surrogate.Rect(),
                 detach_reset: bool = False, step_mode: str = "s", store_v_seq: bool = False,
                 backend: str = "engine"):
        super().__init__(v_threshold, v_reset, surrogate_function, detach_reset, step_mode, store_v_seq, backend)
        self.c_decay, self.v_decay = finite("c_decay", c_decay), finite("v_decay", v_decay)
        self.register_memory("c", 0.0)

    def _charge_config(self):
        return [self.v_decay], True

    def _current(self, x):
        c = self.c if isinstance(self.c, torch.Tensor) and self.c.shape == x.shape else torch.zeros_like(x)
        self.c = c * self.c_decay + x
        return self.c

    def _engine_steps(self, x_seq):
        carried = self.c if isinstance(self.c, torch.Tensor) and self.c.shape == x_seq.shape[1:] else None
        currents = functional.leaky_integrate(x_seq, self.c_decay, carried)
        self.c = currents[-1]
        return super()._engine_steps(currents)

    def neuronal_charge(self, x):
        self.v = self.v * self.v_decay + self._current(x)
