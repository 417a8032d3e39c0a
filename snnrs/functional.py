"""Whole-network helpers, as in SpikingJelly's ``activation_based.functional``."""

import math
import warnings
from collections.abc import Callable, Sequence

import torch
from torch import nn

from snnrs.base import MemoryModule, StepModule, resolve_backend
from snnrs.ops.host import functorch_active

_WARNED_RESETS = set()
# modules whose reset() is running: a user's reset() may call reset_net(self) (it would recurse forever)
_RESETTING = set()


def reset_net(net: nn.Module):
    """Resets the state of every stateful module in ``net`` (call after each batch): calls ``reset()`` on
    every module that has one, as SpikingJelly 2.0 does, so a user's own stateful module (or another
    library's neuron) is not left holding the last batch's state. One that is not a
    :class:`~snnrs.base.MemoryModule` is warned about once per class."""
    done = set()
    for m in net.modules():
        reset = getattr(m, "reset", None)
        if not callable(reset):
            continue
        # a wrapper forwarding attributes (torch.compile's OptimizedModule) hands out its module's reset:
        # one call per owner, and the owner is the one judged
        owner = getattr(reset, "__self__", m)
        if id(owner) in done or id(owner) in _RESETTING:
            continue
        done.add(id(owner))
        if not isinstance(owner, MemoryModule) and type(owner) not in _WARNED_RESETS:
            _WARNED_RESETS.add(type(owner))
            warnings.warn(f"reset_net: {type(owner).__name__} is not a snnrs MemoryModule but defines reset(); "
                          "called it", stacklevel=2)
        _RESETTING.add(id(owner))
        try:
            reset()
        finally:
            _RESETTING.discard(id(owner))


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
            if resolve_backend(m, backend) in m.supported_backends:
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


def _apply_modules(x, modules):
    """``modules`` (a module, a callable, or a list/tuple of them run in order) applied to ``x``; a
    tuple ``x`` is passed as separate arguments to the first (as SpikingJelly does)."""
    if isinstance(modules, (list, tuple)):
        args = x if isinstance(x, tuple) else (x,)
        for m in modules:
            x = m(*args)
            args = (x,)
        return x
    # The check is for users; under torch.compile, Dynamo cannot trace the builtin callable().
    if not torch.compiler.is_compiling() and not callable(modules):
        raise TypeError(f"expected a module, a callable or a list of them, got {type(modules).__name__}")
    return modules(*x) if isinstance(x, tuple) else modules(x)


def _leading_steps(name: str, x_seq) -> tuple:
    """``(T, N)`` of a ``[T, N, ...]`` tensor, or of a tuple of them (which must agree)."""
    items = x_seq if isinstance(x_seq, tuple) else (x_seq,)
    for item in items:
        if not isinstance(item, torch.Tensor) or item.dim() < 2:
            shape = tuple(item.shape) if isinstance(item, torch.Tensor) else type(item).__name__
            raise ValueError(f"{name}: expected a [T, N, ...] tensor (or a tuple of them), got {shape}")
    leading = items[0].shape[:2]
    if any(item.shape[:2] != leading for item in items[1:]):
        raise ValueError(f"{name}: the tensors must share [T, N], got {[tuple(i.shape) for i in items]}")
    return tuple(leading)


def seq_to_ann_forward(x_seq, stateless_module: Callable | Sequence[Callable]):
    """Applies stateless module(s) to ``[T, N, ...]`` at once, as ``[T·N, ...]``, and restores T.
    ``x_seq`` may be a tuple of such tensors (passed as separate arguments); a tuple output comes
    back as a tuple."""
    steps, batch = _leading_steps("x_seq", x_seq)
    flat = tuple(x.flatten(0, 1) for x in x_seq) if isinstance(x_seq, tuple) else x_seq.flatten(0, 1)
    y = _apply_modules(flat, stateless_module)
    if isinstance(y, tuple):
        return tuple(item.unflatten(0, (steps, batch)) for item in y)
    return y.unflatten(0, (steps, batch))


