"""docs/spikingjelly.md lists every public name of SpikingJelly 2.0.0's ``activation_based`` modules
with its status in snnrs; this test holds the table to the installed SpikingJelly and to snnrs: no
name missing or stale, every ✔ present in snnrs, every absence explained, the summary counts right."""

import ast
import importlib
import inspect
import re
from pathlib import Path

import pytest

from tests.compat.sj_sources import source_path, spikingjelly

DOC = Path(__file__).resolve().parents[2] / "docs" / "spikingjelly.md"
MODULES = ["neuron", "layer", "functional", "surrogate", "encoding", "monitor", "base", "learning", "rnn"]
SNNRS_MODULE = {"model": "models"}


def _public_names(module: str) -> list[str]:
    m = importlib.import_module(f"spikingjelly.activation_based.{module}")
    names = getattr(m, "__all__", None)
    if names is None:
        names = [n for n, v in vars(m).items() if not n.startswith("_") and not inspect.ismodule(v)
                 and getattr(v, "__module__", "").startswith("spikingjelly")]
    return list(dict.fromkeys(names))


def _model_names() -> dict[str, list[str]]:
    names = {}
    for path in sorted(source_path("model").glob("*.py")):
        if path.name == "__init__.py":
            continue
        for node in ast.parse(path.read_text()).body:
            if isinstance(node, ast.Assign) and any(getattr(t, "id", "") == "__all__" for t in node.targets):
                names[path.stem] = list(ast.literal_eval(node.value))
    return names


def _sections() -> dict[str, list[tuple]]:
    text = DOC.read_text()
    sections = {}
    for match in re.finditer(r"^### `spikingjelly\.activation_based\.(\w+)`.*?\n\n((?:\|.*\n?)+)", text, re.M):
        rows = []
        for line in match.group(2).strip().splitlines()[2:]:
            cells = [c.strip() for c in re.split(r"(?<!\\)\|", line)[1:-1]]
            rows.append(tuple(cells))
        sections[match.group(1)] = rows
    return sections


def _summary() -> dict[str, list[int]]:
    rows = re.findall(r"^\| `(\w+)` \| (\d+) \| (\d+) \| (\d+) \| (\d+) \|", DOC.read_text(), re.M)
    return {m: [int(v) for v in values] for m, *values in rows}


@pytest.mark.parametrize("module", MODULES + ["model"])
def test_the_table_lists_every_public_name_and_holds(module):
    spikingjelly()
    sections = _sections()
    assert module in sections, f"docs/spikingjelly.md has no table for {module}"
    rows = sections[module]
    if module == "model":
        listed = [(f.strip("`"), n.strip("`")) for f, n, *_ in rows]
        expected = [(f, n) for f, names in _model_names().items() for n in names]
        statuses = [(row[1].strip("`"), row[2], row[3]) for row in rows]
    else:
        listed = [row[0].strip("`") for row in rows]
        expected = _public_names(module)
        statuses = [(row[0].strip("`"), row[1], row[2]) for row in rows]
    assert sorted(listed) == sorted(expected), (
        f"missing: {sorted(set(expected) - set(listed))}; stale: {sorted(set(listed) - set(expected))}")
    ours = importlib.import_module(f"snnrs.{SNNRS_MODULE.get(module, module)}")
    for name, status, note in statuses:
        assert status in ("✔", "≈", "—"), f"{name}: unknown status {status!r}"
        if status == "✔":
            assert hasattr(ours, name), f"{name} is marked ✔ but snnrs.{ours.__name__} has no such name"
        elif status == "≈":
            assert "`" in note, f"{name}: an equivalent must be named"
        else:
            assert note and not hasattr(ours, name), f"{name}: absent needs a reason (and must be absent)"
    counts = _summary()[module]
    assert counts == [len(rows), *(sum(s == mark for _, s, _ in statuses) for mark in "✔≈—")], \
        f"summary counts of {module} disagree with its table"
