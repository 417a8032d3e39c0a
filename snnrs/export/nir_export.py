"""snnrs models to NIR graphs (``docs/semantics.md#nir``).

Supported: ``nn.Linear`` (Affine, or Linear without bias), ``nn.Conv1d``/``nn.Conv2d``,
BatchNorm after a conv or linear layer (folded into it with its running statistics),
``nn.AvgPool2d`` (``divisor_override=1``: SumPool2d), ``nn.Flatten``, ``VoltageScaler`` and
:class:`~snnrs.export.nir_modules.Scale` (Scale), IF, LIF, ParametricLIF and CUBA-LIF neurons, and
``LinearRecurrentContainer`` around a neuron (a nested graph whose recurrent edge carries the
previous step's spikes), SEW ResNet blocks with ADD and plain spiking ResNet blocks (the residual sum
as edges), ``nn.MaxPool2d`` right after a spiking neuron (a sum pool and a threshold, exact on
spikes) and ``nn.AdaptiveAvgPool2d`` to a divisor of the map size. Containers (``nn.Sequential``,
``SeqToANNContainer``, ...) are walked in order; a model with ``nir_layers()`` lists its own layers.
Dropout and Identity are skipped.

Neurons, with ``dt`` the time step in seconds (snnrs fires where ``H >= V_th``, NIR where
``v > θ``: θ is written as float32's ``nextafter(V_th, -inf)``):

* IF: ``r = 1/dt``, ``v_reset``.
* LIF(τ, decay_input): ``tau = τ·dt``, ``r = 1`` (decay_input) or ``r = τ``, ``v_leak = v_reset``.
* ParametricLIF: a LIF with ``τ = 1/sigmoid(w)``.
* CUBA-LIF(c_decay, v_decay): ``tau_syn = dt/(1 - c_decay)``, ``w_in = tau_syn/dt``,
  ``tau_mem = dt/(1 - v_decay)``, ``r = tau_mem/dt``, ``v_leak = 0``.
* Soft reset (``v_reset=None``) has no NIR node: it is written as a reset to 0, with a warning;
  snnrs reads its own files back exactly (the snnrs parameters travel in each node's metadata
  and are used when they agree with the NIR fields).
"""

import math
import warnings

import numpy as np
import torch
from torch import nn

from snnrs import neuron
from snnrs.conversion import VoltageScaler
from snnrs.export.nir_modules import Scale
from snnrs.layer import Dropout, LinearRecurrentContainer, MultiStepContainer, SeqToANNContainer, StepModeContainer
from snnrs.neuron import CUBALIFNode
from snnrs.runtime.conventions import strict_threshold
from snnrs.runtime.plan import _nir

CONTAINERS = (nn.Sequential, SeqToANNContainer, StepModeContainer, MultiStepContainer)
SKIPPED = (nn.Identity, nn.Dropout, Dropout)


def _layers(module: nn.Module) -> list[nn.Module]:
    if hasattr(module, "nir_layers"):
        return [leaf for m in module.nir_layers() for leaf in _layers(m)]
    if isinstance(module, CONTAINERS):
        return [leaf for m in module for leaf in _layers(m)]
    if isinstance(module, SKIPPED):
        return []
    return [module]


def _np(t) -> np.ndarray:
    return t.detach().cpu().numpy().astype(np.float32)


def _fold(layer: nn.Module, bn: nn.Module) -> tuple[np.ndarray, np.ndarray]:
    if bn.running_mean is None or bn.running_var is None:
        raise ValueError(f"{type(bn).__name__}: track_running_stats=False has no fixed statistics to fold")
    weight = layer.weight.detach().double()
    bias = layer.bias.detach().double() if layer.bias is not None else torch.zeros(weight.shape[0],
                                                                                    dtype=torch.float64)
    gamma = bn.weight.detach().double() if bn.weight is not None else torch.ones_like(bn.running_var.double())
    beta = bn.bias.detach().double() if bn.bias is not None else torch.zeros_like(bn.running_mean.double())
    scale = gamma / torch.sqrt(bn.running_var.double() + bn.eps)
    shape = (-1,) + (1,) * (weight.dim() - 1)
    return (weight * scale.view(shape)).float().numpy(), ((bias - bn.running_mean.double()) * scale
                                                          + beta).float().numpy()


