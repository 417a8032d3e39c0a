"""Whole-network helpers, as in SpikingJelly's ``activation_based.functional``."""

import warnings
from collections.abc import Callable, Sequence

import torch
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
    """Sets ``step_mode`` ('s' or 'm') on every step module in ``net``; returns how many.

    As in SpikingJelly 2.0, a container that decides how its modules see time
    (``StepModeContainer``, ``MultiStepContainer``, ``SeqToANNContainer`` and the recurrent
    containers: classes with ``keeps_inner_step_mode = True``) gets the mode itself, but the
    modules inside it keep theirs: a recurrent container in 'm' calls its neuron one step at a
    time, so switching that neuron to 'm' would make it read the batch as time.
    """
    count, pending = 0, [net]
    while pending:
        m = pending.pop()
        if isinstance(m, StepModule):
            m.step_mode = step_mode
            count += 1
        if not getattr(m, "keeps_inner_step_mode", False):
            pending.extend(reversed(tuple(m.children())))
    return count


def set_backend(net: nn.Module, backend: str, instance=object):
    """Sets ``backend`` on every module of type ``instance`` that supports it. Modules offering
    other backends only are skipped with a warning (as SpikingJelly does); if none supports
    ``backend``, ValueError."""
    count, skipped = 0, []
    for m in net.modules():
        if isinstance(m, instance) and hasattr(m, "supported_backends"):
            if backend in m.supported_backends:
                m.backend = backend
                count += 1
            else:
                skipped.append(type(m).__name__)
    if skipped and not count:
        raise ValueError(f"backend: no module supports {backend!r} ({', '.join(sorted(set(skipped)))} do not)")
    if skipped:
        warnings.warn(f"set_backend: {', '.join(sorted(set(skipped)))} do not support {backend!r}; left unchanged",
                      stacklevel=2)
    return count


def _as_callable(modules) -> Callable:
    if isinstance(modules, (list, tuple)):
        def chain(x):
            for m in modules:
                x = m(x)
            return x
        return chain
    if not callable(modules):
        raise TypeError(f"expected a module, a callable or a list of them, got {type(modules).__name__}")
    return modules


def _check_sequence(x_seq):
    if not isinstance(x_seq, torch.Tensor) or x_seq.dim() < 2:
        shape = tuple(x_seq.shape) if isinstance(x_seq, torch.Tensor) else type(x_seq).__name__
        raise ValueError(f"x_seq: expected a [T, N, ...] tensor, got {shape}")


def seq_to_ann_forward(x_seq: torch.Tensor, stateless_module: Callable | Sequence[Callable]):
    """Applies stateless module(s) to ``[T, N, ...]`` at once, as ``[T·N, ...]``, and restores T."""
    _check_sequence(x_seq)
    steps, batch = x_seq.shape[:2]
    y = _as_callable(stateless_module)(x_seq.flatten(0, 1))
    return y.reshape(steps, batch, *y.shape[1:])


def multi_step_forward(x_seq: torch.Tensor, single_step_module: Callable | Sequence[Callable]):
    """Applies single-step module(s) to each step of ``[T, ...]`` in order and stacks the outputs."""
    if not isinstance(x_seq, torch.Tensor) or x_seq.dim() < 1:
        raise ValueError("x_seq: expected a [T, ...] tensor")
    run = _as_callable(single_step_module)
    return torch.stack([run(x_seq[t]) for t in range(x_seq.shape[0])])


def first_spike_index(spikes: torch.Tensor) -> torch.Tensor:
    """Marks each neuron's first spike: a bool tensor of the shape of ``spikes`` ``[T, ...]``,
    True only where a neuron spikes for the first time."""
    if not isinstance(spikes, torch.Tensor) or spikes.dim() < 1:
        raise ValueError("spikes: expected a [T, ...] tensor")
    fired = spikes != 0
    before = torch.cumsum(fired.to(torch.int32), dim=0) - fired.to(torch.int32)
    return fired & (before == 0)


