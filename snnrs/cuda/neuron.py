"""The multi-step neurons on torch tensors through the Triton kernels (:mod:`snnrs.cuda.kernels`):
the arguments and results of ``snnrs._engine.neuron_forward`` / ``neuron_backward``, as tensors on
the tensors' device (CUDA; CPU under ``TRITON_INTERPRET=1``, which runs the same kernels in NumPy).

Arguments are checked by the CPU engine itself on a one-neuron stand-in, so every backend refuses the
same values with the same words. The state is float32 (a 16-bit ``x`` is widened when loaded and the
spikes narrowed when stored, as on the engine: docs/semantics.md#mixed-precision).
"""

import contextlib
import functools
import importlib.util

import torch
from torch import Tensor

from snnrs import _engine
from snnrs.cuda import CUDA_NEURONS, interpreted

STREAMED_DTYPES = (torch.float32, torch.bfloat16, torch.float16)
# Neurons per program: a multiple of 8 (a program packs whole bytes of spike bits).
BLOCK = 256


_KERNELS = {}


def _kernels():
    """The kernels module for the current mode (compiled, or triton's interpreter). triton fixes the mode of
    a kernel when its module is imported, and anything may have imported ``snnrs.cuda.kernels`` before (a
    tool listing every module, say) in the other mode; then a private copy is loaded for this one."""
    interpreting = interpreted()
    if interpreting not in _KERNELS:
        from triton.runtime.interpreter import InterpretedFunction

        from snnrs.cuda import kernels  # imports triton: only once a kernel runs

        if isinstance(kernels.neuron_forward, InterpretedFunction) != interpreting:
            name = f"snnrs.cuda._kernels_{'interpreted' if interpreting else 'compiled'}"
            spec = importlib.util.spec_from_file_location(name, kernels.__file__)
            kernels = importlib.util.module_from_spec(spec)
            spec.loader.exec_module(kernels)
        _KERNELS[interpreting] = kernels
    return _KERNELS[interpreting]


def _on(t: Tensor):
    """Kernels launch on the current CUDA device: make it t's (a no-op for CPU tensors, interpreted)."""
    return torch.cuda.device(t.device) if t.device.type == "cuda" else contextlib.nullcontext()


def _surrogate_count(surrogate: str, params: tuple) -> int:
    """SquarewaveFourierSeries' n as the kernels' integer argument (0 for the others: one compiled variant)."""
    return int(params[0]) if surrogate == "SquarewaveFourierSeries" else 0


@functools.lru_cache(maxsize=256)
def _check_neuron(neuron: str, params: tuple, decay_input: bool, v_threshold: float, v_reset: float | None):
    """The engine's own checks of a neuron configuration (ValueError as the engine words it)."""
    if neuron not in CUDA_NEURONS:
        raise ValueError(f"neuron: expected one of {CUDA_NEURONS} on the CUDA path, got {neuron!r}")
    one = torch.zeros(1, 1).numpy()
    _engine.neuron_forward(one, neuron=neuron, params=list(params), decay_input=decay_input,
                           v_threshold=v_threshold, v_reset=v_reset)


@functools.lru_cache(maxsize=256)
def _check_surrogate(surrogate: str, surrogate_params: tuple):
    one = torch.zeros(1, 1).numpy()
    _engine.neuron_backward(None, one, torch.zeros(1, 1, dtype=torch.uint8).numpy(), neuron="if",
                            surrogate=surrogate, surrogate_params=list(surrogate_params))


def _sequence(name: str, t: Tensor, shape=None) -> Tensor:
    if not isinstance(t, Tensor):
        raise TypeError(f"{name}: expected a torch.Tensor, got {type(t).__name__}")
    if t.dtype not in STREAMED_DTYPES:
        raise TypeError(f"{name}: expected dtype float32, bfloat16 or float16 on the CUDA path, got {t.dtype}")
    if shape is not None and tuple(t.shape) != tuple(shape):
        raise ValueError(f"{name}: expected shape {tuple(shape)}, got {tuple(t.shape)}")
    return t.contiguous()


def _state(name: str, t: Tensor | None, n: int, like: Tensor) -> Tensor | None:
    if t is None:
        return None
    if not isinstance(t, Tensor):
        raise TypeError(f"{name}: expected a torch.Tensor, got {type(t).__name__}")
    if t.numel() != n:
        raise ValueError(f"{name}: expected {n} values (one per neuron), got shape {tuple(t.shape)}")
    if t.device != like.device:
        raise ValueError(f"{name}: expected a tensor on {like.device}, got one on {t.device}")
    return t.reshape(-1).to(torch.float32).contiguous()


