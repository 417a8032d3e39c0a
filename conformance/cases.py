"""Strategies and comparison rules shared by the conformance properties."""

import itertools
import math

import numpy as np
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from reference import neuron as rn
from reference import surrogate as rs

NEURONS = ("if", "lif", "plif")
RESETS = ("hard", "soft")
SURROGATE_NAMES = tuple(rs.SURROGATES)

# Every discrete combination: neuron × reset × decay_input × detach_reset × surrogate.
ALL_FLAG_COMBINATIONS = list(itertools.product(NEURONS, RESETS, (True, False), (True, False), SURROGATE_NAMES))
CORE_FLAG_COMBINATIONS = list(itertools.product(NEURONS, RESETS, (True, False), (True, False)))


def surrogate_params(name, float32=False):
    """A strategy for valid parameters of surrogate ``name`` (dict).

    ``float32``: SquarewaveFourierSeries keeps its first three harmonics and a
    period >= 4. Higher harmonics make sg' oscillate so fast (sg'' ~ 100) that a
    one-ulp float32 difference in H moves the gradient by more than 1e-4,
    compounding over the time steps: ill-conditioned, not a kernel error
    (float64 runs cover the full range).
    """
    f = lambda lo, hi: st.floats(lo, hi, allow_nan=False, allow_infinity=False)
    alpha = {"alpha": f(0.5, 5.0)}
    table = {
        "PiecewiseLeakyReLU": {"w": f(0.2, 2.0), "c": f(0.0, 0.1)},
        "QPseudoSpike": {"alpha": f(1.2, 5.0)},
        "S2NN": {"alpha": f(0.5, 5.0), "beta": f(0.2, 2.0)},
        "LeakyKReLU": {"leak": f(0.0, 0.5), "k": f(0.5, 2.0)},
        "FakeNumericalGradient": {"alpha": f(0.1, 1.0)},
        "LogTailedReLU": {"alpha": f(0.0, 0.5)},
        "SquarewaveFourierSeries": {"n": st.integers(1, 3 if float32 else 5),
                                    "T_period": f(4.0 if float32 else 2.0, 16.0)},
    }
    return st.fixed_dictionaries(table.get(name, alpha))


def engine_params(name, params):
    """Parameters in the order the engine takes them."""
    return [float(params[k]) for k in rs.SURROGATES[name].defaults]


def derivative_jumps(name, params):
    """Points where sg' jumps; f32 rounding near them may flip which side is taken."""
    return {
        "Rect": lambda p: [-1 / (2 * p["alpha"]), 1 / (2 * p["alpha"])],
        "PiecewiseLeakyReLU": lambda p: [-p["w"], p["w"]],
        "PiecewiseQuadratic": lambda p: [-1 / p["alpha"], 1 / p["alpha"]],
        "LeakyKReLU": lambda p: [0.0],
        "LogTailedReLU": lambda p: [0.0, 1.0],
        "S2NN": lambda p: [0.0],
        "FakeNumericalGradient": lambda p: [0.0],
    }.get(name, lambda p: [])(params)


@st.composite
def neuron_configs(draw, neuron=None, reset=None, decay_input=None, detach_reset=None, surrogate=None,
                   float32=False):
    """A full neuron configuration (dict) with any unspecified flag drawn."""
    neuron = neuron or draw(st.sampled_from(NEURONS))
    reset = reset or draw(st.sampled_from(RESETS))
    surrogate = surrogate or draw(st.sampled_from(SURROGATE_NAMES))
    f = lambda lo, hi: draw(st.floats(lo, hi, allow_nan=False, allow_infinity=False))
    return {
        "neuron": neuron,
        "v_threshold": f(0.2, 2.0),
        "v_reset": f(-1.0, 0.5) if reset == "hard" else None,
        "tau": f(1.1, 10.0),
        "w": f(-3.0, 3.0),
        "decay_input": draw(st.booleans()) if decay_input is None else decay_input,
        "detach_reset": draw(st.booleans()) if detach_reset is None else detach_reset,
        "surrogate": surrogate,
        "surrogate_params": draw(surrogate_params(surrogate, float32)),
    }


def sequences(max_steps=10, max_neurons=40):
    """(T, N) float64 input arrays with values in [-3, 3]."""
    shapes = st.tuples(st.integers(1, max_steps), st.integers(1, max_neurons))
    return shapes.flatmap(lambda s: hnp.arrays(np.float64, s, elements=st.floats(-3.0, 3.0, width=64)))


def forward_kwargs(cfg):
    keys = ("neuron", "v_threshold", "v_reset", "tau", "w", "decay_input")
    return {k: cfg[k] for k in keys}


def backward_kwargs(cfg):
    return {**forward_kwargs(cfg), "detach_reset": cfg["detach_reset"], "surrogate": cfg["surrogate"],
            "surrogate_params": cfg["surrogate_params"]}


def engine_kwargs(cfg):
    """Keyword arguments for snnrs._engine.neuron_forward."""
    params = {"if": [], "lif": [cfg["tau"]], "plif": [rn.sigmoid(cfg["w"])]}[cfg["neuron"]]
    return {"neuron": cfg["neuron"], "v_threshold": cfg["v_threshold"], "v_reset": cfg["v_reset"],
            "params": params, "decay_input": cfg["decay_input"]}


def engine_backward_kwargs(cfg):
    return {**engine_kwargs(cfg), "detach_reset": cfg["detach_reset"], "surrogate": cfg["surrogate"],
            "surrogate_params": engine_params(cfg["surrogate"], cfg["surrogate_params"])}


def f32_trust_masks(h_ref, cfg, margin=1e-4):
    """Where float32 results can be held to the float64 reference.

    Returns (h_mask, s_mask, neuron_mask): H is trusted up to and including a
    neuron's first step with |H - V_th| <= margin, spikes and V strictly before
    it (a rounding-flipped spike legitimately changes the rest of the
    trajectory); a neuron's gradients are trusted only if no step is that close
    to the threshold or to a jump of sg'.
    """
    near = np.abs(h_ref - cfg["v_threshold"]) <= margin
    for jump in derivative_jumps(cfg["surrogate"], cfg["surrogate_params"]):
        near |= np.abs(h_ref - cfg["v_threshold"] - jump) <= margin
    before = np.cumsum(near, axis=0) - near  # near-steps strictly before t
    h_mask = before == 0
    return h_mask, h_mask & ~near, ~near.any(axis=0)


def assert_close_f32(actual, expected, mask, what, scale_of=None):
    """``scale_of``: the array whose magnitude sets the absolute tolerance (default ``expected``);
    gradients at the initial state take the whole chain's, of which they are the last sum."""
    a, e = np.asarray(actual, np.float64)[mask], np.asarray(expected)[mask]
    e_scale = e if scale_of is None else np.asarray(scale_of)
    # Gradients through hard resets can grow by 1 + |H|·sg' a step and then cancel: float32
    # rounding is then relative to the largest term (~1e3 ulps after 10 steps), not to each value.
    scale = 1.0 + (np.max(np.abs(e_scale)) if e_scale.size else 0.0)
    np.testing.assert_allclose(a, e, rtol=1e-4, atol=1e-4 * scale, err_msg=what)


def assert_close_f64(actual, expected, what):
    np.testing.assert_allclose(actual, expected, rtol=1e-10, atol=1e-10, err_msg=what)


def finite(x):
    return x is None or math.isfinite(x)
