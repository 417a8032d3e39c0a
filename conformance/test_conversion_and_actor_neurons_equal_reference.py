"""The conversion neurons (few-spikes, outlier-aware, HG, STBIF, activation-aware IF), MPBN-LIF and the
actor-network neurons (ILC*, Noisy*) equal their references (reference/conversion.py,
reference/neuron_models.py): forward values, and gradients with respect to the input equal to the
forward-mode derivative of the reference under the surrogate rule (docs/semantics.md#conversion-neurons,
#mpbn, #actor-neurons)."""

import zlib

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from conformance import cases
from reference import autodiff as ad
from reference import conversion as rc
from reference import neuron_models as nm
from snnrs import neuron
from snnrs import surrogate as ts


def _sg(data):
    name = data.draw(st.sampled_from(cases.SURROGATE_NAMES))
    return name, data.draw(cases.surrogate_params(name))


def _module_sg(name, params):
    return getattr(ts, name)(**params, spiking=True)


def _rng(x):
    return np.random.default_rng(zlib.crc32(np.ascontiguousarray(x).tobytes()))


def _check(program, x, run_module, cotangent, out_key=None):
    """Forward equal (values exactly where they are spikes, else to float64 rounding) and the input gradient."""
    ref = program(x)
    ref = ref[out_key] if out_key else ref
    (grad,) = ad.gradients(lambda x_: program(x_)[out_key] if out_key else program(x_), [x], cotangent)
    xt = torch.tensor(x, requires_grad=True)
    out = run_module(xt)
    (out * torch.tensor(cotangent)).sum().backward()
    cases.assert_close_f64(out.detach().numpy(), ref, "output")
    got = np.zeros_like(x) if xt.grad is None else xt.grad.numpy()
    np.testing.assert_allclose(got, grad, rtol=1e-9, atol=1e-9, err_msg="grad_x")


def _table(data, k):
    """(theta, h, d) rounded to float32, as a FewSpikeTable stores Python floats."""
    values = sorted(data.draw(st.lists(st.floats(0.05, 2.0), min_size=k, max_size=k)), reverse=True)
    rows = [values, [v * data.draw(st.floats(0.5, 1.0)) for v in values],
            [v * data.draw(st.floats(0.5, 1.5)) for v in values]]
    return [[float(np.float32(v)) for v in row] for row in rows]


@pytest.mark.parametrize("kind", ["fs", "outlier", "hg"])
@pytest.mark.parametrize("mode", ["s", "m"])
@given(data=st.data(), x=cases.sequences(max_steps=3, max_neurons=6))
def test_few_spike_neurons_equal_reference(kind, mode, data, x):
    k = data.draw(st.integers(1, 4))
    sg_name, sg_params = _sg(data)
    kw = dict(surrogate=sg_name, surrogate_params=sg_params, sequence=mode == "m")
    table = _table(data, k)
    module_table = neuron.FewSpikeTable(*table)
    if kind == "fs":
        node = neuron.FewSpikeNode(module_table, _module_sg(sg_name, sg_params), mode)

        def code(a):
            return rc.few_spike(a, *table, **kw)
    elif kind == "outlier":
        outlier = _table(data, k)
        split, clamp = data.draw(st.floats(0.2, 1.5)), data.draw(st.one_of(st.none(), st.floats(1.5, 3.0)))
        split = float(np.float32(split))
        node = neuron.OutlierAwareThresholdNode(module_table, neuron.FewSpikeTable(*outlier), split, clamp,
                                                _module_sg(sg_name, sg_params), mode)

        def code(a):
            return rc.outlier_aware(a, table, outlier, split, clamp, **kw)
    else:
        tables = [table, _table(data, k)]
        bound = float(np.float32(data.draw(st.floats(-0.5, 1.0))))
        node = neuron.HGNode([neuron.FewSpikeTable(*t) for t in tables], [bound], _module_sg(sg_name, sg_params), mode)

        def code(a):
            return rc.hybrid_gated(a, tables, [bound], **kw)
    node = node.double()
    if mode == "s":
        activation = x[0] * 1.5
        cotangent = _rng(x).normal(size=(k, *activation.shape) if kw["sequence"] else activation.shape)
        _check(code, activation, node, cotangent)
    else:
        x_seq = np.repeat(x[:1] * 1.5 / k, k, axis=0)  # K steps whose sum is the activation
        cotangent = _rng(x).normal(size=x_seq.shape)
        _check(lambda a: code(sum(a[i] for i in range(k))), x_seq, node, cotangent)


