"""The GPU path's WGSL neuron kernels (through wgpu-py) as torch custom ops.

``torch.ops.snnrs.wgpu_neuron_forward`` / ``_backward`` mirror the CPU engine's
``multistep_neuron`` ops (the same configuration; backward takes the saved spikes instead of
packed bits). Tensors travel through host memory (any torch device in, the same device out);
the kernels compute in float32. Gradients are the shaders' exact BPTT
(``snnrs/gpu/shaders/neuron_backward.wgsl``).
"""

import warnings

import numpy as np
import torch
from torch import Tensor

from snnrs import gpu
from snnrs.ops import host, learnable
from snnrs.ops.config import NeuronConfig
from snnrs.ops.registration import FusedOp

_warned = set()


def warn_once(key: str, message: str):
    if key not in _warned:
        _warned.add(key)
        warnings.warn(message, stacklevel=3)


_AVAILABLE: bool | None = None


def available() -> bool:
    """Whether an adapter exists, found once (eagerly: modules ask when their backend becomes
    'wgpu', so compiled code only reads the answer)."""
    global _AVAILABLE
    if _AVAILABLE is None:
        _AVAILABLE = gpu.available()
        if not _AVAILABLE:
            warn_once("no-adapter", "backend='wgpu': no WebGPU adapter found; running on the CPU engine instead")
    return _AVAILABLE


def _host(t: Tensor | None, steps: int | None = None) -> np.ndarray | None:
    if t is None:
        return None
    a = t.detach().to("cpu", torch.float32).contiguous()
    return (a.reshape(steps, a.numel() // max(steps, 1)) if steps is not None else a.reshape(-1)).numpy()


def _on(like: Tensor, a: np.ndarray, shape) -> Tensor:
    """A kernel result as a tensor of ``shape`` on ``like``'s device and dtype."""
    return torch.from_numpy(a).view(shape).to(like.device, like.dtype)


def _forward(x: Tensor, v_init: Tensor | None, w: Tensor | None, config: NeuronConfig, store_v_seq: bool
             ) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    """Returns ``(spikes, v_last, h_seq, v_seq or [0])`` on x's device and dtype."""
    host.check_steps(x)
    steps = x.shape[0]
    spikes, v_last, h_seq, v_seq = gpu.neuron_forward(
        _host(x, steps), _host(v_init), neuron=config.neuron,
        params=learnable.kernel_params(config.neuron, w, config.params), decay_input=config.decay_input,
        v_threshold=config.v_threshold, v_reset=config.v_reset, store_v_seq=store_v_seq)
    return (_on(x, spikes, x.shape), _on(x, v_last, x.shape[1:]), _on(x, h_seq, x.shape),
            _on(x, v_seq, x.shape) if store_v_seq else x.new_empty(0))


def _forward_fake(x: Tensor, v_init: Tensor | None, w: Tensor | None, config: NeuronConfig,
                  store_v_seq: bool):
    return (x.new_empty(x.shape), x.new_empty(x.shape[1:]), x.new_empty(x.shape),
            x.new_empty(x.shape) if store_v_seq else x.new_empty(0))


def _backward(grad_spikes: Tensor | None, grad_v_last: Tensor | None, grad_v_seq: Tensor | None,
              h_seq: Tensor, spikes: Tensor, v_init: Tensor | None, x: Tensor | None, w: Tensor | None,
              config: NeuronConfig) -> tuple[Tensor, Tensor, Tensor]:
    """``(grad_x, grad_v_init, grad_w)``; grad_w is 0 unless w (ParametricLIF) is given."""
    host.check_gradients(h_seq, {"grad_spikes": grad_spikes, "grad_v_seq": grad_v_seq}, {"grad_v_last": grad_v_last})
    steps = h_seq.shape[0]
    grad_x, grad_v_init, grad_k = gpu.neuron_backward(
        _host(grad_spikes, steps), _host(h_seq, steps), _host(spikes, steps), _host(v_init),
        grad_v_seq=_host(grad_v_seq, steps), grad_v_last=_host(grad_v_last), x=_host(x, steps),
        neuron=config.neuron, params=learnable.kernel_params(config.neuron, w, config.params),
        decay_input=config.decay_input, v_threshold=config.v_threshold, v_reset=config.v_reset,
        detach_reset=config.detach_reset, surrogate=config.surrogate,
        surrogate_params=list(config.surrogate_params))
    return (_on(h_seq, grad_x, h_seq.shape), _on(h_seq, grad_v_init, h_seq.shape[1:]),
            learnable.grad_w(config.neuron, w, grad_k, h_seq))


def _backward_fake(grad_spikes, grad_v_last, grad_v_seq, h_seq, spikes, v_init, x, w, config: NeuronConfig):
    grad_w = w.new_empty(w.shape) if w is not None else h_seq.new_empty(())
    return h_seq.new_empty(h_seq.shape), h_seq.new_empty(h_seq.shape[1:]), grad_w


wgpu_multistep_neuron = FusedOp(
    "wgpu_neuron", _forward, _forward_fake, _backward, _backward_fake,
    outputs=("spikes", "v_last", "h_seq", "v_seq"),
    saved=("h_seq", "spikes", "v_init", "x", "w"),
    gradients=("x", "v_init", "w"),
    non_differentiable=("h_seq",),
    saved_when={"x": "w"},
    gradient_when={"v_seq": "store_v_seq"},
)