# Neurons whose backward needs V[t-1] (a nonlinear charge, or dH/dk), and those with a learnable k.
NEEDS_V_PREV = ("plif", "qif", "eif", "klif")
LEARNABLE = ("plif", "klif")


def _p(params: tuple) -> tuple:
    """The neuron's parameters as the kernels' p0..p3."""
    return tuple(params) + (0.0,) * (4 - len(params))


def neuron_forward(x: Tensor, v_init: Tensor | None = None, *, neuron: str, params=(), decay_input: bool = True,
                   v_threshold: float = 1.0, v_reset: float | None = 0.0, store_v_seq: bool = False,
                   save_for_backward: bool = True):
    """``x`` ``[T, N]`` (float32, bfloat16 or float16); returns ``(spikes, v_last, h_seq, bits, v_seq)``
    as ``snnrs._engine.neuron_forward`` does: spikes in x's dtype, the state float32, ``bits`` uint8
    ``[T, ceil(N/8)]`` (bit i % 8 of byte i / 8: neuron i's spike); h_seq and bits None without
    ``save_for_backward``, v_seq None unless ``store_v_seq``. ``params``: the neuron's, in the order of
    ``snnrs._engine.NEURONS`` (LIF ``[tau]``, ParametricLIF ``[k]`` with k = 1/tau, KLIF ``[tau, k]``, ...)."""
    params = tuple(float(p) for p in params)
    _check_neuron(neuron, params, bool(decay_input), float(v_threshold), None if v_reset is None else float(v_reset))
    x = _sequence("x", x)
    if x.dim() != 2 or x.shape[0] < 1:
        raise ValueError(f"x: expected a 2-D [T, N] tensor with T >= 1, got shape {tuple(x.shape)}")
    steps, n = x.shape
    v_init = _state("v_init", v_init, n, x)
    row_bytes = (n + 7) // 8
    f32 = dict(dtype=torch.float32, device=x.device)
    spikes = torch.empty_like(x)
    v_last = torch.empty(n, **f32)
    h_seq = torch.empty(steps, n, **f32) if save_for_backward else None
    bits = torch.empty(steps, row_bytes, dtype=torch.uint8, device=x.device) if save_for_backward else None
    v_seq = torch.empty(steps, n, **f32) if store_v_seq else None
    k = _kernels()
    grid = (triton_cdiv(n, BLOCK),)
    if n:
        with _on(x):
            k.neuron_forward[grid](
                x, v_init if v_init is not None else v_last, spikes, v_last,
                h_seq if h_seq is not None else v_last, bits if bits is not None else v_last,
                v_seq if v_seq is not None else v_last,
                steps, n, row_bytes, *_p(params), float(v_threshold),
                0.0 if v_reset is None else float(v_reset),
                NEURON=_neuron_id(neuron), DECAY_INPUT=bool(decay_input), HARD_RESET=v_reset is not None,
                HAS_V_INIT=v_init is not None, SAVE=bool(save_for_backward), STORE_V_SEQ=bool(store_v_seq),
                BLOCK=BLOCK)
    return spikes, v_last, h_seq, bits, v_seq


