"""How NIR's continuous-time neurons become discrete steps (``docs/semantics.md#nir``), with no torch.

Every NIR neuron becomes one discrete rule, per neuron (arrays broadcast to the layer's shape):

* synaptic current (CubaLIF, CubaLI): ``I ← (1 - dt/τ_syn)·I + (dt/τ_syn)·w_in·x``
* membrane: ``v ← v + (dt/τ_mem)·(v_leak - v) + g·u`` with ``u`` the input (or the new I) and
  ``g = r·dt/τ_mem`` (LIF, LI, CubaLIF, CubaLI) or ``g = r·dt`` (IF, I; no leak)
* spiking kinds fire where ``v > v_threshold`` (strict, as NIR) and then set ``v = v_reset``; a
  neuron snnrs wrote with a soft reset (its metadata says so, its reset is 0 and its threshold the
  one snnrs wrote) subtracts its threshold instead, ``v ← v - V_th`` (``V_th`` the inclusive threshold).

This is forward Euler with step dt; CubaLIF's membrane uses the current of the same step
(snnTorch's ``Synaptic``, whose export the braille graphs are). snnrs's own neurons fire where
``H >= V_th``; a strict threshold θ is the inclusive threshold ``nextafter(θ, +inf)`` in float32,
so both directions are exact (in float64 with float64's neighbour).
"""

from dataclasses import dataclass

import numpy as np

SPIKING = ("IF", "LIF", "CubaLIF")
NEURONS = ("IF", "LIF", "CubaLIF", "I", "LI", "CubaLI")


def inclusive_threshold(strict, dtype=np.float32) -> np.ndarray:
    """The θ' with ``v >= θ'`` exactly when ``v > strict``, for values ``v`` of ``dtype``."""
    strict = np.asarray(strict, dtype)
    return np.nextafter(strict, np.asarray(np.inf, dtype))


def strict_threshold(inclusive, dtype=np.float32) -> np.ndarray:
    """The θ with ``v > θ`` exactly when ``v >= inclusive``, for values ``v`` of ``dtype``."""
    inclusive = np.asarray(inclusive, dtype)
    return np.nextafter(inclusive, np.asarray(-np.inf, dtype))


@dataclass
class DiscreteNeuron:
    """One NIR neuron layer as a discrete rule (see the module doc). ``syn_decay``/``syn_gain`` are
    None without a synaptic current; ``v_threshold`` is NIR's strict threshold (fire where
    ``v > v_threshold``), None for non-spiking kinds."""

    kind: str
    mem_leak: np.ndarray     # dt/τ_mem (0: no leak)
    v_leak: np.ndarray
    gain: np.ndarray         # g
    v_threshold: np.ndarray | None
    v_reset: np.ndarray | None
    syn_decay: np.ndarray | None = None   # 1 - dt/τ_syn
    syn_gain: np.ndarray | None = None    # (dt/τ_syn)·w_in
    soft_reset: bool = False              # subtract the threshold on a spike instead of setting v_reset

    @property
    def spiking(self) -> bool:
        return self.kind in SPIKING

    def uniform(self, name: str) -> float | None:
        """The parameter's single value when it is the same for every neuron, else None."""
        value = getattr(self, name)
        if value is None:
            return None
        flat = np.asarray(value).ravel()
        return float(flat[0]) if flat.size and np.all(flat == flat[0]) else None


def _array(node, name, default=None):
    value = getattr(node, name, None)
    if value is None:
        if default is None:
            raise ValueError(f"NIR {type(node).__name__}: missing parameter {name!r}")
        return np.asarray(default, np.float64)
    return np.asarray(value, np.float64)


def _positive(node, name, value):
    if not np.all(np.isfinite(value)) or np.any(value <= 0):
        raise ValueError(f"NIR {type(node).__name__}: {name} must be positive and finite")
    return value


def written_soft_reset(node) -> bool:
    """Whether snnrs wrote this node for a soft-reset neuron and the fields a soft reset depends on are
    still the ones it wrote (reset 0, threshold ``nextafter(V_th, -inf)``): then a reader restores the
    soft reset, whoever edited the other fields."""
    meta = (getattr(node, "metadata", None) or {}).get("snnrs")
    if not isinstance(meta, dict) or not meta.get("soft_reset", False) or type(node).__name__ not in SPIKING:
        return False
    try:
        written = strict_threshold(float(meta["v_threshold"]))
    except (KeyError, TypeError, ValueError):
        return False
    v_reset = getattr(node, "v_reset", None)
    threshold = np.asarray(node.v_threshold, np.float32)
    return (v_reset is None or not np.any(np.asarray(v_reset, np.float64))) and bool(np.all(threshold == written))


def discrete_neuron(node, dt: float) -> DiscreteNeuron:
    """The discrete rule of a NIR neuron node for time step ``dt`` (seconds)."""
    if not (isinstance(dt, (int, float)) and np.isfinite(dt) and dt > 0):
        raise ValueError(f"dt: expected a positive time step in seconds, got {dt!r}")
    kind = type(node).__name__
    if kind not in NEURONS:
        raise ValueError(f"{kind}: not a NIR neuron ({', '.join(NEURONS)})")
    r = _array(node, "r")
    zero = np.zeros_like(r)
    if kind in ("IF", "I"):
        mem_leak, v_leak, gain = zero, zero, r * dt
    else:
        tau = _positive(node, "tau_mem" if kind.startswith("Cuba") else "tau",
                        _array(node, "tau_mem" if kind.startswith("Cuba") else "tau"))
        mem_leak, v_leak, gain = dt / tau + zero, _array(node, "v_leak", 0.0) + zero, r * dt / tau
    syn_decay = syn_gain = None
    if kind.startswith("Cuba"):
        tau_syn = _positive(node, "tau_syn", _array(node, "tau_syn"))
        syn_decay = 1.0 - dt / tau_syn
        syn_gain = dt / tau_syn * _array(node, "w_in", 1.0)
    v_threshold = v_reset = None
    if kind in SPIKING:
        v_threshold = _array(node, "v_threshold") + zero
        v_reset = _array(node, "v_reset", 0.0) + zero
    return DiscreteNeuron(kind, mem_leak, v_leak, gain, v_threshold, v_reset, syn_decay, syn_gain,
                          soft_reset=written_soft_reset(node))


def near(a: float, b: float, rel: float = 1e-6) -> bool:
    """Parameters read back from float32 files: equal up to float32 rounding."""
    return abs(a - b) <= rel * max(abs(a), abs(b), 1e-30)


__all__ = ["DiscreteNeuron", "discrete_neuron", "written_soft_reset", "inclusive_threshold", "strict_threshold",
           "near", "SPIKING", "NEURONS"]
