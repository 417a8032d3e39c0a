"""TET, TCL and STCL (snnrs.losses) equal reference/losses.py: values and gradients."""

import numpy as np
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from reference import autodiff as ad
from reference import losses as ref
from snnrs import losses


@st.composite
def batches(draw, feature_max=4):
    steps, batch, dim = draw(st.integers(1, 3)), draw(st.integers(1, 4)), draw(st.integers(2, feature_max))
    rng = np.random.default_rng(draw(st.integers(0, 2**31 - 1)))
    labels = rng.integers(0, min(draw(st.integers(1, 3)), dim), batch)
    return rng.normal(size=(steps, batch, dim)), labels


def _check(program, torch_fn, inputs, labels):
    expected = program(*inputs)
    grads = ad.gradients(lambda *a: ad.stack([program(*a)]), inputs, np.ones(1))
    tensors = [torch.tensor(a, requires_grad=True) for a in inputs]
    got = torch_fn(*tensors, torch.tensor(labels))
    got.backward()
    np.testing.assert_allclose(got.item(), expected, rtol=1e-10, atol=1e-12)
    for t, g in zip(tensors, grads):
        np.testing.assert_allclose(t.grad.numpy(), g, rtol=1e-8, atol=1e-10)


@settings(max_examples=20)
@given(data=batches(), lamb=st.floats(0.0, 1.0), means=st.floats(-1.0, 2.0))
def test_tet_equals_reference(data, lamb, means):
    outputs, labels = data
    _check(lambda o: ref.tet_loss(o, labels, lamb, means),
           lambda o, y: losses.tet_loss(o, y, lamb, means), [outputs], labels)


@settings(max_examples=20)
@given(data=batches(), temperature=st.floats(0.05, 1.0))
def test_tcl_equals_reference(data, temperature):
    z, labels = data
    _check(lambda a: ref.tcl_loss(a, labels, temperature),
           lambda a, y: losses.tcl_loss(a, y, temperature), [z], labels)


@settings(max_examples=15)
@given(data=batches(feature_max=3), temperature=st.floats(0.05, 1.0), seed=st.integers(0, 1000))
def test_stcl_equals_reference(data, temperature, seed):
    z, labels = data
    other = np.random.default_rng(seed).normal(size=z.shape)
    _check(lambda a, b: ref.stcl_loss(a, b, labels, temperature),
           lambda a, b, y: losses.stcl_loss(a, b, y, temperature), [z, other], labels)


def test_tcl_pulls_same_label_steps_together():
    """A sanity fact independent of both implementations: aligned same-class views cost less."""
    labels = torch.tensor([0, 1])
    aligned = torch.tensor([[[1.0, 0.0], [0.0, 1.0]]] * 3)
    mixed = torch.tensor([[[1.0, 0.0], [0.0, 1.0]], [[0.0, 1.0], [1.0, 0.0]], [[1.0, 0.0], [0.0, 1.0]]])
    assert losses.tcl_loss(aligned, labels) < losses.tcl_loss(mixed, labels)
