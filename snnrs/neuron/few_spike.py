"""Few-spikes neurons for converting ANN activations (``docs/semantics.md#conversion-neurons``), with
SpikingJelly's names and arguments.

An FS-neuron (Stöckl & Maass 2021) codes one activation in ``K`` steps with a table ``(theta, h, d)``: from
``v = x``, step k fires ``z_k = Θ(v - theta_k)``, emits ``d_k·z_k`` and lowers ``v`` by ``h_k·z_k``; the sum
of the emissions approximates the activation. In single-step mode the input is the activation and the
output the sum; in multi-step mode the input ``[K, ...]`` is summed first and the output is the K
emissions. :class:`OutlierAwareThresholdNode` codes large magnitudes with a second table (and the sign
separately); :class:`HGNode` picks one of several tables by the activation's range.
"""

import math
from collections.abc import Callable, Sequence

import torch
from torch import nn

from snnrs import surrogate
from snnrs.base import StepModule

__all__ = ["FewSpikeTable", "FewSpikeNode", "OutlierAwareThresholdNode", "HGNode"]


def _vector(name: str, value) -> torch.Tensor:
    tensor = torch.as_tensor(value)
    if tensor.dim() != 1 or tensor.numel() == 0:
        raise ValueError(f"{name}: expected a non-empty 1-d sequence, got shape {tuple(tensor.shape)}")
    if torch.is_complex(tensor):
        raise TypeError(f"{name}: expected real values")
    if not tensor.is_floating_point():
        tensor = tensor.to(torch.get_default_dtype())
    if not torch.isfinite(tensor).all():
        raise ValueError(f"{name}: expected finite values")
    return tensor.detach().clone()


class FewSpikeTable:
    """The thresholds ``theta``, reset amounts ``h`` and output weights ``d`` of K steps."""

    def __init__(self, theta, h, d):
        self.theta, self.h, self.d = _vector("theta", theta), _vector("h", h), _vector("d", d)
        if not self.theta.shape == self.h.shape == self.d.shape:
            raise ValueError(f"theta, h, d: expected the same length, got {self.theta.numel()}, {self.h.numel()}, "
                             f"{self.d.numel()}")

    @property
    def K(self) -> int:
        return self.theta.numel()


def _check_table(name, table, steps=None):
    if not isinstance(table, FewSpikeTable):
        raise TypeError(f"{name}: expected a FewSpikeTable, got {type(table).__name__}")
    if steps is not None and steps != table.K:
        raise ValueError(f"{name}: expected K={steps} steps, got {table.K}")


def _like(tensor, reference):
    return tensor.to(device=reference.device, dtype=reference.dtype).clone()


class FewSpikeNode(nn.Module, StepModule):
    def __init__(self, table: FewSpikeTable, surrogate_function: Callable | None = None, step_mode: str = "s"):
        super().__init__()
        _check_table("table", table)
        self.register_buffer("theta", table.theta.clone())
        self.register_buffer("h", table.h.clone())
        self.register_buffer("d", table.d.clone())
        self.surrogate_function = surrogate.Sigmoid() if surrogate_function is None else surrogate_function
        self.step_mode = step_mode

    @property
    def K(self) -> int:
        return self.theta.numel()

    def _code(self, v, thetas, hs, ds, sequence: bool):
        """Runs the K steps from ``v`` with per-step (possibly per-element) table entries."""
        emitted = []
        total = torch.zeros_like(v)
        for theta, h, d in zip(thetas, hs, ds):
            z = self.surrogate_function(v - theta)
            if sequence:
                emitted.append(d * z)
            else:
                total = total + d * z
            v = v - h * z
        return torch.stack(emitted) if sequence else total

    def _from_activation(self, x, sequence: bool):
        return self._code(x, self.theta, self.h, self.d, sequence)

    @staticmethod
    def _check_input(x, name):
        if not isinstance(x, torch.Tensor) or not x.is_floating_point():
            raise TypeError(f"{name}: expected a floating-point tensor, got "
                            f"{x.dtype if isinstance(x, torch.Tensor) else type(x).__name__}")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.step_mode == "s":
            self._check_input(x, "x")
            return self._from_activation(x, sequence=False)
        self._check_input(x, "x_seq")
        if x.shape[0] != self.K:
            raise ValueError(f"x_seq: expected K={self.K} steps first, got shape {tuple(x.shape)}")
        return self._from_activation(x.sum(dim=0), sequence=True)

    def extra_repr(self):
        return f"K={self.K}, step_mode={self.step_mode}"


