"""Checks a NIR graph before anything runs it (``docs/semantics.md#nir-validation``), without torch:
every parameter finite, every node of a kind snnrs runs, and the shapes along every edge consistent.
A graph that fails raises ``ValueError`` naming the node, instead of running into all-zero output (a NaN
threshold is never crossed) or into an error from deep inside a matrix product."""

import numpy as np

from snnrs.runtime.conventions import NEURONS
from snnrs.runtime.numpy_ops import SYNAPSES, synapse
from snnrs.runtime.plan import Plan

# Fields that describe the graph rather than hold parameters.
_NOT_PARAMETERS = {"input_type", "output_type", "metadata"}


def node_label(name: str, node) -> str:
    return f"NIR node {name!r} ({type(node).__name__})"


def check_finite(name: str, node) -> None:
    """Every floating-point parameter of ``node`` finite (a NaN threshold, weight or ``r`` would
    silently silence the layer)."""
    for field, value in vars(node).items():
        if field in _NOT_PARAMETERS or isinstance(value, (str, dict)) or value is None:
            continue
        try:
            array = np.asarray(value)
        except (TypeError, ValueError):
            continue
        if array.dtype.kind not in "fc":
            continue
        bad = int(np.count_nonzero(~np.isfinite(array)))
        if bad:
            raise ValueError(f"{node_label(name, node)}: {field} has {bad} non-finite value{'s' * (bad > 1)} "
                             f"(NaN or inf) of {array.size}")


def _declared(node, key: str, direction: str) -> tuple[int, ...] | None:
    """The shape a node declares for its input or output, when it declares one."""
    types = getattr(node, direction, None)
    if not isinstance(types, dict) or types.get(key) is None:
        return None
    shape = np.atleast_1d(np.asarray(types[key])).ravel()
    if shape.size == 0 or shape.dtype.kind not in "iuf" or np.any(shape <= 0):
        return None
    return tuple(int(s) for s in shape)


def _neuron_shape(name: str, node, incoming: tuple[int, ...]) -> None:
    """A neuron layer's per-neuron parameters must cover exactly the neurons it receives."""
    for field, value in vars(node).items():
        if field in _NOT_PARAMETERS or value is None or isinstance(value, (str, dict)):
            continue
        try:
            array = np.asarray(value)  # other tools leave torch tensors in graphs they build in memory
        except (TypeError, ValueError, RuntimeError):
            continue
        shape = array.shape
        if array.dtype.kind not in "iufcb" or array.size <= 1:
            continue  # not a parameter, or one value for every neuron
        try:
            fits = np.broadcast_shapes(shape, incoming) == incoming
        except ValueError:
            fits = False
        if not fits:
            raise ValueError(f"{node_label(name, node)}: {field} has shape {shape} but the node receives "
                             f"{list(incoming)} per sample")


def _incoming(graph_plan: Plan, name: str, shapes: dict[str, tuple[int, ...]]) -> tuple[int, ...]:
    sources = [source for source, delayed in graph_plan.inputs[name] if not delayed]
    if not sources:  # fed only by the previous step (a recurrent weight after its neuron): the declared shapes
        node = graph_plan.nodes[name]
        declared = [_declared(graph_plan.nodes[s], "output", "output_type") for s, _ in graph_plan.inputs[name]]
        declared.append(_declared(node, "input", "input_type"))
        known = [d for d in declared if d is not None]
        if not known:
            raise ValueError(f"{node_label(name, node)}: its input comes from the previous step and no node "
                             "declares its shape")
        return shapes.get(graph_plan.inputs[name][0][0], known[0])
    found = {source: shapes[source] for source in sources}
    if len(set(found.values())) > 1:
        listed = ", ".join(f"{s!r} gives {list(shape)}" for s, shape in found.items())
        raise ValueError(f"{node_label(name, graph_plan.nodes[name])}: its inputs have different shapes ({listed})")
    return next(iter(found.values()))


def validate(graph_plan: Plan) -> dict[str, tuple[int, ...]]:
    """Checks every node and edge; returns each node's per-sample output shape. Stateless nodes are
    run once on a zero sample, so a shape that does not fit raises here, naming the node."""
    input_node = graph_plan.nodes[graph_plan.input_name]
    input_shape = _declared(input_node, "input", "input_type")
    if input_shape is None:
        raise ValueError(f"{node_label(graph_plan.input_name, input_node)}: the graph's input has no shape")
    shapes: dict[str, tuple[int, ...]] = {}
    for name in graph_plan.order:
        node = graph_plan.nodes[name]
        check_finite(name, node)
        incoming = input_shape if name == graph_plan.input_name else _incoming(graph_plan, name, shapes)
        # a neuron's declared type is its parameters' shape, which may broadcast: _neuron_shape checks those
        declared = None if type(node).__name__ in NEURONS else _declared(node, "input", "input_type")
        if declared is not None and int(np.prod(declared)) != int(np.prod(incoming)):
            raise ValueError(f"{node_label(name, node)}: declares input {list(declared)} but receives "
                             f"{list(incoming)}")
        if type(node).__name__ in NEURONS:
            _neuron_shape(name, node, incoming)
            shapes[name] = incoming
            continue
        if type(node).__name__ not in SYNAPSES:
            raise ValueError(f"{node_label(name, node)}: snnrs has no rule for this kind of node (it runs "
                             f"{', '.join(NEURONS + SYNAPSES)})")
        op = synapse(node)
        try:
            out = op(np.zeros((1, *incoming), np.float32))
        except (ValueError, IndexError, TypeError) as e:
            raise ValueError(f"{node_label(name, node)}: does not apply to its input {list(incoming)} ({e})") from e
        shapes[name] = tuple(int(s) for s in out.shape[1:])
    received = {}
    for name in graph_plan.order:
        if name != graph_plan.input_name:
            received[name] = _incoming(graph_plan, name, shapes)  # all shapes known now
    for name in graph_plan.order:
        for source, delayed in graph_plan.inputs[name]:
            if delayed and shapes[source] != received[name]:
                raise ValueError(f"{node_label(name, graph_plan.nodes[name])}: its recurrent input from {source!r} "
                                 f"gives {list(shapes[source])}, but it takes {list(received[name])}")
    return shapes


__all__ = ["validate", "check_finite", "node_label"]
