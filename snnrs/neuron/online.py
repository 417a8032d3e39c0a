"""LIF neurons for online training through time (``docs/semantics.md#online-training``):
OTTT (Xiao et al. 2022) and SLTT (Meng et al. 2023).

Both run LIF's forward unchanged, one step per call, but cut the gradient through time: in training
the voltage carried into a step is detached, so a step's backward never reaches earlier steps and
``loss.backward()`` can run after every step with memory independent of T. OTTT also keeps a
presynaptic trace ``a[t] = a[t-1]·(1 - 1/tau) + S[t]`` (no gradient) and, in training, returns
``[spike, trace]`` for :class:`snnrs.layer.OTTTSequential` to route the weight gradient through
the trace. In evaluation both fire with the plain Heaviside step (no surrogate gradient).
"""

from collections.abc import Callable

import torch

from snnrs import surrogate
from snnrs.neuron.lif import LIFNode

__all__ = ["OTTTLIFNode", "SLTTLIFNode"]

# Any spiking surrogate fires with the Heaviside step; this one stands in for the configured one in evaluation.
_HEAVISIDE = surrogate.Sigmoid()


class _OnlineLIFNode(LIFNode):
    """LIF whose carried voltage is detached at every training step."""

    def __init__(self, tau, decay_input, v_threshold, v_reset, surrogate_function, detach_reset, step_mode,
                 store_v_seq, backend):
        if step_mode != "s":
            raise ValueError(f"step_mode: {type(self).__name__} runs one step per call (online training needs "
                             f"the backward of each step before the next); got {step_mode!r}")
        super().__init__(tau, decay_input, v_threshold, v_reset, surrogate_function, detach_reset, step_mode,
                         store_v_seq, backend)

    def supported_step_mode(self):
        return ("s",)

    def _online_step(self, x: torch.Tensor) -> torch.Tensor:
        if self.training:
            if isinstance(self.v, torch.Tensor):
                self.v = self.v.detach()
            return super().single_step_forward(x)
        # Evaluation fires with the Heaviside step (whatever the surrogate, even a non-spiking one): spikes
        # carry no gradient, so none is built.
        surrogate_function = self.surrogate_function
        try:
            self.surrogate_function = _HEAVISIDE
            with torch.no_grad():
                return super().single_step_forward(x)
        finally:
            self.surrogate_function = surrogate_function

    def single_step_forward(self, x: torch.Tensor) -> torch.Tensor:
        return self._online_step(x)


class OTTTLIFNode(_OnlineLIFNode):
    """LIF for OTTT: in training returns ``[spike, trace]`` (the trace as defined above); in evaluation
    the spikes. Defaults as SpikingJelly 2.0: ``decay_input=False``, soft reset, ``detach_reset=True``."""

    def __init__(self, tau: float = 2.0, decay_input: bool = False, v_threshold: float = 1.0,
                 v_reset: float | None = None, surrogate_function: Callable = surrogate.Sigmoid(),
                 detach_reset: bool = True, step_mode: str = "s", store_v_seq: bool = False,
                 backend: str = "engine"):
        super().__init__(tau, decay_input, v_threshold, v_reset, surrogate_function, detach_reset, step_mode,
                         store_v_seq, backend)
        self.register_memory("trace", None)

    def single_step_forward(self, x: torch.Tensor):
        spike = self._online_step(x)
        if not self.training:
            return spike
        with torch.no_grad():
            trace = self.trace if isinstance(self.trace, torch.Tensor) and self.trace.shape == spike.shape \
                else torch.zeros_like(spike)
            self.trace = trace * (1.0 - 1.0 / self.tau) + spike
        return [spike, self.trace]


class SLTTLIFNode(_OnlineLIFNode):
    """LIF for SLTT: spikes only; the gradient of a step stays within the step (spatial path)."""

    def __init__(self, tau: float = 2.0, decay_input: bool = True, v_threshold: float = 1.0,
                 v_reset: float | None = 0.0, surrogate_function: Callable = surrogate.Sigmoid(),
                 detach_reset: bool = True, step_mode: str = "s", store_v_seq: bool = False,
                 backend: str = "engine"):
        super().__init__(tau, decay_input, v_threshold, v_reset, surrogate_function, detach_reset, step_mode,
                         store_v_seq, backend)
