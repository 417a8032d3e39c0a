"""The gated LIF neuron (GLIF, Yao et al., NeurIPS 2022; ``docs/semantics.md#more-neurons``): learnable
gates mix leak, input conductance and reset styles. Multi-step only (its conductance is learned per
time step). Not fused in the engine."""

import math
from collections.abc import Callable

import numpy as np
import torch
from torch import nn

from snnrs import surrogate
from snnrs.base import MemoryModule
from snnrs.neuron.base import state_like
from snnrs.neuron.steps import gated_lif_step

__all__ = ["GatedLIFNode"]


def _logit(p: float) -> float:
    return -math.log(1 / p - 1)


class GatedLIFNode(MemoryModule):
    """Every parameter is stored as a logit and used through a sigmoid: the gates ``alpha``, ``beta``,
    ``gamma`` (initialised uniformly in ±0.1 around 0 with numpy's global generator, as SpikingJelly
    does), ``tau``, ``v_threshold``, ``linear_decay``, ``v_subreset`` and ``conduct`` (one per step).
    ``inplane``: one parameter per channel of ``[T, N, C, H, W]`` input; None: scalars. The step is
    :func:`snnrs.neuron.steps.gated_lif_step`."""

    def __init__(self, T: int, inplane: int | None = None, init_linear_decay: float | None = None,
                 init_v_subreset: float | None = None, init_tau: float = 0.25, init_v_threshold: float = 0.5,
                 init_conduct: float = 0.5, surrogate_function: Callable = surrogate.Sigmoid(), step_mode: str = "m"):
        if isinstance(T, bool) or not isinstance(T, int) or T < 1:
            raise ValueError(f"T: expected an int >= 1, got {T!r}")
        if inplane is not None and (isinstance(inplane, bool) or not isinstance(inplane, int) or inplane < 1):
            raise ValueError(f"inplane: expected None or an int >= 1, got {inplane!r}")
        init_linear_decay = init_v_threshold / (T * 2) if init_linear_decay is None else init_linear_decay
        init_v_subreset = init_v_threshold if init_v_subreset is None else init_v_subreset
        for name, value in (("init_tau", init_tau), ("init_v_threshold", init_v_threshold),
                            ("init_conduct", init_conduct), ("init_linear_decay", init_linear_decay),
                            ("init_v_subreset", init_v_subreset)):
            if not 0 < value < 1:
                raise ValueError(f"{name}: expected a value in (0, 1) (it is stored as a logit), got {value}")
        super().__init__()
        self.surrogate_function = surrogate_function
        self.step_mode = step_mode
        self.T = T
        self.register_memory("v", 0.0)
        self.register_memory("u", 0.0)
        shape = () if inplane is None else (inplane,)
        self.alpha, self.beta, self.gamma = (
            nn.Parameter(torch.tensor(0.2 * (np.random.rand(*shape) - 0.5), dtype=torch.float)) for _ in range(3))
        self.tau = nn.Parameter(torch.full(shape, _logit(init_tau)))
        self.v_threshold = nn.Parameter(torch.full(shape, _logit(init_v_threshold)))
        self.linear_decay = nn.Parameter(torch.full(shape, _logit(init_linear_decay)))
        self.v_subreset = nn.Parameter(torch.full(shape, _logit(init_v_subreset)))
        self.conduct = nn.Parameter(torch.full((T, *shape), _logit(init_conduct)))

    def supported_step_mode(self):
        return ("m",)

    def forward(self, x_seq: torch.Tensor) -> torch.Tensor:
        if not isinstance(x_seq, torch.Tensor) or x_seq.dim() < 2 or x_seq.shape[0] != self.T:
            raise ValueError(f"x_seq: expected [T={self.T}, N, ...], got "
                             f"{tuple(x_seq.shape) if isinstance(x_seq, torch.Tensor) else type(x_seq).__name__}")

        def gate(p):  # per channel of [N, C, H, W] (a scalar broadcasts the same way)
            return p.view(1, -1, 1, 1).sigmoid()

        alpha, beta, gamma = gate(self.alpha), gate(self.beta), gate(self.gamma)
        tau, v_threshold = gate(self.tau), gate(self.v_threshold)
        linear_decay, v_subreset = gate(self.linear_decay), gate(self.v_subreset)
        v = self.v if isinstance(self.v, torch.Tensor) else state_like(None, x_seq[0], float(self.v))
        spike = torch.zeros_like(x_seq[0])
        spikes = []
        for t in range(self.T):
            spike, v = gated_lif_step(x_seq[t], v, spike, alpha, beta, gamma, tau, v_threshold, linear_decay,
                                      v_subreset, gate(self.conduct[t]), self.surrogate_function)
            spikes.append(spike)
        self.v = self.u = v
        return torch.stack(spikes)