def multi_step_forward(x_seq: torch.Tensor, single_step_module: Callable | Sequence[Callable]):
    """Applies single-step module(s) to each step of ``[T, ...]`` in order and stacks the outputs."""
    if not isinstance(x_seq, torch.Tensor) or x_seq.dim() < 1:
        raise ValueError("x_seq: expected a [T, ...] tensor")
    return torch.stack([_apply_modules(x_seq[t], single_step_module) for t in range(x_seq.shape[0])])


def t_last_seq_to_ann_forward(x_seq: torch.Tensor, stateless_module: Callable | Sequence[Callable]):
    """:func:`seq_to_ann_forward` for time-last sequences ``[N, ..., T]``."""
    if not isinstance(x_seq, torch.Tensor) or x_seq.dim() < 2:
        raise ValueError("x_seq: expected a [N, ..., T] tensor")
    y = seq_to_ann_forward(x_seq.movedim(-1, 0), stateless_module)
    return tuple(t.movedim(0, -1) for t in y) if isinstance(y, tuple) else y.movedim(0, -1)


def t_last_multi_step_forward(x_seq: torch.Tensor, single_step_module: Callable | Sequence[Callable]):
    """:func:`multi_step_forward` for time-last sequences ``[N, ..., T]``."""
    if not isinstance(x_seq, torch.Tensor) or x_seq.dim() < 1:
        raise ValueError("x_seq: expected a [..., T] tensor")
    return multi_step_forward(x_seq.movedim(-1, 0), single_step_module).movedim(0, -1)


def chunk_multi_step_forward(split_size: int, x_seq: torch.Tensor, multi_step_module: nn.Module) -> torch.Tensor:
    """Runs a multi-step module over ``[T, ...]`` in chunks of ``split_size`` steps (its state carries
    over between chunks) and concatenates the outputs: less memory at once, the same result."""
    if isinstance(split_size, bool) or not isinstance(split_size, int) or split_size < 1:
        raise ValueError(f"split_size: expected an integer >= 1, got {split_size!r}")
    return torch.cat([multi_step_module(chunk) for chunk in torch.split(x_seq, split_size)], 0)


def first_spike_index(spikes: torch.Tensor, dim: int = -1) -> torch.Tensor:
    """Marks each neuron's first spike: a bool tensor of the shape of ``spikes``, True only where a
    neuron spikes for the first time along ``dim``, the time dimension — the last one by default, as
    in SpikingJelly (``[..., T]``); pass ``dim=0`` for ``[T, ...]``. For binary spikes; as in
    SpikingJelly, graded values count by their sum (True where it first reaches exactly 1)."""
    if not isinstance(spikes, torch.Tensor) or spikes.dim() < 1:
        raise ValueError("spikes: expected a tensor with a time dimension")
    # SpikingJelly's rule, which for graded spikes counts their values: nonzero where the running sum is 1.
    return (spikes != 0) & (spikes.cumsum(dim=dim) == 1)


def lif_charge(x: torch.Tensor, v: torch.Tensor, tau: float, decay_input: bool, v_reset: float | None) -> torch.Tensor:
    """The LIF charge ``H`` (``docs/semantics.md#lif``) from input ``x`` and voltage ``v``, in
    SpikingJelly 2.0's functional argument order; ``v_reset=None`` leaks towards 0."""
    from snnrs.neuron.lif import lif_charge as charge
    return charge(v, x, 0.0 if v_reset is None else v_reset, decay_input, tau=tau)


def voltage_reset(v: torch.Tensor, spike: torch.Tensor, v_threshold: float, v_reset: float | None,
                  detach_reset: bool) -> torch.Tensor:
    """The voltage after firing (``docs/semantics.md#firing``): ``V - S·V_th`` (soft, ``v_reset=None``) or
    ``S·V_reset + (1 - S)·V`` (hard); ``detach_reset`` stops gradients through the spike."""
    s = spike.detach() if detach_reset else spike
    if v_reset is None:
        return v - s * v_threshold
    return s * v_reset + (1.0 - s) * v


