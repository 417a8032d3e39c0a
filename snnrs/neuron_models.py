"""More neurons (SPEC §1), re-exported by :mod:`snnrs.neuron`: QIF, EIF, Izhikevich, KLIF, LIAF, CUBA-LIF.

Each has a fused engine path (KLIF with ``scale_reset=True`` excepted) and runs on the torch
backend (a loop over time with autograd); the reference is ``reference/neuron_models.py``.
Arguments and defaults follow SpikingJelly.
"""

from typing import Callable, Optional

import torch
from torch import nn

from snnrs import _ops_izhikevich, functional, surrogate
from snnrs.neuron import BaseNode, _finite


class QIFNode(BaseNode):
    """Quadratic integrate-and-fire: ``H = V + (X + a0·(V - v_rest)·(V - v_c)) / tau``. Fused engine kernel."""

    _engine_neuron = "qif"

    def __init__(self, tau: float = 2.0, v_c: float = 0.8, a0: float = 1.0, v_threshold: float = 1.0,
                 v_rest: float = 0.0, v_reset: Optional[float] = -0.1,
                 surrogate_function: Callable = surrogate.Sigmoid(), detach_reset: bool = False,
                 step_mode: str = "s", backend: str = "engine", store_v_seq: bool = False):
        super().__init__(v_threshold, v_reset, surrogate_function, detach_reset, step_mode, backend, store_v_seq)
        self.tau, self.v_c, self.a0 = _finite("tau", tau), _finite("v_c", v_c), _finite("a0", a0)
        self.v_rest = _finite("v_rest", v_rest)
        if self.tau <= 1:
            raise ValueError(f"tau: expected tau > 1, got {tau}")

    def _charge_config(self):
        return [self.tau, self.v_c, self.a0, self.v_rest], True

    def neuronal_charge(self, x):
        v = self.v
        self.v = v + (x + self.a0 * (v - self.v_rest) * (v - self.v_c)) / self.tau


class EIFNode(BaseNode):
    """Exponential integrate-and-fire: ``H = V + (X + v_rest - V + delta_T·exp((V - theta_rh)/delta_T)) / tau``.
    Fused engine kernel."""

    _engine_neuron = "eif"

    def __init__(self, tau: float = 2.0, delta_T: float = 1.0, theta_rh: float = 0.8, v_threshold: float = 1.0,
                 v_rest: float = 0.0, v_reset: Optional[float] = -0.1,
                 surrogate_function: Callable = surrogate.Sigmoid(), detach_reset: bool = False,
                 step_mode: str = "s", backend: str = "engine", store_v_seq: bool = False):
        super().__init__(v_threshold, v_reset, surrogate_function, detach_reset, step_mode, backend, store_v_seq)
        self.tau, self.delta_T, self.theta_rh = _finite("tau", tau), _finite("delta_T", delta_T), _finite(
            "theta_rh", theta_rh)
        self.v_rest = _finite("v_rest", v_rest)
        if self.tau <= 1 or self.delta_T <= 0:
            raise ValueError(f"tau, delta_T: expected tau > 1 and delta_T > 0, got {tau}, {delta_T}")

    def _charge_config(self):
        return [self.tau, self.delta_T, self.theta_rh, self.v_rest], True

    def neuronal_charge(self, x):
        v = self.v
        self.v = v + (x + self.v_rest - v + self.delta_T * torch.exp((v - self.theta_rh) / self.delta_T)) / self.tau


