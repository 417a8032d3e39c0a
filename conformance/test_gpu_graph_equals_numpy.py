"""The WGSL kernels a NIR graph runs on (``device='wgpu'``; lavapipe in CI) equal the NumPy runtime's
nodes (``snnrs/runtime/numpy_ops.py``, ``neurons.py``): every synapse kind with drawn shapes, strides,
paddings, dilations and groups, within float32 summation error of the float64 result (bounded by the
same sum over absolute values); every neuron rule (IF, LIF, CubaLIF, I, LI, CubaLI; per-neuron
parameters, soft reset, state carried between calls) with spikes equal wherever no step came within
1e-4 of the threshold, as the neuron kernels are held to the reference."""

import os

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from snnrs import gpu
from snnrs.gpu import synapse as device
from snnrs.runtime.conventions import DiscreteNeuron
from snnrs.runtime.device_ops import DeviceNeuronLayer, device_synapse, flattened_shape
from snnrs.runtime.neurons import NeuronLayer
from snnrs.runtime.numpy_ops import conv_padding, convolution, flatten, pool2d, synapse


@pytest.fixture(scope="module", autouse=True)
def adapter():
    if not gpu.available():
        if os.environ.get("CI") == "true":
            pytest.fail("no WebGPU adapter in CI (.ci/run installs lavapipe)")
        pytest.skip("no WebGPU adapter on this machine")


def _on_device(fn, *arrays):
    return fn(*(gpu.DeviceArray.upload(np.asarray(a, np.float32)) for a in arrays)).numpy()


def _assert_within_rounding(actual, exact, bound, what):
    """|actual - exact| <= 2e-5·bound + 1e-6, ``bound`` the sum of |terms| (float32 rounding of a sum)."""
    excess = np.abs(np.asarray(actual, np.float64) - exact) - (2e-5 * bound + 1e-6)
    assert actual.shape == exact.shape, f"{what}: shape {actual.shape} != {exact.shape}"
    assert excess.max(initial=0) <= 0, f"{what}: off by {excess.max() + 2e-5 * bound.max() + 1e-6:g} at most"


def _inputs(rng, shape, spikes):
    return (rng.random(shape) < 0.3).astype(np.float32) if spikes else rng.normal(0, 1, shape).astype(np.float32)


@given(seed=st.integers(0, 2**31), rows=st.integers(1, 6), inputs=st.integers(1, 70), outputs=st.integers(1, 20),
       bias=st.booleans(), spikes=st.booleans())
def test_dense_layers_equal_numpy(seed, rows, inputs, outputs, bias, spikes):
    rng = np.random.default_rng(seed)
    x, w = _inputs(rng, (rows, inputs), spikes), rng.normal(0, 1, (outputs, inputs)).astype(np.float32)
    b = rng.normal(0, 1, outputs).astype(np.float32) if bias else None
    node = type("Affine" if bias else "Linear", (), {"weight": w, "bias": b})()
    exact = synapse(node)(x.astype(np.float64))
    bound = np.abs(x).astype(np.float64) @ np.abs(w).T + (np.abs(b) if bias else 0)
    _assert_within_rounding(_on_device(device_synapse(node), x), exact, bound, "dense")


@st.composite
def conv_cases(draw):
    dims = draw(st.sampled_from([1, 2]))
    groups = draw(st.integers(1, 3))
    per_in, per_out = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    kernel = tuple(draw(st.integers(1, 4)) for _ in range(dims))
    dilation = tuple(draw(st.integers(1, 2)) for _ in range(dims))
    stride = tuple(draw(st.integers(1, 3)) for _ in range(dims))
    padding = draw(st.one_of(st.sampled_from(["same", "valid"]), st.integers(0, 2),
                             st.tuples(*[st.integers(0, 2)] * dims)))
    span = [d * (k - 1) + 1 for k, d in zip(kernel, dilation)]
    size = tuple(draw(st.integers(s, s + 6)) for s in span)
    return dict(dims=dims, groups=groups, channels=(groups * per_in, groups * per_out), kernel=kernel,
                dilation=dilation, stride=stride, padding=padding, size=size, batch=draw(st.integers(1, 3)),
                bias=draw(st.booleans()), spikes=draw(st.booleans()), seed=draw(st.integers(0, 2**31)))


