"""The Rust engine's fused forward and BPTT equal the NumPy reference.

float64: every output within 1e-10. float32: spikes equal and values within
1e-4 relative wherever no step came within 1e-4 of the threshold (see
``cases.f32_trust_masks``).
"""

import zlib

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from conformance import cases
from reference import autodiff as ad
from reference import neuron as rn
from reference import neuron_models as nm
from snnrs import _engine


def _run_engine(x, v_init, g_spikes, g_v_seq, cfg, dtype):
    spikes, v_last, h_seq, bits, v_seq = _engine.neuron_forward(
        x.astype(dtype), v_init.astype(dtype), store_v_seq=True, **cases.engine_kwargs(cfg))
    grad_x, grad_v_init, grad_k = _engine.neuron_backward(
        g_spikes.astype(dtype), h_seq, bits, v_init.astype(dtype), grad_v_seq=g_v_seq.astype(dtype),
        x=x.astype(dtype), **cases.engine_backward_kwargs(cfg))
    k = rn.sigmoid(cfg["w"])
    grad_w = grad_k * k * (1 - k) if cfg["neuron"] == "plif" else 0.0
    return dict(spikes=spikes, v_last=v_last, h_seq=h_seq, v_seq=v_seq, grad_x=grad_x, grad_v_init=grad_v_init,
                grad_w=grad_w)


def _reference(x, v_init, g_spikes, g_v_seq, cfg):
    fwd = rn.multistep_forward(x, v_init, **cases.forward_kwargs(cfg))
    bwd = rn.multistep_backward(x, v_init, g_spikes, g_v_seq, **cases.backward_kwargs(cfg))
    return {**fwd, **bwd}


def _inputs(x):
    """v_init and upstream gradients, derived deterministically from x."""
    rng = np.random.default_rng(zlib.crc32(x.tobytes()))
    v_init = rng.uniform(-0.5, 0.9, size=x.shape[1])
    return v_init, rng.normal(size=x.shape), rng.normal(size=x.shape)


def check_float64(x, cfg):
    v_init, g_s, g_v = _inputs(x)
    got, ref = _run_engine(x, v_init, g_s, g_v, cfg, np.float64), _reference(x, v_init, g_s, g_v, cfg)
    np.testing.assert_array_equal(got["spikes"], ref["spikes"])
    for key in ("h_seq", "v_seq", "grad_x", "grad_v_init"):
        cases.assert_close_f64(got[key], ref[key], key)
    cases.assert_close_f64(got["v_last"], ref["v_seq"][-1], "v_last")
    np.testing.assert_allclose(got["grad_w"], ref["grad_w"], rtol=1e-10, atol=1e-10 * max(1, x.size))


