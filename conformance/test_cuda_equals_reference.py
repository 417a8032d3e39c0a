"""The Triton kernels of the CUDA path (snnrs/cuda/kernels.py) equal the NumPy reference, as the CPU
engine does: spikes equal wherever no step came within 1e-4 of the threshold, values and gradients
within 1e-4 relative (float32 state), for every neuron, reset, flag and surrogate; the packed spike
bits equal the engine's byte for byte. On a CUDA machine the kernels run on the GPU; elsewhere
triton's interpreter (TRITON_INTERPRET=1) runs the same kernels on CPU tensors. CI has triton (it
ships with torch's Linux wheels), so there the module must run, not skip."""

import contextlib
import importlib.util
import os
import zlib

import numpy as np
import pytest
import torch
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from conformance import cases
from conformance.test_engine_equals_reference import _inputs, _reference
from conformance.test_neuron_models_equal_reference import model_configs
from reference import autodiff as ad
from reference import neuron_models as nm
from snnrs import _engine

ON_GPU = torch.cuda.is_available()
DEVICE = "cuda" if ON_GPU else "cpu"


@pytest.fixture(scope="module", autouse=True)
def kernels():
    """The kernels on the GPU, or in triton's interpreter (the variable must stay set while they run)."""
    if importlib.util.find_spec("triton") is None:
        if os.environ.get("CI") == "true":
            pytest.fail("triton is missing in CI (it comes with torch's Linux wheels)")
        pytest.skip("triton is not installed")
    from snnrs import cuda

    with contextlib.nullcontext() if ON_GPU else cuda.interpreter():
        yield cuda


def tensor(a, dtype=torch.float32):
    return None if a is None else torch.as_tensor(np.asarray(a, np.float32)).to(DEVICE, dtype)


def numpy(t):
    return t.detach().float().cpu().numpy()


def check(cuda, x, cfg, dtype=torch.float32):
    """Forward and backward of the kernels against the reference on the same (rounded) inputs."""
    x = tensor(x, dtype)
    x64 = numpy(x).astype(np.float64)  # what the kernel sees: 16-bit inputs widen exactly
    v_init, g_s, g_v = (a.astype(np.float32).astype(np.float64) for a in _inputs(x64))
    g_last = np.cos(np.arange(x.shape[1])).astype(np.float32).astype(np.float64)  # at V after the last step
    kwargs = cases.engine_kwargs(cfg)
    spikes, v_last, h_seq, bits, v_seq = cuda.neuron_forward(x, tensor(v_init), store_v_seq=True, **kwargs)
    assert spikes.dtype == dtype and h_seq.dtype == v_last.dtype == torch.float32 and bits.dtype == torch.uint8
    grad_x, grad_v_init, grad_k = cuda.neuron_backward(
        tensor(g_s), h_seq, bits, tensor(v_init), grad_v_seq=tensor(g_v), grad_v_last=tensor(g_last), x=x,
        **cases.engine_backward_kwargs(cfg))
    g_v_and_last = g_v.copy()
    g_v_and_last[-1] += g_last  # v_last is v_seq[-1]: its gradient adds to the last step's
    ref = _reference(x64, v_init, g_s, g_v_and_last, cfg)
    h_mask, s_mask, neuron_mask = cases.f32_trust_masks(ref["h_seq"], cfg)
    np.testing.assert_array_equal(numpy(spikes)[s_mask], ref["spikes"][s_mask])
    cases.assert_close_f32(numpy(h_seq), ref["h_seq"], h_mask, "h_seq")
    cases.assert_close_f32(numpy(v_seq), ref["v_seq"], s_mask, "v_seq")
    cases.assert_close_f32(numpy(v_last), ref["v_seq"][-1], s_mask[-1], "v_last")
    # the bits are the spikes, packed as the engine packs them (bit i % 8 of byte i / 8)
    packed = np.packbits(numpy(spikes).astype(bool), axis=1, bitorder="little")
    np.testing.assert_array_equal(bits.cpu().numpy(), packed)
    cases.assert_close_f32(numpy(grad_x), ref["grad_x"], np.broadcast_to(neuron_mask, x.shape), "grad_x")
    cases.assert_close_f32(numpy(grad_v_init), ref["grad_v_init"], neuron_mask, "grad_v_init",
                           scale_of=ref["grad_x"][:, neuron_mask])
    if cfg["neuron"] == "plif" and neuron_mask.all():
        k = 1 / (1 + np.exp(-cfg["w"]))
        np.testing.assert_allclose(grad_k * k * (1 - k), ref["grad_w"], rtol=1e-4, atol=1e-4 * (1 + abs(ref["grad_w"])))


