"""The stateless layers of a graph as WGSL kernels on :class:`DeviceArray` float32 batches, so
a network runs from input to output without the host: dense layers (``shaders/linear.wgsl``),
grouped / strided / dilated / padded convolution (``conv2d.wgsl``, Conv1d as one-row Conv2d),
sum and average pooling (``pool2d.wgsl``), and elementwise sums, scales and thresholds
(``elementwise.wgsl``). Results equal NumPy's float32 up to the order of the sums; arguments
are checked as :mod:`snnrs.runtime.numpy_ops` checks them.
"""

import numpy as np

from snnrs.gpu.device import WORKGROUP_SIZE, DeviceArray, dispatch_shape, gpu

OP_ADD, OP_MUL, OP_GREATER = 0, 1, 2


def row_stride(invocations: int) -> int:
    return dispatch_shape(invocations)[0] * WORKGROUP_SIZE


def _indexable(count: int, what: str) -> None:
    if count >= 2**32:
        raise ValueError(f"{what}: {count} values exceed the shaders' 32-bit indexing")


def _device(x, what: str) -> DeviceArray:
    if not isinstance(x, DeviceArray) or x.dtype != np.float32:
        raise TypeError(f"{what}: expected a float32 DeviceArray, got {type(x).__name__}")
    return x


def constant(values) -> DeviceArray:
    """Float32 parameters (weights, biases, scales) uploaded once and kept on the device."""
    return DeviceArray.upload(np.ascontiguousarray(values, np.float32))


def zeros(shape) -> DeviceArray:
    """A new float32 array of zeros (WebGPU clears new buffers: nothing is uploaded)."""
    shape = tuple(int(s) for s in shape)
    return DeviceArray(gpu().empty(4 * int(np.prod(shape))), shape)


def elementwise(op: int, a: DeviceArray, b: DeviceArray, period: int | None = None) -> DeviceArray:
    """``a (op) b`` with ``b`` repeating every ``period`` values of ``a`` (its own size by default)."""
    a, b = _device(a, "a"), _device(b, "b")
    period = b.size if period is None else int(period)
    if period < 1 or b.size < period or a.size % period:
        raise ValueError(f"elementwise: {b.size} values of b do not repeat evenly over {a.shape}")
    _indexable(a.size, "elementwise")
    g = gpu()
    out = g.empty(a.nbytes)
    if a.size:
        params = np.array([a.size, period, op, row_stride(a.size)], np.uint32)
        g.run("elementwise", [g.uniform(params), a.buffer, b.buffer, out], a.size, includes=())
    return DeviceArray(out, a.shape)


def add(a: DeviceArray, b: DeviceArray) -> DeviceArray:
    if a.shape != b.shape:
        raise ValueError(f"add: shapes {a.shape} and {b.shape} differ")
    return elementwise(OP_ADD, a, b)


def linear(x: DeviceArray, weight: DeviceArray, bias: DeviceArray | None = None) -> DeviceArray:
    """``x @ weight.T (+ bias)``: x ``[R, I]``, weight ``[O, I]``."""
    x, weight = _device(x, "x"), _device(weight, "weight")
    if x.ndim != 2 or weight.ndim != 2 or x.shape[1] != weight.shape[1]:
        raise ValueError(f"linear: input {x.shape} does not fit weight {weight.shape}")
    rows, inputs, outputs = x.shape[0], x.shape[1], weight.shape[0]
    if bias is not None and _device(bias, "bias").size != outputs:
        raise ValueError(f"linear: bias of {bias.size} values for {outputs} outputs")
    total = rows * outputs
    _indexable(max(total, x.size, weight.size), "linear")
    g = gpu()
    out = g.empty(4 * total)
    if total:
        params = np.array([rows, inputs, outputs, bias is not None, row_stride(total), 0, 0, 0], np.uint32)
        g.run("linear", [g.uniform(params), x.buffer, weight.buffer,
                         bias.buffer if bias is not None else g.placeholder(), out], total, includes=())
    return DeviceArray(out, (rows, outputs))


def _output_size(size: int, before: int, after: int, span: int, stride: int, what: str) -> int:
    padded = size + before + after
    if padded < span:
        raise ValueError(f"{what}: a window of {span} does not fit an input of {size} padded to {padded}")
    return (padded - span) // stride + 1


