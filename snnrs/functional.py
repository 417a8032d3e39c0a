"""Whole-network helpers, as in SpikingJelly's ``activation_based.functional``."""

from torch import nn

from snnrs.base import MemoryModule, StepModule


def reset_net(net: nn.Module):
    """Resets the state of every stateful module in ``net`` (call after each batch)."""
    for m in net.modules():
        if isinstance(m, MemoryModule):
            m.reset()


def detach_net(net: nn.Module):
    """Detaches every stateful module's state from the graph (truncated BPTT)."""
    for m in net.modules():
        if isinstance(m, MemoryModule):
            m.detach()


def set_step_mode(net: nn.Module, step_mode: str):
    """Sets ``step_mode`` ('s' or 'm') on every step module in ``net``."""
    count = 0
    for m in net.modules():
        if isinstance(m, StepModule):
            m.step_mode = step_mode
            count += 1
    return count


def set_backend(net: nn.Module, backend: str, instance=object):
    """Sets ``backend`` on every module of type ``instance`` that offers it; refuses unknown backends."""
    count = 0
    for m in net.modules():
        if isinstance(m, instance) and hasattr(m, "supported_backends"):
            if backend not in m.supported_backends:
                raise ValueError(f"backend: {type(m).__name__} supports {m.supported_backends}, got {backend!r}")
            m.backend = backend
            count += 1
    return count
