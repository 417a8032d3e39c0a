"""torch custom ops over the Rust engine — all torch glue for the kernels lives here.

``snnrs::multistep_neuron_forward`` runs the fused multi-step neuron; its
gradient is ``snnrs::multistep_neuron_backward``, itself a custom op, so both
work in eager mode, under ``torch.compile(fullgraph=True)`` and pass
``torch.library.opcheck``. Tensors are ``[T, *shape]``; the kernels see them
flattened to ``[T, N]``. Modules call :func:`multistep_neuron`, which takes an
equivalent autograd.Function in eager mode to skip the custom-op dispatch cost.
"""

import math
from typing import List, Optional, Tuple

import torch
from torch import Tensor

from snnrs import _engine

ENGINE_DTYPES = (torch.float32, torch.float64)
NEURONS = ("if", "lif", "plif")
# Neurons with one learnable scalar ``w`` passed as a tensor: how the kernel's parameter comes
# from w, and the kernel's parameter gradient turned into w's (chain rule).
LEARNABLE = {
    "plif": (lambda w, params: [_decay_k(w)], lambda w, grad_k: grad_k * _decay_k(w) * (1.0 - _decay_k(w))),
    "klif": (lambda w, params: list(params) + [float(w)], lambda w, grad_k: grad_k),
}


def _check_tensor(name: str, t: Tensor, dtype=None):
    if t.device.type != "cpu":
        raise ValueError(f"{name}: the engine runs on CPU tensors, got device {t.device}")
    if t.dtype not in ENGINE_DTYPES:
        raise TypeError(f"{name}: expected dtype float32 or float64, got {t.dtype}")
    if dtype is not None and t.dtype != dtype:
        raise TypeError(f"{name}: expected dtype {dtype} (same as x), got {t.dtype}")


def _flat(t: Tensor, steps: int) -> "numpy.ndarray":  # noqa: F821
    return t.detach().contiguous().reshape(steps, -1).numpy()


def _check_state(name: str, v: Optional[Tensor], x: Tensor):
    if v is None:
        return
    _check_tensor(name, v, x.dtype)
    if tuple(v.shape) != tuple(x.shape[1:]):
        raise ValueError(f"{name}: expected shape {tuple(x.shape[1:])} (x.shape[1:]), got {tuple(v.shape)}")


def _flat_state(v: Optional[Tensor]):
    return None if v is None else v.detach().contiguous().reshape(-1).numpy()


def _decay_k(w: Tensor) -> float:
    """k = sigmoid(w), ParametricLIF's 1/tau, computed as in reference/neuron.py.

    For |w| >~ 37, sigmoid(w) rounds to exactly 0 or 1, which the kernel refuses (0 < k < 1):
    it is held one ulp inside instead, a change far below float64 resolution of H.
    """
    w = min(max(float(w), -700.0), 700.0)
    return min(max(1.0 / (1.0 + math.exp(-w)), math.ulp(0.0)), 1.0 - 2.0**-53)


def _engine_params(neuron: str, w: Optional[Tensor], params: List[float]) -> List[float]:
    if w is None:
        return list(params)
    if neuron not in LEARNABLE:
        raise ValueError(f"w: only {sorted(LEARNABLE)} take a learnable parameter, got neuron {neuron!r}")
    return LEARNABLE[neuron][0](w, params)


