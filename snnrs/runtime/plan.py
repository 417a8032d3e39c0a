"""A NIR graph as an execution order (no torch): nested graphs flattened, nodes sorted from the
input, and the edges that close a cycle marked as delayed — they carry the previous step's output,
which is how recurrent NIR graphs (a neuron feeding back through weights) are meant."""

from dataclasses import dataclass, field
from pathlib import Path


def _nir():
    try:
        import nir
    except ImportError as e:  # pragma: no cover - nir is in the test extra
        raise ImportError("snnrs needs the package 'nir' for NIR graphs: pip install nir") from e
    return nir


@dataclass
class Plan:
    nodes: dict[str, object]                 # flat name -> NIR node (Input/Output of subgraphs included)
    order: list[str]                         # evaluation order within a step
    inputs: dict[str, list[tuple[str, bool]]] = field(default_factory=dict)  # node -> [(source, delayed)]
    input_name: str = "input"
    output_name: str = "output"

    @property
    def recurrent(self) -> bool:
        return any(delayed for sources in self.inputs.values() for _, delayed in sources)


def load_graph(graph_or_path: str | Path | object):
    """A NIRGraph from a graph or a path (read with type checks)."""
    nir = _nir()
    if isinstance(graph_or_path, (str, Path)):
        path = Path(graph_or_path)
        if not path.is_file():
            raise FileNotFoundError(f"{path}: no such NIR file")
        try:
            return nir.read(str(path))
        except Exception as e:
            unknown = _unknown_node_types(path, nir)
            if unknown:
                version = getattr(nir, "__version__", "")
                raise ValueError(f"{path}: " + "; ".join(f"node {name!r} has type {kind!r}, which nir {version} "
                                                          "does not define" for name, kind in unknown)) from e
            reason = str(e) or type(e).__name__  # nir's own checks are bare asserts
            raise ValueError(f"{path}: not a readable NIR file ({reason})") from e
    if not isinstance(graph_or_path, nir.NIRGraph):
        raise TypeError(f"graph: expected a nir.NIRGraph or a path, got {type(graph_or_path).__name__}")
    return graph_or_path


def _unknown_node_types(path: Path, nir) -> list[tuple[str, str]]:
    """``(node name, type)`` for each node of the file whose type nir cannot read (nir says only
    ``AssertionError``); empty when the file is not HDF5 or every type is known."""
    try:
        import h5py
    except ImportError:  # pragma: no cover - nir depends on h5py
        return []
    found: list[tuple[str, str]] = []

    def visit(group_name, item):
        if isinstance(item, h5py.Group) and isinstance(item.get("type"), h5py.Dataset):
            kind = item["type"][()]
            kind = kind.decode(errors="replace") if isinstance(kind, bytes) else str(kind)
            if not hasattr(nir, kind) or not isinstance(getattr(nir, kind), type):
                found.append((group_name.removeprefix("node/").replace("nodes/", ""), kind))

    try:
        with h5py.File(path, "r") as f:
            f.visititems(visit)
    except (OSError, ValueError):
        return []
    return found


DEFAULT_DT = 1e-4  # the NIR paper's graphs


def written_dt(graph) -> float | None:
    """The dt (seconds) snnrs wrote into a graph's metadata, or None (not written by snnrs)."""
    meta = (getattr(graph, "metadata", None) or {}).get("snnrs")
    value = meta.get("dt") if isinstance(meta, dict) else None
    try:
        value = float(value)
    except (TypeError, ValueError):
        return None
    return value if value > 0 and value == value and value != float("inf") else None


def graph_dt(graph) -> float:
    """The dt (seconds) snnrs wrote into a graph's metadata, else the NIR paper's 1e-4."""
    written = written_dt(graph)
    return DEFAULT_DT if written is None else written


def _flatten(graph, prefix: str, nodes: dict[str, object], edges: list[tuple[str, str]], nir):
    """Adds ``graph``'s nodes under ``prefix``; a nested graph's own Input/Output nodes stand in
    for it (edges into the subgraph go to its input, edges out of it leave from its output)."""
    def entry(name):
        node = graph.nodes[name]
        return f"{prefix}{name}.{_io(node, nir.Input)}" if isinstance(node, nir.NIRGraph) else f"{prefix}{name}"

    def exit_(name):
        node = graph.nodes[name]
        return f"{prefix}{name}.{_io(node, nir.Output)}" if isinstance(node, nir.NIRGraph) else f"{prefix}{name}"

    for name, node in graph.nodes.items():
        if isinstance(node, nir.NIRGraph):
            _flatten(node, f"{prefix}{name}.", nodes, edges, nir)
        else:
            nodes[f"{prefix}{name}"] = node
    for source, target in graph.edges:
        for end in (source, target):
            if end not in graph.nodes:
                raise ValueError(f"NIR graph: edge ({source!r}, {target!r}) names an unknown node {end!r}")
        edges.append((exit_(source), entry(target)))


def _io(graph, kind) -> str:
    names = [n for n, node in graph.nodes.items() if isinstance(node, kind)]
    if len(names) != 1:
        raise ValueError(f"NIR subgraph: expected exactly one {kind.__name__} node, found {len(names)}")
    return names[0]


def plan(graph) -> Plan:
    """The execution plan of a NIRGraph: one Input and one Output at the top level."""
    nir = _nir()
    nodes: dict[str, object] = {}
    edges: list[tuple[str, str]] = []
    _flatten(graph, "", nodes, edges, nir)
    input_name, output_name = _io(graph, nir.Input), _io(graph, nir.Output)
    successors: dict[str, list[str]] = {n: [] for n in nodes}
    for source, target in edges:
        successors[source].append(target)
    # depth-first from the input; an edge to a node still on the stack closes a cycle: delayed
    order, state, delayed = [], {}, set()

    def visit(name):
        stack = [(name, iter(successors[name]))]
        state[name] = "open"
        while stack:
            current, children = stack[-1]
            child = next(children, None)
            if child is None:
                stack.pop()
                state[current] = "done"
                order.append(current)
            elif state.get(child) == "open":
                delayed.add((current, child))
            elif child not in state:
                state[child] = "open"
                stack.append((child, iter(successors[child])))

    visit(input_name)
    unreachable = sorted(set(nodes) - set(state))
    if unreachable:
        raise ValueError(f"NIR graph: nodes not reachable from the input: {unreachable}")
    order.reverse()
    inputs: dict[str, list[tuple[str, bool]]] = {n: [] for n in nodes}
    for source, target in edges:
        inputs[target].append((source, (source, target) in delayed))
    if output_name not in order:
        raise ValueError("NIR graph: the output is not reachable from the input")
    return Plan(nodes, order, inputs, input_name, output_name)


__all__ = ["Plan", "plan", "load_graph", "graph_dt", "written_dt", "DEFAULT_DT"]
