"""torch glue of the GPU path: the WGSL neuron kernels as torch custom ops with autograd.

``snnrs::wgpu_neuron_forward`` / ``snnrs::wgpu_neuron_backward`` mirror the CPU engine's
``multistep_neuron_forward`` / ``backward`` (same arguments; backward takes the saved spikes
instead of packed bits), so they work in eager mode and under ``torch.compile``. Tensors travel
through host memory (any torch device in, the same device out); the kernels compute in
float32. Gradients are the shaders' exact BPTT (``shaders/neuron_backward.wgsl``).
"""

import math
import warnings
from typing import List, Optional, Tuple

import numpy as np
import torch
from torch import Tensor

from snnrs import gpu

_warned = set()


def warn_once(key: str, message: str):
    if key not in _warned:
        _warned.add(key)
        warnings.warn(message, stacklevel=3)


_AVAILABLE: Optional[bool] = None


def available() -> bool:
    """Whether an adapter exists, found once (eagerly: modules ask when their backend becomes
    'wgpu', so compiled code only reads the answer)."""
    global _AVAILABLE
    if _AVAILABLE is None:
        _AVAILABLE = gpu.available()
        if not _AVAILABLE:
            warn_once("no-adapter", "backend='wgpu': no WebGPU adapter found; running on the CPU engine instead")
    return _AVAILABLE


def _host(t: Optional[Tensor], steps: Optional[int] = None) -> Optional[np.ndarray]:
    if t is None:
        return None
    a = t.detach().to("cpu", torch.float32).contiguous()
    return (a.reshape(steps, -1) if steps is not None else a.reshape(-1)).numpy()


def _k(w: Tensor) -> float:
    w = min(max(float(w), -700.0), 700.0)
    return min(max(1.0 / (1.0 + math.exp(-w)), 1e-7), 1.0 - 1e-7)


def _kernel_params(w, params):
    return [_k(w)] if w is not None else list(params)


def _forward_kernel(x: Tensor, v_init: Optional[Tensor], w: Optional[Tensor], neuron: str, v_threshold: float,
                    v_reset: Optional[float], params: List[float], decay_input: bool, detach_reset: bool,
                    surrogate: str, surrogate_params: List[float], store_v_seq: bool
                    ) -> Tuple[Tensor, Tensor, Tensor, Tensor]:
    """Returns ``(spikes, v_last, h_seq, v_seq or [0])`` on x's device and dtype."""
    steps = x.shape[0]
    spikes, v_last, h_seq, v_seq = gpu.neuron_forward(
        _host(x, steps), _host(v_init), neuron=neuron, params=_kernel_params(w, params), decay_input=decay_input,
        v_threshold=v_threshold, v_reset=v_reset, store_v_seq=store_v_seq)
    to = lambda a, shape: torch.from_numpy(a).view(shape).to(x.device, x.dtype)  # noqa: E731
    return (to(spikes, x.shape), to(v_last, x.shape[1:]), to(h_seq, x.shape),
            to(v_seq, x.shape) if store_v_seq else x.new_empty(0))


wgpu_neuron_forward = torch.library.custom_op("snnrs::wgpu_neuron_forward", _forward_kernel, mutates_args=())


@wgpu_neuron_forward.register_fake
def _(x, v_init, w, neuron, v_threshold, v_reset, params, decay_input, detach_reset, surrogate, surrogate_params,
      store_v_seq):
    return (x.new_empty(x.shape), x.new_empty(x.shape[1:]), x.new_empty(x.shape),
            x.new_empty(x.shape) if store_v_seq else x.new_empty(0))


def _backward_kernel(grad_spikes: Optional[Tensor], grad_v_last: Optional[Tensor], grad_v_seq: Optional[Tensor],
                     h_seq: Tensor, spikes: Tensor, v_init: Optional[Tensor], x: Optional[Tensor],
                     w: Optional[Tensor], neuron: str, v_threshold: float, v_reset: Optional[float],
                     params: List[float], decay_input: bool, detach_reset: bool, surrogate: str,
                     surrogate_params: List[float]) -> Tuple[Tensor, Tensor, Tensor]:
    """``(grad_x, grad_v_init, grad_w)``; grad_w is 0 unless w (ParametricLIF) is given."""
    steps = h_seq.shape[0]
    params = _kernel_params(w, params)
    grad_x, grad_v_init, grad_k = gpu.neuron_backward(
        _host(grad_spikes, steps), _host(h_seq, steps), _host(spikes, steps), _host(v_init),
        grad_v_seq=_host(grad_v_seq, steps), grad_v_last=_host(grad_v_last),
        x=_host(x, steps) if x is not None else None, neuron=neuron, params=params, decay_input=decay_input,
        v_threshold=v_threshold, v_reset=v_reset, detach_reset=detach_reset, surrogate=surrogate,
        surrogate_params=list(surrogate_params))
    to = lambda a, shape: torch.from_numpy(a).view(shape).to(h_seq.device, h_seq.dtype)  # noqa: E731
    grad_w = torch.full_like(w, grad_k * params[0] * (1.0 - params[0])) if w is not None else h_seq.new_zeros(())
    return to(grad_x, h_seq.shape), to(grad_v_init, h_seq.shape[1:]), grad_w


wgpu_neuron_backward = torch.library.custom_op("snnrs::wgpu_neuron_backward", _backward_kernel, mutates_args=())


@wgpu_neuron_backward.register_fake
def _(grad_spikes, grad_v_last, grad_v_seq, h_seq, spikes, v_init, x, w, neuron, v_threshold, v_reset, params,
      decay_input, detach_reset, surrogate, surrogate_params):
    grad_w = w.new_empty(w.shape) if w is not None else h_seq.new_empty(())
    return h_seq.new_empty(h_seq.shape), h_seq.new_empty(h_seq.shape[1:]), grad_w


def _setup_context(ctx, inputs, output):
    x, v_init, w = inputs[:3]
    ctx.config = inputs[3:11]
    ctx.store_v_seq = inputs[11]
    spikes, _, h_seq, _ = output
    ctx.save_for_backward(h_seq, spikes, v_init, x if w is not None else None, w)
    ctx.mark_non_differentiable(h_seq)
    ctx.set_materialize_grads(False)


def _backward(ctx, grad_spikes, grad_v_last, grad_h_seq, grad_v_seq):
    h_seq, spikes, v_init, x, w = ctx.saved_tensors
    grad_x, grad_v_init, grad_w = wgpu_neuron_backward(
        grad_spikes, grad_v_last, grad_v_seq if ctx.store_v_seq else None, h_seq, spikes, v_init, x, w,
        *ctx.config)
    return (grad_x, grad_v_init if v_init is not None else None, grad_w if w is not None else None) + (None,) * 9


wgpu_neuron_forward.register_autograd(_backward, setup_context=_setup_context)


def wgpu_multistep_neuron(*inputs):
    """The WGSL neuron with autograd (arguments as ``snnrs::wgpu_neuron_forward``)."""
    return torch.ops.snnrs.wgpu_neuron_forward(*inputs)
