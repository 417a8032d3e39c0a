"""The WGSL shaders (through wgpu-py, on whatever adapter is present; lavapipe in CI) equal
the NumPy reference: spikes equal wherever no step came within 1e-4 of the threshold, values and
gradients within 1e-5 relative (float32), for every neuron, reset, flag and surrogate.

SquarewaveFourierSeries gradients are held to 1e-4, as on the CPU engine's float32 path: sg'
oscillates so fast that the float32 rounding of H alone moves a gradient chain by more than 1e-5
(a case drawn in CI: the CPU float32 engine, which even evaluates sg' in float64, is 1.4e-5 off,
the shader 3.5e-5)."""

import os

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from conformance import cases
from conformance.test_engine_equals_reference import _inputs, _reference
from snnrs import gpu


@pytest.fixture(scope="module", autouse=True)
def device():
    if not gpu.available():
        if os.environ.get("CI") == "true":
            pytest.fail("no WebGPU adapter in CI (.ci/run installs lavapipe)")
        pytest.skip("no WebGPU adapter on this machine")


def _close(actual, expected, mask, what, scale_of=None, tolerance=1e-5):
    a, e = np.asarray(actual, np.float64)[mask], np.asarray(expected)[mask]
    scale_src = e if scale_of is None else np.asarray(scale_of)
    scale = 1.0 + (np.max(np.abs(scale_src)) if scale_src.size else 0.0)
    np.testing.assert_allclose(a, e, rtol=tolerance, atol=tolerance * scale, err_msg=what)


def check_gpu(x, cfg):
    x = x.astype(np.float32)
    v_init, g_s, g_v = (a.astype(np.float32) for a in _inputs(x.astype(np.float64)))
    kwargs = cases.engine_kwargs(cfg)
    spikes, v_last, h_seq, v_seq = gpu.neuron_forward(x, v_init, store_v_seq=True, **kwargs)
    grad_x, grad_v_init, grad_k = gpu.neuron_backward(g_s, h_seq, spikes, v_init, grad_v_seq=g_v, x=x,
                                                      **cases.engine_backward_kwargs(cfg))
    ref = _reference(*(a.astype(np.float64) for a in (x, v_init, g_s, g_v)), cfg)
    h_mask, s_mask, neuron_mask = cases.f32_trust_masks(ref["h_seq"], cfg)
    np.testing.assert_array_equal(spikes[s_mask], ref["spikes"][s_mask])
    _close(h_seq, ref["h_seq"], h_mask, "h_seq")
    _close(v_seq, ref["v_seq"], s_mask, "v_seq")
    _close(v_last, ref["v_seq"][-1], s_mask[-1], "v_last")
    tolerance = 1e-4 if cfg["surrogate"] == "SquarewaveFourierSeries" else 1e-5
    _close(grad_x, ref["grad_x"], np.broadcast_to(neuron_mask, x.shape), "grad_x", tolerance=tolerance)
    _close(grad_v_init, ref["grad_v_init"], neuron_mask, "grad_v_init", scale_of=ref["grad_x"][:, neuron_mask],
           tolerance=tolerance)
    if cfg["neuron"] == "plif" and neuron_mask.all():
        k = 1 / (1 + np.exp(-cfg["w"]))
        np.testing.assert_allclose(grad_k * k * (1 - k), ref["grad_w"], rtol=1e-4, atol=1e-4 * (1 + abs(ref["grad_w"])))


@pytest.mark.parametrize("neuron,reset,decay_input,detach_reset,surrogate", cases.ALL_FLAG_COMBINATIONS)
@settings(max_examples=3)
@given(data=st.data(), x=cases.sequences(max_steps=6, max_neurons=70))
def test_gpu_equals_reference_for_every_flag_and_surrogate(neuron, reset, decay_input, detach_reset, surrogate,
                                                          data, x):
    check_gpu(x, data.draw(cases.neuron_configs(neuron, reset, decay_input, detach_reset, surrogate, True)))


@settings(max_examples=4)
@given(data=st.data(), neurons=st.sampled_from([1, 63, 65, 4097]))
def test_gpu_handles_sizes_that_are_not_a_workgroup_multiple(data, neurons):
    cfg = data.draw(cases.neuron_configs(float32=True))
    check_gpu(np.random.default_rng(neurons).normal(0.6, 1.0, (3, neurons)), cfg)


def test_two_dimensional_dispatch_beyond_65535_workgroups():
    n = 65535 * 64 + 100
    x = np.full((1, n), 0.5, np.float32)
    x[0, -1] = 2.0
    spikes, v_last, _, _ = gpu.neuron_forward(x, neuron="if")
    assert gpu.device.dispatch_shape(n) == (65535, 2)
    assert spikes[0, :-1].sum() == 0 and spikes[0, -1] == 1 and v_last[-1] == 0.0 and v_last[0] == 0.5