@pytest.mark.parametrize("neuron,reset,decay_input,detach_reset,surrogate", cases.ALL_FLAG_COMBINATIONS)
@settings(max_examples=3, deadline=None)
@given(data=st.data(), x=cases.sequences(max_steps=6, max_neurons=40))
def test_cuda_kernels_equal_reference_for_every_flag_and_surrogate(kernels, neuron, reset, decay_input,
                                                                   detach_reset, surrogate, data, x):
    check(kernels, x, data.draw(cases.neuron_configs(neuron, reset, decay_input, detach_reset, surrogate, True)))


@settings(max_examples=10, deadline=None)
@given(data=st.data(), x=cases.sequences(max_steps=8, max_neurons=70),
       dtype=st.sampled_from([torch.bfloat16, torch.float16]))
def test_16_bit_inputs_run_in_a_float32_state(kernels, data, x, dtype):
    check(kernels, x, data.draw(cases.neuron_configs(float32=True)), dtype)


@pytest.mark.parametrize("neurons", [1, 7, 9, 255, 256, 257, 600])
def test_sizes_that_are_not_a_block_multiple_give_the_engines_spikes_and_bits(kernels, neurons):
    x = np.random.default_rng(neurons).normal(0.6, 1.0, (4, neurons)).astype(np.float32)
    spikes, v_last, h_seq, bits, _ = kernels.neuron_forward(tensor(x), neuron="lif", params=[2.0])
    e_spikes, e_v_last, e_h_seq, e_bits, _ = _engine.neuron_forward(x, neuron="lif", params=[2.0])
    np.testing.assert_array_equal(numpy(spikes), e_spikes)
    np.testing.assert_array_equal(bits.cpu().numpy(), e_bits)
    np.testing.assert_allclose(numpy(h_seq), e_h_seq, rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(numpy(v_last), e_v_last, rtol=1e-6, atol=1e-6)
    # backward reads the engine's bits as its own
    g = np.ones_like(x)
    got = kernels.neuron_backward(tensor(g), tensor(e_h_seq), torch.as_tensor(e_bits).to(DEVICE), neuron="lif",
                                  params=[2.0], surrogate="ATan", surrogate_params=[2.0])
    want = _engine.neuron_backward(g, e_h_seq, e_bits, neuron="lif", params=[2.0], surrogate="ATan",
                                   surrogate_params=[2.0])
    np.testing.assert_allclose(numpy(got[0]), want[0], rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(numpy(got[1]), want[1], rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("neuron,params", [("lif", [2.0]), ("qif", [2.0, 0.8, 1.0, 0.0]), ("klif", [2.0, 1.5]),
                                           ("plif", [0.4]), ("if", [])])
def test_a_gradient_of_h_adds_as_the_engines_does(kernels, neuron, params):
    """grad_h_seq (H as an output: LIAF's analog output, or a user's loss on H) for every charge rule family:
    nonlinear, learnable and soft reset, with v_init and the gradients at V as well, against the engine."""
    rng = np.random.default_rng(len(neuron))
    x, g_s, g_v, g_h = (rng.normal(0.6 if i == 0 else 0.0, 1.0, (5, 19)).astype(np.float32) for i in range(4))
    v_init, g_last = (rng.normal(0.0, 0.3, 19).astype(np.float32) for _ in range(2))
    config = dict(neuron=neuron, params=params, v_reset=None if neuron == "qif" else 0.0)
    backward = dict(config, surrogate="Erf", surrogate_params=[2.0])
    _, _, h_seq, bits, _ = _engine.neuron_forward(x, v_init, **config)
    got = kernels.neuron_backward(tensor(g_s), tensor(h_seq), torch.as_tensor(bits).to(DEVICE), tensor(v_init),
                                  grad_v_seq=tensor(g_v), grad_v_last=tensor(g_last), grad_h_seq=tensor(g_h),
                                  x=tensor(x), **backward)
    want = _engine.neuron_backward(g_s, h_seq, bits, v_init, grad_v_seq=g_v, grad_v_last=g_last, grad_h_seq=g_h,
                                   x=x, **backward)
    without_h = _engine.neuron_backward(g_s, h_seq, bits, v_init, grad_v_seq=g_v, grad_v_last=g_last, x=x,
                                        **backward)
    assert not np.allclose(want[0], without_h[0], rtol=1e-3)  # grad_h_seq counts: "equal" is not vacuous
    np.testing.assert_allclose(numpy(got[0]), want[0], rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(numpy(got[1]), want[1], rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(got[2], want[2], rtol=1e-5, atol=1e-5)


def test_inference_saves_nothing_for_backward(kernels):
    x = tensor(np.full((3, 10), 0.7))
    spikes, v_last, h_seq, bits, v_seq = kernels.neuron_forward(x, neuron="if", save_for_backward=False)
    assert h_seq is None and bits is None and v_seq is None
    np.testing.assert_array_equal(numpy(spikes)[:, 0], [0, 1, 0])


def test_bad_arguments_raise_the_engines_errors(kernels):
    x = tensor(np.zeros((2, 3)))
    with pytest.raises(TypeError, match="x: expected dtype float32, bfloat16 or float16"):
        kernels.neuron_forward(x.double(), neuron="if")
    with pytest.raises(ValueError, match="neuron: expected one of"):
        kernels.neuron_forward(x, neuron="nope")
    with pytest.raises(ValueError, match="tau"):
        kernels.neuron_forward(x, neuron="lif", params=[0.5])
    with pytest.raises(ValueError, match="v_init: expected 3 values"):
        kernels.neuron_forward(x, tensor(np.zeros(4)), neuron="if")
    _, _, h_seq, bits, _ = kernels.neuron_forward(x, neuron="if")
    with pytest.raises(ValueError, match="surrogate"):
        kernels.neuron_backward(None, h_seq, bits, neuron="if", surrogate="Nope")
    with pytest.raises(ValueError, match="surrogate_params"):
        kernels.neuron_backward(None, h_seq, bits, neuron="if", surrogate="Sigmoid", surrogate_params=[1.0, 2.0])
    with pytest.raises(ValueError, match="bits: expected a uint8 tensor of shape"):
        kernels.neuron_backward(None, h_seq, bits[:1], neuron="if")
    with pytest.raises(ValueError, match=r"x: the backward of .plif. \(a learnable decay\) needs"):
        kernels.neuron_backward(None, h_seq, bits, neuron="plif", params=[0.5])


def _reference_charge(model, p, firing, k):
    """The engine neuron's charge rule in reference/neuron_models.py terms (CUBA: its membrane stage,
    whose input is the already filtered current; KLIF without scale_reset)."""
    v_rest = 0.0 if firing["v_reset"] is None else firing["v_reset"]
    return {
        "qif": lambda v, x: nm.qif_charge(v, x, **p),
        "eif": lambda v, x: nm.eif_charge(v, x, **p),
        "cuba": lambda v, x: v * p["v_decay"] + x,
        "klif": lambda v, x: ad.relu(k * nm.lif_charge(v, x, tau=p["tau"], decay_input=p["decay_input"],
                                                       v_rest=v_rest)),
    }[model]


@pytest.mark.parametrize("model", ["qif", "eif", "cuba", "klif"])
@settings(max_examples=40, deadline=None)
@given(data=st.data(), x=cases.sequences(max_steps=6, max_neurons=12))
def test_nonlinear_and_learnable_neurons_equal_reference(kernels, model, data, x):
    cfg = data.draw(model_configs("klif" if model == "cuba" else model))
    if model == "cuba":
        cfg["params"] = {"v_decay": data.draw(st.floats(0.1, 0.9))}
    p, firing = cfg["params"], cfg["firing"]
    x = x.astype(np.float32).astype(np.float64)
    rng = np.random.default_rng(zlib.crc32(x.tobytes()))
    v0, g_s, g_v = (a.astype(np.float32).astype(np.float64) for a in
                    (rng.uniform(-0.3, 0.6, x.shape[1]), rng.normal(size=x.shape), rng.normal(size=x.shape)))
    k = float(np.float32(rng.uniform(0.5, 1.5)))

    def program(x_, v0_, k_):
        return nm.single_state_multistep(_reference_charge(model, p, firing, k_), x_, v0_, **firing)

    with np.errstate(over="ignore", invalid="ignore"):
        ref = program(x, v0, k)
        grads = ad.gradients(lambda *a: ad.stack([program(*a)["spikes"], program(*a)["v_seq"]]), [x, v0, k],
                             np.stack([g_s, g_v]))
    # QIF and EIF run away (quadratic, exponential): compare while float32 holds the numbers
    assume(all(np.isfinite(g).all() and np.abs(g).max(initial=0) < 1e6 for g in grads))
    assume(np.abs(ref["h_seq"]).max() < 1e4)
    params = {"qif": lambda: [p["tau"], p["v_c"], p["a0"], p["v_rest"]],
              "eif": lambda: [p["tau"], p["delta_T"], p["theta_rh"], p["v_rest"]],
              "cuba": lambda: [p["v_decay"]], "klif": lambda: [p["tau"], k]}[model]()
    config = dict(neuron=model, params=params, decay_input=p.get("decay_input", True),
                  v_threshold=firing["v_threshold"], v_reset=firing["v_reset"])
    spikes, v_last, h_seq, bits, v_seq = kernels.neuron_forward(tensor(x), tensor(v0), store_v_seq=True, **config)
    grad_x, grad_v_init, grad_k = kernels.neuron_backward(
        tensor(g_s), h_seq, bits, tensor(v0), grad_v_seq=tensor(g_v), x=tensor(x), **config,
        detach_reset=firing["detach_reset"], surrogate=firing["surrogate"],
        surrogate_params=cases.engine_params(firing["surrogate"], firing["surrogate_params"]))
    trust = {"v_threshold": firing["v_threshold"], "surrogate": firing["surrogate"],
             "surrogate_params": firing["surrogate_params"]}
    h_mask, s_mask, neuron_mask = cases.f32_trust_masks(ref["h_seq"], trust)
    if model == "klif":  # F = relu(k·L) at its kink: float32 may round F to 0 where float64 keeps it positive
        neuron_mask &= ~(np.abs(ref["h_seq"]) <= 1e-4).any(axis=0)
    np.testing.assert_array_equal(numpy(spikes)[s_mask], ref["spikes"][s_mask])
    cases.assert_close_f32(numpy(h_seq), ref["h_seq"], h_mask, "h_seq")
    cases.assert_close_f32(numpy(v_seq), ref["v_seq"], s_mask, "v_seq")
    cases.assert_close_f32(numpy(grad_x), grads[0], np.broadcast_to(neuron_mask, x.shape), "grad_x")
    cases.assert_close_f32(numpy(grad_v_init), grads[1], neuron_mask, "grad_v_init", scale_of=grads[0][:, neuron_mask])
    if model == "klif" and neuron_mask.all():
        np.testing.assert_allclose(grad_k, grads[2], rtol=1e-4, atol=1e-4 * (1 + np.abs(grads[0]).sum()))


@settings(max_examples=60, deadline=None)
@given(data=st.data(), x=cases.sequences(max_steps=6, max_neurons=12))
def test_izhikevich_equals_reference(kernels, data, x):
    cfg = data.draw(model_configs("izhikevich"))
    p, firing = cfg["params"], cfg["firing"]
    x = x.astype(np.float32).astype(np.float64)
    rng = np.random.default_rng(zlib.crc32(x.tobytes()))
    v0, w0, g_wl = (rng.uniform(-0.3, 0.6, x.shape[1]).astype(np.float32).astype(np.float64) for _ in range(3))
    g_s, g_v = (rng.normal(size=x.shape).astype(np.float32).astype(np.float64) for _ in range(2))
    g_w = np.zeros_like(x)
    g_w[-1] = g_wl  # the gradient at W after the last step

    def program(x_, v0_, w0_):
        r = nm.izhikevich_multistep(x_, v0_, w0_, **p, **firing)
        return ad.stack([r["spikes"], r["v_seq"], r["w_seq"]])

    with np.errstate(over="ignore", invalid="ignore"):
        ref = nm.izhikevich_multistep(x, v0, w0, **p, **firing)
        grads = ad.gradients(program, [x, v0, w0], np.stack([g_s, g_v, g_w]))
    assume(all(np.isfinite(g).all() and np.abs(g).max(initial=0) < 1e6 for g in grads))
    assume(np.abs(ref["v_seq"]).max() < 1e4)
    # H, the charge before the reset, from the reference's own V and W: H[t] = V[t-1] + (X + ... - W[t-1]) / tau
    v_prev = np.vstack([v0[None], ref["v_seq"][:-1]])
    w_prev = np.vstack([w0[None], ref["w_seq"][:-1]])
    h_ref = v_prev + (x + p["a0"] * (v_prev - p["v_rest"]) * (v_prev - p["v_c"]) - w_prev) / p["tau"]
    params = [p[k] for k in ("tau", "v_c", "a0", "v_rest", "w_rest", "tau_w", "a", "b")]
    config = dict(params=params, v_threshold=firing["v_threshold"], v_reset=firing["v_reset"])
    spikes, v_last, w_last, h_seq, bits, v_seq = kernels.izhikevich_forward(
        tensor(x), tensor(v0), tensor(w0), store_v_seq=True, **config)
    g_vl = g_v[-1] / 2  # split between v_seq's last step and v_last: the same V
    grad_v_seq = g_v.copy()
    grad_v_seq[-1] -= g_vl
    grad_x, grad_v_init, grad_w_init = kernels.izhikevich_backward(
        tensor(g_s), h_seq, bits, tensor(v0), grad_v_seq=tensor(grad_v_seq), grad_v_last=tensor(g_vl),
        grad_w_last=tensor(g_wl), **config,
        detach_reset=firing["detach_reset"], surrogate=firing["surrogate"],
        surrogate_params=cases.engine_params(firing["surrogate"], firing["surrogate_params"]))
    trust = {"v_threshold": firing["v_threshold"], "surrogate": firing["surrogate"],
             "surrogate_params": firing["surrogate_params"]}
    h_mask, s_mask, neuron_mask = cases.f32_trust_masks(h_ref, trust)
    np.testing.assert_array_equal(numpy(spikes)[s_mask], ref["spikes"][s_mask])
    cases.assert_close_f32(numpy(h_seq), h_ref, h_mask, "h_seq")
    cases.assert_close_f32(numpy(v_seq), ref["v_seq"], s_mask, "v_seq")
    cases.assert_close_f32(numpy(w_last), ref["w_seq"][-1], s_mask.all(axis=0), "w_last")
    cases.assert_close_f32(numpy(grad_x), grads[0], np.broadcast_to(neuron_mask, x.shape), "grad_x")
    cases.assert_close_f32(numpy(grad_v_init), grads[1], neuron_mask, "grad_v_init", scale_of=grads[0][:, neuron_mask])
    cases.assert_close_f32(numpy(grad_w_init), grads[2], neuron_mask, "grad_w_init", scale_of=grads[0][:, neuron_mask])
