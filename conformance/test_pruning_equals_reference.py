"""Grad R and LATS (snnrs.pruning) equal reference/pruning.py; the check values of
docs/semantics.md#lats."""


import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from reference import pruning as ref
from snnrs import pruning


def test_spec_check_values():
    assert ref.slats_threshold(1.0, 0.5) == pytest.approx(0.8183, abs=5e-5)
    assert ref.pgh_threshold(1.0, 0.5, 10.0) == pytest.approx(0.644038, abs=5e-7)
    s = pruning.SLATSSchedule(2.0, 10)
    p = pruning.PGHSchedule(2.0, 10, beta=10.0)
    for _ in range(5):
        s.step()
        p.step()
    assert s.value == pytest.approx(2 * 0.8183, abs=1e-4) and p.value == pytest.approx(2 * 0.644038, abs=1e-6)


def test_pgh_integral_equals_numerical_quadrature():
    for beta in (0.5, 1.0, 3.0, 10.0):
        for x in (0.1, 0.5, 0.9):
            u = np.linspace(0, x, 20001)
            f = beta ** u * (1 + np.cos(np.pi * u))
            numeric = np.sum((f[1:] + f[:-1]) / 2 * np.diff(u))
            u1 = np.linspace(0, 1, 20001)
            f1 = beta ** u1 * (1 + np.cos(np.pi * u1))
            whole = np.sum((f1[1:] + f1[:-1]) / 2 * np.diff(u1))
            assert ref.pgh_threshold(1.0, x, beta) == pytest.approx(numeric / whole, rel=1e-7)


@given(st.lists(st.floats(1e-4, 1.0), min_size=1, max_size=20), st.floats(0.0, 3.0))
def test_lats_schedule_equals_reference(lrs, D):
    schedule = pruning.LATSSchedule(D, lrs)
    for t in range(len(lrs) + 1):
        assert schedule.value == pytest.approx(ref.lats_threshold(D, lrs, t), rel=1e-12, abs=1e-15)
        schedule.step()


@given(seed=st.integers(0, 2**31 - 1), steps=st.integers(1, 6), target=st.floats(0.5, 0.99))
def test_grad_r_optimizer_equals_reference(seed, steps, target):
    rng = np.random.default_rng(seed)
    w0 = rng.normal(size=(3, 4))
    w = torch.nn.Parameter(torch.tensor(w0))
    opt = pruning.GradR([w], lr=0.05, alpha=0.02, target_sparsity=target)
    theta, s, m, v = np.abs(w0), np.sign(w0), np.zeros_like(w0), np.zeros_like(w0)
    for t in range(1, steps + 1):
        grad = rng.normal(size=w0.shape)
        w.grad = torch.tensor(grad)
        opt.step()
        theta, m, v, expected = ref.grad_r_step(theta, s, m, v, grad, t, lr=0.05, alpha=0.02, target_sparsity=target)
        np.testing.assert_allclose(w.detach().numpy(), expected, rtol=1e-12, atol=1e-14)
    assert (np.sign(w.detach().numpy()) * s >= 0).all()  # signs never flip: pruned weights are exactly 0


def test_soft_threshold_values_and_straight_through_gradient():
    layer = torch.nn.Linear(4, 3, bias=False)
    schedule = pruning.SLATSSchedule(0.3, 4)
    for _ in range(4):
        schedule.step()  # d = 0.3
    pruning.apply_soft_threshold(layer, schedule)
    theta = layer.parametrizations.weight.original
    np.testing.assert_allclose(layer.weight.detach().numpy(), ref.soft_threshold(theta.detach().numpy(), 0.3),
                               rtol=1e-6, atol=1e-7)
    x = torch.rand(2, 4)
    layer(x).sum().backward()
    torch.testing.assert_close(theta.grad, x.sum(0).expand(3, 4))  # ∂L/∂θ = ∂L/∂w
    report = pruning.sparsity(layer)
    assert report["total"] == pytest.approx(float((layer.weight == 0).float().mean()))


def test_bad_arguments():
    with pytest.raises(ValueError, match="target_sparsity"):
        pruning.GradR([torch.nn.Parameter(torch.ones(2))], target_sparsity=0.3)
    with pytest.raises(ValueError, match="total_steps"):
        pruning.SLATSSchedule(1.0, 0)
    with pytest.raises(ValueError, match="lrs"):
        pruning.LATSSchedule(1.0, [0.0, 0.0])
