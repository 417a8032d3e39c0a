"""torch custom ops over the engine's Izhikevich kernel (two states, V and W).

``snnrs::izhikevich_forward`` / ``snnrs::izhikevich_backward`` follow the pattern of
:mod:`snnrs._ops` (custom op + fake + autograd, and an eager autograd.Function over the same
kernel functions); only the second state, ``w``, is new: ``w_init`` in, ``w_last`` out.
"""

from typing import List, Optional, Tuple

import torch
from torch import Tensor

from snnrs import _engine, _ops


def _forward_kernel(
    x: Tensor,
    v_init: Optional[Tensor],
    w_init: Optional[Tensor],
    v_threshold: float,
    v_reset: Optional[float],
    params: List[float],
    detach_reset: bool,
    surrogate: str,
    surrogate_params: List[float],
    store_v_seq: bool,
    save_for_backward: bool = True,
) -> Tuple[Tensor, Tensor, Tensor, Tensor, Tensor, Tensor]:
    """Returns ``(spikes, v_last, w_last, h_seq, bits, v_seq)``; ``params`` as
    ``snnrs._engine.IZHIKEVICH_PARAMETERS``. Empty h_seq/bits in inference, empty v_seq unless stored."""
    _ops._check_tensor("x", x)
    if x.dim() < 1:
        raise ValueError("x: expected a [T, ...] tensor with at least one dimension")
    _ops._check_state("v_init", v_init, x)
    _ops._check_state("w_init", w_init, x)
    steps = x.shape[0]
    spikes, v_last, w_last, h_seq, bits, v_seq = _engine.izhikevich_forward(
        _ops._flat(x, steps), _ops._flat_state(v_init), _ops._flat_state(w_init), params=list(params),
        v_threshold=v_threshold, v_reset=v_reset, store_v_seq=store_v_seq, save_for_backward=save_for_backward,
    )
    state = x.shape[1:]
    return (torch.from_numpy(spikes).view(x.shape), torch.from_numpy(v_last).view(state),
            torch.from_numpy(w_last).view(state),
            torch.from_numpy(h_seq).view(x.shape) if save_for_backward else x.new_empty(0),
            torch.from_numpy(bits) if save_for_backward else x.new_empty(0, dtype=torch.uint8),
            torch.from_numpy(v_seq).view(x.shape) if store_v_seq else x.new_empty(0))


izhikevich_forward = torch.library.custom_op("snnrs::izhikevich_forward", _forward_kernel, mutates_args=())