def delay(x_seq: torch.Tensor, delay_steps: int) -> torch.Tensor:
    """``x_seq`` ``[T, ...]`` shifted ``delay_steps`` steps later, zeros before (all zeros when the
    delay is T or more)."""
    if isinstance(delay_steps, bool) or not isinstance(delay_steps, int) or delay_steps < 0:
        raise ValueError(f"delay_steps: expected an integer >= 0, got {delay_steps!r}")
    if delay_steps == 0:
        return x_seq
    kept = x_seq[:max(x_seq.shape[0] - delay_steps, 0)]
    return torch.cat((torch.zeros_like(x_seq[:min(delay_steps, x_seq.shape[0])]), kept))


def redundant_one_hot(labels: torch.Tensor, num_classes: int, n: int) -> torch.Tensor:
    """One-hot labels with each class repeated ``n`` times (``[..., num_classes·n]``, default float
    dtype): targets for an output layer with ``n`` neurons per class."""
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise ValueError(f"n: expected an integer >= 1, got {n!r}")
    one_hot = torch.nn.functional.one_hot(labels, num_classes)
    return one_hot.repeat_interleave(n, dim=-1).to(torch.get_default_dtype())


def set_threshold_margin(output_layer: nn.Module, label_one_hot: torch.Tensor, eval_threshold: float = 1.0,
                         threshold0: float = 0.9, threshold1: float = 1.1):
    """In training, gives the output neurons per-neuron thresholds: ``threshold1`` where the label
    is 1, ``threshold0`` elsewhere (a margin that makes the right neuron fire harder); in eval mode,
    ``eval_threshold`` for all. Neurons with a tensor threshold run on the torch backend."""
    if output_layer.training:
        # In the labels' dtype when they are floating point (integer labels promote to the default dtype).
        threshold = torch.ones_like(label_one_hot) * threshold0
        threshold[label_one_hot == 1] = threshold1
        output_layer.v_threshold = threshold
    else:
        output_layer.v_threshold = eval_threshold


def kaiming_normal_conv_linear_weight(net: nn.Module):
    """Re-initialises the weight of every Conv1d/2d/3d and Linear of ``net`` with Kaiming-normal
    (``a=√5``, fan-in, leaky-ReLU gain), the way SpikingJelly's helper does."""
    for m in net.modules():
        if isinstance(m, (nn.Conv1d, nn.Conv2d, nn.Conv3d, nn.Linear)):
            nn.init.kaiming_normal_(m.weight, a=math.sqrt(5))


def kernel_dot_product(x: torch.Tensor, y: torch.Tensor, kernel: str = "linear", *args) -> torch.Tensor:
    """``K(x_i, y_j)`` for rows of ``x`` ``[N, D]`` and ``y`` ``[N, D]``: 'linear' ``x·y``,
    'polynomial' ``(x·y)^d``, 'sigmoid' ``σ(α x·y)``, 'gaussian' ``exp(-|x-y|²/(2σ²))``; ``args`` is
    d, α or σ."""
    dot = x.mm(y.t())
    if kernel == "linear":
        return dot
    if kernel == "polynomial":
        return dot.pow(args[0])
    if kernel == "sigmoid":
        return torch.sigmoid(args[0] * dot)
    if kernel == "gaussian":
        sigma = args[0]
        if sigma <= 0:
            raise ValueError(f"sigma: the Gaussian kernel needs sigma > 0, got {sigma}")
        squared = x.square().sum(1, keepdim=True) + y.square().sum(1).unsqueeze(0) - 2 * dot
        return torch.exp(-squared / (2 * sigma * sigma))
    raise ValueError(f"kernel: expected 'linear', 'polynomial', 'sigmoid' or 'gaussian', got {kernel!r}")