def _forward_kernel(
    x: Tensor,
    v_init: Optional[Tensor],
    w: Optional[Tensor],
    neuron: str,
    v_threshold: float,
    v_reset: Optional[float],
    params: List[float],
    decay_input: bool,
    detach_reset: bool,
    surrogate: str,
    surrogate_params: List[float],
    store_v_seq: bool,
    save_for_backward: bool = True,
) -> Tuple[Tensor, Tensor, Tensor, Tensor, Tensor]:
    """Returns ``(spikes [T,*], v_last [*], h_seq [T,*], bits uint8 [T, ceil(N/8)], v_seq [T,*] or [0])``.

    ``v_init=None`` starts every neuron at rest (``v_reset``, or 0 for soft reset). ``params`` are
    the neuron's own (``snnrs._engine.NEURONS``) less the learnable one, which comes from the
    tensor ``w``: ParametricLIF's k = sigmoid(w) ('plif', params empty), KLIF's k = w ('klif').
    ``detach_reset``, ``surrogate`` and ``surrogate_params`` only matter to backward.
    ``save_for_backward=False`` (inference) skips writing h_seq and bits (returned empty).
    """
    _check_tensor("x", x)
    if x.dim() < 1:
        raise ValueError("x: expected a [T, ...] tensor with at least one dimension")
    _check_state("v_init", v_init, x)
    steps = x.shape[0]
    spikes, v_last, h_seq, bits, v_seq = _engine.neuron_forward(
        _flat(x, steps), _flat_state(v_init),
        neuron=neuron, params=_engine_params(neuron, w, params), decay_input=decay_input, v_threshold=v_threshold,
        v_reset=v_reset, store_v_seq=store_v_seq, save_for_backward=save_for_backward,
    )
    v_seq_t = torch.from_numpy(v_seq).view(x.shape) if store_v_seq else x.new_empty(0)
    h_seq_t = torch.from_numpy(h_seq).view(x.shape) if save_for_backward else x.new_empty(0)
    bits_t = torch.from_numpy(bits) if save_for_backward else x.new_empty(0, dtype=torch.uint8)
    return torch.from_numpy(spikes).view(x.shape), torch.from_numpy(v_last).view(x.shape[1:]), h_seq_t, bits_t, v_seq_t


multistep_neuron_forward = torch.library.custom_op(
    "snnrs::multistep_neuron_forward", _forward_kernel, mutates_args=())