class IzhikevichNode(BaseNode):
    """Izhikevich neuron with recovery variable ``w`` (memory, initially ``w_rest``):
    ``H = V + (X + a0·(V - v_rest)·(V - v_c) - w)/tau``; ``w += (a·(H - v_rest) - w)/tau_w``;
    after the reset ``w += b·S``. Fused engine kernel with both states (``snnrs::izhikevich_forward``)."""

    _engine_neuron = "izhikevich"

    def __init__(self, tau: float = 2.0, v_c: float = 0.8, a0: float = 1.0, v_threshold: float = 1.0,
                 v_reset: Optional[float] = 0.0, v_rest: float = -0.1, w_rest: float = 0.0, tau_w: float = 2.0,
                 a: float = 0.0, b: float = 0.0, surrogate_function: Callable = surrogate.Sigmoid(),
                 detach_reset: bool = False, step_mode: str = "s", backend: str = "engine",
                 store_v_seq: bool = False):
        super().__init__(v_threshold, v_reset, surrogate_function, detach_reset, step_mode, backend, store_v_seq)
        self.tau, self.v_c, self.a0 = _finite("tau", tau), _finite("v_c", v_c), _finite("a0", a0)
        self.v_rest = _finite("v_rest", v_rest)
        self.w_rest, self.tau_w, self.a, self.b = (_finite("w_rest", w_rest), _finite("tau_w", tau_w),
                                                   _finite("a", a), _finite("b", b))
        if self.tau <= 0 or self.tau_w <= 0:
            raise ValueError(f"tau, tau_w: expected positive time constants, got {tau}, {tau_w}")
        self.register_memory("w", self.w_rest)

    def _engine_steps(self, x_seq):
        name, sg_params = self.surrogate_function.engine_spec()
        v_init = self._carried_v(x_seq[0])
        w = self.w
        w_init = (w.to(x_seq) if isinstance(w, torch.Tensor) and w.shape == x_seq.shape[1:] else None)
        save = torch.is_grad_enabled() and any(t is not None and t.requires_grad for t in (x_seq, v_init, w_init))
        params = [self.tau, self.v_c, self.a0, self.v_rest, self.w_rest, self.tau_w, self.a, self.b]
        spikes, self.v, self.w, _, _, v_seq = _ops_izhikevich.izhikevich(
            x_seq, v_init, w_init, self.v_threshold, self.v_reset, params, self.detach_reset, name, sg_params,
            self.store_v_seq, save)
        if self.store_v_seq:
            self.v_seq = v_seq
        return spikes

    def _torch_step(self, x):
        if not isinstance(self.w, torch.Tensor) or self.w.shape != x.shape:
            self.w = torch.full_like(x, self.w_rest)
        spike = super()._torch_step(x)
        self.w = self.w + self.b * spike
        return spike

    def neuronal_charge(self, x):
        v = self.v
        self.v = v + (x + self.a0 * (v - self.v_rest) * (v - self.v_c) - self.w) / self.tau
        self.w = self.w + (self.a * (self.v - self.v_rest) - self.w) / self.tau_w


class KLIFNode(BaseNode):
    """KLIF: the LIF charge, then ``F = relu(k·H)`` with a learnable scalar ``k`` (init 1); fires on F.
    ``scale_reset=True`` divides the reset result by k (hard: ``(F/k)(1 - S) + v_reset·S``).

    The engine fuses it (neuron ``'klif'``: F is the charge the kernel fires on, k's gradient is
    summed in the kernel); ``scale_reset=True`` runs the torch loop, its reset depending on k."""

    _engine_neuron = "klif"

    def __init__(self, scale_reset: bool = False, tau: float = 2.0, decay_input: bool = True,
                 v_threshold: float = 1.0, v_reset: Optional[float] = 0.0,
                 surrogate_function: Callable = surrogate.Sigmoid(), detach_reset: bool = False,
                 step_mode: str = "s", backend: str = "engine", store_v_seq: bool = False):
        super().__init__(v_threshold, v_reset, surrogate_function, detach_reset, step_mode, backend, store_v_seq)
        self.scale_reset = bool(scale_reset)
        self.tau = _finite("tau", tau)
        if self.tau <= 1:
            raise ValueError(f"tau: expected tau > 1, got {tau}")
        self.decay_input = bool(decay_input)
        self.k = nn.Parameter(torch.tensor(1.0))

    def engine_supports(self, x):
        return not self.scale_reset and super().engine_supports(x)

    def _decay_weight(self):
        return self.k

    def _charge_config(self):
        return [self.tau], self.decay_input

    def neuronal_charge(self, x):
        v, vr = self.v, self.vr
        h = v + (x - (v - vr)) / self.tau if self.decay_input else v - (v - vr) / self.tau + x
        self.v = torch.relu(self.k * h)

    def neuronal_reset(self, spike):
        if not self.scale_reset:
            return super().neuronal_reset(spike)
        s = spike.detach() if self.detach_reset else spike
        if self.v_reset is None:
            self.v = (self.v - self.v_threshold * s) / self.k
        else:
            self.v = self.v / self.k * (1.0 - s) + self.v_reset * s