def test_invalid_shader_code_is_rejected():
    g = gpu.gpu()
    with pytest.raises(Exception, match="(?i)(error|invalid|parse)"):
        g.device.create_shader_module(code="fn main( { this is not wgsl }")
    includes = gpu.device.NEURON_INCLUDES
    kernels = {"neuron_forward": includes, "neuron_backward": includes, "frames": (), "copy": (), "elementwise": (),
               "linear": (), "conv2d": (), "pool2d": (), "neuron_rule": ()}
    shipped = {p.stem for p in gpu.device.SHADER_DIR.glob("*.wgsl")} - set(includes)
    assert shipped == set(kernels)  # a new shader must join this check
    for name, includes in kernels.items():  # every shipped shader compiles
        g.pipeline(name, includes)


def test_bad_arguments_raise_clear_errors():
    x = np.zeros((2, 3), np.float32)
    with pytest.raises(TypeError, match="x: expected float32"):
        gpu.neuron_forward(x.astype(np.float64), neuron="if")
    with pytest.raises(ValueError, match="neuron: expected one of"):
        gpu.neuron_forward(x, neuron="qif")
    with pytest.raises(ValueError, match="tau: expected tau > 1"):
        gpu.neuron_forward(x, neuron="lif", params=[0.5])
    with pytest.raises(ValueError, match="v_init: expected shape"):
        gpu.neuron_forward(x, np.zeros(4, np.float32), neuron="if")
    with pytest.raises(ValueError, match="surrogate"):
        gpu.neuron_backward(None, x, x, neuron="if", surrogate="Nope")


@settings(max_examples=30)
@given(data=st.data(), n=st.integers(0, 300), windows=st.integers(1, 6), channels=st.sampled_from([1, 2]),
       binarize=st.booleans())
def test_gpu_frame_integration_equals_the_engine(data, n, windows, channels, binarize):
    """Overlapping and empty windows included; the engine's counting is held to the reference
    by conformance/test_events_equal_reference.py."""
    from snnrs import events as ev
    rng = np.random.default_rng(n * 7 + windows)
    events = np.zeros(n, ev.EVENT_DTYPE)
    events["t"] = np.sort(rng.integers(0, 1000, n))
    events["x"], events["y"], events["p"] = rng.integers(0, 5, n), rng.integers(0, 3, n), rng.integers(0, 2, n)
    starts = np.array(data.draw(st.lists(st.integers(0, n), min_size=windows, max_size=windows)))
    ends = starts + np.array(data.draw(st.lists(st.integers(0, n), min_size=windows, max_size=windows)))
    got = gpu.integrate_windows(events, starts, ends, (5, 3, channels), binarize)
    expected = ev.integrate_windows(events, starts, ends, (5, 3, channels), binarize)
    np.testing.assert_array_equal(got, expected)


def test_gpu_frame_integration_names_the_first_event_outside_the_sensor_as_the_engine_does():
    from snnrs import events as ev
    events = np.zeros(5, ev.EVENT_DTYPE)
    events["x"] = [0, 9, 1, 7, 8]
    for starts, ends in (([0], [5]), ([3, 0], [5, 3])):  # the later window first too
        for integrate in (gpu.integrate_windows, ev.integrate_windows):
            with pytest.raises(ValueError, match="event 1 at \\(x=9, y=0\\) lies outside"):
                integrate(events, starts, ends, (4, 4))


def test_device_resident_arrays_chain_kernels_without_host_copies():
    rng = np.random.default_rng(3)
    x = rng.normal(0.7, 1.0, (4, 100)).astype(np.float32)
    on_device = gpu.DeviceArray.upload(x)
    spikes, v_last, h_seq, _ = gpu.neuron_forward(on_device, neuron="lif", params=[2.0], resident=True)
    assert isinstance(spikes, gpu.DeviceArray) and spikes.shape == (4, 100)
    grad_x, grad_v, _ = gpu.neuron_backward(gpu.DeviceArray.upload(np.ones_like(x)), h_seq, spikes,
                                            neuron="lif", params=[2.0], resident=True)
    host = gpu.neuron_forward(x, neuron="lif", params=[2.0])
    np.testing.assert_array_equal(spikes.numpy(), host[0])
    expected = gpu.neuron_backward(np.ones_like(x), host[2], host[0], neuron="lif", params=[2.0])
    np.testing.assert_array_equal(grad_x.numpy(), expected[0])