@given(x=cases.sequences(max_steps=8, max_neurons=6), q=st.floats(0.05, 0.5), level=st.integers(2, 8),
       sym=st.booleans())
def test_stbif_equals_reference(x, q, level, sym):
    node = neuron.STBIFNode(q, level, sym=sym, step_mode="m").double()
    out = node(torch.tensor(x * q * 3))
    pos_max, neg_min = (level // 2 - 1, -level // 2) if sym else (level - 1, 0)
    ref_out, ref_q, ref_acc, ref_quantum = rc.stbif(x * q * 3, float(node.q_threshold), pos_max, neg_min)
    cases.assert_close_f64(out.numpy(), ref_out, "output")
    cases.assert_close_f64(node.q.numpy(), ref_q, "q")
    np.testing.assert_array_equal(node.acc_q.numpy(), ref_acc)
    np.testing.assert_array_equal(node.cur_output.numpy(), ref_quantum)


@given(data=st.data(), x=cases.sequences(max_steps=6, max_neurons=4))
def test_activation_aware_if_equals_reference(data, x):
    sg_name, sg_params = _sg(data)
    channels = x.shape[1]
    threshold = np.array(data.draw(st.lists(st.floats(0.3, 1.5), min_size=channels, max_size=channels)))
    offset = np.array(data.draw(st.lists(st.floats(-0.3, 0.3), min_size=channels, max_size=channels)))
    v_reset = data.draw(st.one_of(st.none(), st.floats(-0.3, 0.3)))
    detach = data.draw(st.booleans())
    node = neuron.ActivationAwareIFNode(torch.tensor(threshold), torch.tensor(offset), -1, v_reset,
                                        _module_sg(sg_name, sg_params), detach, "m").double()
    x2 = np.stack([x, -x * 0.5])  # [T, N=2, C]
    x2 = np.moveaxis(x2, 0, 1)
    cotangent = _rng(x).normal(size=x2.shape)
    program = lambda a: rc.activation_aware_if(a, v_threshold=threshold, v_offset=offset, v_reset=v_reset,
                                               detach_reset=detach, surrogate=sg_name, surrogate_params=sg_params)
    _check(program, x2, node, cotangent, out_key="spikes")


@pytest.mark.parametrize("training", [True, False])
@given(data=st.data(), x=cases.sequences(max_steps=5, max_neurons=3))
def test_mpbn_lif_equals_reference(training, data, x):
    sg_name, sg_params = _sg(data)
    batch = data.draw(st.integers(2, 3))
    channels = x.shape[1]
    # samples scaled by (n+1)^1.5, not linearly: with linear scales the middle sample is the batch mean, its
    # normalised value 0 up to rounding, and a threshold tie decided by the last bit of a mean is not semantics
    x_seq = np.stack([x * (n + 1) ** 1.5 / batch for n in range(batch)], axis=1)  # [T, N, C]
    gamma = np.array(data.draw(st.lists(st.floats(0.5, 1.5), min_size=channels, max_size=channels)))
    beta = np.array(data.draw(st.lists(st.floats(-0.3, 0.3), min_size=channels, max_size=channels)))
    mean = np.array(data.draw(st.lists(st.floats(-0.3, 0.3), min_size=channels, max_size=channels)))
    var = np.array(data.draw(st.lists(st.floats(0.5, 1.5), min_size=channels, max_size=channels)))
    tau, threshold = data.draw(st.floats(1.2, 4.0)), data.draw(st.floats(0.3, 1.2))
    v_reset = data.draw(st.one_of(st.none(), st.floats(-0.3, 0.2)))
    node = neuron.MPBNLIFNode(tau, False, threshold, v_reset, _module_sg(sg_name, sg_params), step_mode="m",
                              out_features=channels).double()
    with torch.no_grad():
        node.vbn.weight.copy_(torch.tensor(gamma))
        node.vbn.bias.copy_(torch.tensor(beta))
        node.vbn.running_mean.copy_(torch.tensor(mean))
        node.vbn.running_var.copy_(torch.tensor(var))
    node.train(training)
    program = lambda a: nm.mpbn_lif_multistep(a, tau=tau, v_threshold=threshold, v_reset=v_reset, gamma=gamma,
                                              beta=beta, running_mean=mean, running_var=var, training=training,
                                              surrogate=sg_name, surrogate_params=sg_params)
    cotangent = _rng(x).normal(size=x_seq.shape)
    _check(program, x_seq, node, cotangent, out_key="spikes")


@pytest.mark.parametrize("kind", ["ilc-if", "ilc-lif", "ilc-cuba", "noisy-cuba", "noisy-ilc-cuba"])
@given(data=st.data(), x=cases.sequences(max_steps=5, max_neurons=1))
def test_actor_neurons_equal_reference(kind, data, x):
    act, pop = 2, 3
    steps = x.shape[0]
    rng = _rng(x)
    x_seq = rng.uniform(-0.5, 1.5, size=(steps, 1, act * pop))
    threshold = data.draw(st.floats(0.3, 1.0))
    v_reset = data.draw(st.one_of(st.none(), st.just(0.0)))
    weight, bias = rng.normal(size=(act * pop, pop)) * 0.5, rng.normal(size=act * pop) * 0.2
    kw = dict(v_threshold=threshold, v_reset=v_reset, surrogate="Rect", surrogate_params={"alpha": 1.0})
    if kind.startswith("ilc"):
        charge = kind.split("-")[1]
        node = {"if": neuron.ILCIFNode(act, pop, threshold, v_reset),
                "lif": neuron.ILCLIFNode(act, pop, 0.75, threshold, v_reset),
                "cuba": neuron.ILCCUBALIFNode(act, pop, 0.5, 0.75, threshold, v_reset)}[charge].double()
        feedback = (weight, bias, act, pop)
        program = lambda a: nm.actor_population_multistep(a[:, 0], charge=charge, feedback=feedback, **kw)
    else:
        noise_v, noise_s = rng.normal(size=(steps, act * pop)), rng.normal(size=(steps, act * pop))
        if kind == "noisy-cuba":
            node = neuron.NoisyCUBALIFNode(act * pop, T=steps, v_threshold=threshold, v_reset=v_reset).double()
            feedback = None
        else:
            node = neuron.NoisyILCCUBALIFNode(act, pop, T=steps, v_threshold=threshold, v_reset=v_reset).double()
            feedback = (weight, bias, act, pop)
        node.eps_v_seq = torch.tensor(noise_v).unsqueeze(0)
        node.eps_s_seq = torch.tensor(noise_s).unsqueeze(0)
        node.noise_step = -1
        program = lambda a: nm.actor_population_multistep(a[:, 0], charge="cuba", feedback=feedback,
                                                          noise_v=noise_v, noise_s=noise_s, sigma_v=node.sigma_v,
                                                          sigma_s=node.sigma_s, **kw)
    if feedback is not None:
        with torch.no_grad():
            node.conn.weight.copy_(torch.tensor(weight).unsqueeze(1))
            node.conn.bias.copy_(torch.tensor(bias))
    cotangent = rng.normal(size=(steps, act * pop))

    def spikes_of(a):
        return program(a)["spikes"]

    ref = spikes_of(x_seq)
    (grad,) = ad.gradients(spikes_of, [x_seq], cotangent)
    xt = torch.tensor(x_seq, requires_grad=True)
    out = node(xt)[:, 0]
    (out * torch.tensor(cotangent)).sum().backward()
    cases.assert_close_f64(out.detach().numpy(), ref, "spikes")
    np.testing.assert_allclose(xt.grad.numpy(), grad, rtol=1e-9, atol=1e-9, err_msg="grad_x")