class OutlierAwareThresholdNode(FewSpikeNode):
    """Codes ``|x|`` (clamped to ``±clamp_value`` first, if given) with ``table`` where
    ``|x| <= split_threshold`` and with ``outlier_table`` elsewhere, then restores the sign."""

    def __init__(self, table: FewSpikeTable, outlier_table: FewSpikeTable, split_threshold: float,
                 clamp_value: float | None = None, surrogate_function: Callable | None = None, step_mode: str = "s"):
        _check_table("table", table)
        _check_table("outlier_table", outlier_table, table.K)
        split_threshold = float(split_threshold)
        if not (math.isfinite(split_threshold) and split_threshold >= 0):
            raise ValueError(f"split_threshold: expected a finite value >= 0, got {split_threshold}")
        if clamp_value is not None:
            clamp_value = float(clamp_value)
            if not (math.isfinite(clamp_value) and clamp_value >= split_threshold and clamp_value > 0):
                raise ValueError(f"clamp_value: expected a finite value > 0 and >= split_threshold, got {clamp_value}")
        super().__init__(table, surrogate_function, step_mode)
        self.register_buffer("outlier_theta", _like(outlier_table.theta, table.theta))
        self.register_buffer("outlier_h", _like(outlier_table.h, table.h))
        self.register_buffer("outlier_d", _like(outlier_table.d, table.d))
        self.split_threshold, self.clamp_value = split_threshold, clamp_value

    def _from_activation(self, x, sequence):
        if self.clamp_value is not None:
            x = x.clamp(-self.clamp_value, self.clamp_value)
        sign, magnitude = torch.sign(x).detach(), x.abs()
        inlier = magnitude <= self.split_threshold

        def pick(main, outlier):
            return (torch.where(inlier, a, b) for a, b in zip(main, outlier))

        coded = self._code(magnitude, pick(self.theta, self.outlier_theta), pick(self.h, self.outlier_h),
                           pick(self.d, self.outlier_d), sequence)
        return coded * (sign.unsqueeze(0) if sequence else sign)

    def extra_repr(self):
        return super().extra_repr() + f", split_threshold={self.split_threshold}, clamp_value={self.clamp_value}"


class HGNode(FewSpikeNode):
    """Several tables of the same K, one per range of the activation: ``gate_thresholds`` (strictly
    increasing, one fewer than the tables) split the real line, and each element is coded with its
    range's table."""

    def __init__(self, tables: Sequence[FewSpikeTable], gate_thresholds, surrogate_function: Callable | None = None,
                 step_mode: str = "s"):
        if len(tables) == 0:
            raise ValueError("tables: expected at least one FewSpikeTable")
        for i, table in enumerate(tables):
            _check_table(f"tables[{i}]", table, tables[0].K if i else None)
        bounds = torch.as_tensor(gate_thresholds)
        if bounds.dim() != 1 or torch.is_complex(bounds):
            raise ValueError(f"gate_thresholds: expected a real 1-d sequence, got shape {tuple(bounds.shape)}")
        bounds = bounds.to(dtype=tables[0].theta.dtype)
        if bounds.numel() != len(tables) - 1:
            raise ValueError(f"gate_thresholds: expected {len(tables) - 1} values for {len(tables)} tables, "
                             f"got {bounds.numel()}")
        if not torch.isfinite(bounds).all() or (bounds.numel() > 1 and not bool((bounds[1:] > bounds[:-1]).all())):
            raise ValueError("gate_thresholds: expected finite, strictly increasing values")
        nn.Module.__init__(self)
        self.surrogate_function = surrogate.Sigmoid() if surrogate_function is None else surrogate_function
        self.step_mode = step_mode
        first = tables[0]
        self.register_buffer("region_theta", torch.stack([_like(t.theta, first.theta) for t in tables]))
        self.register_buffer("region_h", torch.stack([_like(t.h, first.h) for t in tables]))
        self.register_buffer("region_d", torch.stack([_like(t.d, first.d) for t in tables]))
        self.register_buffer("gate_thresholds", bounds)

    @property
    def K(self) -> int:
        return self.region_theta.shape[1]

    def _from_activation(self, x, sequence):
        region = torch.bucketize(x.detach(), self.gate_thresholds)

        def per_element(table):
            return (table[:, k][region] for k in range(self.K))

        return self._code(x, per_element(self.region_theta), per_element(self.region_h), per_element(self.region_d),
                          sequence)

    def extra_repr(self):
        return super().extra_repr() + f", regions={self.region_theta.shape[0]}"
