"""The synaptic NIR nodes as NumPy functions of one batch ``[N, ...]`` (no torch): Affine,
Linear, Scale, Conv1d/Conv2d (grouped, strided, dilated, padded), SumPool2d, AvgPool2d,
Flatten, Threshold. Inputs and outputs exclude the time dimension."""

from collections.abc import Callable

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view


def _pair(value, n: int) -> tuple[int, ...]:
    arr = np.atleast_1d(np.asarray(value)).astype(int).ravel()
    if arr.size == 1:
        return tuple([int(arr[0])] * n)
    if arr.size != n:
        raise ValueError(f"expected {n} values, got {arr.tolist()}")
    return tuple(int(a) for a in arr)


def conv_padding(padding, kernel: tuple[int, ...], dilation: tuple[int, ...]) -> tuple[tuple[int, int], ...]:
    """Per spatial dim (before, after); ``'same'`` pads as torch (extra on the right), ``'valid'`` none."""
    if isinstance(padding, str):
        if padding == "valid":
            return tuple((0, 0) for _ in kernel)
        if padding == "same":
            total = [d * (k - 1) for k, d in zip(kernel, dilation)]
            return tuple((t // 2, t - t // 2) for t in total)
        raise ValueError(f"padding: expected an int, a tuple, 'same' or 'valid', got {padding!r}")
    return tuple((p, p) for p in _pair(padding, len(kernel)))


def convolution(x: np.ndarray, weight: np.ndarray, bias, stride, padding, dilation, groups: int) -> np.ndarray:
    """Cross-correlation as torch's ``conv1d``/``conv2d``: x ``[N, C, *S]``, weight ``[O, C/groups, *K]``."""
    dims = weight.ndim - 2
    if x.ndim != dims + 2:
        raise ValueError(f"conv: expected input [N, C, {'H, W' if dims == 2 else 'L'}], got shape {x.shape}")
    kernel = weight.shape[2:]
    stride, dilation = _pair(stride, dims), _pair(dilation, dims)
    groups = int(groups) if groups else 1
    x = np.pad(x, ((0, 0), (0, 0), *conv_padding(padding, kernel, dilation)))
    span = tuple(d * (k - 1) + 1 for k, d in zip(kernel, dilation))
    windows = sliding_window_view(x, span, axis=tuple(range(2, 2 + dims)))
    # windows: [N, C, *out_full, *span] -> take stride and dilation
    index = (slice(None), slice(None)) + tuple(slice(None, None, s) for s in stride) + \
        tuple(slice(None, None, d) for d in dilation)
    windows = windows[index]
    n, c = x.shape[:2]
    out_spatial = windows.shape[2:2 + dims]
    o = weight.shape[0]
    cg, og = c // groups, o // groups
    if c != cg * groups or weight.shape[1] != cg:
        raise ValueError(f"conv: {c} input channels do not fit weight {weight.shape} with groups={groups}")
    out = np.empty((n, o, *out_spatial), dtype=np.result_type(x, weight))
    letters = "hw"[:dims] if dims == 2 else "l"
    klet = "ij"[:dims] if dims == 2 else "k"
    for g in range(groups):
        part = windows[:, g * cg:(g + 1) * cg]
        w = weight[g * og:(g + 1) * og]
        out[:, g * og:(g + 1) * og] = np.einsum(f"nc{letters}{klet},oc{klet}->no{letters}", part, w, optimize=True)
    if bias is not None:
        out += np.asarray(bias, out.dtype).reshape(1, o, *([1] * dims))
    return out


def pool2d(x: np.ndarray, kernel, stride, padding, average: bool) -> np.ndarray:
    """Sum (or average, zero padding counted as torch's default) over windows of ``[N, C, H, W]``."""
    kernel, stride = _pair(kernel, 2), _pair(stride, 2)
    x = np.pad(x, ((0, 0), (0, 0), *((p, p) for p in _pair(padding, 2))))
    windows = sliding_window_view(x, kernel, axis=(2, 3))[:, :, ::stride[0], ::stride[1]]
    total = windows.sum(axis=(-2, -1))
    return total / (kernel[0] * kernel[1]) if average else total


def flatten(x: np.ndarray, start_dim: int, end_dim: int) -> np.ndarray:
    """NIR's dims count from the first per-sample dim (the batch dim is not counted)."""
    ndim = x.ndim - 1
    start = (start_dim + ndim if start_dim < 0 else start_dim) + 1
    end = (end_dim + ndim if end_dim < 0 else end_dim) + 1
    return x.reshape(*x.shape[:start], -1, *x.shape[end + 1:])


# The stateless kinds :func:`synapse` runs (the neurons are in ``conventions.NEURONS``).
SYNAPSES = ("Input", "Output", "Affine", "Linear", "Scale", "Conv1d", "Conv2d", "SumPool2d", "AvgPool2d", "Flatten",
            "Threshold")


def synapse(node) -> Callable[[np.ndarray], np.ndarray]:
    """The NumPy function of a stateless NIR node."""
    kind = type(node).__name__
    if kind in ("Input", "Output"):
        return lambda x: x
    if kind == "Affine":
        w, b = np.asarray(node.weight), np.asarray(node.bias)
        return lambda x: x @ w.T.astype(x.dtype) + b.astype(x.dtype)
    if kind == "Linear":
        w = np.asarray(node.weight)
        return lambda x: x @ w.T.astype(x.dtype)
    if kind == "Scale":
        s = np.asarray(node.scale)
        return lambda x: x * s.astype(x.dtype)
    if kind in ("Conv1d", "Conv2d"):
        w = np.asarray(node.weight)
        bias = None if node.bias is None or np.ndim(node.bias) == 0 and not np.any(node.bias) else np.asarray(node.bias)
        return lambda x: convolution(x, w.astype(x.dtype), bias, node.stride, node.padding, node.dilation, node.groups)
    if kind in ("SumPool2d", "AvgPool2d"):
        return lambda x: pool2d(x, node.kernel_size, node.stride, node.padding, kind == "AvgPool2d").astype(x.dtype)
    if kind == "Flatten":
        return lambda x: flatten(x, int(node.start_dim), int(node.end_dim))
    if kind == "Threshold":
        th = np.asarray(node.threshold)
        return lambda x: (x > th.astype(x.dtype)).astype(x.dtype)
    raise ValueError(f"NIR node {kind}: not supported by snnrs (Delay and others have no discrete rule here)")


__all__ = ["SYNAPSES", "synapse", "convolution", "pool2d", "flatten", "conv_padding"]
