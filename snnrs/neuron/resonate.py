"""The resonate-and-fire neuron (Izhikevich 2001; ``docs/semantics.md#more-neurons``): a damped oscillator
whose imaginary part is the membrane voltage. Fused engine kernel with both states
(``snnrs::resonate_forward``); the torch loop is :func:`snnrs.neuron.steps.raf_charge` then fire and reset."""

import math
from collections.abc import Callable

import torch

from snnrs import ops, surrogate
from snnrs.neuron.base import BaseNode, state_like
from snnrs.neuron.steps import raf_charge
from snnrs.ops.config import TwoStateConfig

__all__ = ["RAFNode"]


class RAFNode(BaseNode, engine_neuron="resonate"):
    """States ``V`` and ``u`` (memory ``u``, from 0): ``H = e^{b·dt}(u·sin ωdt + V·cos ωdt)``,
    ``u ← e^{b·dt}(u·cos ωdt - V·sin ωdt) + X``, then fire on H and reset V.
    ``b < 0`` is the damping, ``omega > 0`` the angular frequency, ``dt > 0`` the step."""

    def __init__(self, b: float = -0.2, omega: float = 1.0, dt: float = 1.0, v_threshold: float = 1.0,
                 v_reset: float | None = 0.0, surrogate_function: Callable = surrogate.Sigmoid(),
                 detach_reset: bool = False, step_mode: str = "s", store_v_seq: bool = False,
                 backend: str = "engine"):
        for name, value, ok in (("b", b, b < 0), ("omega", omega, omega > 0), ("dt", dt, dt > 0)):
            if not (math.isfinite(value) and ok):
                raise ValueError(f"{name}: expected a finite value {'< 0' if name == 'b' else '> 0'}, got {value}")
        super().__init__(v_threshold, v_reset, surrogate_function, detach_reset, step_mode, store_v_seq, backend)
        self.register_memory("u", 0.0)
        self.b, self.omega, self.dt = float(b), float(omega), float(dt)

    def extra_repr(self):
        return super().extra_repr() + f", b={self.b}, omega={self.omega}, dt={self.dt}"

    def _kernel_config(self) -> TwoStateConfig:
        name, sg_params = self.surrogate_function.engine_spec()
        return TwoStateConfig(self.v_threshold, self.v_reset, [self.b, self.omega, self.dt], self.detach_reset, name,
                              sg_params)

    def _engine_steps(self, x_seq):
        v_init = self._carried_v(x_seq[0])
        u = self.u
        u_init = u.to(x_seq) if isinstance(u, torch.Tensor) and u.shape == x_seq.shape[1:] else None
        save = torch.is_grad_enabled() and any(t is not None and t.requires_grad for t in (x_seq, v_init, u_init))
        spikes, self.v, self.u, _, _, v_seq = ops.resonate(x_seq, v_init, u_init, self._kernel_config(),
                                                           self.store_v_seq, save)
        if self.store_v_seq:
            self.v_seq = v_seq
        return spikes

    def neuronal_charge(self, x):
        self.v, self.u = raf_charge(x, state_like(self.u, x, 0.0), self.v, self.b, self.omega, self.dt)
