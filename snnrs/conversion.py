"""ANN → SNN conversion with torch.fx (rate coding).

Every ReLU — an ``nn.ReLU`` module or an ``F.relu`` / ``torch.relu`` call — is
replaced by ``VoltageScaler(1/s) → IFNode(v_threshold=1, soft reset) →
VoltageScaler(s)``, where ``s`` is the activation scale measured on calibration
data: its maximum (``mode='max'``) or a percentile (``mode=99.9`` or ``'99.9%'``).
Run the result in single-step mode for T steps on the static input and average
the outputs (:func:`run_converted`); firing rates approach the ReLU activations
as T grows.
"""

import copy
from collections.abc import Iterable

import torch
import torch.fx as fx
import torch.nn.functional as F
from torch import nn

from snnrs import functional, neuron

__all__ = ["Converter", "VoltageScaler", "run_converted"]

_RELU_FUNCTIONS = (F.relu, torch.relu, torch.relu_)


class VoltageScaler(nn.Module):
    """Multiplies its input by a fixed ``scale``."""

    def __init__(self, scale: float):
        super().__init__()
        self.register_buffer("scale", torch.tensor(float(scale)))

    def forward(self, x):
        return x * self.scale

    def extra_repr(self):
        return f"scale={self.scale.item():.4g}"


class _ActivationStatistic(nn.Module):
    """A ReLU that records the scale statistic of its output over calibration batches."""

    def __init__(self, mode):
        super().__init__()
        self.mode = mode
        self.values = []

    def forward(self, x):
        y = torch.relu(x)
        flat = y.detach().flatten().float()
        if self.mode == "max":
            self.values.append(flat.max())
        else:
            sample = flat[torch.randperm(flat.numel())[:1 << 20]] if flat.numel() > (1 << 20) else flat
            self.values.append(torch.quantile(sample, self.mode / 100.0))
        return y

    def scale(self):
        if not self.values:
            raise RuntimeError("no calibration data reached this activation")
        stacked = torch.stack(self.values)
        value = stacked.max() if self.mode == "max" else stacked.mean()
        return max(float(value), 1e-8)


def _parse_mode(mode):
    if mode == "max":
        return mode
    if isinstance(mode, str) and mode.endswith("%"):
        mode = mode[:-1]
    try:
        value = float(mode)
    except (TypeError, ValueError):
        raise ValueError(f"mode: expected 'max' or a percentile such as 99.9 or '99.9%', got {mode!r}") from None
    if not 0 < value <= 100:
        raise ValueError(f"mode: a percentile must lie in (0, 100], got {value}")
    return value


class Converter:
    """Converts a ReLU network to a spiking one.

    Args:
        calibration: an iterable of input batches (tensors, or ``(input, target)`` pairs,
            e.g. a DataLoader) used to measure activation scales.
        mode: ``'max'`` or a percentile (``99.9`` / ``'99.9%'``).
        fuse_bn: fold BatchNorm layers that follow convolutions into them first.
    """

    def __init__(self, calibration: Iterable, mode: str | float = "max", fuse_bn: bool = True):
        self.calibration = calibration
        self.mode = _parse_mode(mode)
        self.fuse_bn = fuse_bn

    def __call__(self, ann: nn.Module) -> fx.GraphModule:
        ann = copy.deepcopy(ann).eval()
        graph = fx.symbolic_trace(ann)
        if self.fuse_bn:
            graph = _fuse_conv_bn(graph)
        hooks = _replace_relus(graph, lambda: _ActivationStatistic(self.mode))
        if not hooks:
            raise ValueError("ann: found no ReLU (module or F.relu / torch.relu call) to convert")
        with torch.no_grad():
            for batch in self.calibration:
                graph(batch[0] if isinstance(batch, (tuple, list)) else batch)
        for name in hooks:
            scale = getattr(graph, name).scale()
            setattr(graph, name, nn.Sequential(VoltageScaler(1.0 / scale),
                                               neuron.IFNode(v_threshold=1.0, v_reset=None),
                                               VoltageScaler(scale)))
        graph.recompile()
        return graph


def _replace_relus(graph: fx.GraphModule, make) -> list:
    """Replaces ReLU modules and calls by modules from ``make()``; returns their names."""
    names = []
    modules = dict(graph.named_modules())
    for node in list(graph.graph.nodes):
        is_module = node.op == "call_module" and isinstance(modules[node.target], nn.ReLU)
        is_function = node.op in ("call_function", "call_method") and (
            node.target in _RELU_FUNCTIONS or node.target in ("relu", "relu_"))
        if not (is_module or is_function):
            continue
        name = f"snn_relu_{len(names)}"
        graph.add_submodule(name, make())
        with graph.graph.inserting_after(node):
            new = graph.graph.call_module(name, (node.args[0],))
        node.replace_all_uses_with(new)
        graph.graph.erase_node(node)
        names.append(name)
    graph.graph.lint()
    graph.recompile()
    return names


def _fuse_conv_bn(graph: fx.GraphModule) -> fx.GraphModule:
    modules = dict(graph.named_modules())
    for node in list(graph.graph.nodes):
        if node.op != "call_module" or not isinstance(modules[node.target], nn.modules.batchnorm._BatchNorm):
            continue
        source = node.args[0]
        if not (isinstance(source, fx.Node) and source.op == "call_module"
                and isinstance(modules[source.target], nn.modules.conv._ConvNd) and len(source.users) == 1):
            continue
        fused = functional.fuse_conv_bn(modules[source.target], modules[node.target])
        parent, _, attr = source.target.rpartition(".")
        setattr(graph.get_submodule(parent) if parent else graph, attr, fused)
        node.replace_all_uses_with(source)
        graph.graph.erase_node(node)
    graph.graph.lint()
    graph.recompile()
    return graph


def run_converted(snn: nn.Module, x: torch.Tensor, T: int) -> torch.Tensor:
    """Mean output of ``snn`` over T single steps on the static input ``x`` (state reset first and after)."""
    functional.reset_net(snn)
    with torch.no_grad():
        total = sum(snn(x) for _ in range(T))
    functional.reset_net(snn)
    return total / T
