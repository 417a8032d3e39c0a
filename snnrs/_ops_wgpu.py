"""torch glue of the GPU path: the WGSL neuron kernels as an autograd.Function.

Tensors travel through host memory (any torch device in, the same device out); the kernels
compute in float32. Gradients are the shaders' exact BPTT (``shaders/neuron_backward.wgsl``).
"""

import math
import warnings
from typing import List, Optional

import numpy as np
import torch

from snnrs import gpu

_warned = set()


def warn_once(key: str, message: str):
    if key not in _warned:
        _warned.add(key)
        warnings.warn(message, stacklevel=3)


def available() -> bool:
    if gpu.available():
        return True
    warn_once("no-adapter", "backend='wgpu': no WebGPU adapter found; running on the CPU engine instead")
    return False


def _host(t: Optional[torch.Tensor], steps: Optional[int] = None) -> Optional[np.ndarray]:
    if t is None:
        return None
    a = t.detach().to("cpu", torch.float32).contiguous()
    return (a.reshape(steps, -1) if steps is not None else a.reshape(-1)).numpy()


def _k(w: torch.Tensor) -> float:
    w = min(max(float(w), -700.0), 700.0)
    return min(max(1.0 / (1.0 + math.exp(-w)), 1e-7), 1.0 - 1e-7)


class WgpuMultistepNeuron(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, v_init, w, neuron: str, v_threshold: float, v_reset, params: List[float],
                decay_input: bool, detach_reset: bool, surrogate: str, surrogate_params: List[float],
                store_v_seq: bool):
        steps = x.shape[0]
        kernel_params = [_k(w)] if w is not None else list(params)
        x_host = _host(x, steps)
        v_host = _host(v_init)
        spikes, v_last, h_seq, v_seq = gpu.neuron_forward(
            x_host, v_host, neuron=neuron, params=kernel_params, decay_input=decay_input,
            v_threshold=v_threshold, v_reset=v_reset, store_v_seq=store_v_seq)
        ctx.config = dict(neuron=neuron, params=kernel_params, decay_input=decay_input, v_threshold=v_threshold,
                          v_reset=v_reset, detach_reset=detach_reset, surrogate=surrogate,
                          surrogate_params=list(surrogate_params))
        ctx.saved = (h_seq, spikes, v_host, x_host if w is not None else None)
        ctx.shapes = (x.shape, x.dtype, x.device, v_init is not None, w)
        to = lambda a, shape: torch.from_numpy(a).view(shape).to(x.device, x.dtype)  # noqa: E731
        v_seq_t = to(v_seq, x.shape) if store_v_seq else x.new_empty(0)
        return to(spikes, x.shape), to(v_last, x.shape[1:]), v_seq_t

    @staticmethod
    def backward(ctx, grad_spikes, grad_v_last, grad_v_seq):
        h_seq, spikes, v_host, x_host = ctx.saved
        shape, dtype, device, has_v_init, w = ctx.shapes
        steps = shape[0]
        grad_x, grad_v_init, grad_k = gpu.neuron_backward(
            _host(grad_spikes, steps), h_seq, spikes, v_host,
            grad_v_seq=_host(grad_v_seq, steps) if grad_v_seq is not None and grad_v_seq.numel() else None,
            grad_v_last=_host(grad_v_last), x=x_host, **ctx.config)
        to = lambda a, s: torch.from_numpy(a).view(s).to(device, dtype)  # noqa: E731
        grad_w = None
        if w is not None:
            k = ctx.config["params"][0]
            grad_w = torch.full_like(w, grad_k * k * (1.0 - k))
        return (to(grad_x, shape), to(grad_v_init, shape[1:]) if has_v_init else None, grad_w) + (None,) * 9
