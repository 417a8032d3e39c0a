"""The reference against values worked out by hand (independent of any code) from
docs/semantics.md#charge-rules, docs/semantics.md#firing, docs/semantics.md#bptt and
docs/semantics.md#surrogates."""

import math

import numpy as np

from reference import neuron as rn
from reference import surrogate as rs


def test_lif_trace_by_hand():
    # tau = 2, decay_input, hard reset to 0, V_th = 1, constant input 1.5:
    # H0 = 0 + (1.5 - 0)/2 = 0.75 (no spike); H1 = 0.75 + (1.5 - 0.75)/2 = 1.125 (spike, V = 0);
    # H2 = 0.75 again.
    out = rn.multistep_forward(np.full((3, 1), 1.5), neuron="lif", tau=2.0)
    np.testing.assert_array_equal(out["h_seq"][:, 0], [0.75, 1.125, 0.75])
    np.testing.assert_array_equal(out["spikes"][:, 0], [0, 1, 0])
    np.testing.assert_array_equal(out["v_seq"][:, 0], [0.75, 0.0, 0.75])


def test_threshold_is_inclusive_and_soft_reset_subtracts():
    out = rn.multistep_forward(np.array([[1.0], [0.25]]), neuron="if", v_reset=None)
    np.testing.assert_array_equal(out["spikes"][:, 0], [1, 0])  # H = 1.0 >= V_th fires
    np.testing.assert_array_equal(out["v_seq"][:, 0], [0.0, 0.25])


def test_lif_without_decay_input_and_plif_initial_tau():
    out = rn.multistep_forward(np.array([[0.5]]), np.array([0.4]), neuron="lif", tau=4.0, decay_input=False,
                               v_reset=-0.2)
    assert out["h_seq"][0, 0] == 0.4 - (0.4 + 0.2) / 4.0 + 0.5
    w = -math.log(2.0 - 1.0)  # init_tau = 2 gives k = 1/2
    assert rn.sigmoid(w) == 0.5


def test_if_bptt_by_hand():
    # IF, one step, no spike: H = V0 + X, S = Θ(H - 1). With ATan(α=2): sg'(h-1) = 1/(1 + (π(h-1))²).
    x, v0 = np.array([[0.3]]), np.array([0.2])
    g = rn.multistep_backward(x, v0, np.array([[1.0]]), neuron="if", surrogate="ATan")
    sgp = 1.0 / (1.0 + (math.pi * (0.5 - 1.0)) ** 2)
    # gH = gS·sg' + 0 (no later step, no gV); gX = gH; g_v0 = gH.
    assert math.isclose(g["grad_x"][0, 0], sgp, rel_tol=1e-15)
    assert math.isclose(g["grad_v_init"][0], sgp, rel_tol=1e-15)


def test_surrogate_check_values():
    assert rs.derivative("Sigmoid", 0.0) == 1.0  # 4 · 1/2 · 1/2
    assert rs.derivative("ATan", 0.0) == 1.0
    assert math.isclose(rs.derivative("Erf", 0.0), 2 / math.sqrt(math.pi))
    assert rs.derivative("Rect", 0.49) == 1.0 and rs.derivative("Rect", 0.5) == 0.0
    assert rs.primitive("PiecewiseExp", 0.0) == 0.5
