"""Bad input gives a clear ValueError/TypeError naming the argument — never a panic or a wrong answer."""

import math

import numpy as np
import pytest
import torch

from snnrs import _engine, neuron, surrogate

X = np.ones((4, 10), np.float32)
V = np.zeros(10, np.float32)


def _forward(**overrides):
    args = dict(x=X, v_init=V, neuron="lif", params=[2.0])
    args.update(overrides)
    x, v = args.pop("x"), args.pop("v_init")
    return _engine.neuron_forward(x, v, **args)


@pytest.mark.parametrize("x,match", [
    (X.astype(np.int64), "x: expected dtype float32 or float64"),
    (X.astype(np.float16), "x: expected dtype float32 or float64"),
    ([[1.0, 2.0]], "x: expected a numpy.ndarray"),
])
def test_engine_rejects_wrong_dtype_with_type_error(x, match):
    with pytest.raises(TypeError, match=match):
        _forward(x=x)


def test_engine_rejects_mismatched_dtype_of_second_argument():
    with pytest.raises(TypeError, match="v_init: expected dtype"):
        _forward(v_init=V.astype(np.float64))


def test_engine_rejects_non_contiguous_arrays():
    with pytest.raises(ValueError, match="x: expected a C-contiguous array"):
        _forward(x=np.ones((10, 4), np.float32).T)
    with pytest.raises(ValueError, match="v_init: expected a C-contiguous array"):
        _forward(v_init=np.zeros(20, np.float32)[::2])


@pytest.mark.parametrize("x,match", [
    (np.ones(10, np.float32), "x: expected shape a 2-D"),
    (np.ones((2, 3, 4), np.float32), "x: expected shape a 2-D"),
    (np.ones((0, 10), np.float32), "x: expected shape T >= 1"),
])
def test_engine_rejects_wrong_rank_and_empty_time(x, match):
    with pytest.raises(ValueError, match=match):
        _forward(x=x)


def test_engine_rejects_wrong_state_shape():
    with pytest.raises(ValueError, match=r"v_init: expected shape \[10\]"):
        _forward(v_init=np.zeros(9, np.float32))


@pytest.mark.parametrize("overrides,match", [
    (dict(v_threshold=math.nan), "v_threshold: expected a finite number"),
    (dict(v_reset=math.inf), "v_reset: expected a finite number"),
    (dict(params=[math.nan]), "tau: expected a finite number"),
    (dict(params=[1.0]), "tau: expected tau > 1"),
    (dict(params=[]), r"params: lif takes 1 parameter\(s\) \[tau\], got 0"),
    (dict(neuron="plif", params=[1.5]), "k: expected 0 < k"),
    (dict(neuron="eif", params=[2.0, 0.0, 0.8, 0.0]), "delta_T: expected delta_T > 0"),
    (dict(neuron="qif", params=[2.0, math.inf, 1.0, 0.0]), "v_c: expected a finite number"),
    (dict(neuron="hh"), "neuron: unknown neuron"),
])
def test_engine_rejects_bad_parameters(overrides, match):
    with pytest.raises(ValueError, match=match):
        _forward(**overrides)


def test_engine_backward_rejects_bad_surrogate_and_bits():
    spikes, v_last, h, bits, _ = _forward()
    common = dict(neuron="lif", params=[2.0])
    with pytest.raises(ValueError, match="surrogate: unknown surrogate"):
        _engine.neuron_backward(spikes, h, bits, V, surrogate="Nope", surrogate_params=[1.0], **common)
    with pytest.raises(ValueError, match="surrogate_params: expected a finite number"):
        _engine.neuron_backward(spikes, h, bits, V, surrogate="ATan", surrogate_params=[math.nan], **common)
    with pytest.raises(ValueError, match="surrogate_params: Sigmoid takes 1"):
        _engine.neuron_backward(spikes, h, bits, V, surrogate="Sigmoid", surrogate_params=[1.0, 2.0], **common)
    with pytest.raises(ValueError, match=r"bits: expected shape \[4, 2\]"):
        _engine.neuron_backward(spikes, h, bits[:, :1].copy(), V, **common)
    with pytest.raises(TypeError, match="bits: expected dtype uint8"):
        _engine.neuron_backward(spikes, h, bits.astype(np.int32), V, **common)
    with pytest.raises(ValueError, match="x: ParametricLIF and KLIF backward need"):
        _engine.neuron_backward(spikes, h, bits, V, neuron="plif", params=[0.5])
    with pytest.raises(ValueError, match="x: ParametricLIF and KLIF backward need"):
        _engine.neuron_backward(spikes, h, bits, V, neuron="klif", params=[2.0, 1.0])


