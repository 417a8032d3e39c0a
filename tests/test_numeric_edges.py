"""Edges of the arithmetic and of the ops' inputs: infinities and NaN give the reference's values on every
backend (a hard reset of +Inf is NaN, not v_reset), and the custom ops refuse T = 0 and gradients of the
wrong shape with a message instead of a reshape error or a silent misreading."""

import os

import numpy as np
import pytest
import torch

import snnrs  # noqa: F401  (registers torch.ops.snnrs)
from reference import neuron as ref
from snnrs import neuron

EDGE_INPUTS = [np.inf, -np.inf, np.nan, 1e38, -1e38, 0.0, 1.0, 2.5]


def _backends():
    names = ["torch", "engine"]
    from snnrs import gpu
    if gpu.available():
        names.append("wgpu")
    elif os.environ.get("CI") == "true":
        pytest.fail("no WebGPU adapter in CI")
    return names


@pytest.mark.parametrize("v_reset", [0.15, None], ids=["hard", "soft"])
@pytest.mark.parametrize("backend", ["torch", "engine", "wgpu"])
def test_infinities_and_nan_follow_the_reference(backend, v_reset):
    if backend not in _backends():
        pytest.skip("no WebGPU adapter")
    # every edge value at step 0, then an ordinary input, so the state carries it one step further
    x = np.array([EDGE_INPUTS, [0.5] * len(EDGE_INPUTS)], dtype=np.float32)
    with np.errstate(invalid="ignore", over="ignore"):  # the reference's Inf * 0 is the point
        expected = ref.multistep_forward(x.astype(np.float64), neuron="if", v_reset=v_reset)
    node = neuron.IFNode(v_reset=v_reset, step_mode="m", backend=backend, store_v_seq=True)
    with torch.no_grad():
        spikes = node(torch.from_numpy(x))
    got_v = node.v_seq.numpy().astype(np.float64)
    np.testing.assert_array_equal(spikes.numpy(), expected["spikes"].astype(np.float32))
    # float32 rounding of 1e38-scale values aside, NaN and infinities must sit where the reference has them
    assert np.array_equal(np.isnan(got_v), np.isnan(expected["v_seq"])), (got_v, expected["v_seq"])
    assert np.array_equal(np.isinf(got_v), np.isinf(expected["v_seq"]))
    finite = np.isfinite(expected["v_seq"])
    np.testing.assert_allclose(got_v[finite], expected["v_seq"][finite], rtol=1e-6)
    if v_reset is not None:
        assert np.isnan(got_v[0, 0]) and np.isnan(got_v[1, 0])  # +Inf fired: Inf * 0 is NaN, and stays


def test_ops_refuse_zero_time_steps():
    forward = torch.ops.snnrs.multistep_neuron_forward.default
    x = torch.zeros(0, 3)
    with pytest.raises(ValueError, match=r"x: expected at least one time step, got T = 0 \(shape \(0, 3\)\)"):
        forward(x, None, None, "lif", 1.0, 0.0, [2.0], True, False, "Sigmoid", [4.0], False)
    with pytest.raises(ValueError, match="T = 0"):
        torch.ops.snnrs.izhikevich_forward.default(x, None, None, 30.0, -65.0, [1.0, 0.0, 0.02, 0.2, 0.0, 0.0],
                                                   False, "Sigmoid", [4.0], False)
    with pytest.raises(ValueError, match="T >= 1, got shape"):  # the module says it before the op
        neuron.LIFNode(step_mode="m", backend="engine")(torch.zeros(0, 2, 3))


def test_a_step_of_zero_neurons_runs():
    out = neuron.LIFNode(step_mode="m", backend="engine")(torch.zeros(4, 0))
    assert out.shape == (4, 0)


def test_backward_refuses_gradients_of_another_shape():
    forward = torch.ops.snnrs.multistep_neuron_forward.default
    backward = torch.ops.snnrs.multistep_neuron_backward.default
    x = torch.randn(4, 6)
    spikes, v_last, h_seq, bits, _ = forward(x, None, None, "lif", 1.0, 0.0, [2.0], True, False, "Sigmoid", [4.0],
                                             False)
    args = (h_seq, bits, None, None, None, "lif", 1.0, 0.0, [2.0], True, False, "Sigmoid", [4.0])  # v_init x w
    backward(torch.ones(4, 6), v_last, None, None, *args)  # the right shapes pass
    with pytest.raises(ValueError, match=r"grad_spikes: expected shape \(4, 6\) .* got \(6, 4\)"):
        backward(torch.ones(6, 4), None, None, None, *args)  # same size, transposed: read wrongly before
    with pytest.raises(ValueError, match=r"grad_v_last: expected shape \(6,\)"):
        backward(None, torch.ones(3, 2), None, None, *args)
