"""NIR graphs to torch modules (``docs/semantics.md#nir``), for graphs snnrs wrote and graphs other frameworks wrote.

Each node becomes a module: Affine/Linear → ``nn.Linear``, Conv1d/Conv2d → ``nn.Conv1d/2d``,
SumPool2d → ``nn.AvgPool2d(divisor_override=1)``, AvgPool2d, Flatten, Scale, Threshold; a neuron
becomes the snnrs neuron its snnrs metadata names (when it agrees with the NIR fields: exact round
trips), else an engine-backed ``IFNode``/``LIFNode`` when its parameters are uniform and its leak
ends at its reset (an input gain other than 1 becomes a Scale in front), else a general
:class:`~snnrs.export.nir_modules.NIRNeuron`. ``dt`` (seconds) turns time constants into steps; by default
the dt snnrs wrote into the graph.

Conventions assumed for graphs from elsewhere (documented in the README): NIR's strict
threshold; forward Euler; CubaLIF's membrane reads the current of the same step (snnTorch);
an IF's ``r`` is per second (``v += r·dt·I``), so Sinabs' IF graphs (``r = 1`` per step) load with
``dt=1``.
"""


import numpy as np
import torch
from torch import nn

from snnrs import functional, neuron
from snnrs.base import MemoryModule
from snnrs.export.nir_modules import NIRNeuron, Scale, Threshold
from snnrs.neuron import CUBALIFNode
from snnrs.runtime.conventions import NEURONS, discrete_neuron, inclusive_threshold
from snnrs.runtime.loading import check_dt, load_for_running
from snnrs.runtime.neurons import kernel_form
from snnrs.runtime.plan import Plan
from snnrs.runtime.validation import validate


def _t(a) -> torch.Tensor:
    return torch.as_tensor(np.asarray(a, np.float32))


def _from_metadata(node, dt: float):
    """The snnrs neuron a node's metadata describes, if writing that neuron back gives this node's
    NIR fields (so an edited field, or another dt, makes the NIR fields win)."""
    meta = (getattr(node, "metadata", None) or {}).get("snnrs")
    if not isinstance(meta, dict) or "class" not in meta:
        return None
    kind = type(node).__name__
    v_reset = None if bool(meta.get("soft_reset", False)) else float(meta.get("v_reset", 0.0))
    common = dict(v_threshold=float(meta.get("v_threshold", 1.0)), v_reset=v_reset, step_mode="m")
    if_kind = "LIF" if meta.get("target") == "snntorch" else "IF"  # snnTorch reads an IF as a LIF without leak
    try:
        if meta["class"] == "IFNode" and kind == if_kind:
            m = neuron.IFNode(**common)
        elif meta["class"] == "LIFNode" and kind == "LIF":
            m = neuron.LIFNode(tau=float(meta["tau"]), decay_input=bool(meta["decay_input"]), **common)
        elif meta["class"] == "ParametricLIFNode" and kind == "LIF":
            m = neuron.ParametricLIFNode(decay_input=bool(meta["decay_input"]), **common)
            with torch.no_grad():
                m.w.fill_(float(meta["w"]))
        elif meta["class"] == "CUBALIFNode" and kind == "CubaLIF":
            m = CUBALIFNode(c_decay=float(meta["c_decay"]), v_decay=float(meta["v_decay"]), **common)
        else:
            return None
    except (KeyError, TypeError, ValueError):
        return None
    if meta.get("target") is not None and meta["target"] not in ("snntorch",):
        return None
    import warnings

    import nir

    from snnrs.export.nir_export import _neuron_node
    shape = np.asarray(node.v_threshold).shape or (1,)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the soft-reset warning belongs to export, not to reading
        try:
            expected = _neuron_node(m, shape, dt, nir, meta.get("target"))
        except ValueError:  # metadata edited into something the target cannot hold
            return None
    for name, value in vars(expected).items():
        if name in ("metadata", "input_type", "output_type"):
            continue
        got = getattr(node, name, None)
        if got is None or np.shape(got) != np.shape(value) or not np.allclose(np.asarray(got, np.float64),
                                                                               np.asarray(value, np.float64),
                                                                               rtol=1e-6, atol=0):
            return None
    return m


