"""CPU tensors to and from the engine's NumPy arrays: checks, and the ``[T, N]`` flattening the
kernels see (tensors are ``[T, *shape]``; the state is ``[*shape]``)."""


import numpy as np
import torch
from torch import Tensor

ENGINE_DTYPES = (torch.float32, torch.float64)


def functorch_active() -> bool:
    """True inside ``torch.func`` transforms (vmap, grad, jacrev, ...). The kernels take plain
    arrays, so callers run their torch form there: the same numbers, batched and differentiated by
    torch itself."""
    return torch._C._are_functorch_transforms_active()


def check_tensor(name: str, t: Tensor, dtype=None):
    if t.device.type != "cpu":
        raise ValueError(f"{name}: the engine runs on CPU tensors, got device {t.device}")
    if t.dtype not in ENGINE_DTYPES:
        raise TypeError(f"{name}: expected dtype float32 or float64, got {t.dtype}")
    if dtype is not None and t.dtype != dtype:
        raise TypeError(f"{name}: expected dtype {dtype} (same as x), got {t.dtype}")


def check_sequence(x: Tensor):
    check_tensor("x", x)
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
    """``v`` (if given) must match ``x``'s dtype and one step's shape."""
    if v is None:
        return
    check_tensor(name, v, x.dtype)
    if tuple(v.shape) != tuple(x.shape[1:]):
        raise ValueError(f"{name}: expected shape {tuple(x.shape[1:])} (x.shape[1:]), got {tuple(v.shape)}")


def steps(t: Tensor | None, count: int) -> np.ndarray | None:
    """A ``[T, *shape]`` tensor as a ``[T, N]`` array (None stays None)."""
    # numel // count, not -1: a step of zero neurons ([T, 0]) has no size to infer
    return None if t is None else t.detach().contiguous().reshape(count, t.numel() // max(count, 1)).numpy()


def state(v: Tensor | None) -> np.ndarray | None:
    """A ``[*shape]`` state tensor as a flat array (None stays None)."""
    return None if v is None else v.detach().contiguous().reshape(-1).numpy()


def tensor(a: np.ndarray, shape) -> Tensor:
    """An engine output as a tensor of ``shape`` (no copy)."""
    return torch.from_numpy(a).view(shape)


def saved_or_empty(a: np.ndarray | None, shape, like: Tensor, kept: bool, dtype=None) -> Tensor:
    """An output that exists only when ``kept`` (h_seq and bits for backward, v_seq when stored):
    the tensor, or an empty one so the op's outputs stay tensors."""
    if not kept:
        return like.new_empty(0, dtype=dtype)
    return torch.from_numpy(a) if shape is None else tensor(a, shape)
