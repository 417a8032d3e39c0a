"""PSN, MaskedPSN and SlidingPSN equal reference/psn.py (forward and gradients); SlidingPSN's
GEMM and conv forms agree; MaskedPSN at λ = 1 is a banded PSN; single-step equals multi-step."""

import zlib

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from conformance import cases
from reference import autodiff as ad
from reference import psn as rp
from snnrs import neuron


def _rng(x):
    return np.random.default_rng(zlib.crc32(x.tobytes()))


def _grads(module, x, g):
    xt = torch.tensor(x, requires_grad=True)
    out = module(xt)
    (out * torch.tensor(g)).sum().backward()
    return out.detach().numpy(), xt.grad.numpy(), module.weight.grad.numpy(), module.bias.grad.numpy()


def _assert_close(got, want, what):
    np.testing.assert_allclose(got, want, rtol=1e-9, atol=1e-9, err_msg=what)


def _assert_spikes(got, charge):
    """Spikes equal Θ(H) wherever H is not a rounding-level tie with the threshold (a matrix
    product may sum in another order than the reference's loop)."""
    clear = np.abs(charge) > 1e-9 * (1 + np.abs(charge))
    np.testing.assert_array_equal(got[clear], (charge >= 0)[clear].astype(np.float64))


@given(x=cases.sequences(max_steps=6, max_neurons=5))
def test_psn_equals_reference(x):
    T = x.shape[0]
    node = neuron.PSN(T).double()
    w, b, g = node.weight.detach().numpy().copy(), node.bias.detach().numpy()[:, 0].copy(), _rng(x).normal(size=x.shape)
    out, gx, gw, gb = _grads(node, x, g)
    _assert_spikes(out, rp.psn_charge(x, w, b))
    rx, rw, rb = ad.gradients(lambda x_, w_, b_: rp.psn(x_, w_, b_), [x, w, b], g)
    _assert_close(gx, rx, "grad_x")
    _assert_close(gw, rw, "grad_weight")
    _assert_close(gb[:, 0], rb, "grad_bias")


@given(x=cases.sequences(max_steps=6, max_neurons=5), k=st.integers(1, 4),
       lam=st.sampled_from([0.0, 0.3, 0.75, 1.0]))
def test_masked_psn_equals_reference(x, k, lam):
    T = x.shape[0]
    node = neuron.MaskedPSN(k, T, step_mode="m").double()
    node.lambda_ = lam  # after .double(): λ must not pass through float32
    w, b, g = node.weight.detach().numpy().copy(), node.bias.detach().numpy()[:, 0].copy(), _rng(x).normal(size=x.shape)
    out, gx, gw, _ = _grads(node, x, g)
    _assert_spikes(out, rp.psn_charge(x, rp.masked_weight(w, k, lam), b))
    rx, rw = ad.gradients(lambda x_, w_: rp.psn(x_, rp.masked_weight(w_, k, lam), b), [x, w], g)
    _assert_close(gx, rx, "grad_x")
    _assert_close(gw, rw, "grad_weight")


@given(x=cases.sequences(max_steps=6, max_neurons=5), k=st.integers(1, 4))
def test_masked_psn_at_lambda_one_is_a_banded_psn_and_runs_single_step(x, k):
    T = x.shape[0]
    masked = neuron.MaskedPSN(k, T, lambda_init=1.0, step_mode="m").double()
    banded = neuron.PSN(T).double()
    with torch.no_grad():
        banded.weight.copy_(masked.weight * torch.tensor(rp.band_mask(T, k)))
        banded.bias.copy_(masked.bias)
    xt = torch.tensor(x)
    expected = banded(xt)
    assert torch.equal(masked(xt), expected)
    masked.step_mode = "s"
    assert torch.equal(torch.stack([masked(xt[t]) for t in range(T)]), expected)
    with pytest.raises(OverflowError):
        masked(xt[0])


@pytest.mark.parametrize("exp_init", [True, False])
@given(x=cases.sequences(max_steps=8, max_neurons=5), k=st.integers(1, 5))
def test_sliding_psn_gemm_equals_conv_equals_reference(exp_init, x, k):
    torch.manual_seed(k)
    node = neuron.SlidingPSN(k, exp_init=exp_init, step_mode="m").double()
    w, b, g = node.weight.detach().numpy().copy(), node.bias.item(), _rng(x).normal(size=x.shape)
    if exp_init:
        np.testing.assert_array_equal(w, rp.sliding_weights(k))
    gemm = _grads(node, x, g)
    node.zero_grad()
    node.backend = "conv"
    conv = _grads(node, x, g)
    _assert_spikes(gemm[0], rp.sliding_psn_charge(x, w, b))
    _assert_spikes(conv[0], rp.sliding_psn_charge(x, w, b))
    rx, rw, rb = ad.gradients(lambda x_, w_, b_: rp.sliding_psn(x_, w_, b_), [x, w, b], g)
    for form in (gemm, conv):
        _assert_close(form[1], rx, "grad_x")
        _assert_close(form[2], rw, "grad_weight")
        _assert_close(form[3], rb, "grad_bias")
    node.step_mode = "s"
    xt = torch.tensor(x)
    single = torch.stack([node(xt[t]) for t in range(x.shape[0])])
    np.testing.assert_array_equal(single.detach().numpy(), gemm[0])


def test_psn_arguments_and_lambda_ramp():
    with pytest.raises(ValueError, match="lambda_: single-step mode needs"):
        neuron.MaskedPSN(2, 4, lambda_init=0.5)(torch.ones(3))
    with pytest.raises(ValueError, match="x_seq: expected \\[T=4"):
        neuron.PSN(4)(torch.ones(3, 2))
    with pytest.raises(ValueError, match="backend"):
        neuron.SlidingPSN(2, backend="cupy")
    from snnrs.psn import masked_psn_lambda
    assert [masked_psn_lambda(e, 17) for e in (0, 1, 2, 3)] == [0.0, 0.5, 1.0, 1.0]
