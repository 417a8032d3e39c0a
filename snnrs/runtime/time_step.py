"""Does the time step fit the graph? (``docs/semantics.md#nir-time-step``), without torch.

NIR gives time constants in seconds, and each simulator turns them into steps with its own ``dt``:
snnTorch assumes 1e-4 s, Norse 1e-3 s, Sinabs counts in steps (1). Read with another tool's dt, a
graph still runs, but its neurons may never fire (an IF whose input is scaled by ``r·dt = 1e-4`` per
step) or its Euler steps overshoot (``dt > tau``): silent zeros or nonsense. This module finds the
layers a dt breaks and the dt that fits every layer, so loading can warn with the fix."""

import math
import warnings

import numpy as np

from snnrs.runtime.conventions import NEURONS, SPIKING

# Per-step input gains outside this range leave a neuron unreachable or saturated: the graphs we know
# (snnTorch, Norse, Sinabs, snnrs) have gains between 0.01 and 10 at their own dt.
GAIN_RANGE = (1e-3, 1e3)
# The dts of the conventions we know: the NIR paper and snnTorch, Norse's default, Sinabs' steps.
CONVENTIONAL_DTS = (1e-4, 1e-3, 1.0)


class TimeStepWarning(UserWarning):
    """The dt a NIR graph is read with does not fit its time constants (the message says which dt does)."""


def _values(node, name, default=None) -> np.ndarray | None:
    value = getattr(node, name, None)
    if value is None:
        return None if default is None else np.asarray(default, np.float64)
    return np.asarray(value, np.float64).ravel()


def _taus(node) -> list[tuple[str, np.ndarray]]:
    names = ("tau_mem", "tau_syn") if type(node).__name__.startswith("Cuba") else ("tau",)
    return [(n, v) for n in names if (v := _values(node, n)) is not None and v.size]


def input_gain(node, dt: float) -> np.ndarray:
    """How much of one step's input reaches the membrane in that step (the current's share included)."""
    kind = type(node).__name__
    r = _values(node, "r", 1.0)
    if kind in ("IF", "I"):
        return r * dt
    taus = dict(_taus(node))
    gain = r * dt / taus["tau_mem" if kind.startswith("Cuba") else "tau"]
    if kind.startswith("Cuba"):
        gain = gain * _values(node, "w_in", 1.0) * dt / taus["tau_syn"]
    return gain


def findings(nodes: dict[str, object], dt: float) -> list[tuple[str, str]]:
    """What ``dt`` breaks: ``(node name, what goes wrong)`` per problem (empty: it fits)."""
    found = []
    for name, node in nodes.items():
        kind = type(node).__name__
        if kind not in NEURONS:
            continue
        for tau_name, tau in _taus(node):
            if np.any(tau < dt):
                found.append((name, f"{kind} {tau_name} = {float(tau.min()):g} s is shorter than dt, so each Euler "
                                    f"step overshoots (dt/{tau_name} = {dt / float(tau.min()):.3g})"))
        if kind in SPIKING:
            gain = np.abs(input_gain(node, dt))
            gain = float(np.median(gain)) if gain.size else 1.0
            if gain < GAIN_RANGE[0]:
                found.append((name, f"each step passes {gain:.3g} of the input to the {kind} membrane, so it will "
                                    "hardly ever reach its threshold"))
            elif gain > GAIN_RANGE[1]:
                found.append((name, f"each step multiplies the {kind} input by {gain:.3g}"))
    return found


def _grouped(found: list[tuple[str, str]]) -> list[str]:
    """One line per distinct problem, naming every layer that has it."""
    layers: dict[str, list[str]] = {}
    for name, what in found:
        layers.setdefault(what, []).append(repr(name))
    return [f"{', '.join(names[:6])}{' and more' if len(names) > 6 else ''}: {what}" for what, names in layers.items()]


def _candidates(nodes: dict[str, object], written: float | None) -> list[float]:
    """dts worth trying: the written one, the conventional ones, and those that make one layer's
    input gain exactly 1 (an IF's ``1/r``; ``tau/r`` for a leaky layer whose ``r`` is not 1)."""
    found = set(CONVENTIONAL_DTS) | ({written} if written else set())
    for node in nodes.values():
        kind = type(node).__name__
        r = _values(node, "r", 1.0)
        if kind not in NEURONS or not r.size or not np.all(r == r[0]) or r[0] <= 0:
            continue
        if kind in ("IF", "I"):
            found.add(1.0 / float(r[0]))
        elif r[0] != 1.0:
            tau = dict(_taus(node)).get("tau_mem" if kind.startswith("Cuba") else "tau")
            if tau is not None and tau.size and np.all(tau == tau[0]):
                found.add(float(tau[0]) / float(r[0]))
    return sorted(d for d in found if math.isfinite(d) and d > 0)


def fitting_dt(nodes: dict[str, object], written: float | None = None) -> float | None:
    """The candidate dt with no findings whose worst input gain is closest to 1, or None."""
    best, best_score = None, math.inf
    for dt in _candidates(nodes, written):
        if findings(nodes, dt):
            continue
        gains = [np.abs(input_gain(n, dt)) for n in nodes.values() if type(n).__name__ in SPIKING]
        score = max((abs(math.log10(float(np.median(g)))) for g in gains if g.size and np.median(g) > 0), default=0.0)
        if score < best_score:
            best, best_score = dt, score
    return best


def _user_stacklevel() -> int:
    """The ``warnings.warn`` stack level of the first frame outside the snnrs package (the user's call)."""
    import os
    import sys
    package = os.path.dirname(os.path.dirname(os.path.abspath(__file__))) + os.sep
    level, frame = 1, sys._getframe(1)
    while frame is not None and os.path.abspath(frame.f_code.co_filename).startswith(package):
        level, frame = level + 1, frame.f_back
    return level


def check(nodes: dict[str, object], dt: float, written: float | None) -> None:
    """Warns (:class:`TimeStepWarning`) when ``dt`` breaks a layer of the graph, or differs from the dt snnrs
    wrote the graph with; the message names the layers and the dt that fits."""
    same_as_written = written is not None and math.isclose(dt, written, rel_tol=1e-9)
    # at the dt snnrs wrote, the steps are the model's own, however slow a neuron it describes
    lines = [] if same_as_written else _grouped(findings(nodes, dt))
    if written is not None and not same_as_written:
        lines.insert(0, f"the graph was written by snnrs with dt = {written:g} s; reading it with dt = {dt:g} s makes "
                        f"every time constant {written / dt:.3g}x as many steps long")
    if not lines:
        return
    fit = written if written is not None else fitting_dt(nodes, written)
    hint = (f"Pass dt={fit:g} (it fits every layer)" if fit is not None and not math.isclose(fit, dt, rel_tol=1e-9)
            else "Check the dt of the tool that wrote the graph (docs/semantics.md#nir-time-step)")
    shown = lines[:4] + ([f"... and {len(lines) - 4} more"] if len(lines) > 4 else [])
    warnings.warn(f"NIR graph read with dt = {dt:g} s: " + "; ".join(shown) + f". {hint}", TimeStepWarning,
                  stacklevel=_user_stacklevel())


__all__ = ["TimeStepWarning", "check", "findings", "fitting_dt", "input_gain", "GAIN_RANGE", "CONVENTIONAL_DTS"]
