"""The Izhikevich neuron (``docs/semantics.md#izhikevich``): membrane V and recovery W."""

from collections.abc import Callable

import torch

from snnrs import ops, surrogate
from snnrs.neuron.adapt import AdaptBaseNode
from snnrs.neuron.base import finite, time_constant
from snnrs.ops.config import TwoStateConfig

__all__ = ["IzhikevichNode"]


class IzhikevichNode(AdaptBaseNode, engine_neuron="izhikevich"):
    """Izhikevich neuron with recovery variable ``w`` (memory, initially ``w_rest``):
    ``H = V + (X + a0·(V - v_rest)·(V - v_c) - w)/tau``; ``w += (a·(H - v_rest) - w)/tau_w``;
    after the reset ``w += b·S``. Fused engine kernel with both states (``snnrs::izhikevich_forward``)."""

    def __init__(self, tau: float = 2.0, v_c: float = 0.8, a0: float = 1.0, v_threshold: float = 1.0,
                 v_reset: float | None = 0.0, v_rest: float = -0.1, w_rest: float = 0.0, tau_w: float = 2.0,
                 a: float = 0.0, b: float = 0.0, surrogate_function: Callable = surrogate.Sigmoid(),
                 detach_reset: bool = False, step_mode: str = "s", store_v_seq: bool = False,
                 backend: str = "engine"):
        super().__init__(v_threshold, v_reset, v_rest, w_rest, tau_w, a, b, surrogate_function, detach_reset,
                         step_mode, store_v_seq, backend)
        self.tau, self.v_c, self.a0 = time_constant("tau", tau, above=0.0), finite("v_c", v_c), finite("a0", a0)

    def _kernel_config(self) -> TwoStateConfig:
        name, sg_params = self.surrogate_function.engine_spec()
        params = [self.tau, self.v_c, self.a0, self.v_rest, self.w_rest, self.tau_w, self.a, self.b]
        return TwoStateConfig(self.v_threshold, self.v_reset, params, self.detach_reset, name, sg_params)

    def _engine_steps(self, x_seq):
        v_init = self._carried_v(x_seq[0])
        w = self.w
        w_init = (w.to(x_seq) if isinstance(w, torch.Tensor) and w.shape == x_seq.shape[1:] else None)
        save = torch.is_grad_enabled() and any(t is not None and t.requires_grad for t in (x_seq, v_init, w_init))
        spikes, self.v, self.w, _, _, v_seq = ops.izhikevich(
            x_seq, v_init, w_init, self._kernel_config(), self.store_v_seq, save)
        if self.store_v_seq:
            self.v_seq = v_seq
        return spikes

    def _torch_step(self, x):
        if self._functional_step:  # a subclass's own step updates w (spike increment included)
            return super()._torch_step(x)
        if not isinstance(self.w, torch.Tensor) or self.w.shape != x.shape:
            self.w = torch.full_like(x, self.w_rest)
        spike = super()._torch_step(x)
        self.w = self.w + self.b * spike
        return spike

    def neuronal_charge(self, x):
        v = self.v
        self.v = v + (x + self.a0 * (v - self.v_rest) * (v - self.v_c) - self.w) / self.tau
        self.w = self.w + (self.a * (self.v - self.v_rest) - self.w) / self.tau_w