def check_float32(x, cfg):
    # The reference runs in float64 on exactly the float32 inputs the engine sees.
    x = x.astype(np.float32).astype(np.float64)
    v_init, g_s, g_v = (a.astype(np.float32).astype(np.float64) for a in _inputs(x))
    got, ref = _run_engine(x, v_init, g_s, g_v, cfg, np.float32), _reference(x, v_init, g_s, g_v, cfg)
    h_mask, s_mask, neuron_mask = cases.f32_trust_masks(ref["h_seq"], cfg)
    np.testing.assert_array_equal(got["spikes"][s_mask], ref["spikes"][s_mask])
    cases.assert_close_f32(got["h_seq"], ref["h_seq"], h_mask, "h_seq")
    cases.assert_close_f32(got["v_seq"], ref["v_seq"], s_mask, "v_seq")
    cases.assert_close_f32(got["grad_x"], ref["grad_x"], np.broadcast_to(neuron_mask, x.shape), "grad_x")
    cases.assert_close_f32(got["grad_v_init"], ref["grad_v_init"], neuron_mask, "grad_v_init",
                           scale_of=ref["grad_x"][:, neuron_mask])
    if cfg["neuron"] == "plif" and neuron_mask.all():
        np.testing.assert_allclose(got["grad_w"], ref["grad_w"], rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("neuron,reset,decay_input,detach_reset", cases.CORE_FLAG_COMBINATIONS)
@given(data=st.data(), x=cases.sequences())
def test_engine_float64_equals_reference(neuron, reset, decay_input, detach_reset, data, x):
    cfg = data.draw(cases.neuron_configs(neuron, reset, decay_input, detach_reset))
    check_float64(x, cfg)


@pytest.mark.parametrize("neuron,reset,decay_input,detach_reset", cases.CORE_FLAG_COMBINATIONS)
@given(data=st.data(), x=cases.sequences())
def test_engine_float32_equals_reference_away_from_threshold(neuron, reset, decay_input, detach_reset, data, x):
    cfg = data.draw(cases.neuron_configs(neuron, reset, decay_input, detach_reset, float32=True))
    check_float32(x, cfg)


@pytest.mark.parametrize("neuron,reset,decay_input,detach_reset,surrogate", cases.ALL_FLAG_COMBINATIONS)
@settings(max_examples=3)
@given(data=st.data(), x=cases.sequences(max_steps=6, max_neurons=12))
def test_engine_equals_reference_for_every_flag_and_surrogate(neuron, reset, decay_input, detach_reset,
                                                               surrogate, data, x):
    check_float64(x, data.draw(cases.neuron_configs(neuron, reset, decay_input, detach_reset, surrogate)))
    check_float32(x, data.draw(cases.neuron_configs(neuron, reset, decay_input, detach_reset, surrogate, True)))


@given(data=st.data(), steps=st.integers(1, 4), neurons=st.sampled_from([1, 7, 8, 9, 63, 64, 65, 5000, 70001]))
@settings(max_examples=10)
def test_block_and_bit_boundaries_equal_reference(data, steps, neurons):
    """Sizes around the packed-byte and parallel-block edges, where indexing bugs live."""
    cfg = data.draw(cases.neuron_configs())
    rng = np.random.default_rng(neurons * 31 + steps)
    check_float64(rng.normal(0.6, 1.0, size=(steps, neurons)), cfg)


def test_grad_v_last_adds_to_the_last_voltage_gradient():
    rng = np.random.default_rng(3)
    x, v0, g_s, g_last = rng.normal(size=(5, 33)), np.zeros(33), rng.normal(size=(5, 33)), rng.normal(size=33)
    cfg = {"neuron": "lif", "v_threshold": 1.0, "v_reset": 0.0, "tau": 2.0, "w": 0.0, "decay_input": True,
           "detach_reset": False, "surrogate": "ATan", "surrogate_params": {"alpha": 2.0}}
    _, _, h, bits, _ = _engine.neuron_forward(x, v0, **cases.engine_kwargs(cfg))
    gx, gv0, _ = _engine.neuron_backward(g_s, h, bits, v0, grad_v_last=g_last, **cases.engine_backward_kwargs(cfg))
    g_v_seq = np.zeros_like(x)
    g_v_seq[-1] = g_last
    ref = rn.multistep_backward(x, v0, g_s, g_v_seq, **cases.backward_kwargs(cfg))
    cases.assert_close_f64(gx, ref["grad_x"], "grad_x")
    cases.assert_close_f64(gv0, ref["grad_v_init"], "grad_v_init")


NONLINEAR = {
    "qif": (lambda d: [d(1.5, 5), d(0.3, 1.0), d(0.2, 1.5), d(-0.3, 0.2)],
            lambda p: (lambda v, x: nm.qif_charge(v, x, tau=p[0], v_c=p[1], a0=p[2], v_rest=p[3]))),
    "eif": (lambda d: [d(1.5, 5), d(0.5, 2), d(0.3, 1.0), d(-0.3, 0.2)],
            lambda p: (lambda v, x: nm.eif_charge(v, x, tau=p[0], delta_T=p[1], theta_rh=p[2], v_rest=p[3]))),
}


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("neuron", sorted(NONLINEAR))
@given(data=st.data(), x=cases.sequences(max_steps=8, max_neurons=20))
def test_engine_nonlinear_neurons_equal_reference(dtype, neuron, data, x):
    """QIF and EIF through the fused kernels (state-dependent dH/dV) against the reference
    forward and its forward-mode derivative."""
    draw_params, make_charge = NONLINEAR[neuron]
    params = draw_params(lambda lo, hi: data.draw(st.floats(lo, hi)))
    cfg = data.draw(cases.neuron_configs("lif", float32=dtype == np.float32))
    firing = {"v_threshold": cfg["v_threshold"], "v_reset": cfg["v_reset"], "detach_reset": cfg["detach_reset"],
              "surrogate": cfg["surrogate"], "surrogate_params": cfg["surrogate_params"]}
    x = x.astype(dtype).astype(np.float64)
    rng = np.random.default_rng(zlib.crc32(x.tobytes()))
    v0, g_s = rng.uniform(-0.3, 0.6, x.shape[1]), rng.normal(size=x.shape)
    v0 = v0.astype(dtype).astype(np.float64)
    charge = make_charge(params)
    with np.errstate(over="ignore", invalid="ignore"):
        ref = nm.single_state_multistep(charge, x, v0, **firing)
        gx, gv0 = ad.gradients(lambda x_, v_: nm.single_state_multistep(charge, x_, v_, **firing)["spikes"],
                               [x, v0], g_s)
    # EIF and QIF can run away (dH/dV >> 1 each step): such trajectories amplify rounding without
    # bound and mean nothing physically, so only bounded ones are compared.
    assume(np.abs(ref["h_seq"]).max() < 50 and np.isfinite(gx).all() and np.isfinite(gv0).all())
    kwargs = dict(neuron=neuron, params=params, v_threshold=cfg["v_threshold"], v_reset=cfg["v_reset"])
    spikes, _, h, bits, _ = _engine.neuron_forward(x.astype(dtype), v0.astype(dtype), **kwargs)
    grad_x, grad_v0, _ = _engine.neuron_backward(
        g_s.astype(dtype), h, bits, v0.astype(dtype), detach_reset=cfg["detach_reset"], surrogate=cfg["surrogate"],
        surrogate_params=cases.engine_params(cfg["surrogate"], cfg["surrogate_params"]), **kwargs)
    # EIF uses a vectorised exp (within 1e-15 of libm): hold float64 to it away from exact threshold ties.
    margin = 1e-4 if dtype == np.float32 else 1e-12
    h_mask, s_mask, neuron_mask = cases.f32_trust_masks(ref["h_seq"], cfg, margin)
    np.testing.assert_array_equal(spikes[s_mask], ref["spikes"][s_mask])
    close = cases.assert_close_f32 if dtype == np.float32 else (
        lambda a, e, m, what: cases.assert_close_f64(np.asarray(a)[m], np.asarray(e)[m], what))
    close(h, ref["h_seq"], h_mask, "h_seq")
    close(grad_x, gx, np.broadcast_to(neuron_mask, x.shape), "grad_x")
    close(grad_v0, gv0, neuron_mask, "grad_v_init")
