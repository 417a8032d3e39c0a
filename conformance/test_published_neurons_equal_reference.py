"""Ternary IF/LIF, I-LIF, resonate-and-fire, CLIF, GLIF and the online-training LIF (OTTT, SLTT) equal
reference/neuron_models.py: forward values (spikes exactly, voltages to float64 rounding) and the
gradients with respect to the input and the initial voltage, equal to the forward-mode derivative of
the reference program under the surrogate rule (docs/semantics.md#more-neurons)."""

import zlib

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from conformance import cases
from reference import autodiff as ad
from reference import neuron_models as nm
from snnrs import neuron
from snnrs import surrogate as ts

MODELS = ["ternary-if", "ternary-lif", "ilif", "raf", "raf-torch", "clif", "glif", "ottt", "sltt"]
# Resonate-and-fire runs in the fused engine kernel by default; "-torch" forces the loop over time.


def _floats(draw, lo, hi):
    return draw(st.floats(lo, hi, allow_nan=False, allow_infinity=False))


@st.composite
def configs(draw, model):
    sg_name = draw(st.sampled_from(cases.SURROGATE_NAMES))
    cfg = {"surrogate": sg_name, "surrogate_params": draw(cases.surrogate_params(sg_name)),
           "v_threshold": _floats(draw, 0.3, 1.5), "detach_reset": draw(st.booleans())}
    if model.startswith("ternary"):
        cfg["v_reset"] = draw(st.one_of(st.none(), st.floats(-0.25, 0.25)))
        cfg["tau"], cfg["decay_input"] = _floats(draw, 1.2, 5.0), draw(st.booleans())
    elif model == "ilif":
        cfg["tau"], cfg["max_count"] = _floats(draw, 1.1, 4.0), draw(st.integers(1, 4))
    elif model.startswith("raf"):
        cfg["v_reset"] = draw(st.one_of(st.none(), st.floats(-0.3, 0.3)))
        cfg.update(b=_floats(draw, -1.0, -0.05), omega=_floats(draw, 0.2, 3.0), dt=_floats(draw, 0.2, 1.5))
    elif model == "clif":
        cfg["tau"] = _floats(draw, 1.2, 5.0)
    elif model == "glif":
        for name in ("alpha", "beta", "gamma", "tau", "v_threshold", "linear_decay", "v_subreset"):
            cfg[name] = _floats(draw, 0.05, 0.95)  # the gates as used (after the sigmoid)
    else:
        cfg["v_reset"] = draw(st.one_of(st.none(), st.floats(-0.3, 0.3)))
        cfg["tau"], cfg["decay_input"] = _floats(draw, 1.2, 5.0), draw(st.booleans())
    return cfg


def _logit(p):
    return float(np.log(p / (1 - p)))


def _surrogate(cfg):
    return getattr(ts, cfg["surrogate"])(**cfg["surrogate_params"], spiking=True)


def _module(model, cfg, steps):
    sg = _surrogate(cfg)
    common = dict(step_mode="m", store_v_seq=True)
    if model == "ternary-if":
        return neuron.TernaryIFNode(cfg["v_threshold"], cfg["v_reset"], sg, cfg["detach_reset"], **common)
    if model == "ternary-lif":
        return neuron.TernaryLIFNode(cfg["tau"], cfg["decay_input"], cfg["v_threshold"], cfg["v_reset"], sg,
                                     cfg["detach_reset"], **common)
    if model == "ilif":
        return neuron.ILIFNode(cfg["tau"], cfg["v_threshold"], ts.MultiLevelSpikeCount(cfg["max_count"]),
                               cfg["detach_reset"], **common)
    if model.startswith("raf"):
        node = neuron.RAFNode(cfg["b"], cfg["omega"], cfg["dt"], cfg["v_threshold"], cfg["v_reset"], sg,
                              cfg["detach_reset"], **common, backend="torch" if model == "raf-torch" else "engine")
        assert node.engine_supports(torch.zeros(1, dtype=torch.float64)) == (model == "raf")
        return node
    if model == "clif":
        return neuron.ComplementaryLIFNode(cfg["tau"], cfg["v_threshold"], sg, "m", store_state_seqs=True)
    if model == "glif":
        node = neuron.GatedLIFNode(steps, surrogate_function=sg).double()
        with torch.no_grad():
            for name in ("alpha", "beta", "gamma", "tau", "v_threshold", "linear_decay", "v_subreset"):
                getattr(node, name).fill_(_logit(cfg[name]))
            node.conduct.copy_(torch.tensor([_logit(c) for c in cfg["conduct"]], dtype=torch.float64))
        return node
    cls = neuron.OTTTLIFNode if model == "ottt" else neuron.SLTTLIFNode
    return cls(cfg["tau"], cfg["decay_input"], cfg["v_threshold"], cfg["v_reset"], sg, cfg["detach_reset"],
               store_v_seq=True)


