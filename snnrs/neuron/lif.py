"""The leaky integrate-and-fire family, sharing one charge function
(``docs/semantics.md#lif``): LIF, ParametricLIF, KLIF and LIAF."""

import math
from collections.abc import Callable

import torch
from torch import nn

from snnrs import surrogate
from snnrs.neuron.base import BACKENDS, BaseNode, time_constant

__all__ = ["LIFNode", "ParametricLIFNode", "KLIFNode", "LIAFNode", "lif_charge"]


def lif_charge(v, x, v_rest: float, decay_input: bool, tau=None, k=None):
    """The LIF charge: ``H = V + (X - (V - Vr))/tau`` (decay_input) or ``H = V - (V - Vr)/tau + X``.

    Pass ``tau`` to divide by it (LIF, KLIF, LIAF) or ``k = 1/tau`` to multiply by it
    (ParametricLIF's ``sigmoid(w)``), as the engine and ``reference/neuron.py`` do, so float64
    results agree to the last bit.
    """
    def leak(a):
        return a / tau if k is None else a * k

    if decay_input:
        return v + leak(x - (v - v_rest))
    return v - leak(v - v_rest) + x


class _LeakyNode(BaseNode, engine_neuron="lif"):
    """A neuron with LIF dynamics and a fixed ``tau`` (> 1)."""

    def _set_leak(self, tau, decay_input):
        self.tau = time_constant("tau", tau)
        self.decay_input = bool(decay_input)

    def extra_repr(self):
        return f"tau={self.tau}, decay_input={self.decay_input}, " + super().extra_repr()

    def _charge_config(self):
        return [self.tau], self.decay_input

    def neuronal_charge(self, x):
        self.v = lif_charge(self.v, x, self.vr, self.decay_input, tau=self.tau)


class LIFNode(_LeakyNode):
    """Leaky integrate-and-fire with membrane time constant ``tau`` (> 1).

    decay_input=True: ``H = V + (X - (V - Vr))/tau``; False: ``H = V - (V - Vr)/tau + X``.
    """

    def __init__(self, tau: float = 2.0, decay_input: bool = True, v_threshold: float = 1.0,
                 v_reset: float | None = 0.0, surrogate_function: Callable = surrogate.Sigmoid(),
                 detach_reset: bool = False, step_mode: str = "s", store_v_seq: bool = False,
                 backend: str = "engine"):
        super().__init__(v_threshold, v_reset, surrogate_function, detach_reset, step_mode, store_v_seq, backend)
        self._set_leak(tau, decay_input)


class ParametricLIFNode(BaseNode, engine_neuron="plif"):
    """LIF with a learnable time constant: ``1/tau = sigmoid(w)``, ``w`` initialised to ``-ln(init_tau - 1)``."""

    def __init__(self, init_tau: float = 2.0, decay_input: bool = True, v_threshold: float = 1.0,
                 v_reset: float | None = 0.0, surrogate_function: Callable = surrogate.Sigmoid(),
                 detach_reset: bool = False, step_mode: str = "s", store_v_seq: bool = False,
                 backend: str = "engine"):
        super().__init__(v_threshold, v_reset, surrogate_function, detach_reset, step_mode, store_v_seq, backend)
        init_tau = time_constant("init_tau", init_tau)
        self.decay_input = bool(decay_input)
        self.w = nn.Parameter(torch.as_tensor(-math.log(init_tau - 1.0)))

    def extra_repr(self):
        tau = 1.0 / self.w.detach().sigmoid().item()
        return f"tau={tau:.4f}, decay_input={self.decay_input}, " + super().extra_repr()

    def _decay_weight(self):
        return self.w

    def _charge_config(self):
        return [], self.decay_input  # the kernel takes k = sigmoid(w) from w itself

    def neuronal_charge(self, x):
        self.v = lif_charge(self.v, x, self.vr, self.decay_input, k=self.w.sigmoid())


class KLIFNode(_LeakyNode, engine_neuron="klif"):
    """KLIF: the LIF charge, then ``F = relu(k·H)`` with a learnable scalar ``k`` (init 1); fires on F.
    ``scale_reset=True`` divides the reset result by k (hard: ``(F/k)(1 - S) + v_reset·S``).

    The engine fuses it (neuron ``'klif'``: F is the charge the kernel fires on, k's gradient is
    summed in the kernel); ``scale_reset=True`` runs the torch loop, its reset depending on k."""

    def __init__(self, scale_reset: bool = False, tau: float = 2.0, decay_input: bool = True,
                 v_threshold: float = 1.0, v_reset: float | None = 0.0,
                 surrogate_function: Callable = surrogate.Sigmoid(), detach_reset: bool = False,
                 step_mode: str = "s", store_v_seq: bool = False, backend: str = "engine"):
        super().__init__(v_threshold, v_reset, surrogate_function, detach_reset, step_mode, store_v_seq, backend)
        self.scale_reset = bool(scale_reset)
        self._set_leak(tau, decay_input)
        self.k = nn.Parameter(torch.tensor(1.0))

    def engine_supports(self, x):
        return not self.scale_reset and super().engine_supports(x)

    def _decay_weight(self):
        return self.k

    def neuronal_charge(self, x):
        super().neuronal_charge(x)
        self.v = torch.relu(self.k * self.v)

    def neuronal_reset(self, spike):
        if not self.scale_reset:
            return super().neuronal_reset(spike)
        s = spike.detach() if self.detach_reset else spike
        if self.v_reset is None:
            self.v = (self.v - self.v_threshold * s) / self.k
        else:
            self.v = self.v / self.k * (1.0 - s) + self.v_reset * s


class LIAFNode(_LeakyNode):
    """Leaky integrate-and-analog-fire: LIF dynamics (spikes reset V), analog output
    ``act(H - V_th)`` (``threshold_related=True``) or ``act(H)``, after charge and before reset.
    The engine runs the LIF kernel and applies ``act`` to its H sequence (gradients flow back into H)."""

    supported_backends = BACKENDS  # the analog output needs H, which the GPU kernels do not hand back

    def __init__(self, act: Callable, threshold_related: bool, tau: float = 2.0, decay_input: bool = True,
                 v_threshold: float = 1.0, v_reset: float | None = 0.0,
                 surrogate_function: Callable = surrogate.Sigmoid(), detach_reset: bool = False,
                 step_mode: str = "s", store_v_seq: bool = False, backend: str = "engine"):
        super().__init__(v_threshold, v_reset, surrogate_function, detach_reset, step_mode, store_v_seq, backend)
        if not callable(act):
            raise TypeError(f"act: expected a callable, got {type(act).__name__}")
        self.act = act
        self.threshold_related = bool(threshold_related)
        self._set_leak(tau, decay_input)

    def _output(self, h):
        return self.act(h - self.v_threshold) if self.threshold_related else self.act(h)

    def _engine_steps(self, x_seq):
        return self._output(self._engine_run(x_seq, need_h=True)[1])

    def _torch_step(self, x):
        if self._functional_step:  # a subclass's own step decides the output
            return super()._torch_step(x)
        self.v = self._prepare_v(x)
        self.neuronal_charge(x)
        out = self._output(self.v)
        self.neuronal_reset(self.neuronal_fire())
        return out
