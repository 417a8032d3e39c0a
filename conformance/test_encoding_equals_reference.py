"""The torch encoders equal reference/encoding.py."""

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from reference import encoding as re
from snnrs import encoding

intensities = hnp.arrays(np.float64, st.integers(1, 30), elements=st.floats(0.0, 1.0))


@pytest.mark.parametrize("enc_function", ["linear", "log"])
@given(x=intensities, T=st.integers(1, 12))
def test_latency_equals_reference(enc_function, x, T):
    ref = re.latency(x, T, enc_function)
    multi = encoding.LatencyEncoder(T, enc_function, step_mode="m")(torch.tensor(x))
    np.testing.assert_array_equal(multi.numpy(), ref)
    single = encoding.LatencyEncoder(T, enc_function)
    steps = [single(torch.tensor(x)).numpy() for _ in range(2 * T)]
    np.testing.assert_array_equal(np.stack(steps), np.concatenate([ref, ref]))  # cycles with period T
    assert (ref.sum(axis=0) == 1).all()


@given(x=hnp.arrays(np.float64, st.integers(1, 30), elements=st.floats(0.0, 1.0)), K=st.integers(1, 10))
def test_weighted_phase_equals_reference_and_decodes(x, K):
    x = np.minimum(x, 1 - 2.0**-K)
    ref = re.weighted_phase(x, K)
    got = encoding.WeightedPhaseEncoder(K, step_mode="m")(torch.tensor(x))
    np.testing.assert_array_equal(got.numpy(), ref)
    assert (np.abs(re.weighted_phase_decode(ref) - x) < 2.0**-K).all()


@given(seed=st.integers(0, 2**31 - 1), x=intensities)
def test_poisson_equals_reference_given_the_same_draws(seed, x):
    xt = torch.tensor(x)
    torch.manual_seed(seed)
    uniform = torch.rand_like(xt)
    torch.manual_seed(seed)
    np.testing.assert_array_equal(encoding.PoissonEncoder()(xt).numpy(), re.poisson(x, uniform.numpy()))


def test_poisson_rate_matches_intensity():
    torch.manual_seed(0)
    x = torch.linspace(0, 1, 11)
    rate = torch.stack([encoding.PoissonEncoder()(x) for _ in range(4000)]).mean(0)
    assert torch.allclose(rate, x, atol=0.03)


def test_periodic_encoder_cycles_and_encoders_reject_bad_input():
    pattern = torch.tensor([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])
    enc = encoding.PeriodicEncoder(pattern)
    assert torch.equal(torch.stack([enc(None) for _ in range(6)]), torch.cat([pattern, pattern]))
    with pytest.raises(ValueError, match="x: expected intensities"):
        encoding.PoissonEncoder()(torch.tensor([1.5]))
    with pytest.raises(ValueError, match="T: expected an integer"):
        encoding.LatencyEncoder(0)
    with pytest.raises(ValueError, match="enc_function"):
        encoding.LatencyEncoder(4, "cubic")
    with pytest.raises(ValueError, match="x: expected intensities in \\[0, 0.875\\]"):
        encoding.WeightedPhaseEncoder(3)(torch.tensor([0.9]))
