"""Laws of the surrogates: sg' is the derivative of g; engine and torch equal the reference."""

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from conformance.cases import SURROGATE_NAMES, derivative_jumps, engine_params, surrogate_params
from reference import surrogate as rs
from snnrs import _engine
from snnrs import surrogate as ts

WITH_PRIMITIVE = [n for n in SURROGATE_NAMES if rs.SURROGATES[n].primitive is not None]
GRID = np.linspace(-3.0, 3.0, 601)


def _away_from_jumps(name, params, x, width=1e-3):
    keep = np.ones_like(x, dtype=bool)
    for j in derivative_jumps(name, params) + ([0.0] if name in ("S2NN", "PiecewiseExp", "QPseudoSpike") else []):
        keep &= np.abs(x - j) > width
    return x[keep]


@pytest.mark.parametrize("name", WITH_PRIMITIVE)
@given(data=st.data())
def test_every_derivative_equals_finite_difference_of_its_primitive(name, data):
    params = data.draw(surrogate_params(name))
    x = _away_from_jumps(name, params, GRID + 1e-4)
    h = 1e-6
    numeric = (rs.primitive(name, x + h, **params) - rs.primitive(name, x - h, **params)) / (2 * h)
    # S2NN's published sg' omits the 1e-5 inside its log: relative 1e-5 apart by definition.
    rtol = 3e-5 if name == "S2NN" else 1e-6
    np.testing.assert_allclose(rs.derivative(name, x, **params), numeric, rtol=rtol, atol=1e-6)


@pytest.mark.parametrize("name", SURROGATE_NAMES)
@given(data=st.data())
def test_engine_derivative_equals_reference(name, data):
    params = data.draw(surrogate_params(name))
    x = np.concatenate([GRID, data.draw(st.lists(st.floats(-5, 5), min_size=1, max_size=20))])
    got = _engine.surrogate_derivative(name, engine_params(name, params), x)
    np.testing.assert_allclose(got, rs.derivative(name, x, **params), rtol=1e-12, atol=1e-12)


def _torch_surrogate(name, params, spiking):
    return getattr(ts, name)(**params, spiking=spiking)


@pytest.mark.parametrize("name", SURROGATE_NAMES)
@given(data=st.data())
def test_torch_surrogate_equals_reference(name, data):
    params = data.draw(surrogate_params(name))
    x = torch.tensor(GRID, dtype=torch.float64, requires_grad=True)
    spike = _torch_surrogate(name, params, True)(x)
    np.testing.assert_array_equal(spike.detach().numpy(), rs.heaviside(GRID))
    spike.backward(torch.ones_like(x))
    np.testing.assert_allclose(x.grad.numpy(), rs.derivative(name, GRID, **params), rtol=1e-12, atol=1e-12)
    if rs.SURROGATES[name].primitive is not None:
        smooth = _torch_surrogate(name, params, False)(x.detach())
        np.testing.assert_allclose(smooth.numpy(), rs.primitive(name, GRID, **params), rtol=1e-12, atol=1e-12)
    else:
        with pytest.raises(ValueError, match="primitive"):
            _torch_surrogate(name, params, False)
