"""QIF, EIF, Izhikevich, KLIF, LIAF and CUBA-LIF modules equal reference/neuron_models.py:
forward values, and gradients (x, initial voltage, KLIF's k) equal to the forward-mode
derivative of the reference program under the surrogate rule."""

import zlib

import numpy as np
import pytest
import torch
from hypothesis import assume, given
from hypothesis import strategies as st

from conformance import cases
from reference import autodiff as ad
from reference import neuron_models as nm
from snnrs import neuron
from snnrs import surrogate as ts

MODELS = ["qif", "eif", "izhikevich", "klif", "klif-scaled", "liaf", "liaf-absolute", "cuba",
          "qif-torch", "eif-torch", "liaf-torch", "cuba-torch", "klif-torch", "izhikevich-torch"]
# The engine by default; '-torch' forces the loop over time.


@st.composite
def model_configs(draw, model):
    model = model.removesuffix("-torch")
    f = lambda lo, hi: draw(st.floats(lo, hi, allow_nan=False))
    sg_name = draw(st.sampled_from(cases.SURROGATE_NAMES))
    cfg = {
        "firing": {"v_threshold": f(0.3, 1.5), "v_reset": draw(st.one_of(st.none(), st.floats(-0.5, 0.3))),
                   "detach_reset": draw(st.booleans()), "surrogate": sg_name,
                   "surrogate_params": draw(cases.surrogate_params(sg_name))},
        "params": {},
    }
    if model == "qif":
        cfg["params"] = {"tau": f(1.5, 5), "v_c": f(0.3, 1.0), "a0": f(0.2, 1.5), "v_rest": f(-0.3, 0.2)}
    elif model == "eif":
        cfg["params"] = {"tau": f(1.5, 5), "delta_T": f(0.5, 2), "theta_rh": f(0.3, 1.0), "v_rest": f(-0.3, 0.2)}
    elif model == "izhikevich":
        cfg["params"] = {"tau": f(1.5, 5), "v_c": f(0.3, 1.0), "a0": f(0.2, 1.5), "v_rest": f(-0.3, 0.2),
                         "w_rest": f(-0.2, 0.2), "tau_w": f(1.5, 5), "a": f(-0.5, 0.5), "b": f(-0.3, 0.3)}
    elif model.startswith("klif") or model.startswith("liaf"):
        cfg["params"] = {"tau": f(1.5, 5), "decay_input": draw(st.booleans())}
    else:
        cfg["params"] = {"c_decay": f(0.1, 0.9), "v_decay": f(0.1, 0.9)}
    return cfg


def _module(model, cfg, k):
    sg = getattr(ts, cfg["firing"]["surrogate"])(**cfg["firing"]["surrogate_params"], spiking=True)
    firing = {key: cfg["firing"][key] for key in ("v_threshold", "v_reset", "detach_reset")}
    backend = "torch" if model.endswith("-torch") else "engine"
    model = model.removesuffix("-torch")
    common = dict(surrogate_function=sg, step_mode="m", store_v_seq=True, backend=backend, **firing)
    p = cfg["params"]
    if model == "qif":
        node = neuron.QIFNode(**p, **common)
    elif model == "eif":
        node = neuron.EIFNode(**p, **common)
    elif model == "izhikevich":
        node = neuron.IzhikevichNode(**p, **common)
    elif model.startswith("klif"):
        node = neuron.KLIFNode(scale_reset=model == "klif-scaled", **p, **common).double()
        with torch.no_grad():
            node.k.fill_(k)
    elif model.startswith("liaf"):
        node = neuron.LIAFNode(torch.relu, model == "liaf", **p, **common)
    else:
        node = neuron.CUBALIFNode(**p, **common)
    return node


def _reference_program(model, cfg):
    model = model.removesuffix("-torch")
    p, firing = cfg["params"], cfg["firing"]
    if model == "qif":
        return lambda x, v0, k: nm.single_state_multistep(lambda v, xt: nm.qif_charge(v, xt, **p), x, v0, **firing)
    if model == "eif":
        return lambda x, v0, k: nm.single_state_multistep(lambda v, xt: nm.eif_charge(v, xt, **p), x, v0, **firing)
    if model == "izhikevich":
        return lambda x, v0, k: nm.izhikevich_multistep(x, v0, **p, **firing)
    if model.startswith("klif"):
        return lambda x, v0, k: nm.klif_multistep(x, k, v0, scale_reset=model == "klif-scaled", **p, **firing)
    if model.startswith("liaf"):
        return lambda x, v0, k: nm.liaf_multistep(x, v0, threshold_related=model == "liaf", **p, **firing)
    return lambda x, v0, k: nm.cuba_lif_multistep(x, v0, **p, **firing)


@pytest.mark.parametrize("model", MODELS)
@given(data=st.data(), x=cases.sequences(max_steps=6, max_neurons=6))
def test_model_forward_and_gradients_equal_reference(model, data, x):
    cfg = data.draw(model_configs(model))
    rng = np.random.default_rng(zlib.crc32(x.tobytes()))
    v0, g_out, g_v = rng.uniform(-0.3, 0.6, x.shape[1]), rng.normal(size=x.shape), rng.normal(size=x.shape)
    k = float(rng.uniform(0.5, 1.5))
    out_key = "outputs" if model.startswith("liaf") else "spikes"
    program = _reference_program(model, cfg)

    def loss_terms(x_, v0_, k_):
        r = program(x_, v0_, k_)
        return ad.stack([r[out_key], r["v_seq"]])

    with np.errstate(over="ignore", invalid="ignore"):
        ref = program(x, v0, k)
        grads = ad.gradients(loss_terms, [x, v0, k], np.stack([g_out, g_v]))
    # EIF and QIF can run away (exp / quadratic blow-up): nothing to compare once values overflow.
    assume(all(np.isfinite(g).all() for g in grads) and np.isfinite(ref["v_seq"]).all())

    node = _module(model, cfg, k)
    xt = torch.tensor(x, requires_grad=True)
    vt = torch.tensor(v0, requires_grad=True)
    node.v = vt
    out = node(xt)
    ((out * torch.tensor(g_out)).sum() + (node.v_seq * torch.tensor(g_v)).sum()).backward()

    np.testing.assert_array_equal(out.detach().numpy(), ref[out_key]) if out_key == "spikes" else \
        cases.assert_close_f64(out.detach().numpy(), ref[out_key], "outputs")
    cases.assert_close_f64(node.v_seq.detach().numpy(), ref["v_seq"], "v_seq")
    np.testing.assert_allclose(xt.grad.numpy(), grads[0], rtol=1e-9, atol=1e-9, err_msg="grad_x")
    np.testing.assert_allclose(vt.grad.numpy(), grads[1], rtol=1e-9, atol=1e-9, err_msg="grad_v_init")
    if model.startswith("klif"):
        np.testing.assert_allclose(node.k.grad.item(), grads[2], rtol=1e-9, atol=1e-9, err_msg="grad_k")


@pytest.mark.parametrize("model", MODELS)
@given(data=st.data(), x=cases.sequences(max_steps=5, max_neurons=5))
def test_model_single_step_equals_multi_step(model, data, x):
    cfg = data.draw(model_configs(model))
    multi, single = _module(model, cfg, 1.0), _module(model, cfg, 1.0)
    single.step_mode = "s"
    xt = torch.tensor(x)
    expected = multi(xt)
    got = torch.stack([single(xt[t]) for t in range(x.shape[0])])
    assert torch.equal(got, expected)