def _reference(model, cfg):
    firing = {"surrogate": cfg["surrogate"], "surrogate_params": cfg["surrogate_params"],
              "v_threshold": cfg["v_threshold"]}
    if model.startswith("ternary"):
        firing.update(v_reset=cfg["v_reset"], detach_reset=cfg["detach_reset"])
        if model == "ternary-if":
            return lambda x, v0: nm.ternary_multistep(lambda v, xt: v + xt, x, v0, **firing)
        v_rest = 0.0 if cfg["v_reset"] is None else cfg["v_reset"]
        return lambda x, v0: nm.ternary_multistep(
            lambda v, xt: nm.lif_charge(v, xt, tau=cfg["tau"], decay_input=cfg["decay_input"], v_rest=v_rest),
            x, v0, **firing)
    if model == "ilif":
        return lambda x, v0: nm.ilif_multistep(x, v0, tau=cfg["tau"], v_threshold=cfg["v_threshold"],
                                               max_count=cfg["max_count"], detach_reset=cfg["detach_reset"])
    if model.startswith("raf"):
        firing.update(v_reset=cfg["v_reset"], detach_reset=cfg["detach_reset"])
        return lambda x, v0: nm.raf_multistep(x, v0, b=cfg["b"], omega=cfg["omega"], dt=cfg["dt"], **firing)
    if model == "clif":
        return lambda x, v0: nm.clif_multistep(x, v0, tau=cfg["tau"], v_threshold=cfg["v_threshold"],
                                               surrogate=cfg["surrogate"], surrogate_params=cfg["surrogate_params"])
    if model == "glif":
        gates = {k: cfg[k] for k in ("alpha", "beta", "gamma", "tau", "v_threshold", "linear_decay", "v_subreset")}
        return lambda x, v0: nm.gated_lif_multistep(x, v0, conduct=cfg["conduct"], surrogate=cfg["surrogate"],
                                                    surrogate_params=cfg["surrogate_params"], **gates)
    firing.update(v_reset=cfg["v_reset"], detach_reset=cfg["detach_reset"])
    return lambda x, v0: nm.online_lif_multistep(x, v0, tau=cfg["tau"], decay_input=cfg["decay_input"], **firing)


def _run_module(model, node, xt, vt):
    """(outputs [T, ...], v_seq [T, ...]) of the module from initial voltage ``vt``."""
    node.v = vt
    if model == "glif":
        out = node(xt).reshape(xt.shape)  # [1, 1, 1, N] per step: scalar gates broadcast as (1, C, 1, 1)
        return out, None
    if model in ("ottt", "sltt"):
        outs, vs = [], []
        for x in xt:
            y = node(x)
            outs.append(y[0] if isinstance(y, list) else y)
            vs.append(node.v)
        return torch.stack(outs), torch.stack(vs)
    out = node(xt)
    return out, node.state_seqs[0] if model == "clif" else node.v_seq


@pytest.mark.parametrize("model", MODELS)
@given(data=st.data(), x=cases.sequences(max_steps=6, max_neurons=6))
def test_published_neuron_forward_and_gradients_equal_reference(model, data, x):
    cfg = data.draw(configs(model))
    rng = np.random.default_rng(zlib.crc32(x.tobytes()))
    if model == "glif":
        cfg["conduct"] = [float(c) for c in rng.uniform(0.1, 0.9, x.shape[0])]
    scale = 3.0 if model.startswith("ternary") or model == "ilif" else 1.0  # both spike signs, counts > 1
    x = x * scale
    v0 = rng.uniform(-0.3, 0.6, x.shape[1])
    g_out, g_v = rng.normal(size=x.shape), rng.normal(size=x.shape)
    program = _reference(model, cfg)
    has_v_seq = model != "glif"

    def loss_terms(x_, v0_):
        r = program(x_, v0_)
        return ad.stack([r["spikes"], r["v_seq"]]) if has_v_seq else r["spikes"]

    ref = program(x, v0)
    grads = ad.gradients(loss_terms, [x, v0], np.stack([g_out, g_v]) if has_v_seq else g_out)

    node = _module(model, cfg, x.shape[0])
    xt = torch.tensor(x, requires_grad=True)
    vt = torch.tensor(v0, requires_grad=True)
    out, v_seq = _run_module(model, node, xt, vt)
    loss = (out * torch.tensor(g_out)).sum()
    if has_v_seq:
        loss = loss + (v_seq * torch.tensor(g_v)).sum()
    loss.backward()

    np.testing.assert_array_equal(out.detach().numpy(), ref["spikes"])
    if has_v_seq:
        cases.assert_close_f64(v_seq.detach().numpy(), ref["v_seq"], "v_seq")
    if model == "ottt":
        cases.assert_close_f64(node.trace.numpy(), ref["traces"][-1], "trace")
    # Where no path exists autograd leaves the gradient None and the reference gives zeros: the online
    # neurons detach the initial voltage; a one-step resonate-and-fire never sees its input (it enters u).
    for got, expected, what in ((xt.grad, grads[0], "grad_x"), (vt.grad, grads[1], "grad_v_init")):
        got = np.zeros_like(expected) if got is None else got.numpy()
        np.testing.assert_allclose(got, expected, rtol=1e-9, atol=1e-9, err_msg=what)


@pytest.mark.parametrize("model", ["ternary-if", "ternary-lif", "ilif", "raf", "raf-torch", "clif"])
@given(data=st.data(), x=cases.sequences(max_steps=5, max_neurons=5))
def test_published_neuron_single_step_equals_multi_step(model, data, x):
    cfg = data.draw(configs(model))
    multi, single = _module(model, cfg, x.shape[0]), _module(model, cfg, x.shape[0])
    single.step_mode = "s"
    xt = torch.tensor(x * 3.0)
    expected = multi(xt)
    got = torch.stack([single(xt[t]) for t in range(x.shape[0])])
    assert torch.equal(got, expected)
