"""CPU tensors to and from the engine's NumPy arrays: checks, and the ``[T, N]`` flattening the
kernels see (tensors are ``[T, *shape]``; the state is ``[*shape]``)."""


import numpy as np
import torch
from torch import Tensor

ENGINE_DTYPES = (torch.float32, torch.float64)
# Mixed precision (docs/semantics.md#mixed-precision): the single-state neuron kernels stream x,
# the spikes and their gradients in these 16-bit dtypes (as uint16 bits: numpy has no bfloat16)
# and keep the state (V, H) and the time loop in float32.
HALF_STORAGE = {torch.bfloat16: "bfloat16", torch.float16: "float16"}


# CPU flags of native 16-bit dot products, by dtype: where a CPU has none, torch's 16-bit
# convolutions emulate them (10-100x slower than float32 on an AVX2 machine).
_NATIVE_HALF_FLAGS = {torch.bfloat16: ("avx512_bf16", "amx_bf16"), torch.float16: ("avx512_fp16", "amx_fp16")}


def _native_half_dtypes() -> dict[torch.dtype, bool]:
    try:
        with open("/proc/cpuinfo") as f:
            flags = set(f.read().split())
    except OSError:
        flags = set()
    return {dtype: any(flag in flags for flag in names) for dtype, names in _NATIVE_HALF_FLAGS.items()}


# Read once at import: torch.compile traces the layers that ask, and cannot trace a file read.
_NATIVE_HALF = _native_half_dtypes()


def cpu_computes_natively(dtype: torch.dtype) -> bool:
    """True when this CPU has native dot products in the 16-bit ``dtype`` (AVX512-BF16/AMX on Linux);
    False when it has none, or where /proc/cpuinfo cannot say."""
    return _NATIVE_HALF.get(dtype, False)


def state_dtype(x: Tensor) -> torch.dtype:
    """The dtype of the state a pass over ``x`` runs in: float32 for 16-bit ``x``, else x's own."""
    return torch.float32 if x.dtype in HALF_STORAGE else x.dtype


def storage(t: Tensor | None) -> str | None:
    """The engine's ``storage=`` for a streamed tensor: its 16-bit dtype's name, else None."""
    return None if t is None else HALF_STORAGE.get(t.dtype)


def functorch_active() -> bool:
    """True inside ``torch.func`` transforms (vmap, grad, jacrev, ...). The kernels take plain
    arrays, so callers run their torch form there: the same numbers, batched and differentiated by
    torch itself."""
    return torch._C._are_functorch_transforms_active()


def check_tensor(name: str, t: Tensor, dtype=None, half: bool = False):
    """``t`` is a CPU tensor of an engine dtype (or, with ``half``, a 16-bit one); of ``dtype`` when given."""
    if t.device.type != "cpu":
        raise ValueError(f"{name}: the engine runs on CPU tensors, got device {t.device}")
    if dtype is not None and t.dtype != dtype:
        raise TypeError(f"{name}: expected dtype {dtype} (that of x's state), got {t.dtype}")
    if t.dtype not in ENGINE_DTYPES and not (half and t.dtype in HALF_STORAGE):
        wanted = "float32, float64, bfloat16 or float16" if half else "float32 or float64"
        raise TypeError(f"{name}: expected dtype {wanted}, got {t.dtype}")


def check_sequence(x: Tensor, half: bool = False):
    check_tensor("x", x, half=half)
    check_steps(x)


def check_steps(x: Tensor):
    """``x`` is ``[T, ...]`` with T >= 1 (any device)."""
    if x.dim() < 1:
        raise ValueError("x: expected a [T, ...] tensor with at least one dimension")
    if x.shape[0] == 0:
        raise ValueError(f"x: expected at least one time step, got T = 0 (shape {tuple(x.shape)})")


def check_gradients(h_seq: Tensor, sequences: dict[str, Tensor | None], states: dict[str, Tensor | None]):
    """Gradients arriving at a fused op's outputs: each ``sequences`` one shaped like ``h_seq`` ``[T, *]``,
    each ``states`` one like a step ``[*]``. A gradient of the right size but another shape (e.g.
    transposed) would otherwise be read in the wrong order without a word."""
    for names, shape in ((sequences, tuple(h_seq.shape)), (states, tuple(h_seq.shape[1:]))):
        for name, g in names.items():
            if g is not None and tuple(g.shape) != shape:
                raise ValueError(f"{name}: expected shape {shape} (that of the forward output), got {tuple(g.shape)}")


def check_state(name: str, v: Tensor | None, x: Tensor):
    """``v`` (if given) must have the dtype of ``x``'s state (:func:`state_dtype`) and one step's shape."""
    if v is None:
        return
    check_tensor(name, v, state_dtype(x))
    if tuple(v.shape) != tuple(x.shape[1:]):
        raise ValueError(f"{name}: expected shape {tuple(x.shape[1:])} (x.shape[1:]), got {tuple(v.shape)}")


def steps(t: Tensor | None, count: int) -> np.ndarray | None:
    """A ``[T, *shape]`` tensor as a ``[T, N]`` array (None stays None); 16-bit floats as their bits."""
    if t is None:
        return None
    # numel // count, not -1: a step of zero neurons ([T, 0]) has no size to infer
    rows = t.detach().contiguous().reshape(count, t.numel() // max(count, 1))
    return rows.view(torch.uint16).numpy() if t.dtype in HALF_STORAGE else rows.numpy()


def state(v: Tensor | None) -> np.ndarray | None:
    """A ``[*shape]`` state tensor as a flat array (None stays None)."""
    return None if v is None else v.detach().contiguous().reshape(-1).numpy()


def tensor(a: np.ndarray, shape, dtype: torch.dtype | None = None) -> Tensor:
    """An engine output as a tensor of ``shape`` (no copy); a 16-bit ``dtype`` reads uint16 bits as it."""
    t = torch.from_numpy(a)
    return (t.view(dtype) if dtype in HALF_STORAGE else t).view(shape)


def saved_or_empty(a: np.ndarray | None, shape, like: Tensor, kept: bool, dtype=None) -> Tensor:
    """An output that exists only when ``kept`` (h_seq and bits for backward, v_seq when stored):
    the tensor, or an empty one so the op's outputs stay tensors."""
    if not kept:
        return like.new_empty(0, dtype=dtype)
    return torch.from_numpy(a) if shape is None else tensor(a, shape)