def _fill(value: float, shape) -> np.ndarray:
    return np.full(tuple(shape), value, np.float32)


# Readers with a fixed convention (``to_nir(..., target=...)``): the dt they assume.
TARGET_DT = {"snntorch": 1e-4}
# snnTorch 1.0 reads NIR's IF as a leaky neuron with beta 0.9; an IF for it is a LIF whose leak
# dt/tau = 1e-16 makes its beta = 1 - 1e-16 round to exactly 1 in float32 (and to nothing in snnrs's rule).
SNNTORCH_IF_TAU = 1e12


def _check_target(m: nn.Module, target: str | None) -> None:
    if target == "snntorch" and (m.v_reset is None or float(m.v_reset) != 0.0):
        raise ValueError(f"{type(m).__name__}: target='snntorch' needs v_reset=0 (snnTorch's NIR import resets to "
                         f"zero), got v_reset={m.v_reset}")


def _check_spikes(m: nn.Module) -> None:
    """NIR's neurons emit one spike or none and start at rest; refuse snnrs neurons that do otherwise."""
    from snnrs.neuron.ilif import ILIFNode
    from snnrs.neuron.integrate import HalfThresholdIFNode
    if isinstance(m, ILIFNode):
        raise ValueError("ILIFNode: it emits spike counts (0..D), which NIR's LIF does not")
    if isinstance(m, HalfThresholdIFNode):
        raise ValueError("HalfThresholdIFNode: it starts at V_th/2, which NIR's IF cannot say")
    if getattr(getattr(m, "surrogate_function", None), "spiking", True) is False:
        raise ValueError(f"{type(m).__name__}: its surrogate_function has spiking=False, so it outputs the "
                         "surrogate's values, not spikes; export it with spiking=True")


def _neuron_node(m: nn.Module, shape, dt: float, nir, target: str | None = None):
    _check_spikes(m)
    _check_target(m, target)
    # HDF5 attributes cannot hold None: a soft reset travels as a flag
    meta = {"class": type(m).__name__, "v_threshold": float(m.v_threshold), "dt": dt,
            "soft_reset": m.v_reset is None, "v_reset": 0.0 if m.v_reset is None else float(m.v_reset)}
    if target is not None:
        meta["target"] = target
    if m.v_reset is None:
        warnings.warn(f"{type(m).__name__} with soft reset (v_reset=None): NIR has no soft reset; written as a "
                      "reset to 0 (snnrs reads it back exactly; other simulators will reset to 0)", stacklevel=3)
    v_reset = 0.0 if m.v_reset is None else float(m.v_reset)
    threshold = strict_threshold(_fill(m.v_threshold, shape))
    if isinstance(m, neuron.IFNode) and target == "snntorch":
        tau = SNNTORCH_IF_TAU
        return nir.LIF(tau=_fill(tau, shape), r=_fill(tau / dt, shape), v_leak=_fill(0.0, shape),
                       v_threshold=threshold, v_reset=_fill(0.0, shape), metadata={"snnrs": meta})
    if isinstance(m, neuron.IFNode):
        return nir.IF(r=_fill(1.0 / dt, shape), v_threshold=threshold, v_reset=_fill(v_reset, shape),
                      metadata={"snnrs": meta})
    if isinstance(m, (neuron.LIFNode, neuron.ParametricLIFNode)):
        if isinstance(m, neuron.ParametricLIFNode):
            tau = 1.0 / float(torch.sigmoid(m.w.detach().double()))
            meta["w"] = float(m.w.detach())
        else:
            tau = float(m.tau)
            meta["tau"] = tau
        meta["decay_input"] = bool(m.decay_input)
        if target == "snntorch" and m.decay_input and math.frexp(tau)[0] != 0.5:
            warnings.warn(f"{type(m).__name__}(tau={tau:g}) for snnTorch: it reads this LIF with its threshold "
                          "divided by 1/tau, which rounds when tau is not a power of two, so a membrane landing "
                          "exactly on the threshold may fire in one and not the other", stacklevel=3)
        return nir.LIF(tau=_fill(tau * dt, shape), r=_fill(1.0 if m.decay_input else tau, shape),
                       v_leak=_fill(v_reset if m.v_reset is not None else 0.0, shape), v_threshold=threshold,
                       v_reset=_fill(v_reset, shape), metadata={"snnrs": meta})
    if isinstance(m, CUBALIFNode):
        c_decay, v_decay = float(m.c_decay), float(m.v_decay)
        if not (0 <= c_decay < 1 and 0 <= v_decay < 1):
            raise ValueError(f"CUBALIFNode: c_decay and v_decay in [0, 1) have NIR time constants, got "
                             f"{c_decay}, {v_decay}")
        meta.update(c_decay=c_decay, v_decay=v_decay)
        tau_syn, tau_mem = dt / (1 - c_decay), dt / (1 - v_decay)
        return nir.CubaLIF(tau_syn=_fill(tau_syn, shape), tau_mem=_fill(tau_mem, shape),
                           r=_fill(tau_mem / dt, shape), v_leak=_fill(0.0, shape), v_threshold=threshold,
                           v_reset=_fill(v_reset, shape), w_in=_fill(tau_syn / dt, shape),
                           metadata={"snnrs": meta})
    return None