@multistep_neuron_forward.register_fake
def _(x, v_init, w, neuron, v_threshold, v_reset, params, decay_input, detach_reset, surrogate, surrogate_params,
      store_v_seq, save_for_backward=True):
    steps = x.shape[0]
    neurons = x[0].numel()
    saved = save_for_backward
    return (x.new_empty(x.shape), x.new_empty(x.shape[1:]), x.new_empty(x.shape) if saved else x.new_empty(0),
            x.new_empty((steps, (neurons + 7) // 8) if saved else (0,), dtype=torch.uint8),
            x.new_empty(x.shape) if store_v_seq else x.new_empty(0))


def _backward_kernel(
    grad_spikes: Optional[Tensor],
    grad_v_last: Optional[Tensor],
    grad_v_seq: Optional[Tensor],
    grad_h_seq: Optional[Tensor],
    h_seq: Tensor,
    bits: Tensor,
    v_init: Optional[Tensor],
    x: Optional[Tensor],
    w: Optional[Tensor],
    neuron: str,
    v_threshold: float,
    v_reset: Optional[float],
    params: List[float],
    decay_input: bool,
    detach_reset: bool,
    surrogate: str,
    surrogate_params: List[float],
) -> Tuple[Tensor, Tensor, Tensor]:
    """Exact BPTT (SPEC §1.1). Returns ``(grad_x, grad_v_init, grad_w)``; grad_w is 0 unless w is given."""
    _check_tensor("h_seq", h_seq)
    steps = h_seq.shape[0]
    grad_x, grad_v_init, grad_k = _engine.neuron_backward(
        None if grad_spikes is None else _flat(grad_spikes, steps), _flat(h_seq, steps),
        bits.detach().contiguous().numpy(), _flat_state(v_init),
        grad_v_seq=None if grad_v_seq is None else _flat(grad_v_seq, steps),
        grad_v_last=None if grad_v_last is None else grad_v_last.detach().contiguous().reshape(-1).numpy(),
        grad_h_seq=None if grad_h_seq is None else _flat(grad_h_seq, steps),
        x=None if x is None else _flat(x, steps),
        neuron=neuron, params=_engine_params(neuron, w, params), decay_input=decay_input, v_threshold=v_threshold,
        v_reset=v_reset, detach_reset=detach_reset, surrogate=surrogate,
        surrogate_params=list(surrogate_params),
    )
    if w is not None:
        grad_w = torch.full_like(w, LEARNABLE[neuron][1](w, grad_k))
    else:
        grad_w = h_seq.new_zeros(())
    return torch.from_numpy(grad_x).view(h_seq.shape), torch.from_numpy(grad_v_init).view(h_seq.shape[1:]), grad_w


multistep_neuron_backward = torch.library.custom_op(
    "snnrs::multistep_neuron_backward", _backward_kernel, mutates_args=())


@multistep_neuron_backward.register_fake
def _(grad_spikes, grad_v_last, grad_v_seq, grad_h_seq, h_seq, bits, v_init, x, w, neuron, v_threshold, v_reset, params,
      decay_input, detach_reset, surrogate, surrogate_params):
    grad_w = w.new_empty(w.shape) if w is not None else h_seq.new_empty(())
    return h_seq.new_empty(h_seq.shape), h_seq.new_empty(h_seq.shape[1:]), grad_w


_CONFIG = ("neuron", "v_threshold", "v_reset", "params", "decay_input", "detach_reset", "surrogate", "surrogate_params")


def _setup_context(ctx, inputs, output):
    x, v_init, w = inputs[:3]
    if len(inputs) > 12 and not inputs[12]:
        raise ValueError("save_for_backward: False, but the inputs require grad (pass True to train)")
    ctx.config = dict(zip(_CONFIG, inputs[3:11]))
    ctx.store_v_seq = inputs[11]
    _, _, h_seq, bits, _ = output
    # Only neurons with a learnable w need x again (for dH/dk); x is the caller's tensor, not a copy.
    ctx.save_for_backward(h_seq, bits, v_init, x if w is not None else None, w)
    ctx.mark_non_differentiable(bits)
    # Unused outputs (usually h_seq, v_last and v_seq) get None, not a tensor of zeros
    # that would cost as much memory traffic as the kernel itself.
    ctx.set_materialize_grads(False)


def _backward_with(backward_op, ctx, grad_spikes, grad_v_last, grad_h_seq, grad_v_seq):
    h_seq, bits, v_init, x, w = ctx.saved_tensors
    grad_x, grad_v_init, grad_w = backward_op(
        grad_spikes, grad_v_last, grad_v_seq if ctx.store_v_seq else None, grad_h_seq, h_seq, bits, v_init, x, w,
        *ctx.config.values(),
    )
    return grad_x, grad_v_init if v_init is not None else None, grad_w if w is not None else None


def _backward(ctx, grad_spikes, grad_v_last, grad_h_seq, grad_bits, grad_v_seq):
    grads = _backward_with(multistep_neuron_backward, ctx, grad_spikes, grad_v_last, grad_h_seq, grad_v_seq)
    return grads + (None,) * 10


multistep_neuron_forward.register_autograd(_backward, setup_context=_setup_context)


class _EagerMultistepNeuron(torch.autograd.Function):
    """The same kernels and the same context handling as the custom ops, without
    the custom-op dispatch layers: those cost about 150 us per forward+backward
    in eager mode, as much as the kernels take for 2^17 neuron-steps."""

    @staticmethod
    def forward(ctx, *inputs):
        output = _forward_kernel(*inputs)
        if any(isinstance(a, Tensor) and a.requires_grad for a in inputs[:3]):
            _setup_context(ctx, inputs, output)
        ctx.n_inputs = len(inputs)
        return output

    @staticmethod
    def backward(ctx, grad_spikes, grad_v_last, grad_h_seq, grad_bits, grad_v_seq):
        return (_backward_with(_backward_kernel, ctx, grad_spikes, grad_v_last, grad_h_seq, grad_v_seq)
                + (None,) * (ctx.n_inputs - 3))


def multistep_neuron(*inputs):
    """Runs the fused multi-step neuron with autograd (arguments as ``multistep_neuron_forward``).

    Under torch.compile (and whenever ``EAGER_FAST_PATH`` is False) this is the
    custom op ``torch.ops.snnrs.multistep_neuron_forward``; in eager mode it is
    an autograd.Function over the very same kernel functions.
    """
    if EAGER_FAST_PATH and not torch.compiler.is_compiling():
        if not torch.is_grad_enabled():  # inference: no graph to record (a learnable w may still require grad)
            return _forward_kernel(*inputs)
        return _EagerMultistepNeuron.apply(*inputs)
    return torch.ops.snnrs.multistep_neuron_forward(*inputs)


EAGER_FAST_PATH = True