IZHIKEVICH = [2.0, 0.8, 1.0, -0.1, 0.0, 2.0, 0.1, 0.1]


@pytest.mark.parametrize("kwargs, error, match", [
    (dict(params=[2.0]), ValueError, "params: izhikevich takes 8"),
    (dict(params=IZHIKEVICH[:5] + [0.0] + IZHIKEVICH[6:]), ValueError, "tau_w: expected a positive"),
    (dict(params=IZHIKEVICH[:6] + [math.inf, 0.1]), ValueError, "a: expected a finite number"),
    (dict(params=IZHIKEVICH, w_init=np.zeros(5, np.float32)), ValueError, r"w_init: expected shape \[3\]"),
    (dict(params=IZHIKEVICH, w_init=np.zeros(3, np.float64)), TypeError, "w_init: expected dtype"),
    (dict(params=IZHIKEVICH, v_threshold=math.nan), ValueError, "v_threshold: expected a finite"),
])
def test_izhikevich_engine_rejects_bad_arguments(kwargs, error, match):
    x = np.ones((4, 3), np.float32)
    with pytest.raises(error, match=match):
        _engine.izhikevich_forward(x, **kwargs)


def test_izhikevich_backward_rejects_mismatched_saved_tensors():
    x = np.ones((4, 3), np.float32)
    spikes, _, _, h, bits, _ = _engine.izhikevich_forward(x, params=IZHIKEVICH)
    with pytest.raises(ValueError, match=r"bits: expected shape \[4, 1\]"):
        _engine.izhikevich_backward(spikes, h, bits[:2].copy(), params=IZHIKEVICH)
    with pytest.raises(ValueError, match=r"grad_w_last: expected shape \[3\]"):
        _engine.izhikevich_backward(spikes, h, bits, grad_w_last=np.ones(2, np.float32), params=IZHIKEVICH)


@pytest.mark.parametrize("make,match", [
    (lambda: neuron.LIFNode(tau=math.nan), "tau: expected a finite number"),
    (lambda: neuron.LIFNode(tau=0.5), "tau: expected tau > 1"),
    (lambda: neuron.ParametricLIFNode(init_tau=1.0), "init_tau: expected init_tau > 1"),
    (lambda: neuron.IFNode(v_threshold=math.nan), "v_threshold: expected a finite number"),
    (lambda: neuron.IFNode(step_mode="x"), "step_mode: expected one of"),
    (lambda: neuron.IFNode(backend="lava"), "backend: expected one of"),
    (lambda: surrogate.ATan(alpha=math.nan), "alpha: expected a finite number"),
    (lambda: surrogate.Sigmoid(alpha=-1.0), "alpha: expected a positive number"),
    (lambda: surrogate.SuperSpike(spiking=False), "no primitive|only sg"),
])
def test_modules_reject_bad_arguments(make, match):
    with pytest.raises(ValueError, match=match):
        make()


def test_modules_reject_bad_tensors():
    n = neuron.LIFNode(step_mode="m")
    with pytest.raises(TypeError, match="x: expected a floating-point tensor"):
        n(torch.ones(3, 4, dtype=torch.int64))
    with pytest.raises(TypeError, match="x: expected a torch.Tensor"):
        n([[1.0]])
    with pytest.raises(ValueError, match="x_seq: expected \\[T, ...\\] with T >= 1"):
        n(torch.ones(0, 4))
    with pytest.raises(TypeError, match="surrogate_function: expected a callable"):
        neuron.LIFNode(surrogate_function=3)


def test_custom_op_rejects_bad_tensors():
    op = torch.ops.snnrs.multistep_neuron_forward
    x = torch.ones(3, 4)
    rest = ("lif", 1.0, 0.0, [2.0], True, False, "ATan", [2.0], False)
    with pytest.raises(TypeError, match="v_init: expected dtype torch.float32"):
        op(x, torch.zeros(4, dtype=torch.float64), None, *rest)
    with pytest.raises(ValueError, match=r"v_init: expected shape \(4,\)"):
        op(x, torch.zeros(5), None, *rest)
    with pytest.raises(TypeError, match="x: expected dtype float32, float64, bfloat16 or float16"):
        op(x.int(), None, None, *rest)
    # 16-bit x streams through the kernel; its state is float32 (docs/semantics.md#mixed-precision)
    with pytest.raises(TypeError, match="v_init: expected dtype torch.float32 \\(that of x's state\\)"):
        op(x.half(), torch.zeros(4).half(), None, *rest)
