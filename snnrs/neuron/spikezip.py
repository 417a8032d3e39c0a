"""The spike-and-threshold bipolar IF neuron of SpikeZIP-TF (You et al., ICML 2024;
``docs/semantics.md#conversion-neurons``): it emits ±1 quanta of ``q_threshold`` so that, over time, its
output sums to the quantised ANN activation, bounded by ``[neg_min, pos_max]`` quanta. Inference only.

Per step (states in units of ``q_threshold``; ``q`` starts at 0.5, the count ``acc_q`` at 0):
``q += x/q_threshold``; a +1 quantum fires where ``q >= 1`` and ``acc_q < pos_max``, a -1 where ``q < 0``
and ``acc_q > neg_min``; ``acc_q`` counts them and ``q`` gives them back; the output is the quantum times
``q_threshold``.
"""

import torch
from torch import nn

from snnrs.base import MemoryModule

__all__ = ["STBIFNode", "stbif_step", "stbif_multi_step"]


def stbif_step(x, q, acc_q, q_threshold, pos_max, neg_min):
    """``(output, q, acc_q, quantum)`` of one step (see the module docstring)."""
    q_threshold, pos_max, neg_min = (t.to(device=x.device, dtype=x.dtype) for t in (q_threshold, pos_max, neg_min))
    q = q + x / q_threshold
    acc_q = acc_q.round()
    up = (q >= 1) & (acc_q < pos_max)
    down = (q < 0) & (acc_q > neg_min)
    quantum = up.to(x.dtype) - down.to(x.dtype)
    return quantum * q_threshold, q - quantum, acc_q + quantum, quantum


def stbif_multi_step(x_seq, q, acc_q, q_threshold, pos_max, neg_min):
    """:func:`stbif_step` over ``x_seq [T, ...]``: ``(outputs, q, acc_q, last quantum)``."""
    if x_seq.shape[0] == 0:
        raise ValueError("x_seq: expected at least one step")
    if any(t.requires_grad for t in (x_seq, q, acc_q, q_threshold, pos_max, neg_min)):
        raise RuntimeError("STBIF is an inference neuron: its inputs must not require gradients")
    outputs, quantum = [], torch.zeros_like(q)
    for x in x_seq:
        out, q, acc_q, quantum = stbif_step(x, q, acc_q, q_threshold, pos_max, neg_min)
        outputs.append(out)
    return torch.stack(outputs), q, acc_q, quantum


def _scalar(value) -> torch.Tensor:
    return (value if torch.is_tensor(value) else torch.tensor(value)).detach().clone().float()


class STBIFNode(MemoryModule):
    """``level`` quantisation levels: ``[0, level-1]`` quanta, or ``[-level//2, level//2 - 1]`` with ``sym``,
    unless ``pos_max``/``neg_min`` are given. Memories ``q``, ``acc_q`` and ``cur_output`` (the last quantum)."""

    def __init__(self, q_threshold, level: int, sym: bool = False, pos_max=None, neg_min=None, step_mode: str = "s"):
        if isinstance(level, bool) or int(level) < 2:
            raise ValueError(f"level: expected an int >= 2, got {level!r}")
        super().__init__()
        self.level, self.sym = int(level), bool(sym)
        self.register_buffer("q_threshold", _scalar(q_threshold))
        default_max = self.level // 2 - 1 if self.sym else self.level - 1
        default_min = -self.level // 2 if self.sym else 0
        self.register_buffer("pos_max", _scalar(default_max if pos_max is None else pos_max))
        self.register_buffer("neg_min", _scalar(default_min if neg_min is None else neg_min))
        self.step_mode = step_mode
        for name in ("q", "acc_q", "cur_output"):
            self.register_memory(name, None)

    @classmethod
    def from_quantizer(cls, quantizer: nn.Module) -> "STBIFNode":
        """From a quantiser with step ``s``, ``sym``, ``pos_max``, ``neg_min`` (and optionally ``level``)."""
        level = getattr(quantizer, "level", int(_scalar(quantizer.pos_max)) - int(_scalar(quantizer.neg_min)) + 1)
        return cls(quantizer.s, level=int(level), sym=bool(quantizer.sym), pos_max=quantizer.pos_max,
                   neg_min=quantizer.neg_min)

    def _states_for(self, x):
        if not isinstance(self.q, torch.Tensor) or self.q.shape != x.shape:
            return torch.full_like(x, 0.5), torch.zeros_like(x)
        return self.q.to(x), self.acc_q.to(x)

    @property
    def accumulated(self) -> torch.Tensor:
        """The output so far, ``acc_q · q_threshold``."""
        if self.acc_q is None:
            raise RuntimeError("STBIFNode: nothing accumulated before the first forward")
        return self.acc_q * self.q_threshold.to(self.acc_q.dtype)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x_seq = x.unsqueeze(0) if self.step_mode == "s" else x
        q, acc_q = self._states_for(x_seq[0])
        out, self.q, self.acc_q, self.cur_output = stbif_multi_step(x_seq, q, acc_q, self.q_threshold, self.pos_max,
                                                                    self.neg_min)
        return out[0] if self.step_mode == "s" else out

    def extra_repr(self):
        return f"level={self.level}, sym={self.sym}, step_mode={self.step_mode}"
