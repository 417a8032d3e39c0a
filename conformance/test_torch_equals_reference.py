"""The torch modules equal the reference: the 'torch' backend (autograd through a
loop) and the 'engine' backend (eager autograd.Function, and the custom ops
torch.compile uses), in multi-step and single-step mode."""

import zlib

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from conformance import cases
from conformance.torch_runs import run_module
from reference import neuron as rn


def _check(cfg, x, backend, step_mode):
    rng = np.random.default_rng(zlib.crc32(x.tobytes()))
    v_init, g_s, g_v = rng.uniform(-0.5, 0.9, size=x.shape[1]), rng.normal(size=x.shape), rng.normal(size=x.shape)
    got = run_module(cfg, backend, x, v_init, g_s, g_v, step_mode)
    fwd = rn.multistep_forward(x, v_init, **cases.forward_kwargs(cfg))
    ref = rn.multistep_backward(x, v_init, g_s, g_v, **cases.backward_kwargs(cfg))
    np.testing.assert_array_equal(got["spikes"], fwd["spikes"])
    cases.assert_close_f64(got["v_seq"], fwd["v_seq"], "v_seq")
    cases.assert_close_f64(got["grad_x"], ref["grad_x"], "grad_x")
    cases.assert_close_f64(got["grad_v_init"], ref["grad_v_init"], "grad_v_init")
    np.testing.assert_allclose(got["grad_w"], ref["grad_w"], rtol=1e-9, atol=1e-9 * max(1, x.size))


@pytest.mark.parametrize("backend", ["torch", "engine", "engine-custom-op"])
@pytest.mark.parametrize("neuron,reset,decay_input,detach_reset", cases.CORE_FLAG_COMBINATIONS)
@given(data=st.data(), x=cases.sequences(max_steps=8, max_neurons=16))
def test_module_multistep_forward_and_gradients_equal_reference(backend, neuron, reset, decay_input,
                                                                 detach_reset, data, x):
    cfg = data.draw(cases.neuron_configs(neuron, reset, decay_input, detach_reset))
    _check(cfg, x, backend, "m")


@pytest.mark.parametrize("backend", ["torch", "engine", "engine-custom-op"])
@given(data=st.data(), x=cases.sequences(max_steps=6, max_neurons=10))
def test_module_single_step_equals_reference(backend, data, x):
    _check(data.draw(cases.neuron_configs()), x, backend, "s")