def neuron_backward(grad_spikes: Tensor | None, h_seq: Tensor, bits: Tensor, v_init: Tensor | None = None, *,
                    grad_v_seq: Tensor | None = None, grad_v_last: Tensor | None = None,
                    grad_h_seq: Tensor | None = None, x: Tensor | None = None, neuron: str, params=(),
                    decay_input: bool = True, v_threshold: float = 1.0, v_reset: float | None = 0.0,
                    detach_reset: bool = False, surrogate: str = "Sigmoid", surrogate_params=(4.0,)):
    """Exact BPTT from H and the packed spikes; returns ``(grad_x, grad_v_init, grad_k)`` as
    ``snnrs._engine.neuron_backward`` does: grad_x in the dtype of ``grad_spikes`` (else float32),
    grad_v_init float32, grad_k = Σ gH·dH/dk over every neuron and step (ParametricLIF, KLIF; else 0.0)."""
    params = tuple(float(p) for p in params)
    _check_neuron(neuron, params, bool(decay_input), float(v_threshold), None if v_reset is None else float(v_reset))
    _check_surrogate(str(surrogate), tuple(float(p) for p in surrogate_params))
    h_seq = _sequence("h_seq", h_seq)
    if h_seq.dtype != torch.float32 or h_seq.dim() != 2:
        raise ValueError(f"h_seq: expected a float32 [T, N] tensor, got {h_seq.dtype} of shape {tuple(h_seq.shape)}")
    steps, n = h_seq.shape
    row_bytes = (n + 7) // 8
    if not isinstance(bits, Tensor) or bits.dtype != torch.uint8 or tuple(bits.shape) != (steps, row_bytes):
        raise ValueError(f"bits: expected a uint8 tensor of shape {(steps, row_bytes)}")
    bits = bits.contiguous()
    sequences = {name: None if t is None else _sequence(name, t, h_seq.shape)
                 for name, t in (("grad_spikes", grad_spikes), ("grad_v_seq", grad_v_seq),
                                 ("grad_h_seq", grad_h_seq), ("x", x))}
    if neuron in LEARNABLE and sequences["x"] is None:
        raise ValueError(f"x: the backward of {neuron!r} (a learnable decay) needs the forward input x")
    v_init, grad_v_last = _state("v_init", v_init, n, h_seq), _state("grad_v_last", grad_v_last, n, h_seq)
    out_dtype = sequences["grad_spikes"].dtype if sequences["grad_spikes"] is not None else torch.float32
    grad_x = torch.empty(steps, n, dtype=out_dtype, device=h_seq.device)
    grad_v_init = torch.empty(n, dtype=torch.float32, device=h_seq.device)
    grad_k = torch.empty(n, dtype=torch.float32, device=h_seq.device)
    sg = tuple(float(p) for p in surrogate_params) + (0.0, 0.0)
    if n:
        def given(t):
            return t if t is not None else h_seq

        with _on(h_seq):
            _kernels().neuron_backward[(triton_cdiv(n, BLOCK),)](
                given(sequences["grad_spikes"]), h_seq, bits, given(v_init), given(sequences["grad_v_seq"]),
                given(grad_v_last), given(sequences["grad_h_seq"]), given(sequences["x"]), grad_x, grad_v_init, grad_k,
                steps, n, row_bytes, *_p(params), float(v_threshold),
                0.0 if v_reset is None else float(v_reset), sg[0], sg[1], _surrogate_count(surrogate, sg),
                NEURON=_neuron_id(neuron), DECAY_INPUT=bool(decay_input), HARD_RESET=v_reset is not None,
                DETACH_RESET=bool(detach_reset), SURROGATE=_surrogate_id(surrogate),
                HAS_GRAD_SPIKES=sequences["grad_spikes"] is not None,
                HAS_GRAD_V_SEQ=sequences["grad_v_seq"] is not None,
                HAS_GRAD_V_LAST=grad_v_last is not None, HAS_GRAD_H=sequences["grad_h_seq"] is not None,
                HAS_V_INIT=v_init is not None, V_PREV=neuron in NEEDS_V_PREV, LEARNABLE=neuron in LEARNABLE,
                BLOCK=BLOCK)
    else:
        grad_k.zero_()
    # per-neuron sums added in float64, in neuron order: the same total whatever the block size
    total = float(grad_k.double().sum()) if neuron in LEARNABLE else 0.0
    return grad_x, grad_v_init, total