def neuron_module(node, dt: float) -> nn.Module:
    restored = _from_metadata(node, dt)
    if restored is not None:
        return restored
    spec = discrete_neuron(node, dt)
    form = kernel_form(spec)
    if form is None:
        return NIRNeuron(spec)
    name, params, gain, v_th, v_reset = form
    threshold = float(inclusive_threshold(v_th, np.float32))
    if name == "if":
        m = neuron.IFNode(v_threshold=threshold, v_reset=v_reset, step_mode="m")
    else:
        m = neuron.LIFNode(tau=params[0], decay_input=True, v_threshold=threshold, v_reset=v_reset, step_mode="m")
    return m if gain == 1.0 else nn.Sequential(Scale(gain), m)


def _grouped(w: np.ndarray, groups: int, meta) -> tuple:
    """snnrs writes grouped convs dense (block-diagonal); the blocks come back when the metadata's
    groups agree with the zeros."""
    wanted = int(meta.get("groups", 1)) if isinstance(meta, dict) else 1
    if groups != 1 or wanted <= 1 or w.shape[0] % wanted or w.shape[1] % wanted:
        return w, groups
    out_per, in_per = w.shape[0] // wanted, w.shape[1] // wanted
    blocks = [w[g * out_per:(g + 1) * out_per, g * in_per:(g + 1) * in_per] for g in range(wanted)]
    mask = np.zeros(w.shape, bool)
    for g in range(wanted):
        mask[g * out_per:(g + 1) * out_per, g * in_per:(g + 1) * in_per] = True
    if np.any(w[~mask]):
        return w, groups
    return np.concatenate(blocks), wanted


def _pool_args(node):
    k, s, p = (tuple(int(v) for v in np.broadcast_to(np.asarray(a).ravel(), (2,))) for a in
               (node.kernel_size, node.stride, node.padding))
    return k, s, p


def node_module(node, dt: float) -> nn.Module:
    kind = type(node).__name__
    if kind in NEURONS:
        return neuron_module(node, dt)
    if kind in ("Input", "Output"):
        return nn.Identity()
    if kind in ("Affine", "Linear"):
        w = np.asarray(node.weight)
        m = nn.Linear(w.shape[1], w.shape[0], bias=kind == "Affine")
        with torch.no_grad():
            m.weight.copy_(_t(w))
            if kind == "Affine":
                m.bias.copy_(_t(node.bias))
        return m
    if kind in ("Conv1d", "Conv2d"):
        w = np.asarray(node.weight)
        conv = nn.Conv2d if kind == "Conv2d" else nn.Conv1d
        padding = node.padding if isinstance(node.padding, str) else tuple(np.atleast_1d(node.padding).astype(int))
        bias = node.bias is not None and np.ndim(node.bias) > 0
        groups = int(node.groups) if node.groups else 1
        w, groups = _grouped(w, groups, (getattr(node, "metadata", None) or {}).get("snnrs", {}))
        dims = w.ndim - 2
        stride = tuple(int(v) for v in np.broadcast_to(np.atleast_1d(node.stride).astype(int), (dims,)))
        dilation = tuple(int(v) for v in np.broadcast_to(np.atleast_1d(node.dilation).astype(int), (dims,)))
        if not isinstance(padding, str):
            padding = tuple(int(v) for v in np.broadcast_to(np.asarray(padding), (dims,)))
        m = conv(w.shape[1] * groups, w.shape[0], w.shape[2:], stride=stride, padding=padding, dilation=dilation,
                 groups=groups, bias=bias)
        with torch.no_grad():
            m.weight.copy_(_t(w))
            if bias:
                m.bias.copy_(_t(node.bias))
        return m
    if kind in ("SumPool2d", "AvgPool2d"):
        k, s, p = _pool_args(node)
        return nn.AvgPool2d(k, s, p, divisor_override=1 if kind == "SumPool2d" else None)
    if kind == "Flatten":
        start, end = int(node.start_dim), int(node.end_dim)
        return nn.Flatten(start + 1 if start >= 0 else start, end + 1 if end >= 0 else end)
    if kind == "Scale":
        return Scale(node.scale)
    if kind == "Threshold":
        return Threshold(node.threshold)
    raise ValueError(f"NIR node {kind}: not supported by snnrs.export.from_nir")


def _is_stateful(m: nn.Module) -> bool:
    return any(isinstance(x, (neuron.BaseNode, NIRNeuron)) for x in m.modules())


def _set_step_mode(m: nn.Module, mode: str):
    for x in m.modules():
        if isinstance(x, (neuron.BaseNode, NIRNeuron)):
            x.step_mode = mode


