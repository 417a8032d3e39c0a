"""Convolution and linear layers whose input is mostly zeros (spikes): the engine's spike-sparse
forward and weight gradient as the torch op ``torch.ops.snnrs.synapse_forward`` / ``_backward``.

Each call counts the nonzero inputs and picks, by the cost model below, either the engine's sparse
kernels (``snnrs._engine.sparse_conv_forward`` / ``sparse_conv_weight_grad``: work proportional to
the nonzero inputs) or torch's dense convolution. The input gradient is always dense (torch's).
Both evaluate the same sum (``docs/semantics.md#sparse-synapses``); the choice depends only on the
data, never on timings, so a run repeats bit for bit.

Linear is the 1x1 case (``x [N, C]`` as ``[N, C, 1, 1]``); Conv1d a one-row image.
"""

import contextlib
import functools
from typing import NamedTuple

import torch
import torch.nn.functional as F
from torch import Tensor

from snnrs import _engine
from snnrs.ops.registration import FusedOp

# The sparse kernels win while (their work) < CROSSOVER x (the dense convolution's work), both
# counted in multiply-adds: nonzero inputs x taps each reaches x outputs per group, against
# outputs x inputs per group x taps. Measured with `python benchmarks/synapse.py` (the crossover
# table; docs/semantics.md#sparse-synapses gives the figures).
FORWARD_CROSSOVER = 0.1
WEIGHT_GRAD_CROSSOVER = 0.15
# torch's dense weight gradient is slow on maps of a few positions (oneDNN: 46 ms for a
# 512->512 3x3 conv on 1x1 maps, batch 32, against 3 ms as one matrix product of unfolded
# inputs); up to this many output positions the dense weight gradient is that product.
GEMM_WEIGHT_GRAD_POSITIONS = 4
# The sparse kernels transpose the weights they use (the taps some input reaches); one weight
# moved costs about this many multiply-adds of the sparse product (3.4 ns a weight).
TRANSPOSE_COST = 8.0
# The dense path copies a cut kernel (torch's gather along the flattened taps, about 1.1 ns a
# weight): added to the dense side, in the same units.
CUT_COPY_COST = 3.0

SPARSE_DTYPES = (torch.float32, torch.float64)

# False: the layers run torch's own convolution (benchmarks compare the two this way).
ENABLED = True


@contextlib.contextmanager
def forced(path: str):
    """The choice forced, for tests and benchmarks: ``'sparse'`` (the engine's kernels wherever they
    apply; a call with no dense work at all, e.g. an empty batch, still runs the dense path) or
    ``'dense'`` (torch's products always). It sets the module's crossovers for the whole process:
    not for use while other threads run synapse ops."""
    global FORWARD_CROSSOVER, WEIGHT_GRAD_CROSSOVER
    if path not in ("sparse", "dense"):
        raise ValueError(f"path: expected 'sparse' or 'dense', got {path!r}")
    saved = FORWARD_CROSSOVER, WEIGHT_GRAD_CROSSOVER
    FORWARD_CROSSOVER = WEIGHT_GRAD_CROSSOVER = float("inf") if path == "sparse" else -float("inf")
    try:
        yield
    finally:
        FORWARD_CROSSOVER, WEIGHT_GRAD_CROSSOVER = saved


class ConvConfig(NamedTuple):
    """A convolution's geometry (2-D; Conv1d and Linear as 1-row / 1x1 images)."""

    stride: list[int]
    padding: list[int]
    dilation: list[int]
    groups: int


def _as_image(x: Tensor) -> Tensor:
    """[N, C], [N, C, L] or [N, C, H, W] as [N, C, H, W] (a view)."""
    if x.dim() == 2:
        return x[:, :, None, None]
    if x.dim() == 3:
        return x[:, :, None, :]
    return x


def _weight_image(weight: Tensor) -> Tensor:
    if weight.dim() == 2:
        return weight[:, :, None, None]
    if weight.dim() == 3:
        return weight[:, :, None, :]
    return weight


def _out_size(n: int, k: int, s: int, p: int, d: int) -> int:
    return (n + 2 * p - d * (k - 1) - 1) // s + 1


