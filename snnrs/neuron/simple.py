"""SpikingJelly 2.0's minimal neuron base (``docs/semantics.md#simple-neurons``), the one it asks
custom neurons to build on: a subclass writes ``neuronal_charge(x)`` (set ``self.v``); firing and reset are those of
``docs/semantics.md#firing``. Always the torch loop (autograd does BPTT), so any charge rule works.

Its state starts as the float 0.0 whatever ``v_reset`` is (as SpikingJelly's does), and
multi-step mode runs the single step over ``[T, N, ...]``.
"""

from collections.abc import Callable

import torch

from snnrs import surrogate
from snnrs.base import MemoryModule
from snnrs.checks import time_constant
from snnrs.neuron.base import set_firing

__all__ = ["SimpleBaseNode", "SimpleIFNode", "SimpleLIFNode"]


class SimpleBaseNode(MemoryModule):
    """Charge (the subclass's ``neuronal_charge``), fire ``Θ(V - V_th)``, reset (hard to
    ``v_reset``, soft when it is None); ``v`` starts at 0.0."""

    def __init__(self, v_threshold: float = 1.0, v_reset: float | None = 0.0,
                 surrogate_function: Callable = surrogate.Sigmoid(), detach_reset: bool = False,
                 step_mode: str = "s"):
        super().__init__()
        set_firing(self, v_threshold, v_reset, surrogate_function, detach_reset, step_mode)
        self.register_memory("v", 0.0)

    def extra_repr(self):
        return (f"v_threshold={self.v_threshold}, v_reset={self.v_reset}, detach_reset={self.detach_reset}, "
                f"step_mode={self.step_mode}")

    def neuronal_charge(self, x: torch.Tensor) -> None:
        raise NotImplementedError(f"{type(self).__name__} must define neuronal_charge(x), setting self.v")

    def neuronal_fire(self) -> torch.Tensor:
        return self.surrogate_function(self.v - self.v_threshold)

    def neuronal_reset(self, spike: torch.Tensor) -> None:
        s = spike.detach() if self.detach_reset else spike
        if self.v_reset is None:
            self.v = self.v - self.v_threshold * s
        else:
            self.v = s * self.v_reset + (1.0 - s) * self.v

    def single_step_forward(self, x: torch.Tensor) -> torch.Tensor:
        self.neuronal_charge(x)
        spike = self.neuronal_fire()
        self.neuronal_reset(spike)
        return spike

    def multi_step_forward(self, x_seq: torch.Tensor) -> torch.Tensor:
        if not isinstance(x_seq, torch.Tensor) or x_seq.dim() < 1 or x_seq.shape[0] == 0:
            raise ValueError("x_seq: expected a [T, ...] tensor with T >= 1")
        return torch.stack([self.single_step_forward(x) for x in x_seq])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.step_mode == "m":
            return self.multi_step_forward(x)
        return self.single_step_forward(x)


class SimpleIFNode(SimpleBaseNode):
    """``H = V + X`` on :class:`SimpleBaseNode`."""

    def neuronal_charge(self, x: torch.Tensor):
        self.v = self.v + x


class SimpleLIFNode(SimpleBaseNode):
    """``H = V + (V_reset - V + X)/tau`` (decay_input) or ``H = V + (V_reset - V)/tau + X``, written
    as SpikingJelly's SimpleLIFNode writes it (so float rounding matches); needs a float ``v_reset``."""

    def __init__(self, tau: float, decay_input: bool, v_threshold: float = 1.0, v_reset: float = 0.0,
                 surrogate_function: Callable = surrogate.Sigmoid(), detach_reset: bool = False,
                 step_mode: str = "s"):
        if v_reset is None:
            raise ValueError("v_reset: SimpleLIFNode leaks towards v_reset and needs a number (use LIFNode "
                             "for soft reset)")
        super().__init__(v_threshold, v_reset, surrogate_function, detach_reset, step_mode)
        self.tau = time_constant("tau", tau)
        self.decay_input = bool(decay_input)

    def extra_repr(self):
        return super().extra_repr() + f", tau={self.tau}, decay_input={self.decay_input}"

    def neuronal_charge(self, x: torch.Tensor):
        if self.decay_input:
            self.v = self.v + (self.v_reset - self.v + x) / self.tau
        else:
            self.v = self.v + (self.v_reset - self.v) / self.tau + x
