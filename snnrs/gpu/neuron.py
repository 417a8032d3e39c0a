"""Multi-step IF / LIF / ParametricLIF on the GPU: forward and exact BPTT in WGSL
(``shaders/neuron_forward.wgsl``, ``neuron_backward.wgsl``), float32. Semantics as the CPU
engine and ``reference/neuron.py``; arguments as ``snnrs._engine.neuron_forward``.

Unlike the CPU engine, the spikes themselves (float32) are kept for backward, not packed bits.
"""


import numpy as np

from snnrs import _engine
from snnrs.gpu.device import WORKGROUP_SIZE, DeviceArray, dispatch_shape, gpu
from snnrs.gpu.ids import GPU_NEURONS, NEURON_IDS, SURROGATE_IDS
from snnrs.gpu.ids import flags as flag_bits


def _params(steps, neurons, neuron, params, decay_input, v_threshold, v_reset, flags, surrogate="Sigmoid",
            surrogate_params=(4.0,)) -> np.ndarray:
    if neuron not in GPU_NEURONS:
        raise ValueError(f"neuron: expected one of {sorted(GPU_NEURONS)}, got {neuron!r}")
    expected = {"if": 0, "lif": 1, "plif": 1}[neuron]
    if len(params) != expected:
        raise ValueError(f"params: {neuron} takes {expected} parameter(s), got {len(params)}")
    decay = float(params[0]) if params else 1.0
    if neuron == "lif" and not decay > 1:
        raise ValueError(f"tau: expected tau > 1, got {decay}")
    if neuron == "plif" and not 0 < decay < 1:
        raise ValueError(f"k: expected 0 < k = 1/tau < 1, got {decay}")
    if surrogate not in SURROGATE_IDS:
        raise ValueError(f"surrogate: unknown surrogate {surrogate!r}")
    _engine.surrogate_derivative(surrogate, list(surrogate_params), np.zeros(1))  # validates the parameters
    for name, value in (("v_threshold", v_threshold), ("v_reset", 0.0 if v_reset is None else v_reset)):
        if not np.isfinite(value):
            raise ValueError(f"{name}: expected a finite number, got {value}")
    if steps * neurons >= 2**32:
        raise ValueError(f"x: T·N = {steps * neurons} exceeds the shaders' 32-bit indexing")
    flags |= flag_bits(decay_input=decay_input, hard_reset=v_reset is not None)
    x_groups, _ = dispatch_shape(neurons)
    sp = list(surrogate_params) + [0.0] * (4 - len(surrogate_params))
    block = np.zeros(16, np.uint32)
    block[[0, 1, 2, 3, 7, 12]] = [steps, neurons, NEURON_IDS[neuron], flags, SURROGATE_IDS[surrogate],
                                  x_groups * WORKGROUP_SIZE]
    floats = block.view(np.float32)
    floats[4], floats[5], floats[6] = v_threshold, 0.0 if v_reset is None else v_reset, decay
    floats[8:12] = sp
    return block


def _f32(name, a, shape=None):
    if isinstance(a, DeviceArray):
        if a.dtype != np.float32 or (shape is not None and a.shape != shape):
            raise ValueError(f"{name}: expected a float32 DeviceArray of shape {shape}, got {a}")
        return a
    a = np.asarray(a)
    if a.dtype != np.float32:
        raise TypeError(f"{name}: expected float32 (the GPU path computes in float32), got {a.dtype}")
    if shape is not None and a.shape != shape:
        raise ValueError(f"{name}: expected shape {shape}, got {a.shape}")
    return a


