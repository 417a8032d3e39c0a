"""Nonlinear integrate-and-fire neurons (``docs/semantics.md#qif``, ``#eif``): QIF and EIF."""

from collections.abc import Callable

import torch

from snnrs import surrogate
from snnrs.neuron.base import BaseNode, finite, time_constant

__all__ = ["QIFNode", "EIFNode"]


class QIFNode(BaseNode, engine_neuron="qif"):
    """Quadratic integrate-and-fire: ``H = V + (X + a0·(V - v_rest)·(V - v_c)) / tau``. Fused engine kernel."""

    def __init__(self, tau: float = 2.0, v_c: float = 0.8, a0: float = 1.0, v_threshold: float = 1.0,
                 v_rest: float = 0.0, v_reset: float | None = -0.1,
                 surrogate_function: Callable = surrogate.Sigmoid(), detach_reset: bool = False,
                 step_mode: str = "s", store_v_seq: bool = False, backend: str = "engine"):
        super().__init__(v_threshold, v_reset, surrogate_function, detach_reset, step_mode, store_v_seq, backend)
        self.tau, self.v_c, self.a0 = time_constant("tau", tau), finite("v_c", v_c), finite("a0", a0)
        self.v_rest = finite("v_rest", v_rest)

    def _charge_config(self):
        return [self.tau, self.v_c, self.a0, self.v_rest], True

    def neuronal_charge(self, x):
        v = self.v
        self.v = v + (x + self.a0 * (v - self.v_rest) * (v - self.v_c)) / self.tau


class EIFNode(BaseNode, engine_neuron="eif"):
    """Exponential integrate-and-fire: ``H = V + (X + v_rest - V + delta_T·exp((V - theta_rh)/delta_T)) / tau``.
    Fused engine kernel."""

    def __init__(self, tau: float = 2.0, delta_T: float = 1.0, theta_rh: float = 0.8, v_threshold: float = 1.0,
                 v_rest: float = 0.0, v_reset: float | None = -0.1,
                 surrogate_function: Callable = surrogate.Sigmoid(), detach_reset: bool = False,
                 step_mode: str = "s", store_v_seq: bool = False, backend: str = "engine"):
        super().__init__(v_threshold, v_reset, surrogate_function, detach_reset, step_mode, store_v_seq, backend)
        self.tau, self.theta_rh = time_constant("tau", tau), finite("theta_rh", theta_rh)
        self.delta_T = time_constant("delta_T", delta_T, above=0.0)
        self.v_rest = finite("v_rest", v_rest)

    def _charge_config(self):
        return [self.tau, self.delta_T, self.theta_rh, self.v_rest], True

    def neuronal_charge(self, x):
        v = self.v
        self.v = v + (x + self.v_rest - v + self.delta_T * torch.exp((v - self.theta_rh) / self.delta_T)) / self.tau
