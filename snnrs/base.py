"""Stateful modules: memories that ``reset()`` restores, and the step mode.

As in SpikingJelly, ``step_mode='s'`` takes one time step ``[N, ...]`` per call
and ``'m'`` a whole sequence ``[T, N, ...]``.
"""

import copy
import warnings

from torch import nn

STEP_MODES = ("s", "m")


class StepModule:
    """Mixin for modules that run in single-step ('s') or multi-step ('m') mode."""

    def supported_step_mode(self) -> tuple:
        """The step modes this module runs in (SpikingJelly's method; subclasses override either it or
        the ``supported_step_modes`` property)."""
        return STEP_MODES

    @property
    def supported_step_modes(self):
        return tuple(self.supported_step_mode())

    @property
    def step_mode(self):
        return self._step_mode

    @step_mode.setter
    def step_mode(self, value):
        if value not in self.supported_step_modes:
            raise ValueError(f"step_mode: expected one of {self.supported_step_modes}, got {repr(value)}")
        self._step_mode = value


class SingleStepModule(StepModule):
    """A module that runs one step per call only (``step_mode`` 's')."""

    def supported_step_mode(self):
        return ("s",)


class MultiStepModule(StepModule):
    """A module that takes whole sequences ``[T, N, ...]`` only (``step_mode`` 'm')."""

    def supported_step_mode(self):
        return ("m",)


# SpikingJelly's CUDA backends. Code written for SpikingJelly passes them; where a module has the
# 'engine' backend they select it (fused kernels on CPU, the torch loop elsewhere), with one warning.
SPIKINGJELLY_CUDA_BACKENDS = ("cupy", "triton")
_warned_backends: set = set()


def resolve_backend(module, value):
    """``value``, or 'engine' for a SpikingJelly CUDA backend where the module has 'engine'."""
    if value in SPIKINGJELLY_CUDA_BACKENDS and "engine" in module.supported_backends:
        key = (type(module).__name__, value)
        if key not in _warned_backends:
            _warned_backends.add(key)
            warnings.warn(f"{type(module).__name__}: backend={value!r} is SpikingJelly's CUDA backend; snnrs runs "
                          "'engine' (the fused kernels on CPU, the torch loop on other devices), same numbers",
                          stacklevel=3)
        return "engine"
    return value


class BackendModule:
    """Mixin for modules computing the same thing in several ways: ``backend`` must be one of
    ``supported_backends`` (a class attribute); SpikingJelly's 'cupy' and 'triton' mean 'engine'."""

    supported_backends: tuple = ()

    @property
    def backend(self):
        return self._backend

    @backend.setter
    def backend(self, value):
        value = resolve_backend(self, value)
        if value not in self.supported_backends:
            raise ValueError(f"backend: expected one of {self.supported_backends}, got {repr(value)}")
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

    def set_reset_value(self, name: str, value):
        """Changes the value ``reset()`` restores memory ``name`` to."""
        if name not in self._memory_defaults:
            raise KeyError(f"{name}: not a memory of {type(self).__name__} (has {list(self._memory_defaults)})")
        self._memory_defaults[name] = copy.deepcopy(value)

    def get_reset_value(self, name: str):
        if name not in self._memory_defaults:
            raise KeyError(f"{name}: not a memory of {type(self).__name__} (has {list(self._memory_defaults)})")
        return self._memory_defaults[name]

    def named_memories(self):
        """``(name, value)`` of every memory, in registration order."""
        for name in self._memory_defaults:
            yield name, getattr(self, name)

    def memories(self):
        for _, value in self.named_memories():
            yield value

    def extra_repr(self):
        return f"step_mode={self.step_mode}"


def named_memories(module: nn.Module, prefix: str = ""):
    """``(dotted name, value)`` of every memory of ``module`` and its submodules (e.g. ``'2.v'``)."""
    if isinstance(module, MemoryModule):
        for name, value in module.named_memories():
            yield (f"{prefix}.{name}" if prefix else name), value
    for child_name, child in module.named_children():
        yield from named_memories(child, f"{prefix}.{child_name}" if prefix else child_name)


def memories(module: nn.Module):
    for _, value in named_memories(module):
        yield value


def extract_memories(module: nn.Module) -> list:
    """Every memory of ``module`` (and its submodules) in order: a snapshot to :func:`load_memories` later."""
    return list(memories(module))


def load_memories(module: nn.Module, memory_list: list):
    """Sets the memories of ``module`` (in :func:`extract_memories`'s order) to ``memory_list``."""
    named = list(named_memories(module))
    if len(named) != len(memory_list):
        raise ValueError(f"memory_list: {len(memory_list)} values, but the module has {len(named)} memories")
    for (name, _), value in zip(named, memory_list, strict=True):
        *path, leaf = name.split(".")
        owner = module
        for part in path:
            owner = getattr(owner, part)
        setattr(owner, leaf, value)