@given(case=conv_cases())
def test_convolutions_equal_numpy_for_any_stride_padding_dilation_and_groups(case):
    rng = np.random.default_rng(case["seed"])
    (c_in, c_out), groups = case["channels"], case["groups"]
    x = _inputs(rng, (case["batch"], c_in, *case["size"]), case["spikes"])
    w = rng.normal(0, 1, (c_out, c_in // groups, *case["kernel"])).astype(np.float32)
    b = rng.normal(0, 1, c_out).astype(np.float32) if case["bias"] else None
    node = type(f"Conv{case['dims']}d", (), dict(weight=w, bias=b, stride=case["stride"], padding=case["padding"],
                                                  dilation=case["dilation"], groups=groups))()
    exact = synapse(node)(x.astype(np.float64))
    bound = convolution(np.abs(x).astype(np.float64), np.abs(w).astype(np.float64),
                        None if b is None else np.abs(b), case["stride"], case["padding"], case["dilation"], groups)
    _assert_within_rounding(_on_device(device_synapse(node), x), exact, bound, f"conv {case}")


@given(seed=st.integers(0, 2**31), kernel=st.tuples(st.integers(1, 3), st.integers(1, 3)),
       stride=st.tuples(st.integers(1, 3), st.integers(1, 3)), pad=st.tuples(st.integers(0, 1), st.integers(0, 1)),
       extra=st.tuples(st.integers(0, 5), st.integers(0, 5)), average=st.booleans(), spikes=st.booleans())
def test_sum_and_average_pools_equal_numpy(seed, kernel, stride, pad, extra, average, spikes):
    pad = tuple(min(p, k // 2) for p, k in zip(pad, kernel))  # torch's rule: padding at most half the window
    x = _inputs(np.random.default_rng(seed), (2, 3, kernel[0] + extra[0], kernel[1] + extra[1]), spikes)
    node = type("AvgPool2d" if average else "SumPool2d", (), dict(kernel_size=kernel, stride=stride, padding=pad))()
    exact = synapse(node)(x.astype(np.float64))
    bound = pool2d(np.abs(x).astype(np.float64), kernel, stride, pad, average)
    _assert_within_rounding(_on_device(device_synapse(node), x), exact, bound, "pool")


@given(seed=st.integers(0, 2**31), shape=st.lists(st.integers(1, 5), min_size=1, max_size=3),
       per_feature=st.booleans())
def test_scales_thresholds_and_flattens_equal_numpy(seed, shape, per_feature):
    rng = np.random.default_rng(seed)
    x = rng.normal(0, 1, (3, *shape)).astype(np.float32)
    values = rng.normal(0, 1, shape if per_feature else ()).astype(np.float32)
    for node in (type("Scale", (), {"scale": values})(), type("Threshold", (), {"threshold": values})()):
        assert np.array_equal(_on_device(device_synapse(node), x), synapse(node)(x)), type(node).__name__
    start = int(rng.integers(-len(shape), len(shape)))
    end = int(rng.integers(start + len(shape) if start < 0 else start, len(shape)))
    node = type("Flatten", (), {"start_dim": start, "end_dim": end})()
    assert flattened_shape(x.shape, start, end) == flatten(x, start, end).shape
    assert np.array_equal(_on_device(device_synapse(node), x), synapse(node)(x))


def test_padding_same_pads_the_extra_value_after_as_torch():
    assert conv_padding("same", (4,), (1,)) == ((1, 2),)
    x = np.arange(12, dtype=np.float32).reshape(1, 1, 12)
    node = type("Conv1d", (), dict(weight=np.ones((1, 1, 4), np.float32), bias=None, stride=1, padding="same",
                                   dilation=1, groups=1))()
    assert np.array_equal(_on_device(device_synapse(node), x), synapse(node)(x))


@st.composite
def neuron_specs(draw):
    kind = draw(st.sampled_from(["IF", "LIF", "CubaLIF", "I", "LI", "CubaLI"]))
    shape = tuple(draw(st.lists(st.integers(1, 4), min_size=1, max_size=2)))
    rng = np.random.default_rng(draw(st.integers(0, 2**31)))
    per_neuron = draw(st.booleans())

    def values(low, high):
        return rng.uniform(low, high, shape if per_neuron else ())

    spiking = kind in ("IF", "LIF", "CubaLIF")
    leak = np.zeros(shape) if kind in ("IF", "I") else values(0.05, 0.9)
    spec = DiscreteNeuron(kind, leak, values(-0.3, 0.3) if kind not in ("IF", "I") else np.zeros(shape),
                          values(0.2, 2.0), values(0.5, 1.5) if spiking else None,
                          values(-0.5, 0.2) if spiking else None,
                          values(0.3, 0.95) if kind.startswith("Cuba") else None,
                          values(0.1, 1.0) if kind.startswith("Cuba") else None,
                          soft_reset=spiking and draw(st.booleans()))
    return spec, shape, draw(st.integers(0, 2**31))


def _pre_reset_potentials(spec: DiscreteNeuron, x: np.ndarray) -> np.ndarray:
    """v after each step's charge, before the reset, in float64 (where a spike is decided)."""
    v = np.broadcast_to(spec.v_reset if spec.spiking else 0.0, x.shape[1:]).astype(np.float64)
    current, out = np.zeros(x.shape[1:]), np.empty(x.shape)
    for t, u in enumerate(x.astype(np.float64)):
        if spec.syn_decay is not None:
            current = spec.syn_decay * current + spec.syn_gain * u
            u = current
        v = v + spec.mem_leak * (spec.v_leak - v) + spec.gain * u
        out[t] = v
        if spec.spiking:
            fired = v > spec.v_threshold
            v = np.where(fired, v - spec.v_threshold if spec.soft_reset else spec.v_reset, v)
    return out


@given(case=neuron_specs())
def test_neuron_rules_equal_numpy_across_calls(case):
    spec, shape, seed = case
    x = np.random.default_rng(seed).normal(0.4, 0.8, (12, 3, *shape)).astype(np.float32)
    host, on_device = NeuronLayer(spec), DeviceNeuronLayer(spec)
    expected = np.concatenate([host.run(x[:5]), host.run(x[5:])])  # state carried from one call to the next
    actual = np.concatenate([on_device.run(gpu.DeviceArray.upload(x[:5])).numpy(),
                             on_device.run(gpu.DeviceArray.upload(x[5:])).numpy()])
    if spec.spiking:
        near = np.abs(_pre_reset_potentials(spec, x) - np.asarray(spec.v_threshold)) <= 1e-4
        trusted = (np.cumsum(near, axis=0) - near == 0) & ~near
        np.testing.assert_array_equal(actual[trusted], expected[trusted])
        assert trusted.mean() > 0.5
    else:
        scale = 1 + np.abs(expected).max()
        np.testing.assert_allclose(actual, expected, rtol=1e-5, atol=1e-5 * scale)


def test_the_uniform_if_and_lif_layers_take_the_fused_kernel_on_the_device():
    shape = (5,)
    lif = DiscreteNeuron("LIF", np.full(shape, 0.25), np.zeros(shape), np.full(shape, 0.5), np.ones(shape),
                         np.zeros(shape))
    layer = DeviceNeuronLayer(lif)
    assert layer.kernel is not None and layer.kernel[0] == "lif"
    x = np.random.default_rng(1).normal(0.8, 1.0, (20, 2, 5)).astype(np.float32)
    assert np.array_equal(layer.run(gpu.DeviceArray.upload(x)).numpy(), NeuronLayer(lif).run(x))


def test_device_arrays_slice_stack_and_reshape_without_the_host():
    x = np.random.default_rng(2).normal(size=(4, 3, 2)).astype(np.float32)
    on = gpu.DeviceArray.upload(x)
    assert np.array_equal(device.take_step(on, 2).numpy(), x[2])
    assert np.array_equal(device.stack([device.take_step(on, t) for t in (3, 0)]).numpy(), x[[3, 0]])
    assert on.reshape(-1, 2).shape == (12, 2) and np.array_equal(on.reshape(24).numpy(), x.ravel())
    assert not device.zeros((2, 3)).numpy().any()
    with pytest.raises(ValueError, match="cannot reshape"):
        on.reshape(5, -1)
    with pytest.raises(ValueError, match="conv: 3 input channels do not fit"):
        device.conv2d(gpu.DeviceArray.upload(np.zeros((1, 3, 4, 4), np.float32)),
                      gpu.DeviceArray.upload(np.zeros((2, 2, 1, 1), np.float32)), None)
    with pytest.raises(ValueError, match="does not fit an input"):
        device.pool2d(gpu.DeviceArray.upload(np.zeros((1, 1, 2, 2), np.float32)), (3, 3), (1, 1))
    with pytest.raises(TypeError, match="float32 DeviceArray"):
        device.linear(np.zeros((2, 2), np.float32), gpu.DeviceArray.upload(np.zeros((2, 2), np.float32)))