def spike_similar_loss(spikes: torch.Tensor, labels: torch.Tensor, kernel_type: str = "linear",
                       loss_type: str = "mse", *args) -> torch.Tensor:
    """Pulls together the spike trains of samples sharing a label and apart the others: the loss
    (``'mse'``, ``'l1'`` or ``'bce'``) between the kernel similarity of the flattened spike trains
    (cosine for 'linear') and ``min(1, labels·labelsᵀ)``; ``labels`` is one-hot ``[N, C]``."""
    flat = spikes.flatten(start_dim=1)
    similarity = kernel_dot_product(flat, flat, kernel_type, *args)
    if kernel_type == "linear":
        norms = flat.norm(p=2, dim=1, keepdim=True)
        similarity = similarity / (norms.mm(norms.t()) + 1e-8)
    labels = labels.to(similarity.dtype)
    target = labels.mm(labels.t()).clamp_max(1)
    losses = {"mse": torch.nn.functional.mse_loss, "l1": torch.nn.functional.l1_loss,
              "bce": torch.nn.functional.binary_cross_entropy}
    if loss_type not in losses:
        raise ValueError(f"loss_type: expected one of {sorted(losses)}, got {loss_type!r}")
    return losses[loss_type](similarity, target)


def temporal_efficient_training_cross_entropy(x_seq: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """TET's cross-entropy (``docs/semantics.md#tet``, without the MSE term): the mean over steps of
    the cross-entropy of each step's output ``x_seq[t]`` ``[N, C, ...]`` with ``target``."""
    if not isinstance(x_seq, torch.Tensor) or x_seq.dim() < 3:
        raise ValueError("x_seq: expected [T, N, C, ...] outputs")
    steps = x_seq.shape[0]
    # [T, N, C, ...] -> [N, C, T, ...] with the target repeated over T: one cross_entropy call.
    logits = x_seq.movedim(0, 2)
    repeated = target.unsqueeze(1).expand(target.shape[0], steps, *target.shape[1:])
    return torch.nn.functional.cross_entropy(logits, repeated)


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
    if functorch_active():  # vmap/grad: the same recursion in out-of-place ops
        currents, c = [], None if c_init is None else c_init.to(x_seq)
        for x in x_seq:
            c = x if c is None else c * decay + x
            currents.append(c)
        return torch.stack(currents)
    return _LeakyIntegrate.apply(x_seq.contiguous(), None if c_init is None else c_init.to(x_seq), float(decay))


# SpikingJelly 2.0's stateless per-neuron functions (``lif_step``, ``if_multi_step``, ``raf_step``, …) live
# with the neurons (snnrs.neuron.stateless, snnrs.neuron.steps) and layers, which import this module; they are
# looked up on first use so that importing snnrs.functional does not import every neuron.
_NEURON_FUNCTIONS = {
    "snnrs.neuron.stateless": ("if_step", "if_multi_step", "lif_step", "lif_multi_step", "plif_step",
                               "plif_multi_step", "qif_step", "qif_multi_step", "eif_step", "eif_multi_step",
                               "izhikevich_step", "izhikevich_multi_step", "klif_step", "cuba_lif_step", "liaf_step"),
    "snnrs.neuron.steps": ("ternary_if_step", "ternary_lif_step", "ilif_step", "ilif_multi_step", "raf_step",
                           "clif_step", "gated_lif_step"),
    "snnrs.layer.normalization": ("neunorm_step",),
    "snnrs.neuron.spikezip": ("stbif_step", "stbif_multi_step"),
    "snnrs.neuron.psn": ("sliding_psn_step", "masked_psn_step"),
    "snnrs.layer.stateful": ("synapse_filter_step", "delay_step"),
    "snnrs.neuron.integrate": ("activation_aware_if_step", "activation_aware_if_multi_step"),
    "snnrs.learning_rules": ("stdp_linear_step", "stdp_conv1d_step", "stdp_conv2d_step", "mstdp_linear_step",
                             "mstdpet_linear_step", "mstdpet_reward_step"),
}


def __getattr__(name):
    import importlib
    for module, names in _NEURON_FUNCTIONS.items():
        if name in names:
            return getattr(importlib.import_module(module), name)
    raise AttributeError(f"module 'snnrs.functional' has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | {name for names in _NEURON_FUNCTIONS.values() for name in names})
