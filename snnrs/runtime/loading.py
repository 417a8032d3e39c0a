"""Reading a NIR graph for running it: the file read, the graph planned and validated, the time step
chosen and checked. ``from_nir``, ``runtime.load`` and ``quantize`` all start here, so they accept and
refuse the same graphs and warn alike."""

from dataclasses import dataclass

import numpy as np

from snnrs.runtime import time_step
from snnrs.runtime.plan import DEFAULT_DT, Plan, load_graph, plan, written_dt
from snnrs.runtime.validation import validate


@dataclass
class LoadedGraph:
    graph: object
    plan: Plan
    dt: float
    shapes: dict[str, tuple[int, ...]]  # each node's per-sample output shape


def check_dt(dt) -> float:
    if isinstance(dt, bool) or not isinstance(dt, (int, float, np.floating, np.integer)) or not (
            np.isfinite(dt) and dt > 0):
        raise ValueError(f"dt: expected a positive time step in seconds, got {dt!r}")
    return float(dt)


def load_for_running(graph_or_path, dt: float | None) -> LoadedGraph:
    """``dt=None``: the dt snnrs wrote into the graph, else 1e-4. Warns (``TimeStepWarning``) when the dt
    does not fit the graph."""
    graph = load_graph(graph_or_path)
    graph_plan = plan(graph)
    shapes = validate(graph_plan)
    written = written_dt(graph)
    dt = check_dt((DEFAULT_DT if written is None else written) if dt is None else dt)
    time_step.check(graph_plan.nodes, dt, written)
    return LoadedGraph(graph, graph_plan, dt, shapes)


__all__ = ["LoadedGraph", "load_for_running", "check_dt"]
