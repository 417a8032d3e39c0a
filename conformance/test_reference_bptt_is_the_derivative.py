"""The hand-derived BPTT of reference/neuron.py (docs/semantics.md#bptt) equals the forward-mode
derivative of the reference forward program under the surrogate rule."""

import zlib

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from conformance import cases
from reference import autodiff as ad
from reference import neuron as rn
from reference import neuron_models as nm


def _program(cfg):
    neuron, vr = cfg["neuron"], cfg["v_reset"]
    rest = 0.0 if vr is None else vr
    firing = {"v_threshold": cfg["v_threshold"], "v_reset": vr, "detach_reset": cfg["detach_reset"],
              "surrogate": cfg["surrogate"], "surrogate_params": cfg["surrogate_params"]}

    def charge(v, x, w):
        if neuron == "if":
            return v + x
        if neuron == "lif":
            return nm.lif_charge(v, x, tau=cfg["tau"], decay_input=cfg["decay_input"], v_rest=rest)
        k = 1.0 / (1.0 + ad.exp(-w))
        if cfg["decay_input"]:
            return v + (x - (v - rest)) * k
        return v - (v - rest) * k + x

    def program(x, v0, w):
        r = nm.single_state_multistep(lambda v, xt: charge(v, xt, w), x, v0, **firing)
        return ad.stack([r["spikes"], r["v_seq"]])

    return program


@pytest.mark.parametrize("neuron,reset,decay_input,detach_reset", cases.CORE_FLAG_COMBINATIONS)
@given(data=st.data(), x=cases.sequences(max_steps=6, max_neurons=5))
def test_reference_bptt_equals_forward_mode_derivative(neuron, reset, decay_input, detach_reset, data, x):
    cfg = data.draw(cases.neuron_configs(neuron, reset, decay_input, detach_reset))
    rng = np.random.default_rng(zlib.crc32(x.tobytes()))
    v0, g_s, g_v = rng.uniform(-0.5, 0.9, x.shape[1]), rng.normal(size=x.shape), rng.normal(size=x.shape)
    gx, gv0, gw = ad.gradients(_program(cfg), [x, v0, cfg["w"]], np.stack([g_s, g_v]))
    bptt = rn.multistep_backward(x, v0, g_s, g_v, **cases.backward_kwargs(cfg))
    # Forward and reverse mode sum the chain rule in different orders: equal to rounding.
    np.testing.assert_allclose(bptt["grad_x"], gx, rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(bptt["grad_v_init"], gv0, rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(bptt["grad_w"], gw, rtol=1e-9, atol=1e-9)