def neuron_forward(x, v_init=None, *, neuron: str, params: list[float] = (), decay_input: bool = True,
                   v_threshold: float = 1.0, v_reset: float | None = 0.0, store_v_seq: bool = False,
                   resident: bool = False):
    """``x`` float32 ``[T, N]`` (NumPy or :class:`DeviceArray`); returns
    ``(spikes, v_last, h_seq, v_seq or None)``, NumPy arrays, or DeviceArrays left on the
    device when ``resident``."""
    x = _f32("x", x)
    if x.ndim != 2 or x.shape[0] < 1:
        raise ValueError(f"x: expected a 2-D [T, N] array with T >= 1, got shape {x.shape}")
    steps, n = x.shape
    if v_init is not None:
        v_init = _f32("v_init", v_init, (n,))
    flags = flag_bits(store_v_seq=store_v_seq, v_init=v_init is not None)
    block = _params(steps, n, neuron, list(params), decay_input, v_threshold, v_reset, flags)
    g = gpu()
    out = [g.empty(x.nbytes), g.empty(x.nbytes), g.empty(x.nbytes if store_v_seq else 4), g.empty(4 * n)]
    inputs = [g.uniform(block), g.buffer(x), g.buffer(v_init) if v_init is not None else g.placeholder()]
    g.run("neuron_forward", inputs + out, n)
    arrays = [DeviceArray(out[0], (steps, n)), DeviceArray(out[3], (n,)), DeviceArray(out[1], (steps, n)),
              DeviceArray(out[2], (steps, n)) if store_v_seq else None]
    if resident:
        return tuple(arrays)
    return tuple(a.numpy() if a is not None else None for a in arrays)


def neuron_backward(grad_spikes, h_seq, spikes, v_init=None, *, grad_v_seq=None, grad_v_last=None, x=None,
                    neuron: str, params: list[float] = (), decay_input: bool = True, v_threshold: float = 1.0,
                    v_reset: float | None = 0.0, detach_reset: bool = False, surrogate: str = "Sigmoid",
                    surrogate_params: list[float] = (4.0,), resident: bool = False):
    """Exact BPTT; returns ``(grad_x, grad_v_init, grad_k)`` (grad_k: Σ gH·dH/dk, ParametricLIF);
    with ``resident`` the gradients stay on the device and grad_k is its per-neuron DeviceArray."""
    h_seq = _f32("h_seq", h_seq)
    if h_seq.ndim != 2:
        raise ValueError(f"h_seq: expected a 2-D [T, N] array, got shape {h_seq.shape}")
    steps, n = h_seq.shape
    spikes = _f32("spikes", spikes, h_seq.shape)
    optional = {"grad_spikes": (grad_spikes, h_seq.shape), "grad_v_seq": (grad_v_seq, h_seq.shape),
                "grad_v_last": (grad_v_last, (n,)), "v_init": (v_init, (n,))}
    arrays = {name: _f32(name, a, shape) for name, (a, shape) in optional.items() if a is not None}
    flags = flag_bits(**dict.fromkeys(arrays, True))
    if neuron == "plif":
        if x is None:
            raise ValueError("x: ParametricLIF backward needs the forward input x")
        x = _f32("x", x, h_seq.shape)
    block = _params(steps, n, neuron, list(params), decay_input, v_threshold, v_reset,
                    flags | flag_bits(detach_reset=detach_reset), surrogate, surrogate_params)
    g = gpu()
    dummy = np.zeros(1, np.float32)
    inputs = [g.uniform(block), g.buffer(h_seq), g.buffer(spikes)]
    inputs += [g.buffer(arrays.get(k, dummy)) for k in ("grad_spikes", "grad_v_seq", "grad_v_last", "v_init")]
    inputs.append(g.buffer(x if (neuron == "plif") else dummy))
    out = [g.empty(h_seq.nbytes), g.empty(4 * n), g.empty(4 * n)]
    g.run("neuron_backward", inputs + out, n)
    if resident:
        return DeviceArray(out[0], (steps, n)), DeviceArray(out[1], (n,)), DeviceArray(out[2], (n,))
    grad_x = g.read(out[0], count=steps * n).reshape(steps, n)
    grad_k = float(g.read(out[2], count=n).astype(np.float64).sum())
    return grad_x, g.read(out[1], count=n), grad_k