def _synapse_out_shape(m: nn.Module, shape) -> tuple[int, ...]:
    with torch.no_grad():
        weight = getattr(m, "weight", None)
        x = torch.zeros(1, *shape, dtype=weight.dtype if isinstance(weight, torch.Tensor) else torch.float32)
        torch_class = next(c for c in type(m).__mro__ if c.__module__.startswith("torch.nn"))
        return tuple(torch_class.forward(m, x).shape[1:])


class _Builder:
    def __init__(self, dt: float, nir, target: str | None = None):
        self.dt, self.nir, self.target = dt, nir, target
        # snnTorch 1.0 reads no SumPool2d: for it a sum pool is an average pool whose window area
        # multiplies the next conv or linear layer's weights (exact for power-of-two areas)
        self.carry = 1.0
        self.nodes: dict[str, object] = {}
        self.edges: list[tuple[str, str]] = []
        # the nodes whose outputs, summed, are the current value: one, or several after a residual
        # connection (NIR sums every edge into a node, so a sum needs no node of its own)
        self.sources = ["input"]
        self.binary = False  # whether the current value is spikes (0/1): what max pooling needs

    def add(self, node, name: str | None = None):
        name = name or str(len(self.nodes) - 1)
        self.nodes[name] = node
        self.edges.extend((source, name) for source in self.sources)
        self.sources = [name]
        self.binary = type(node).__name__ in ("IF", "LIF", "CubaLIF", "Threshold")

    def layers(self, layers: list[nn.Module], shape):
        i = 0
        while i < len(layers):
            m = layers[i]
            following = layers[i + 1] if i + 1 < len(layers) else None
            folded = isinstance(following, (nn.BatchNorm1d, nn.BatchNorm2d)) and isinstance(
                m, (nn.Linear, nn.Conv1d, nn.Conv2d))
            shape = self.layer(m, shape, following if folded else None)
            i += 2 if folded else 1
        return shape

    def layer(self, m: nn.Module, shape, bn=None):
        nir = self.nir
        if self.carry != 1.0 and not isinstance(m, (nn.Linear, nn.Conv1d, nn.Conv2d, nn.Flatten)):
            raise ValueError(f"{type(m).__name__} after a sum pool: target={self.target!r} writes the pool as an "
                             "average pool and needs a conv or linear layer next to take the window area")
        node = _neuron_node(m, shape, self.dt, nir, self.target) if isinstance(m, neuron.BaseNode) else None
        if node is not None:
            self.add(node)
            return shape
        if isinstance(m, neuron.BaseNode):
            raise ValueError(f"{type(m).__name__}: no NIR neuron for it (IF, LIF, ParametricLIF, CUBA-LIF are)")
        if isinstance(m, (nn.Linear, nn.Conv1d, nn.Conv2d)):
            if getattr(m, "padding_mode", "zeros") != "zeros":
                raise ValueError(f"{type(m).__name__}: padding_mode={m.padding_mode!r} has no NIR form (zeros only)")
            weight, bias = _fold(m, bn) if bn is not None else (
                _np(m.weight), None if m.bias is None else _np(m.bias))
            weight, self.carry = weight * np.float32(self.carry), 1.0
            out = _synapse_out_shape(m, shape)
            if isinstance(m, nn.Linear):
                self.add(nir.Affine(weight=weight, bias=bias) if bias is not None else nir.Linear(weight=weight))
            else:
                bias = bias if bias is not None else np.zeros(weight.shape[0], np.float32)
                padding = m.padding if isinstance(m.padding, str) else tuple(m.padding)
                # nir 1.0's type inference reads the input channels off weight.shape[1], ignoring groups:
                # a grouped conv is written dense (block-diagonal, zeros elsewhere), the groups in metadata
                weight, meta = (_dense(weight, m.groups), {"snnrs": {"groups": m.groups}}) if m.groups > 1 \
                    else (weight, {})
                if isinstance(m, nn.Conv2d):
                    node = nir.Conv2d(input_shape=tuple(shape[1:]), weight=weight, stride=tuple(m.stride),
                                      padding=padding, dilation=tuple(m.dilation), groups=1, bias=bias,
                                      metadata=meta)
                else:
                    node = nir.Conv1d(input_shape=int(shape[1]), weight=weight, stride=int(m.stride[0]),
                                      padding=padding if isinstance(padding, str) else int(padding[0]),
                                      dilation=int(m.dilation[0]), groups=1, bias=bias, metadata=meta)
                self.add(node)
            return out
        if isinstance(m, (nn.BatchNorm1d, nn.BatchNorm2d)):
            raise ValueError(f"{type(m).__name__}: only BatchNorm right after a conv or linear layer is exported "
                             "(folded into it)")
        if isinstance(m, nn.AvgPool2d):
            if m.ceil_mode or (m.padding and m.count_include_pad is False):
                raise ValueError("AvgPool2d: ceil_mode and count_include_pad=False have no NIR form")
            k, s, p = (np.array(_pair(v), dtype=np.int64) for v in (m.kernel_size, m.stride or m.kernel_size,
                                                                      m.padding))
            if m.divisor_override == 1 and self.target == "snntorch":
                area = int(k[0] * k[1])
                if area & (area - 1):  # dividing by the area and multiplying it back would round
                    raise ValueError(f"AvgPool2d(divisor_override=1) with a {k[0]}x{k[1]} window: target='snntorch' "
                                     "writes sum pools as average pools, exact only for power-of-two window areas")
                self.add(nir.AvgPool2d(kernel_size=k, stride=s, padding=p))
                self.carry *= float(area)
            elif m.divisor_override == 1:
                self.add(nir.SumPool2d(kernel_size=k, stride=s, padding=p))
            elif m.divisor_override is None:
                self.add(nir.AvgPool2d(kernel_size=k, stride=s, padding=p))
            else:
                raise ValueError("AvgPool2d: divisor_override other than 1 has no NIR form")
            return _synapse_out_shape(m, shape)
        if isinstance(m, nn.MaxPool2d):
            return self.max_pool(m, shape)
        if isinstance(m, nn.AdaptiveAvgPool2d):
            out = _synapse_out_shape(m, shape)
            if any(size % o for size, o in zip(shape[1:], out[1:])):
                raise ValueError(f"AdaptiveAvgPool2d{tuple(out[1:])} on {tuple(shape[1:])} maps: NIR's AvgPool2d "
                                 "needs the map sizes to be multiples of the output size")
            k = np.array([size // o for size, o in zip(shape[1:], out[1:])], dtype=np.int64)
            self.add(nir.AvgPool2d(kernel_size=k, stride=k, padding=np.zeros(2, np.int64)))
            return out
        if _is_residual_block(m):
            return self.residual(m, shape)
        if isinstance(m, nn.Flatten):
            out = _synapse_out_shape(m, shape)
            start = m.start_dim - 1 if m.start_dim > 0 else m.start_dim
            end = m.end_dim - 1 if m.end_dim > 0 else m.end_dim
            if self.target == "snntorch":  # its import passes the dims to torch as they are, batch dim included:
                start = start - len(shape) if start >= 0 else start  # counted from the end, both read them alike
                end = end - len(shape) if end >= 0 else end
            self.add(nir.Flatten(input_type={"input": np.array(shape)}, start_dim=start, end_dim=end))
            return out
        if isinstance(m, (VoltageScaler, Scale)):
            self.add(nir.Scale(scale=_fill(1.0, shape) * _np(m.scale)))
            return shape
        if isinstance(m, LinearRecurrentContainer):
            return self.recurrent(m, shape)
        raise ValueError(f"{type(m).__name__}: no NIR node for it (see snnrs.export.nir_export's doc)")

    def max_pool(self, m: nn.MaxPool2d, shape):
        """NIR has no max pooling, but over spikes (0/1, zero padding) the maximum of a window is whether
        its sum is positive: SumPool2d then Threshold(0), exact."""
        nir = self.nir
        if not self.binary or self.target is not None:
            raise ValueError("MaxPool2d: NIR has no max pooling; snnrs writes it as a sum pool and a threshold, "
                             "exact only right after a spiking neuron (and not for a target reader), so use "
                             "AvgPool2d or a sum pool (nn.AvgPool2d(k, divisor_override=1)) here")
        if m.ceil_mode or m.dilation not in (1, (1, 1)) or getattr(m, "return_indices", False):
            raise ValueError("MaxPool2d: ceil_mode, dilation and return_indices have no NIR form")
        k, s, p = (np.array(_pair(v), dtype=np.int64) for v in (m.kernel_size, m.stride or m.kernel_size,
                                                                  m.padding))
        self.add(nir.SumPool2d(kernel_size=k, stride=s, padding=p))
        out = _synapse_out_shape(m, shape)
        self.add(nir.Threshold(threshold=np.zeros(out, np.float32)))
        return out

    def residual(self, m: nn.Module, shape):
        """A SEW block with ADD, ``SN(branch) + shortcut``, or a plain spiking ResNet block (``cnf=None``),
        ``SN(branch + shortcut)``: the sum is the edges of both paths into what follows (or into the
        last neuron)."""
        if m.cnf not in ("ADD", None):
            raise ValueError(f"{type(m).__name__}(cnf={m.cnf!r}): NIR sums the edges into a node but has no "
                             "product of two of them; only ADD (and the plain ResNet, cnf=None) export")
        entry, entry_binary = list(self.sources), self.binary
        stages = [m.conv1, m.sn1, m.conv2] + ([m.sn2, m.conv3] if hasattr(m, "conv3") else [])
        last_neuron = m.sn3 if hasattr(m, "conv3") else m.sn2
        branch = self.layers([leaf for stage in stages for leaf in _layers(stage)]
                             + ([last_neuron] if m.cnf is not None else []), shape)
        branch_sources = self.sources
        self.sources, self.binary = entry, entry_binary  # the shortcut starts from the block's input
        short = shape
        if m.downsample is not None:
            short = self.layers(_layers(m.downsample) + ([m.downsample_sn] if m.cnf is not None else []), shape)
        if tuple(short) != tuple(branch):
            raise ValueError(f"{type(m).__name__}: its branch gives {tuple(branch)} and its shortcut {tuple(short)}")
        self.sources, self.binary = branch_sources + self.sources, False
        if m.cnf is None:
            return self.layers([last_neuron], branch)
        return branch

    def recurrent(self, m: LinearRecurrentContainer, shape):
        """``y[t] = SN(W_x·x[t] + b + W_y·y[t-1])`` as a nested graph with a cycle."""
        nir = self.nir
        node = _neuron_node(m.sub_module, (m.out_features,), self.dt, nir, self.target) \
            if isinstance(m.sub_module, neuron.BaseNode) else None
        if node is None:
            raise ValueError("LinearRecurrentContainer: only an IF, LIF, ParametricLIF or CUBA-LIF sub_module is "
                             "exported")
        n_in = m.rc.in_features - m.out_features
        if n_in != m.out_features:
            raise ValueError("LinearRecurrentContainer: the neuron must keep the size (in_features == out_features)")
        w = _np(m.rc.weight)
        inner = {"input": nir.Input(input_type=np.array([n_in])),
                 "w_in": nir.Affine(weight=w[:, :n_in], bias=_np(m.rc.bias)) if m.rc.bias is not None
                 else nir.Linear(weight=w[:, :n_in]),
                 "neuron": node,
                 "w_rec": nir.Linear(weight=w[:, n_in:]),
                 "output": nir.Output(output_type=np.array([m.out_features]))}
        edges = [("input", "w_in"), ("w_in", "neuron"), ("neuron", "w_rec"), ("w_rec", "neuron"),
                 ("neuron", "output")]
        self.add(nir.NIRGraph(nodes=inner, edges=edges, metadata={"snnrs": {"class": "LinearRecurrentContainer"}}))
        return (m.out_features,)


def _is_residual_block(m: nn.Module) -> bool:
    from snnrs.models.sew_resnet import BasicBlock, Bottleneck
    return isinstance(m, (BasicBlock, Bottleneck))


def _dense(weight: np.ndarray, groups: int) -> np.ndarray:
    out_per, in_per = weight.shape[0] // groups, weight.shape[1]
    dense = np.zeros((weight.shape[0], in_per * groups, *weight.shape[2:]), weight.dtype)
    for g in range(groups):
        dense[g * out_per:(g + 1) * out_per, g * in_per:(g + 1) * in_per] = weight[g * out_per:(g + 1) * out_per]
    return dense


def _pair(v):
    return (v, v) if isinstance(v, int) else tuple(v)


def to_nir(model: nn.Module, example_input, dt: float | None = None, target: str | None = None):
    """The NIR graph of ``model``. ``example_input``: one time step of a batch, ``[N, ...]``
    (only its per-sample shape is used), or that shape as a tuple; ``dt``: seconds per step (None:
    1e-4, or the dt the target assumes). ``target='snntorch'``: a graph snnTorch 1.0's
    ``import_from_nir`` runs as snnrs does (dt 1e-4, which it assumes; IF as a LIF without leak, which
    it reads; neurons must reset to 0; see docs/semantics.md#nir-time-step)."""
    nir = _nir()
    if target is not None and target not in TARGET_DT:
        raise ValueError(f"target: expected None or one of {sorted(TARGET_DT)}, got {target!r}")
    if target is not None:
        if dt is not None and not math.isclose(dt, TARGET_DT[target], rel_tol=1e-12):
            raise ValueError(f"dt: target={target!r} reads every graph with dt = {TARGET_DT[target]:g} s; "
                             f"leave dt unset (got {dt!r})")
        dt = TARGET_DT[target]
    dt = 1e-4 if dt is None else dt
    if isinstance(dt, bool) or not (isinstance(dt, (int, float)) and math.isfinite(dt) and dt > 0):
        raise ValueError(f"dt: expected a positive time step in seconds, got {dt!r}")
    if isinstance(example_input, torch.Tensor):
        if example_input.dim() < 2:
            raise ValueError(f"example_input: expected a batch [N, ...], got shape {tuple(example_input.shape)}")
        shape = tuple(example_input.shape[1:])
    elif isinstance(example_input, (tuple, list)) and all(isinstance(s, int) and s > 0 for s in example_input):
        shape = tuple(example_input)
    else:
        raise TypeError("example_input: expected a tensor [N, ...] or a tuple of positive ints")
    if model.training and any(isinstance(m, (nn.BatchNorm1d, nn.BatchNorm2d)) for m in model.modules()):
        warnings.warn("to_nir: the model is in training mode; BatchNorm is folded with its running statistics "
                      "(as in eval mode)", stacklevel=2)
    builder = _Builder(float(dt), nir, target)
    builder.nodes["input"] = nir.Input(input_type=np.array(shape))
    out = builder.layers(_layers(model), shape)
    if builder.carry != 1.0:
        raise ValueError(f"a sum pool ends the model: target={target!r} writes it as an average pool and needs a "
                         "conv or linear layer after it")
    builder.nodes["output"] = nir.Output(output_type=np.array(out))
    builder.edges.extend((source, "output") for source in builder.sources)
    meta = {"dt": float(dt)} if target is None else {"dt": float(dt), "target": target}
    return nir.NIRGraph(nodes=builder.nodes, edges=builder.edges, metadata={"snnrs": meta})


__all__ = ["to_nir"]