class _Axis(NamedTuple):
    """One axis of a convolution, as far as the choice of path needs it."""

    outputs: int
    pairs: int  # (output, tap) pairs whose input lies inside (not in the padding)
    first: int  # the reached taps are first..last-1 (a contiguous range)
    last: int
    padding: int  # the padding with the kernel cut to the reached taps


@functools.lru_cache(maxsize=4096)
def _axis(n: int, k: int, s: int, p: int, d: int) -> _Axis:
    outputs = _out_size(n, k, s, p, d)
    hits = [sum(0 <= o * s + t * d - p < n for o in range(outputs)) for t in range(k)]
    reached = [t for t in range(k) if hits[t]] or [0]
    first, last = reached[0], reached[-1] + 1
    padding = p - first * d
    if padding < 0 or _out_size(n, last - first, s, padding, d) != outputs:
        first, last, padding = 0, k, p  # cutting would change the output grid: keep the kernel
    return _Axis(outputs, sum(hits), first, last, padding)


def _axes(x: Tensor, weight: Tensor, config: ConvConfig) -> tuple[_Axis, _Axis]:
    return tuple(_axis(x.shape[2 + i], weight.shape[2 + i], config.stride[i], config.padding[i], config.dilation[i])
                 for i in range(2))


def _works(x: Tensor, weight: Tensor, config: ConvConfig, nonzero: int) -> tuple[float, float]:
    """(sparse cost, dense work) in multiply-adds. Sparse: each nonzero input times the
    (tap, output) pairs it reaches on average, times the outputs of its group, plus the weights
    it transposes (the taps some input reaches) at TRANSPOSE_COST each. Dense: every output times
    every input of its group and reached tap, as torch computes it on the cut kernel."""
    n, c, h, w = x.shape
    o, cpg = weight.shape[:2]
    rows, cols = _axes(x, weight, config)
    taps = (rows.last - rows.first) * (cols.last - cols.first)
    reach = rows.pairs * cols.pairs / max(h * w, 1)
    sparse = nonzero * reach * (o // config.groups) + TRANSPOSE_COST * o * cpg * taps
    return sparse, n * rows.outputs * cols.outputs * o * cpg * taps


def _sparse_wins(x: Tensor, weight: Tensor, config: ConvConfig, nonzero: int, crossover: float,
                 dense_copies_cut: bool = True) -> bool:
    """The cost model's choice: the sparse kernel's cost below ``crossover`` x the dense work,
    plus, where the kernel is cut and only the dense path would copy it (``dense_copies_cut``),
    that copy (CUT_COPY_COST a weight; the sparse kernels gather the reached taps as they
    transpose)."""
    sparse, dense = _works(x, weight, config, nonzero)
    rows, cols = _axes(x, weight, config)
    cut = (rows.last - rows.first, cols.last - cols.first) != tuple(weight.shape[2:])
    copied = weight.shape[0] * weight.shape[1] * (rows.last - rows.first) * (cols.last - cols.first)
    return sparse < crossover * dense + (CUT_COPY_COST * copied if cut and dense_copies_cut else 0.0)


def _taps(weight: Tensor, rows: _Axis, cols: _Axis) -> list[int]:
    """The reached taps' flat indices ``kh * KW + kw``, row by row."""
    kw = weight.shape[3]
    return [r * kw + c for r in range(rows.first, rows.last) for c in range(cols.first, cols.last)]


def _cut(weight: Tensor, config: ConvConfig, rows: _Axis, cols: _Axis) -> tuple[Tensor, ConvConfig]:
    """The kernel cut to the taps some input reaches (contiguous), and the padding that keeps the
    output grid. The taps cut off only ever multiply padding (zeros), so the sums are the same;
    torch would still compute them (a 3x3 kernel on 1x1 maps is 9x the work, and oneDNN's weight
    gradient there is 50x slower than the 1x1 kernel's). The copy gathers along the flattened
    taps: a 4-D slice's copy runs 2-float rows and costs 4x as much."""
    if (rows.first, rows.last, cols.first, cols.last) == (0, weight.shape[2], 0, weight.shape[3]):
        return weight, config
    o, cpg = weight.shape[:2]
    shape = (o, cpg, rows.last - rows.first, cols.last - cols.first)
    if shape[2] * shape[3] == 1:
        cut = weight[:, :, rows.first, cols.first].contiguous().view(shape)
    else:
        index = torch.tensor(_taps(weight, rows, cols), device=weight.device)
        cut = weight.flatten(2).index_select(2, index).view(shape)
    return cut, config._replace(padding=[rows.padding, cols.padding])


def _uncut(grad_cut: Tensor, weight: Tensor, rows: _Axis, cols: _Axis) -> Tensor:
    """The gradient of the whole kernel from that of the cut one: zeros at the taps cut off."""
    if grad_cut.shape == weight.shape:
        return grad_cut
    full = grad_cut.new_zeros(weight.shape)
    if grad_cut.shape[2] * grad_cut.shape[3] == 1:
        full[:, :, rows.first, cols.first] = grad_cut[:, :, 0, 0]
    else:
        index = torch.tensor(_taps(weight, rows, cols), device=weight.device)
        full.flatten(2).index_copy_(2, index, grad_cut.flatten(2))
    return full


def _whole_map(x: Tensor, weight: Tensor, config: ConvConfig) -> bool:
    """A kernel that covers the whole (unpadded) map, without groups: one output position, and the
    convolution is a matrix product of the flattened sample and the flattened kernel (Linear; a
    cut kernel on the last maps of a ResNet), which MKL's GEMM computes several times faster than
    oneDNN's convolution."""
    return (tuple(x.shape[2:]) == tuple(weight.shape[2:]) and config.groups == 1
            and list(config.padding) == [0, 0]
            and all(d == 1 or k == 1 for d, k in zip(config.dilation, weight.shape[2:])))


def _forward(x: Tensor, weight: Tensor, bias: Tensor | None, config: ConvConfig) -> tuple[Tensor, Tensor]:
    """``(out [N, O, OH, OW], nonzero)``: the convolution of ``x [N, C, H, W]`` and the count of
    its nonzero inputs (0-dim int64, which backward reads to make the same choice)."""
    xi, wi = _as_image(x), _weight_image(weight)
    nonzero = torch.count_nonzero(xi)
    if _sparse_wins(xi, wi, config, int(nonzero), FORWARD_CROSSOVER):
        out = _engine.sparse_conv_forward(
            xi.detach().contiguous().numpy(), wi.detach().contiguous().numpy(),
            None if bias is None else bias.detach().contiguous().numpy(), stride=tuple(config.stride),
            padding=tuple(config.padding), dilation=tuple(config.dilation), groups=config.groups)
        out = torch.from_numpy(out).permute(0, 3, 1, 2).contiguous()
    else:
        cut, cut_config = _cut(wi, config, *_axes(xi, wi, config))
        if _whole_map(xi, cut, cut_config):
            out = F.linear(xi.flatten(1), cut.flatten(1), bias)[:, :, None, None]
        else:
            # contiguous: the op's result has one layout whatever the input's (its fake says so)
            out = F.conv2d(xi, cut, bias, cut_config.stride, cut_config.padding, cut_config.dilation,
                           cut_config.groups).contiguous()
    return out.reshape(_out_shape(x, out)), nonzero


def _out_shape(x: Tensor, out: Tensor) -> tuple[int, ...]:
    if x.dim() == 2:
        return out.shape[:2]
    if x.dim() == 3:
        return (out.shape[0], out.shape[1], out.shape[3])
    return tuple(out.shape)


def _forward_fake(x: Tensor, weight: Tensor, bias: Tensor | None, config: ConvConfig):
    xi, wi = _as_image(x), _weight_image(weight)
    oh = _out_size(xi.shape[2], wi.shape[2], config.stride[0], config.padding[0], config.dilation[0])
    ow = _out_size(xi.shape[3], wi.shape[3], config.stride[1], config.padding[1], config.dilation[1])
    out = x.new_empty((xi.shape[0], wi.shape[0], oh, ow))
    return out.reshape(_out_shape(x, out)), x.new_empty((), dtype=torch.int64)


def _dense_weight_grad(grad: Tensor, x: Tensor, weight: Tensor, config: ConvConfig) -> Tensor:
    """torch's weight gradient, or on maps of a few positions one matrix product of the unfolded
    inputs (GEMM_WEIGHT_GRAD_POSITIONS)."""
    o, cpg, kh, kw = weight.shape
    positions = grad.shape[2] * grad.shape[3]
    if positions <= GEMM_WEIGHT_GRAD_POSITIONS:
        g = config.groups
        cols = F.unfold(x, (kh, kw), dilation=config.dilation, padding=config.padding, stride=config.stride)
        # cols [N, C*KH*KW, L] -> per group [g, N*L, cpg*KH*KW]; grad [N, O, OH, OW] -> [g, N*L, O/g]
        n, length = cols.shape[0], cols.shape[2]
        cols = cols.view(n, g, cpg * kh * kw, length).permute(1, 0, 3, 2).reshape(g, n * length, cpg * kh * kw)
        go = grad.reshape(n, g, o // g, length).permute(1, 0, 3, 2).reshape(g, n * length, o // g)
        return torch.bmm(go.transpose(1, 2), cols).reshape(o, cpg, kh, kw)
    return torch.ops.aten.convolution_backward(
        grad, x, weight, None, config.stride, config.padding, config.dilation, False, [0, 0], config.groups,
        [False, True, False])[1]


def _backward(grad_out: Tensor | None, x: Tensor, weight: Tensor, nonzero: Tensor, config: ConvConfig,
              needs_grad: list[bool]) -> tuple[Tensor, Tensor, Tensor]:
    """``(grad_x, grad_weight, grad_bias)``; those not needed come back as empty tensors."""
    xi, wi = _as_image(x), _weight_image(weight)
    image_shape = _forward_fake(xi, wi, None, config)[0].shape
    g = x.new_zeros(image_shape) if grad_out is None else grad_out.reshape(image_shape)
    if torch.is_grad_enabled():  # backward with create_graph: torch's differentiable formulas
        return _differentiable_backward(g, x, weight, xi, wi, config, needs_grad)
    xi, wi = xi.detach(), wi.detach()
    rows, cols = _axes(xi, wi, config)
    # the input gradient copies a cut kernel whichever path the weight gradient takes
    sparse_grad_w = needs_grad[1] and _sparse_wins(xi, wi, config, int(nonzero), WEIGHT_GRAD_CROSSOVER,
                                                   dense_copies_cut=not needs_grad[0])
    dense_grad_w = needs_grad[1] and not sparse_grad_w
    cut, cut_config = _cut(wi, config, rows, cols) if needs_grad[0] or dense_grad_w else (wi, config)
    whole_map = _whole_map(xi, cut, cut_config)
    # one empty tensor each: outputs of a custom op may not alias one another
    grad_x, grad_w, grad_b = x.new_empty(0), x.new_empty(0), x.new_empty(0)
    if needs_grad[0] and whole_map:
        grad_x = (g.flatten(1) @ cut.flatten(1)).reshape(x.shape)
    elif needs_grad[0]:
        grad_x = torch.ops.aten.convolution_backward(
            g, xi, cut, None, cut_config.stride, cut_config.padding, cut_config.dilation, False, [0, 0],
            cut_config.groups, [True, False, False])[0].contiguous().reshape(x.shape)
    if sparse_grad_w:  # the engine writes the whole kernel (zeros at the taps no input reaches)
        grad_w = torch.from_numpy(_engine.sparse_conv_weight_grad(
            xi.contiguous().numpy(), g.permute(0, 2, 3, 1).contiguous().numpy(),
            kernel_size=tuple(wi.shape[2:]), stride=tuple(config.stride), padding=tuple(config.padding),
            dilation=tuple(config.dilation), groups=config.groups))
    elif dense_grad_w:
        grad_cut = ((g.flatten(1).t() @ xi.flatten(1)).reshape(cut.shape) if whole_map
                    else _dense_weight_grad(g, xi, cut, cut_config))
        grad_w = _uncut(grad_cut, wi, rows, cols)
    if needs_grad[1]:
        grad_w = grad_w.contiguous().reshape(weight.shape)
    if needs_grad[2]:
        grad_b = g.sum((0, 2, 3))
    return grad_x, grad_w, grad_b


def _differentiable_backward(g, x, weight, xi, wi, config: ConvConfig, needs_grad: list[bool]):
    """The gradients as torch expressions of the saved tensors, so a second derivative (gradient
    penalties, Hessian-vector products) flows through them."""
    args = (config.stride, config.padding, config.dilation, config.groups)
    grad_x = (torch.nn.grad.conv2d_input(xi.shape, wi, g, *args).reshape(x.shape) if needs_grad[0]
              else x.new_empty(0))
    grad_w = (torch.nn.grad.conv2d_weight(xi, wi.shape, g, *args).reshape(weight.shape) if needs_grad[1]
              else x.new_empty(0))
    grad_b = g.sum((0, 2, 3)) if needs_grad[2] else x.new_empty(0)
    return grad_x, grad_w, grad_b


def _backward_fake(grad_out, x, weight, nonzero, config: ConvConfig, needs_grad: list[bool]):
    def maybe(needed, like):
        return like.new_empty(like.shape) if needed else x.new_empty(0)
    return (maybe(needs_grad[0], x), maybe(needs_grad[1], weight),
            maybe(needs_grad[2], weight.new_empty(weight.shape[0])))


synapse = FusedOp(
    "synapse", _forward, _forward_fake, _backward, _backward_fake,
    outputs=("out", "nonzero"),
    saved=("x", "weight", "nonzero"),
    gradients=("x", "weight", "bias"),
    non_differentiable=("nonzero",),
)


def _autocast_dtype() -> torch.dtype | None:
    """The 16-bit dtype CPU autocast runs convolutions in, when it is on."""
    return torch.get_autocast_dtype("cpu") if torch.is_autocast_enabled("cpu") else None


def supports(x: Tensor, weight: Tensor) -> bool:
    """True when the engine's synapse op can take this call (CPU, float32/float64, one dtype, no
    functorch transform, no jit trace or export: those run torch's own convolution).

    Under CPU autocast it takes the call where the CPU has no native 16-bit dot products (see
    :func:`conv`); where it has them, torch's 16-bit convolution is the faster and runs instead."""
    from snnrs.ops.host import cpu_computes_natively, functorch_active
    autocast = _autocast_dtype()
    dtypes_ok = (x.dtype in SPARSE_DTYPES and weight.dtype == x.dtype) if autocast is None else (
        # autocast leaves float64 alone: only float32 (and 16-bit) operands are rounded as below
        not cpu_computes_natively(autocast) and weight.dtype == torch.float32 and x.dtype != torch.float64)
    return (ENABLED and not torch.jit.is_tracing() and not torch.compiler.is_exporting()
            and x.device.type == "cpu" and weight.device.type == "cpu" and dtypes_ok and not functorch_active())


def conv(x: Tensor, weight: Tensor, bias: Tensor | None, stride=(1, 1), padding=(0, 0), dilation=(1, 1),
         groups: int = 1) -> Tensor:
    """``F.conv2d`` / ``F.conv1d`` / ``F.linear`` (by the rank of ``weight``: 4, 3 or 2) through the
    synapse op; a Conv1d's one-element stride/padding/dilation apply to its one axis.

    Under CPU autocast to a 16-bit dtype the operands are rounded to it, as autocast rounds them, and
    the sums run in float32 (as oneDNN's 16-bit convolutions accumulate); the result comes back in the
    16-bit dtype, and the weight's gradient is rounded to it on the way back, as under autocast
    (``docs/semantics.md#mixed-precision``). Spikes are exact in either 16-bit dtype."""
    autocast = _autocast_dtype()
    if autocast is not None:
        with torch.autocast("cpu", enabled=False):
            rounded = [None if t is None else t.to(autocast).float() for t in (x, weight, bias)]
            return conv(*rounded, stride, padding, dilation, groups).to(autocast)
    if weight.dim() == 2:
        config = ConvConfig([1, 1], [0, 0], [1, 1], 1)
    elif weight.dim() == 3:
        config = ConvConfig([1, stride[0]], [0, padding[0]], [1, dilation[0]], int(groups))
    else:
        config = ConvConfig(list(stride), list(padding), list(dilation), int(groups))
    return synapse(x, weight, bias, config)[0]


def linear(x: Tensor, weight: Tensor, bias: Tensor | None) -> Tensor:
    """``F.linear`` through the synapse op, for any leading dimensions of ``x``."""
    lead = x.shape[:-1]
    return conv(x.reshape(-1, x.shape[-1]), weight, bias).reshape(*lead, weight.shape[0])