def conv2d(x: DeviceArray, weight: DeviceArray, bias: DeviceArray | None, stride=(1, 1),
           padding=((0, 0), (0, 0)), dilation=(1, 1), groups: int = 1) -> DeviceArray:
    """torch's conv2d: x ``[N, C, H, W]``, weight ``[O, C/groups, KH, KW]``; ``padding`` per
    spatial dim as (before, after)."""
    x, weight = _device(x, "x"), _device(weight, "weight")
    if x.ndim != 4 or weight.ndim != 4:
        raise ValueError(f"conv: expected input [N, C, H, W] and weight [O, C/groups, KH, KW], got {x.shape} "
                         f"and {weight.shape}")
    n, c, h, w = x.shape
    o, per_group, kh, kw = weight.shape
    groups = int(groups)
    if groups < 1 or c != per_group * groups or o % groups:
        raise ValueError(f"conv: {c} input channels do not fit weight {weight.shape} with groups={groups}")
    if bias is not None and _device(bias, "bias").size != o:
        raise ValueError(f"conv: bias of {bias.size} values for {o} output channels")
    (top, bottom), (left, right) = padding
    out_h = _output_size(h, top, bottom, dilation[0] * (kh - 1) + 1, stride[0], "conv")
    out_w = _output_size(w, left, right, dilation[1] * (kw - 1) + 1, stride[1], "conv")
    total = n * o * out_h * out_w
    _indexable(max(total, x.size, weight.size), "conv")
    g = gpu()
    out = g.empty(4 * total)
    if total:
        params = np.array([total, c, h, w, o, out_h, out_w, kh, kw, *stride, top, left, *dilation, groups,
                           bias is not None, row_stride(total), 0, 0], np.uint32)
        g.run("conv2d", [g.uniform(params), x.buffer, weight.buffer,
                         bias.buffer if bias is not None else g.placeholder(), out], total, includes=())
    return DeviceArray(out, (n, o, out_h, out_w))


def pool2d(x: DeviceArray, kernel=(2, 2), stride=(2, 2), padding=(0, 0), average: bool = False) -> DeviceArray:
    """Sum (or average, zero padding counted) over windows of ``[N, C, H, W]``."""
    x = _device(x, "x")
    if x.ndim != 4:
        raise ValueError(f"pool: expected input [N, C, H, W], got shape {x.shape}")
    n, c, h, w = x.shape
    out_h = _output_size(h, padding[0], padding[0], kernel[0], stride[0], "pool")
    out_w = _output_size(w, padding[1], padding[1], kernel[1], stride[1], "pool")
    total = n * c * out_h * out_w
    _indexable(max(total, x.size), "pool")
    g = gpu()
    out = g.empty(4 * total)
    if total:
        params = np.array([total, h, w, out_h, out_w, *kernel, *stride, *padding, average, row_stride(total), 0, 0,
                           0], np.uint32)
        g.run("pool2d", [g.uniform(params), x.buffer, out], total, includes=())
    return DeviceArray(out, (n, c, out_h, out_w))


def take_step(x: DeviceArray, t: int) -> DeviceArray:
    """``x[t]`` of a ``[T, ...]`` array, copied on the device."""
    step = x.size // x.shape[0]
    out = gpu().empty(4 * step)
    if step:
        gpu().copy(x.buffer, 4 * step * t, out, 0, 4 * step)
    return DeviceArray(out, x.shape[1:])


def stack(steps: list[DeviceArray]) -> DeviceArray:
    """The arrays, all of one shape, as ``[T, ...]`` on the device."""
    shape, size = steps[0].shape, steps[0].size
    g = gpu()
    out = g.empty(4 * size * len(steps))
    for t, a in enumerate(steps):
        if a.shape != shape:
            raise ValueError(f"stack: shapes {shape} and {a.shape} differ")
        if size:
            g.copy(a.buffer, 0, out, 4 * size * t, 4 * size)
    return DeviceArray(out, (len(steps), *shape))


__all__ = ["add", "row_stride", "constant", "conv2d", "elementwise", "linear", "pool2d", "stack", "take_step", "zeros",
           "OP_ADD", "OP_MUL", "OP_GREATER"]
