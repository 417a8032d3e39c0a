"""The CUDA path of ``torch.ops.snnrs.multistep_neuron_*``: the Triton kernels (:mod:`snnrs.cuda`) behind
the same ops, arguments and outputs as the CPU engine's (:mod:`snnrs.ops.engine` sends a tensor here when
:func:`snnrs.cuda.runs` says so). Tensors are ``[T, *shape]``; the kernels see them as ``[T, N]``."""

import torch
from torch import Tensor

from snnrs import cuda
from snnrs.ops import host, learnable
from snnrs.ops.config import NeuronConfig, TwoStateConfig

# The two-state neurons with Triton kernels (float32 only, as their engine loops take no 16-bit input).
TWO_STATE = ("izhikevich",)


def takes(t: Tensor, config: NeuronConfig) -> bool:
    """True when this neuron runs on ``t`` through the Triton kernels (float32 or 16-bit ``t``)."""
    return config.neuron in cuda.CUDA_NEURONS and t.dtype != torch.float64 and cuda.runs(t)


def _rows(t: Tensor | None, steps: int) -> Tensor | None:
    """``[T, *shape]`` as ``[T, N]`` (N may be 0, which reshape's -1 cannot infer)."""
    return None if t is None else t.reshape(steps, t.numel() // max(steps, 1))


def _check_state(name: str, v: Tensor | None, x: Tensor):
    """As the engine's check: a float32 state of one step's shape, on x's device."""
    if v is None:
        return
    if v.dtype != torch.float32:
        raise TypeError(f"{name}: expected dtype torch.float32 (that of x's state), got {v.dtype}")
    if tuple(v.shape) != tuple(x.shape[1:]):
        raise ValueError(f"{name}: expected shape {tuple(x.shape[1:])} (x.shape[1:]), got {tuple(v.shape)}")
    if v.device != x.device:
        raise ValueError(f"{name}: expected a tensor on {x.device}, got one on {v.device}")


def neuron_forward(x: Tensor, v_init: Tensor | None, w: Tensor | None, config: NeuronConfig, store_v_seq: bool,
                   save_for_backward: bool):
    """As ``snnrs.ops.engine._neuron_forward``: ``(spikes, v_last, h_seq, bits, v_seq)``, absent ones empty."""
    from snnrs.cuda import neuron as kernels

    host.check_steps(x)
    _check_state("v_init", v_init, x)
    spikes, v_last, h_seq, bits, v_seq = kernels.neuron_forward(
        _rows(x, x.shape[0]), None if v_init is None else v_init.reshape(-1), neuron=config.neuron,
        params=learnable.kernel_params(config.neuron, w, config.params), decay_input=config.decay_input,
        v_threshold=config.v_threshold, v_reset=config.v_reset, store_v_seq=store_v_seq,
        save_for_backward=save_for_backward)
    empty = x.new_empty(0, dtype=torch.float32)
    return (spikes.view(x.shape), v_last.view(x.shape[1:]),
            empty if h_seq is None else h_seq.view(x.shape),
            x.new_empty(0, dtype=torch.uint8) if bits is None else bits,
            empty if v_seq is None else v_seq.view(x.shape))


def neuron_backward(grad_spikes: Tensor | None, grad_v_last: Tensor | None, grad_v_seq: Tensor | None,
                    grad_h_seq: Tensor | None, h_seq: Tensor, bits: Tensor, v_init: Tensor | None, x: Tensor | None,
                    w: Tensor | None, config: NeuronConfig, streamed: torch.dtype):
    """As ``snnrs.ops.engine._neuron_backward``: ``(grad_x in the streamed dtype, grad_v_init, grad_w)``."""
    from snnrs.cuda import neuron as kernels

    steps = h_seq.shape[0]
    grad_x, grad_v_init, grad_k = kernels.neuron_backward(
        None if grad_spikes is None else _rows(grad_spikes.to(streamed), steps), _rows(h_seq, steps), bits,
        None if v_init is None else v_init.reshape(-1), grad_v_seq=_rows(grad_v_seq, steps),
        grad_v_last=None if grad_v_last is None else grad_v_last.reshape(-1), grad_h_seq=_rows(grad_h_seq, steps),
        x=_rows(x, steps), neuron=config.neuron, params=learnable.kernel_params(config.neuron, w, config.params),
        decay_input=config.decay_input, v_threshold=config.v_threshold, v_reset=config.v_reset,
        detach_reset=config.detach_reset, surrogate=config.surrogate, surrogate_params=config.surrogate_params)
    return (grad_x.to(streamed).view(h_seq.shape), grad_v_init.view(h_seq.shape[1:]),
            learnable.grad_w(config.neuron, w, grad_k, h_seq))


def takes_two_state(name: str, t: Tensor) -> bool:
    """True when the two-state neuron ``name`` runs on ``t`` through the Triton kernels (float32 ``t``)."""
    return name in TWO_STATE and t.dtype == torch.float32 and cuda.runs(t)


def two_state_forward(name: str, x: Tensor, v_init: Tensor | None, state_init: Tensor | None,
                      config: TwoStateConfig, store_v_seq: bool, save_for_backward: bool):
    """As the engine's two-state forward op: ``(spikes, v_last, state_last, h_seq, bits, v_seq)``."""
    from snnrs.cuda import neuron as kernels

    host.check_steps(x)
    _check_state("v_init", v_init, x)
    _check_state("w_init", state_init, x)
    steps = x.shape[0]
    spikes, v_last, w_last, h_seq, bits, v_seq = kernels.izhikevich_forward(
        _rows(x, steps), None if v_init is None else v_init.reshape(-1),
        None if state_init is None else state_init.reshape(-1), params=config.params,
        v_threshold=config.v_threshold, v_reset=config.v_reset, store_v_seq=store_v_seq,
        save_for_backward=save_for_backward)
    empty = x.new_empty(0)
    return (spikes.view(x.shape), v_last.view(x.shape[1:]), w_last.view(x.shape[1:]),
            empty if h_seq is None else h_seq.view(x.shape),
            x.new_empty(0, dtype=torch.uint8) if bits is None else bits,
            empty if v_seq is None else v_seq.view(x.shape))


def two_state_backward(name: str, grad_spikes: Tensor | None, grad_v_last: Tensor | None,
                       grad_state_last: Tensor | None, grad_v_seq: Tensor | None, h_seq: Tensor, bits: Tensor,
                       v_init: Tensor | None, config: TwoStateConfig):
    """As the engine's two-state backward op: ``(grad_x, grad_v_init, grad_state_init)``."""
    from snnrs.cuda import neuron as kernels

    steps, shape = h_seq.shape[0], h_seq.shape[1:]

    def flat(t):
        return None if t is None else t.reshape(-1)

    grad_x, grad_v_init, grad_w_init = kernels.izhikevich_backward(
        _rows(grad_spikes, steps), _rows(h_seq, steps), bits, flat(v_init), grad_v_seq=_rows(grad_v_seq, steps),
        grad_v_last=flat(grad_v_last), grad_w_last=flat(grad_state_last), params=config.params,
        v_threshold=config.v_threshold, v_reset=config.v_reset, detach_reset=config.detach_reset,
        surrogate=config.surrogate, surrogate_params=config.surrogate_params)
    return grad_x.view(h_seq.shape), grad_v_init.view(shape), grad_w_init.view(shape)
