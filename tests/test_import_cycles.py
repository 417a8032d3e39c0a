"""No module of snnrs imports itself back: the module-level imports between snnrs's own
modules form no cycle.

Imports inside functions are deliberate late imports (wgpu-py, a backend chosen at run time)
and do not run at import time, so they are not edges. Importing ``snnrs.a.b`` runs ``snnrs.a``
first, but a package's ``__init__`` importing its own submodules is the ordinary pattern, so
an edge goes to the module named, not to its parents.
"""

import ast
from pathlib import Path

PACKAGE_ROOT = Path(__file__).resolve().parent.parent / "snnrs"


def _module_name(path: Path, root: Path) -> str:
    parts = list(path.relative_to(root.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _module_level_statements(tree: ast.Module):
    """Statements that run at import time: the module body and the blocks of its if/try/with."""
    stack = list(tree.body)
    while stack:
        node = stack.pop()
        yield node
        if isinstance(node, (ast.If, ast.Try, ast.With)):
            for block in ("body", "orelse", "finalbody", "handlers"):
                stack.extend(getattr(node, block, []))
        if isinstance(node, ast.ExceptHandler):
            stack.extend(node.body)


def import_graph(root: Path = PACKAGE_ROOT) -> dict[str, set[str]]:
    """``{module: the snnrs modules it imports at module level}`` for every module under root.

    Compiled modules (the engine: ``_engine.*.so`` or its stub ``_engine.pyi``) import nothing
    of snnrs, but their names must resolve: ``from snnrs import _engine`` is an edge to them.
    """
    sources = {_module_name(p, root): p for p in root.rglob("*.py")}
    compiled = {_module_name(p.with_name(p.name.split(".")[0] + ".py"), root)
                for p in root.rglob("*") if p.suffix in (".so", ".pyd", ".pyi")}
    modules = set(sources) | compiled
    graph: dict[str, set[str]] = {name: set() for name in modules}
    for name, path in sources.items():
        is_package = path.name == "__init__.py"
        for node in _module_level_statements(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:  # relative import
                    anchor = name.split(".") if is_package else name.split(".")[:-1]
                    anchor = anchor[:len(anchor) - (node.level - 1)]
                    base = ".".join(anchor + ([base] if base else []))
                # `from pkg import sub` imports the submodule when there is one, else pkg itself.
                targets = [f"{base}.{alias.name}" if f"{base}.{alias.name}" in modules else base
                           for alias in node.names]
            else:
                continue
            graph[name].update(t for t in targets if t in modules)
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one module, and self-imports (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(v: str):
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1 or v in graph.get(v, ()):
                found.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def test_the_walker_sees_a_cycle(tmp_path):
    package = tmp_path / "pkg"
    (package / "sub").mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "a.py").write_text("from pkg import b\n")
    (package / "b.py").write_text("import json\nif True:\n    from pkg.sub import c\n")
    (package / "sub" / "__init__.py").write_text("")
    (package / "sub" / "c.py").write_text("from .. import a\n\ndef late():\n    from pkg import b\n")
    graph = import_graph(package)
    assert graph["pkg.sub.c"] == {"pkg.a"}  # the import inside late() is no edge
    assert cycles(graph) == [["pkg.a", "pkg.b", "pkg.sub.c"]]


def test_snnrs_has_no_import_cycle():
    graph = import_graph()
    assert len(graph) > 50 and "snnrs.neuron.lif" in graph
    assert cycles(graph) == []
