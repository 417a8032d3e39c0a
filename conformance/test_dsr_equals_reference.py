"""The DSR neurons and the half-threshold IF equal their references: DSR forward values and its defined
gradient (reference/dsr.py), and HalfThresholdIFNode the IF reference started at ``V_th/2``
(docs/semantics.md#dsr, #if)."""

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from conformance import cases
from reference import dsr
from reference import neuron as rn
from snnrs import neuron


@pytest.mark.parametrize("kind", ["if", "lif"])
@given(data=st.data(), x=cases.sequences(max_steps=8, max_neurons=6))
def test_dsr_forward_and_gradient_equal_reference(kind, data, x):
    threshold = data.draw(st.floats(0.2, 2.0))
    alpha = data.draw(st.floats(0.1, 1.0))
    scaling = data.draw(st.floats(0.5, 2.0))
    steps = x.shape[0]
    if kind == "if":
        node, leak = neuron.DSRIFNode(steps, threshold, alpha, True, scaling, 0.01), None
    else:
        tau, delta_t = data.draw(st.floats(1.2, 4.0)), data.draw(st.floats(0.05, 1.0))
        node = neuron.DSRLIFNode(steps, threshold, tau, delta_t, alpha, True, scaling, 0.01)
        leak = (tau, delta_t)
    node = node.double()
    threshold = float(node.v_threshold.detach())  # a float32 parameter, as SpikingJelly creates it
    grad_out = np.random.default_rng(steps).normal(size=x.shape)
    xt = torch.tensor(x, requires_grad=True)
    y = node(xt)
    (y * torch.tensor(grad_out)).sum().backward()
    expected_x, expected_threshold = dsr.backward(x, grad_out, v_threshold=threshold, leak=leak, grad_scaling=scaling)
    cases.assert_close_f64(y.detach().numpy(), dsr.forward(x, v_threshold=threshold, alpha=alpha, leak=leak), "y")
    np.testing.assert_allclose(xt.grad.numpy(), expected_x, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(node.v_threshold.grad.item(), expected_threshold, rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("backend", ["engine", "torch"])
@given(x=cases.sequences(max_steps=6, max_neurons=6), threshold=st.floats(0.2, 2.0))
def test_half_threshold_if_is_if_started_at_half_the_threshold(backend, x, threshold):
    node = neuron.HalfThresholdIFNode(threshold, step_mode="m", backend=backend)
    spikes = node(torch.tensor(x)).numpy()
    ref = rn.multistep_forward(x, np.full(x.shape[1:], threshold / 2), neuron="if", v_threshold=threshold, v_reset=None)
    np.testing.assert_array_equal(spikes, ref["spikes"])
    cases.assert_close_f64(node.v.numpy(), ref["v_seq"][-1], "v")