def triton_cdiv(a: int, b: int) -> int:
    return -(-a // b)


def _neuron_id(neuron: str) -> int:
    from snnrs.gpu.ids import NEURON_IDS

    return NEURON_IDS[neuron]


def _surrogate_id(surrogate: str) -> int:
    from snnrs.gpu.ids import SURROGATE_IDS

    return SURROGATE_IDS[surrogate]


@functools.lru_cache(maxsize=64)
def _check_izhikevich(params: tuple, v_threshold: float, v_reset: float | None):
    one = torch.zeros(1, 1).numpy()
    _engine.izhikevich_forward(one, params=list(params), v_threshold=v_threshold, v_reset=v_reset)


def _float32(name: str, t: Tensor | None, shape=None) -> Tensor | None:
    if t is None:
        return None
    t = _sequence(name, t, shape)
    if t.dtype != torch.float32:
        raise TypeError(f"{name}: expected float32 (Izhikevich runs in float32 on the CUDA path), got {t.dtype}")
    return t


def izhikevich_forward(x: Tensor, v_init: Tensor | None = None, w_init: Tensor | None = None, *, params,
                       v_threshold: float = 1.0, v_reset: float | None = 0.0, store_v_seq: bool = False,
                       save_for_backward: bool = True):
    """Izhikevich on float32 ``x [T, N]``: ``(spikes, v_last, w_last, h_seq, bits, v_seq)`` as
    ``snnrs._engine.izhikevich_forward`` returns them (``params``: tau, v_c, a0, v_rest, w_rest, tau_w, a, b)."""
    params = tuple(float(p) for p in params)
    _check_izhikevich(params, float(v_threshold), None if v_reset is None else float(v_reset))
    x = _float32("x", x)
    if x.dim() != 2 or x.shape[0] < 1:
        raise ValueError(f"x: expected a 2-D [T, N] tensor with T >= 1, got shape {tuple(x.shape)}")
    steps, n = x.shape
    v_init, w_init = _state("v_init", v_init, n, x), _state("w_init", w_init, n, x)
    row_bytes = (n + 7) // 8
    f32 = dict(dtype=torch.float32, device=x.device)
    spikes, v_last, w_last = torch.empty_like(x), torch.empty(n, **f32), torch.empty(n, **f32)
    h_seq = torch.empty_like(x) if save_for_backward else None
    bits = torch.empty(steps, row_bytes, dtype=torch.uint8, device=x.device) if save_for_backward else None
    v_seq = torch.empty_like(x) if store_v_seq else None
    tau, v_c, a0, v_rest, w_rest, tau_w, a, b = params
    if n:
        def given(t):
            return t if t is not None else v_last

        with _on(x):
            _kernels().izhikevich_forward[(triton_cdiv(n, BLOCK),)](
                x, given(v_init), given(w_init), spikes, v_last, w_last, given(h_seq), given(bits), given(v_seq),
                steps, n, row_bytes, tau, v_c, a0, v_rest, w_rest, tau_w, a, b, float(v_threshold),
                0.0 if v_reset is None else float(v_reset), HARD_RESET=v_reset is not None,
                HAS_V_INIT=v_init is not None, HAS_W_INIT=w_init is not None, SAVE=bool(save_for_backward),
                STORE_V_SEQ=bool(store_v_seq), BLOCK=BLOCK)
    return spikes, v_last, w_last, h_seq, bits, v_seq


def izhikevich_backward(grad_spikes: Tensor | None, h_seq: Tensor, bits: Tensor, v_init: Tensor | None = None, *,
                        grad_v_seq: Tensor | None = None, grad_v_last: Tensor | None = None,
                        grad_w_last: Tensor | None = None, params, v_threshold: float = 1.0,
                        v_reset: float | None = 0.0, detach_reset: bool = False, surrogate: str = "Sigmoid",
                        surrogate_params=(4.0,)):
    """Exact BPTT of :func:`izhikevich_forward` from H and the packed spikes:
    ``(grad_x, grad_v_init, grad_w_init)``, as ``snnrs._engine.izhikevich_backward``."""
    params = tuple(float(p) for p in params)
    _check_izhikevich(params, float(v_threshold), None if v_reset is None else float(v_reset))
    _check_surrogate(str(surrogate), tuple(float(p) for p in surrogate_params))
    h_seq = _float32("h_seq", h_seq)
    if h_seq.dim() != 2:
        raise ValueError(f"h_seq: expected a [T, N] tensor, got shape {tuple(h_seq.shape)}")
    steps, n = h_seq.shape
    row_bytes = (n + 7) // 8
    if not isinstance(bits, Tensor) or bits.dtype != torch.uint8 or tuple(bits.shape) != (steps, row_bytes):
        raise ValueError(f"bits: expected a uint8 tensor of shape {(steps, row_bytes)}")
    grad_spikes, grad_v_seq = _float32("grad_spikes", grad_spikes, h_seq.shape), _float32("grad_v_seq", grad_v_seq,
                                                                                          h_seq.shape)
    v_init = _state("v_init", v_init, n, h_seq)
    grad_v_last, grad_w_last = _state("grad_v_last", grad_v_last, n, h_seq), _state("grad_w_last", grad_w_last, n,
                                                                                    h_seq)
    grad_x = torch.empty_like(h_seq)
    f32 = dict(dtype=torch.float32, device=h_seq.device)
    grad_v_init, grad_w_init = torch.empty(n, **f32), torch.empty(n, **f32)
    tau, v_c, a0, v_rest, _, tau_w, a, b = params
    sg = tuple(float(p) for p in surrogate_params) + (0.0, 0.0)
    if n:
        def given(t):
            return t if t is not None else h_seq

        with _on(h_seq):
            _kernels().izhikevich_backward[(triton_cdiv(n, BLOCK),)](
                given(grad_spikes), h_seq, bits.contiguous(), given(v_init), given(grad_v_seq), given(grad_v_last),
                given(grad_w_last), grad_x, grad_v_init, grad_w_init, steps, n, row_bytes, tau, v_c, a0, v_rest, tau_w,
                a, b, float(v_threshold), 0.0 if v_reset is None else float(v_reset), sg[0], sg[1],
                _surrogate_count(surrogate, sg),
                HARD_RESET=v_reset is not None, DETACH_RESET=bool(detach_reset), SURROGATE=_surrogate_id(surrogate),
                HAS_GRAD_SPIKES=grad_spikes is not None, HAS_GRAD_V_SEQ=grad_v_seq is not None,
                HAS_GRAD_V_LAST=grad_v_last is not None, HAS_GRAD_W_LAST=grad_w_last is not None,
                HAS_V_INIT=v_init is not None, BLOCK=BLOCK)
    return grad_x, grad_v_init, grad_w_init
