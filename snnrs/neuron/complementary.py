"""The complementary LIF neuron (CLIF, Huang et al., ICML 2024; ``docs/semantics.md#more-neurons``): a
second potential M, raised by each spike and decaying with the membrane, deepens the reset so the
gradient keeps a temporal path. Not fused in the engine."""

from collections.abc import Callable

import torch

from snnrs import surrogate
from snnrs.neuron.base import BaseNode, state_like, time_constant
from snnrs.neuron.steps import clif_step

__all__ = ["ComplementaryLIFNode"]


class ComplementaryLIFNode(BaseNode):
    """States ``V`` and ``m`` (from 0): see :func:`snnrs.neuron.steps.clif_step`. Soft reset only. In
    evaluation a spiking surrogate fires with the plain Heaviside step. ``store_state_seqs=True`` keeps
    ``state_seqs = [v_seq, m_seq]`` of the last multi-step call."""

    def __init__(self, tau: float = 2.0, v_threshold: float = 1.0, surrogate_function: Callable = surrogate.Rect(),
                 step_mode: str = "s", store_state_seqs: bool = False, backend: str = "engine"):
        super().__init__(v_threshold, None, surrogate_function, False, step_mode, False, backend)
        self.tau = time_constant("tau", tau)
        self.register_memory("m", 0.0)
        self.store_state_seqs = bool(store_state_seqs)
        self.state_seqs = None

    def reset(self):
        super().reset()
        self.state_seqs = None

    def extra_repr(self):
        return super().extra_repr() + f", tau={self.tau}"

    def single_step_functional_forward(self, inputs, states, **kwargs):
        x, v = inputs[0], states[0]
        sg = self.surrogate_function
        fire = sg if self.training or not getattr(sg, "spiking", True) else surrogate.heaviside
        spike, v, m = clif_step(x, v, state_like(states[1], x, 0.0), self.tau, self.v_threshold, fire)
        return (spike,), (v, m)

    def multi_step_forward(self, x_seq):
        if not self.store_state_seqs:
            return super().multi_step_forward(x_seq)
        self._check_input(x_seq)
        spikes, vs, ms = [], [], []
        for x in x_seq:
            spikes.append(self._torch_step(x))
            vs.append(self.v)
            ms.append(self.m)
        self.state_seqs = [torch.stack(vs), torch.stack(ms)]
        return torch.stack(spikes)