@izhikevich_forward.register_fake
def _(x, v_init, w_init, v_threshold, v_reset, params, detach_reset, surrogate, surrogate_params, store_v_seq,
      save_for_backward=True):
    saved, neurons = save_for_backward, x[0].numel()
    return (x.new_empty(x.shape), x.new_empty(x.shape[1:]), x.new_empty(x.shape[1:]),
            x.new_empty(x.shape) if saved else x.new_empty(0),
            x.new_empty((x.shape[0], (neurons + 7) // 8) if saved else (0,), dtype=torch.uint8),
            x.new_empty(x.shape) if store_v_seq else x.new_empty(0))


def _backward_kernel(
    grad_spikes: Optional[Tensor],
    grad_v_last: Optional[Tensor],
    grad_w_last: Optional[Tensor],
    grad_v_seq: Optional[Tensor],
    h_seq: Tensor,
    bits: Tensor,
    v_init: Optional[Tensor],
    v_threshold: float,
    v_reset: Optional[float],
    params: List[float],
    detach_reset: bool,
    surrogate: str,
    surrogate_params: List[float],
) -> Tuple[Tensor, Tensor, Tensor]:
    """Exact BPTT: ``(grad_x, grad_v_init, grad_w_init)``."""
    _ops._check_tensor("h_seq", h_seq)
    steps = h_seq.shape[0]
    flat = lambda g: None if g is None else _ops._flat(g, steps)  # noqa: E731
    grad_x, grad_v_init, grad_w_init = _engine.izhikevich_backward(
        flat(grad_spikes), _ops._flat(h_seq, steps), bits.detach().contiguous().numpy(), _ops._flat_state(v_init),
        grad_v_seq=flat(grad_v_seq), grad_v_last=_ops._flat_state(grad_v_last),
        grad_w_last=_ops._flat_state(grad_w_last), params=list(params), v_threshold=v_threshold, v_reset=v_reset,
        detach_reset=detach_reset, surrogate=surrogate, surrogate_params=list(surrogate_params),
    )
    state = h_seq.shape[1:]
    return (torch.from_numpy(grad_x).view(h_seq.shape), torch.from_numpy(grad_v_init).view(state),
            torch.from_numpy(grad_w_init).view(state))


izhikevich_backward = torch.library.custom_op("snnrs::izhikevich_backward", _backward_kernel, mutates_args=())


@izhikevich_backward.register_fake
def _(grad_spikes, grad_v_last, grad_w_last, grad_v_seq, h_seq, bits, v_init, v_threshold, v_reset, params,
      detach_reset, surrogate, surrogate_params):
    return h_seq.new_empty(h_seq.shape), h_seq.new_empty(h_seq.shape[1:]), h_seq.new_empty(h_seq.shape[1:])


def _setup_context(ctx, inputs, output):
    if len(inputs) > 10 and not inputs[10]:
        raise ValueError("save_for_backward: False, but the inputs require grad (pass True to train)")
    _, v_init, w_init = inputs[:3]
    ctx.config = inputs[3:9]
    ctx.store_v_seq = inputs[9]
    ctx.has_init = (v_init is not None, w_init is not None)
    _, _, _, h_seq, bits, _ = output
    ctx.save_for_backward(h_seq, bits, v_init)
    ctx.mark_non_differentiable(h_seq, bits)
    ctx.set_materialize_grads(False)


def _backward_with(backward_op, ctx, grad_spikes, grad_v_last, grad_w_last, grad_v_seq):
    h_seq, bits, v_init = ctx.saved_tensors
    grad_x, grad_v_init, grad_w_init = backward_op(
        grad_spikes, grad_v_last, grad_w_last, grad_v_seq if ctx.store_v_seq else None, h_seq, bits, v_init,
        *ctx.config)
    return (grad_x, grad_v_init if ctx.has_init[0] else None, grad_w_init if ctx.has_init[1] else None)


def _backward(ctx, grad_spikes, grad_v_last, grad_w_last, grad_h_seq, grad_bits, grad_v_seq):
    return _backward_with(izhikevich_backward, ctx, grad_spikes, grad_v_last, grad_w_last, grad_v_seq) + (None,) * 8


izhikevich_forward.register_autograd(_backward, setup_context=_setup_context)


class _EagerIzhikevich(torch.autograd.Function):
    """The kernels and context handling of the custom ops without their dispatch cost."""

    @staticmethod
    def forward(ctx, *inputs):
        output = _forward_kernel(*inputs)
        if any(isinstance(a, Tensor) and a.requires_grad for a in inputs[:3]):
            _setup_context(ctx, inputs, output)
        ctx.n_inputs = len(inputs)
        return output

    @staticmethod
    def backward(ctx, grad_spikes, grad_v_last, grad_w_last, grad_h_seq, grad_bits, grad_v_seq):
        return (_backward_with(_backward_kernel, ctx, grad_spikes, grad_v_last, grad_w_last, grad_v_seq)
                + (None,) * (ctx.n_inputs - 3))


def izhikevich(*inputs):
    """The fused Izhikevich neuron with autograd (arguments as ``izhikevich_forward``)."""
    if _ops.EAGER_FAST_PATH and not torch.compiler.is_compiling():
        return _EagerIzhikevich.apply(*inputs)
    return torch.ops.snnrs.izhikevich_forward(*inputs)