class LIAFNode(BaseNode):
    """Leaky integrate-and-analog-fire: LIF dynamics (spikes reset V), analog output
    ``act(H - V_th)`` (``threshold_related=True``) or ``act(H)``, after charge and before reset.
    The engine runs the LIF kernel and applies ``act`` to its H sequence (gradients flow back into H)."""

    _engine_neuron = "lif"

    def __init__(self, act: Callable, threshold_related: bool, tau: float = 2.0, decay_input: bool = True,
                 v_threshold: float = 1.0, v_reset: Optional[float] = 0.0,
                 surrogate_function: Callable = surrogate.Sigmoid(), detach_reset: bool = False,
                 step_mode: str = "s", backend: str = "engine", store_v_seq: bool = False):
        super().__init__(v_threshold, v_reset, surrogate_function, detach_reset, step_mode, backend, store_v_seq)
        if not callable(act):
            raise TypeError(f"act: expected a callable, got {type(act).__name__}")
        self.act = act
        self.threshold_related = bool(threshold_related)
        self.tau = _finite("tau", tau)
        if self.tau <= 1:
            raise ValueError(f"tau: expected tau > 1, got {tau}")
        self.decay_input = bool(decay_input)

    def neuronal_charge(self, x):
        v, vr = self.v, self.vr
        self.v = v + (x - (v - vr)) / self.tau if self.decay_input else v - (v - vr) / self.tau + x

    def _charge_config(self):
        return [self.tau], self.decay_input

    def _output(self, h):
        return self.act(h - self.v_threshold) if self.threshold_related else self.act(h)

    def _engine_steps(self, x_seq):
        return self._output(self._engine_run(x_seq, need_h=True)[1])

    def _torch_step(self, x):
        self.v = self._prepare_v(x)
        self.neuronal_charge(x)
        out = self._output(self.v)
        self.neuronal_reset(self.neuronal_fire())
        return out


class CUBALIFNode(BaseNode):
    """Current-based LIF: ``I ← I·c_decay + X`` (memory ``c``), ``H = V·v_decay + I``, then fire and reset.

    The current does not depend on spikes, so the engine path filters all T steps first
    (:func:`snnrs.functional.leaky_integrate`) and runs the membrane in the fused kernel
    (``neuron='cuba'``).
    """

    _engine_neuron = "cuba"

    def __init__(self, c_decay: float = 0.5, v_decay: float = 0.75, v_threshold: float = 0.5,
                 v_reset: Optional[float] = 0.0, surrogate_function: Callable = surrogate.Rect(),
                 detach_reset: bool = False, step_mode: str = "s", backend: str = "engine",
                 store_v_seq: bool = False):
        super().__init__(v_threshold, v_reset, surrogate_function, detach_reset, step_mode, backend, store_v_seq)
        self.c_decay, self.v_decay = _finite("c_decay", c_decay), _finite("v_decay", v_decay)
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


__all__ = ["QIFNode", "EIFNode", "IzhikevichNode", "KLIFNode", "LIAFNode", "CUBALIFNode"]