class NIRGraphModule(MemoryModule):
    """A NIR graph as torch modules. Input ``[T, N, *input_shape]``; output ``[T, N, ...]``.
    Graphs without cycles run layer by layer over all T (stateless layers on ``[T·N, ...]``);
    recurrent graphs run step by step. Reset state with ``snnrs.functional.reset_net``."""

    def __init__(self, graph_plan: Plan, dt: float, shapes: dict[str, tuple[int, ...]] | None = None):
        super().__init__()
        self.plan, self.dt = graph_plan, check_dt(dt)
        self.shapes = validate(graph_plan) if shapes is None else shapes
        self.names = {name: f"n{k}_{''.join(c if c.isalnum() else '_' for c in name)}"
                      for k, name in enumerate(graph_plan.order)}
        self.layers = nn.ModuleDict({self.names[n]: node_module(graph_plan.nodes[n], dt) for n in graph_plan.order})
        self.recurrent = graph_plan.recurrent
        for m in self.layers.values():
            _set_step_mode(m, "s" if self.recurrent else "m")
        self._previous: dict[str, torch.Tensor] = {}

    def extra_repr(self):
        return f"recurrent={self.recurrent}, dt={self.dt}"

    def module(self, name: str) -> nn.Module:
        return self.layers[self.names[name]]

    def _run_node(self, name, x, multistep):
        m = self.module(name)
        if multistep and not _is_stateful(m):
            return functional.seq_to_ann_forward(x, m)
        return m(x)

    def _gather(self, name, outputs, previous, like):
        total = None
        for source, delayed in self.plan.inputs[name]:
            value = previous.get(source) if delayed else outputs[source]
            if value is None:
                value = like.new_zeros(like.shape[0], *self.shapes[source])
            total = value if total is None else total + value
        return total

    def _rest(self, like: torch.Tensor) -> dict[str, torch.Tensor]:
        """Each node's output before the first step (what a delayed edge carries at t = 0): neurons
        silent, every other node applied to its inputs' rest values (a recurrent Affine gives its bias)."""
        rest: dict[str, torch.Tensor] = {}
        for name in self.plan.order:
            if name == self.plan.input_name or _is_stateful(self.module(name)):
                rest[name] = like.new_zeros(like.shape[0], *self.shapes[name])
            else:
                rest[name] = self._run_node(name, self._gather(name, rest, {}, like), False)
        return rest

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        wanted = self.shapes[self.plan.input_name]
        if x.dim() != len(wanted) + 2 or tuple(x.shape[2:]) != wanted or x.shape[0] == 0 or x.shape[1] == 0:
            # as the runtime: the graph's declared input, never a shape torch would broadcast into it
            raise ValueError(f"x: expected [T, N, {', '.join(map(str, wanted))}] with T, N >= 1 (the graph's input), "
                             f"got shape {tuple(x.shape)}")
        if any(v.shape[0] != x.shape[1] for v in self._previous.values()):
            self._previous = {}  # a new batch size: the neurons restart too
        if not self.recurrent:
            outputs = {}
            for name in self.plan.order:
                value = x if name == self.plan.input_name else self._gather(name, outputs, {}, None)
                outputs[name] = self._run_node(name, value, True)
            return outputs[self.plan.output_name]
        if not self._previous:
            self._previous = self._rest(x[0])
        results = []
        for t in range(x.shape[0]):
            outputs = {}
            for name in self.plan.order:
                value = x[t] if name == self.plan.input_name else self._gather(name, outputs, self._previous, x[t])
                outputs[name] = self._run_node(name, value, False)
            self._previous = outputs
            results.append(outputs[self.plan.output_name])
        return torch.stack(results)

    def reset(self):
        super().reset()
        self._previous = {}
        functional.reset_net(self.layers)


def from_nir(graph_or_path, dt: float | None = None) -> NIRGraphModule:
    """A NIR graph (or file) as a torch module; see the module doc for the conventions. ``dt=None``:
    the dt snnrs wrote into the graph, else 1e-4 (the NIR paper's graphs). A graph that does not
    validate raises ``ValueError`` naming the node; a dt that does not fit the graph's time constants
    warns (``snnrs.runtime.time_step.TimeStepWarning``) with the dt that does."""
    loaded = load_for_running(graph_or_path, dt)
    return NIRGraphModule(loaded.plan, loaded.dt, loaded.shapes)


__all__ = ["from_nir", "NIRGraphModule", "node_module", "neuron_module"]
