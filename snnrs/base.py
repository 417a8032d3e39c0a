"""Stateful modules: memories that ``reset()`` restores, and the step mode.

As in SpikingJelly, ``step_mode='s'`` takes one time step ``[N, ...]`` per call
and ``'m'`` a whole sequence ``[T, N, ...]``.
"""

import copy

from torch import nn

STEP_MODES = ("s", "m")


class StepModule:
    """Mixin for modules that run in single-step ('s') or multi-step ('m') mode."""

    @property
    def supported_step_modes(self):
        return STEP_MODES

    @property
    def step_mode(self):
        return self._step_mode

    @step_mode.setter
    def step_mode(self, value):
        if value not in self.supported_step_modes:
            raise ValueError(f"step_mode: expected one of {self.supported_step_modes}, got {value!r}")
        self._step_mode = value


class BackendModule:
    """Mixin for modules computing the same thing in several ways: ``backend`` must be one of
    ``supported_backends`` (a class attribute)."""

    supported_backends: tuple = ()

    @property
    def backend(self):
        return self._backend

    @backend.setter
    def backend(self, value):
        if value not in self.supported_backends:
            raise ValueError(f"backend: expected one of {self.supported_backends}, got {value!r}")
        self._backend = value
        self._backend_chosen(value)

    def _backend_chosen(self, value):
        """Hook: a subclass prepares what a backend needs when it is chosen."""


class MemoryModule(nn.Module, StepModule):
    """A module with state (e.g. the membrane potential ``v``).

    ``register_memory(name, value)`` declares a state attribute and its reset
    value; ``reset()`` restores every declared attribute.
    """

    def __init__(self):
        super().__init__()
        self._memory_defaults = {}
        self._step_mode = "s"

    def register_memory(self, name: str, value):
        if hasattr(self, name) and name not in self._memory_defaults:
            raise AttributeError(f"{name}: already an attribute of {type(self).__name__}")
        self._memory_defaults[name] = copy.deepcopy(value)
        setattr(self, name, value)

    def reset(self):
        """Restores every memory to its registered value (call between sequences)."""
        for name, value in self._memory_defaults.items():
            setattr(self, name, copy.deepcopy(value))

    def detach(self):
        """Detaches tensor memories from the autograd graph (truncated BPTT)."""
        for name in self._memory_defaults:
            value = getattr(self, name)
            if hasattr(value, "detach"):
                setattr(self, name, value.detach())

    def extra_repr(self):
        return f"step_mode={self.step_mode}"
