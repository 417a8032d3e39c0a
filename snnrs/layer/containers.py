"""Containers: run a block of modules over ``[T, N, ...]`` (folded into the batch, or step by
step), and the recurrent containers that feed a block's output back into its input
(``docs/semantics.md#layers``).

Every container here decides how its modules see time, so each sets ``keeps_inner_step_mode``:
:func:`snnrs.functional.set_step_mode` sets the container's mode but leaves the modules inside
alone, as SpikingJelly 2.0 does."""

from collections.abc import Callable

import torch
from torch import nn

from snnrs import functional
from snnrs.base import MemoryModule, StepModule

__all__ = ["SeqToANNContainer", "MultiStepContainer", "TLastSeqToANNContainer", "TLastMultiStepContainer",
           "StepModeContainer", "ElementWiseRecurrentContainer",
           "LinearRecurrentContainer"]


class SeqToANNContainer(nn.Sequential):
    """Runs stateless modules on ``[T, N, ...]`` by folding T into the batch (always multi-step)."""

    keeps_inner_step_mode = True

    def forward(self, x_seq: torch.Tensor) -> torch.Tensor:
        return functional.seq_to_ann_forward(x_seq, super().forward)


class MultiStepContainer(nn.Sequential):
    """Runs single-step modules over ``[T, N, ...]`` one step at a time (always multi-step)."""

    keeps_inner_step_mode = True

    def forward(self, x_seq: torch.Tensor) -> torch.Tensor:
        return functional.multi_step_forward(x_seq, super().forward)


class TLastSeqToANNContainer(nn.Sequential):
    """:class:`SeqToANNContainer` for time-last sequences ``[N, ..., T]``."""

    keeps_inner_step_mode = True

    def forward(self, x_seq: torch.Tensor) -> torch.Tensor:
        return functional.t_last_seq_to_ann_forward(x_seq, super().forward)


class TLastMultiStepContainer(nn.Sequential):
    """:class:`MultiStepContainer` for time-last sequences ``[N, ..., T]``."""

    keeps_inner_step_mode = True

    def forward(self, x_seq: torch.Tensor) -> torch.Tensor:
        return functional.t_last_multi_step_forward(x_seq, super().forward)


class StepModeContainer(nn.Sequential, StepModule):
    """Gives a block of plain torch modules a ``step_mode``.

    ``stateful=False``: in 'm' the block runs once on ``[T·N, ...]``; ``stateful=True``: in 'm' it
    runs step by step (modules with state see the steps in order).

    Called as SpikingJelly does, ``StepModeContainer(stateful, step_mode, *modules)``, or with the
    mode as a keyword after the modules, ``StepModeContainer(stateful, *modules, step_mode='m')``.
    """

    keeps_inner_step_mode = True

    def __init__(self, stateful: bool, *modules, step_mode: str | None = None):
        if modules and isinstance(modules[0], str):
            if step_mode is not None:
                raise TypeError("step_mode: given both positionally and as a keyword")
            step_mode, modules = modules[0], modules[1:]
        step_mode = "s" if step_mode is None else step_mode
        super().__init__(*modules)
        self.stateful = bool(stateful)
        self.step_mode = step_mode

    def forward(self, x):
        if self.step_mode == "s":
            return super().forward(x)
        if self.stateful:
            return functional.multi_step_forward(x, super().forward)
        return functional.seq_to_ann_forward(x, super().forward)


class ElementWiseRecurrentContainer(MemoryModule):
    """``y[t] = sub_module(f(y[t-1], x[t]))`` with ``y[-1] = 0``; ``sub_module`` keeps the shape."""

    keeps_inner_step_mode = True

    def __init__(self, sub_module: nn.Module, element_wise_function: Callable, step_mode: str = "s"):
        super().__init__()
        self.sub_module = sub_module
        self.element_wise_function = element_wise_function
        self.step_mode = step_mode
        self.register_memory("y", None)

    def _step(self, x):
        if self.y is None or self.y.shape != x.shape:
            self.y = torch.zeros_like(x)
        self.y = self.sub_module(self.element_wise_function(self.y, x))
        return self.y

    def forward(self, x):
        return functional.multi_step_forward(x, self._step) if self.step_mode == "m" else self._step(x)


class LinearRecurrentContainer(MemoryModule):
    """``y[t] = sub_module(rc(cat(x[t], y[t-1])))`` where ``rc = Linear(in + out, in)`` and
    ``sub_module`` maps ``in_features`` to ``out_features``; ``y[-1] = 0``."""

    keeps_inner_step_mode = True

    def __init__(self, sub_module: nn.Module, in_features: int, out_features: int, bias: bool = True,
                 step_mode: str = "s"):
        super().__init__()
        self.sub_module = sub_module
        self.rc = nn.Linear(in_features + out_features, in_features, bias)
        self.out_features = out_features
        self.step_mode = step_mode
        self.register_memory("y", None)

    def _step(self, x):
        shape = (*x.shape[:-1], self.out_features)
        if self.y is None or self.y.shape != shape:
            self.y = x.new_zeros(shape)
        self.y = self.sub_module(self.rc(torch.cat((x, self.y), dim=-1)))
        return self.y

    def forward(self, x):
        return functional.multi_step_forward(x, self._step) if self.step_mode == "m" else self._step(x)