def fused_conv_bn_weight_bias(conv: nn.Module, bn: nn.Module):
    """Weight and bias of one convolution equal to ``bn(conv(x))`` in eval mode:
    ``w' = w·γ/√(σ²+ε)`` per output channel, ``b' = (b - μ)·γ/√(σ²+ε) + β``."""
    if not isinstance(bn, nn.modules.batchnorm._BatchNorm) or bn.running_var is None:
        raise TypeError("bn: expected a BatchNorm module with running statistics")
    if conv.weight.shape[0] != bn.num_features:
        raise ValueError(f"bn: {bn.num_features} features, but conv has {conv.weight.shape[0]} output channels")
    scale = bn.running_var.add(bn.eps).rsqrt()
    if bn.weight is not None:
        scale = scale * bn.weight
    bias = conv.bias if conv.bias is not None else torch.zeros_like(bn.running_mean)
    shift = bn.bias if bn.bias is not None else torch.zeros_like(bn.running_mean)
    weight = conv.weight * scale.reshape(-1, *([1] * (conv.weight.dim() - 1)))
    return weight.detach(), ((bias - bn.running_mean) * scale + shift).detach()


def fuse_conv_bn(conv: nn.Module, bn: nn.Module) -> nn.Module:
    """A copy of ``conv`` (with bias) computing ``bn(conv(x))`` as in eval mode."""
    import copy

    weight, bias = fused_conv_bn_weight_bias(conv, bn)
    fused = copy.deepcopy(conv)
    fused.weight = nn.Parameter(weight)
    fused.bias = nn.Parameter(bias)
    return fused


def neuron_forward(module: nn.Module, x: torch.Tensor, state: dict = None):
    """Stateless call of any stateful module (neurons, stateful layers): ``(output, new_state)``.

    ``state`` maps memory names (e.g. ``'v'``, Izhikevich's ``'w'``, CUBA-LIF's ``'c'``) to
    values; None starts fresh. The module's own state is restored afterwards, so code
    written in this style never needs :func:`reset_net`::

        spikes, state = neuron_forward(lif, x_seq)            # from rest
        more, state = neuron_forward(lif, x_next, state)       # continue
    """
    if not isinstance(module, MemoryModule):
        raise TypeError(f"module: expected a stateful snnrs module, got {type(module).__name__}")
    names = list(module._memory_defaults)
    unknown = set(state or {}) - set(names)
    if unknown:
        raise ValueError(f"state: unknown memories {sorted(unknown)}; {type(module).__name__} has {names}")
    saved = {name: getattr(module, name) for name in names}
    try:
        module.reset()
        for name, value in (state or {}).items():
            setattr(module, name, value)
        output = module(x)
        return output, {name: getattr(module, name) for name in names}
    finally:
        for name, value in saved.items():
            setattr(module, name, value)


class _LeakyIntegrate(torch.autograd.Function):
    """c[t] = c[t-1]·decay + x[t]; backward runs the same recursion in reverse. Both write into one
    preallocated buffer with two elementwise ops per step (no FMA: rounds like the reference)."""

    @staticmethod
    def forward(ctx, x_seq, c_init, decay):
        out = torch.empty_like(x_seq)
        scratch = torch.empty_like(x_seq[0])
        previous = c_init
        for t in range(x_seq.shape[0]):
            if previous is None:
                out[t].copy_(x_seq[t])
            else:
                torch.mul(previous, decay, out=scratch)
                torch.add(scratch, x_seq[t], out=out[t])
            previous = out[t]
        ctx.decay = decay
        ctx.has_init = c_init is not None
        return out

    @staticmethod
    def backward(ctx, grad_out):
        grad = torch.empty_like(grad_out)
        grad[-1].copy_(grad_out[-1])
        for t in range(grad_out.shape[0] - 2, -1, -1):
            torch.mul(grad[t + 1], ctx.decay, out=grad[t])
            grad[t].add_(grad_out[t])
        grad_init = grad[0] * ctx.decay if ctx.has_init else None
        return grad, grad_init, None


def leaky_integrate(x_seq: torch.Tensor, decay: float, c_init: torch.Tensor = None) -> torch.Tensor:
    """``c[t] = c[t-1]·decay + x[t]`` over ``[T, ...]`` (``c[-1] = c_init``, or 0): a synaptic current."""
    if not isinstance(x_seq, torch.Tensor) or x_seq.dim() < 1 or x_seq.shape[0] == 0:
        raise ValueError("x_seq: expected a [T, ...] tensor with T >= 1")
    if c_init is not None and c_init.shape != x_seq.shape[1:]:
        raise ValueError(f"c_init: expected shape {tuple(x_seq.shape[1:])}, got {tuple(c_init.shape)}")
    return _LeakyIntegrate.apply(x_seq.contiguous(), None if c_init is None else c_init.to(x_seq), float(decay))
