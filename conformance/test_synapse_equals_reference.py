"""The spike-sparse synapses equal the dense convolution (docs/semantics.md#sparse-synapses).

Random geometry (batch, channels, groups, image, kernel, stride, padding, dilation) and input
density 0-100%, with binary and real-valued nonzero inputs:

- the engine's sparse forward and weight gradient equal ``reference.synapse``'s loops (float64,
  1e-12) and float32 within rounding;
- the layers' synapse op (``snnrs.ops.synapse``) on the sparse path and on the dense path both
  equal ``torch.nn.functional.conv2d`` and its gradients (float64, 1e-12).
"""

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import assume, given
from hypothesis import strategies as st

from reference import synapse as rs
from snnrs import _engine
from snnrs.ops import synapse


@st.composite
def geometries(draw):
    groups = draw(st.integers(1, 3))
    cin, cout = groups * draw(st.integers(1, 3)), groups * draw(st.integers(1, 3))
    kh, kw = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    stride = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    dilation = (draw(st.integers(1, 2)), draw(st.integers(1, 2)))
    padding = (draw(st.integers(0, 2)), draw(st.integers(0, 2)))
    h, w = draw(st.integers(1, 7)), draw(st.integers(1, 7))
    # the kernel's extent must fit the padded image
    assume(h + 2 * padding[0] >= dilation[0] * (kh - 1) + 1 and w + 2 * padding[1] >= dilation[1] * (kw - 1) + 1)
    batch = draw(st.integers(1, 3))
    density = draw(st.sampled_from([0.0, 0.05, 0.2, 0.5, 1.0]))
    binary = draw(st.booleans())
    seed = draw(st.integers(0, 2**31 - 1))
    return dict(groups=groups, x_shape=(batch, cin, h, w), w_shape=(cout, cin // groups, kh, kw), stride=stride,
                padding=padding, dilation=dilation, density=density, binary=binary, seed=seed)


def _data(g):
    rng = np.random.default_rng(g["seed"])
    active = rng.random(g["x_shape"]) < g["density"]
    values = np.ones(g["x_shape"]) if g["binary"] else rng.normal(size=g["x_shape"])
    x = np.where(active, values, 0.0)
    return x, rng.normal(size=g["w_shape"]), rng.normal(size=g["w_shape"][0])


def _kw(g):
    return dict(stride=g["stride"], padding=g["padding"], dilation=g["dilation"], groups=g["groups"])


@given(geometries())
def test_engine_sparse_kernels_equal_reference(g):
    x, w, b = _data(g)
    ref = rs.conv2d(x, w, b, **_kw(g))
    got = _engine.sparse_conv_forward(x, w, b, **_kw(g)).transpose(0, 3, 1, 2)
    np.testing.assert_allclose(got, ref, rtol=0, atol=1e-12 * max(1.0, np.abs(ref).max()))
    grad_out = np.random.default_rng(g["seed"] + 1).normal(size=ref.shape)
    ref_gw = rs.conv2d_weight_grad(x, grad_out, g["w_shape"][2:], **_kw(g))
    got_gw = _engine.sparse_conv_weight_grad(x, np.ascontiguousarray(grad_out.transpose(0, 2, 3, 1)),
                                             kernel_size=g["w_shape"][2:], **_kw(g))
    np.testing.assert_allclose(got_gw, ref_gw, rtol=0, atol=1e-12 * max(1.0, np.abs(ref_gw).max()))
    # float32: the same sums within float32 rounding
    got32 = _engine.sparse_conv_forward(x.astype(np.float32), w.astype(np.float32), b.astype(np.float32),
                                        **_kw(g)).transpose(0, 3, 1, 2)
    np.testing.assert_allclose(got32, ref, rtol=1e-5, atol=1e-5 * max(1.0, np.abs(ref).max()))


@pytest.mark.parametrize("path", ["sparse", "dense"])
@given(g=geometries())
def test_synapse_op_equals_torch(path, g):
    with synapse.forced(path):
        x, w, b = (torch.from_numpy(a) for a in _data(g))
        x, w, b = x.requires_grad_(), w.requires_grad_(), b.requires_grad_()
        got = synapse.conv(x, w, b, **_kw(g))
        ref = F.conv2d(x, w, b, **_kw(g))
        torch.testing.assert_close(got, ref, rtol=0, atol=1e-12 * max(1.0, ref.abs().max().item()))
        grad = torch.randn(ref.shape, dtype=torch.float64, generator=torch.Generator().manual_seed(g["seed"]))
        for a, r in zip(torch.autograd.grad(got, (x, w, b), grad), torch.autograd.grad(ref, (x, w, b), grad)):
            torch.testing.assert_close(a, r, rtol=0, atol=1e-12 * max(1.0, r.abs().max().item()))


@pytest.mark.parametrize("path", ["sparse", "dense"])
@pytest.mark.parametrize("geometry", [
    dict(x_shape=(3, 5, 1, 1), w_shape=(4, 5, 3, 3), stride=(1, 1), padding=(1, 1)),  # centre tap only
    dict(x_shape=(3, 5, 2, 2), w_shape=(4, 5, 3, 3), stride=(2, 2), padding=(1, 1)),  # 2x2 taps, whole map
    dict(x_shape=(3, 5, 2, 3), w_shape=(4, 5, 3, 3), stride=(2, 1), padding=(1, 1)),  # cut rows only
    dict(x_shape=(3, 5, 2, 2), w_shape=(4, 5, 2, 2), stride=(1, 1), padding=(0, 0)),  # uncut, whole map
], ids=["centre", "whole-map-cut", "rows-cut", "whole-map"])
def test_cut_kernels_equal_torch(path, geometry):
    """The kernels cut to the reached taps (the last stages of a ResNet on small images), on both
    paths: the cut copy, the whole-map matrix products and the zeros of the cut-off taps' gradient."""
    g = dict(geometry, dilation=(1, 1), groups=1, density=0.5, binary=True, seed=3)
    test_synapse_op_equals_torch.hypothesis.inner_test(path=path, g=g)
