"""The STDP learner equals reference/plasticity.py for Linear and Conv2d synapses,
in single-step and multi-step mode, and its update reaches weight.grad."""

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

from reference import plasticity as rp
from snnrs import layer, learning, neuron


def _spikes(rng, shape, p=0.4):
    return (rng.uniform(size=shape) < p).astype(np.float64)


@pytest.mark.parametrize("step_mode", ["s", "m"])
@given(seed=st.integers(0, 2**32 - 1), tau_pre=st.floats(1.5, 10), tau_post=st.floats(1.5, 10))
def test_linear_stdp_equals_reference(step_mode, seed, tau_pre, tau_post):
    rng = np.random.default_rng(seed)
    T, N, n_in, n_out = 5, 3, 4, 2
    syn = layer.Linear(n_in, n_out, bias=False, step_mode=step_mode).double()
    sn = neuron.IFNode(v_threshold=0.3, step_mode=step_mode)
    learner = learning.STDPLearner(step_mode, syn, sn, tau_pre, tau_post, f_pre=lambda w: w.abs() + 0.1)
    x = _spikes(rng, (T, N, n_in))
    xt = torch.tensor(x)
    out = sn(syn(xt)) if step_mode == "m" else torch.stack([sn(syn(xt[t])) for t in range(T)])
    delta = learner.step(on_grad=True, scale=0.5)
    w = syn.weight.detach().numpy()
    expected, tp, tq = np.zeros_like(w), np.zeros((N, n_in)), np.zeros((N, n_out))
    for t in range(T):
        d, tp, tq = rp.stdp_linear_step(w, x[t], out[t].detach().numpy(), tp, tq, tau_pre=tau_pre,
                                        tau_post=tau_post, f_pre=lambda v: abs(v) + 0.1)
        expected += d
    np.testing.assert_allclose(delta.numpy(), 0.5 * expected, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(syn.weight.grad.numpy(), -0.5 * expected, rtol=1e-12, atol=1e-12)


@settings(max_examples=10)
@given(seed=st.integers(0, 2**32 - 1), padding=st.integers(0, 1), stride=st.integers(1, 2))
def test_conv2d_stdp_equals_reference(seed, padding, stride):
    rng = np.random.default_rng(seed)
    T, N = 3, 2
    syn = nn.Conv2d(2, 3, 3, padding=padding, stride=stride, bias=False).double()
    sn = neuron.IFNode(v_threshold=0.2)
    learner = learning.STDPLearner("s", syn, sn, 2.0, 3.0)
    x = _spikes(rng, (T, N, 2, 6, 6))
    outs = [sn(syn(torch.tensor(x[t]))).detach().numpy() for t in range(T)]
    delta = learner.step(on_grad=False)
    w = syn.weight.detach().numpy()
    expected, tp, tq = np.zeros_like(w), np.zeros(x.shape[1:]), np.zeros(outs[0].shape)
    for t in range(T):
        d, tp, tq = rp.stdp_conv2d_step(w, x[t], outs[t], tp, tq, tau_pre=2.0, tau_post=3.0, padding=padding,
                                        stride=stride)
        expected += d
    np.testing.assert_allclose(delta.numpy(), expected, rtol=1e-12, atol=1e-12)
    assert syn.weight.grad is None


def test_stdp_sign_by_hand_and_bad_arguments():
    # One pre spike at t=0, one post spike at t=1: pure potentiation f_post(w)·trace_pre = w·(1 - 1/2).
    syn = nn.Linear(1, 1, bias=False)
    nn.init.constant_(syn.weight, 2.0)
    sn = nn.Identity()
    learner = learning.STDPLearner("s", syn, sn, tau_pre=2.0, tau_post=2.0)
    learner.in_spikes += [torch.tensor([[1.0]]), torch.tensor([[0.0]])]
    learner.out_spikes += [torch.tensor([[0.0]]), torch.tensor([[1.0]])]
    assert learner.step(on_grad=False).item() == 2.0 * 0.5
    with pytest.raises(TypeError, match="synapse"):
        learning.STDPLearner("s", nn.ReLU(), sn, 2.0, 2.0)
    with pytest.raises(ValueError, match="tau_pre"):
        learning.STDPLearner("s", syn, sn, 0.5, 2.0)  # a trace time constant is at least one step
