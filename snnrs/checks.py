"""Argument checks shared by modules: one place for each rule, with the argument named in the error."""

import math

__all__ = ["finite", "time_constant"]


def finite(name: str, value) -> float:
    """``value`` as a float; a ValueError naming the argument unless it is a finite number."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ValueError(f"{name}: expected a finite number, got {value!r}")
    return float(value)


def time_constant(name: str, value, above: float = 1.0) -> float:
    """A time constant: finite and > ``above`` (1 for a leak of ``1/tau`` per step)."""
    value = finite(name, value)
    if value <= above:
        raise ValueError(f"{name}: expected {name} > {above:g}, got {value!r}")
    return value
