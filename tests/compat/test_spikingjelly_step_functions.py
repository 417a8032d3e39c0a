"""SpikingJelly 2.0's stateless neuron functions (``functional.lif_step``, ``if_multi_step``,
``raf_step``, …) give SpikingJelly's values and gradients (float64, 1e-12) when called with the same
positional arguments — the way SpikingJelly's own neurons and users' functional-style neurons call them."""

import pytest
import torch

import snnrs.functional
import snnrs.surrogate
from tests.compat.sj_sources import spikingjelly

N = 7


def _tensor(seed, shape, scale=2.0, low=-0.4):
    return torch.rand(shape, dtype=torch.float64, generator=torch.Generator().manual_seed(seed)) * scale + low


def _calls(sg):
    """name -> (positional arguments after the tensors, the tensors): every function with the argument
    order of SpikingJelly 2.0."""
    x, xs, v = _tensor(1, (N,), 4.0, -0.5), _tensor(2, (5, N)), _tensor(3, (N,), 0.6, -0.2)
    w, k = torch.tensor(0.3, dtype=torch.float64), torch.tensor(1.2, dtype=torch.float64)
    cur = _tensor(4, (N,), 0.5, 0.0)
    ternary_x = _tensor(5, (N,), 5.0, -2.5)
    return {
        "if_step": ((x, v), (0.8, 0.0, sg, False)),
        "if_multi_step": ((xs, v), (0.8, None, sg, False, True)),
        "lif_step": ((x, v), (2.0, True, 0.7, 0.0, sg, False)),
        "lif_multi_step": ((xs, v), (3.0, False, 0.9, None, sg, True, True)),
        "plif_step": ((x, v, w), (True, 0.6, 0.0, sg, False)),
        "plif_multi_step": ((xs, v, w), (False, 0.9, -0.1, sg, False, True)),
        "qif_step": ((x, v), (2.0, 1.0, 0.0, 0.8, 0.9, -0.1, sg, False)),
        "qif_multi_step": ((xs, v), (2.0, 0.9, -0.1, 0.0, 0.8, 1.0, False, sg, True)),
        "eif_step": ((x, v), (2.0, 1.0, 0.8, 0.0, 0.9, -0.1, sg, False)),
        "eif_multi_step": ((xs, v), (2.0, 0.9, -0.1, 0.0, 0.8, 1.0, False, sg, True)),
        "izhikevich_step": ((_tensor(7, (N,), 6.0, -0.5), v, cur),
                            (2.0, 1.0, -0.1, 0.8, 2.0, 0.1, 0.2, 0.9, 0.0, sg, False)),
        "izhikevich_multi_step": ((xs, v, cur),
                                  (2.0, 0.9, 0.0, -0.1, 0.1, 0.2, 2.0, 0.8, 1.0, False, sg, True)),
        "klif_step": ((x, v, k), (2.0, True, True, 0.5, None, sg, False)),
        "cuba_lif_step": ((x, cur, v), (0.5, 0.75, 0.5, 0.0, sg, False)),
        "liaf_step": ((x, v), (2.0, True, 0.6, 0.0, torch.relu, True, sg, False)),
        "ternary_if_step": ((ternary_x, v), (0.8, None, sg, False)),
        "ternary_lif_step": ((ternary_x, v), (2.0, True, 0.8, 0.0, sg, False)),
        "raf_step": ((x, x, v), (-0.2, 1.0, 1.0, 0.5, 0.0, sg, False)),  # u = x: H depends on u, not X
        "clif_step": ((x, v, cur), (2.0, 0.6, sg)),
    }


NAMES = list(_calls(None))


def _run(functional, name, sg):
    tensors, args = _calls(sg)[name]
    tensors = [t.clone().requires_grad_(True) for t in tensors]
    out = [o for o in getattr(functional, name)(*tensors, *args) if o is not None]
    loss = sum((o * torch.linspace(-1, 1, o.numel(), dtype=o.dtype).reshape(o.shape)).sum() for o in out)
    grads = torch.autograd.grad(loss, tensors, allow_unused=True)
    return [o.detach() for o in out], grads


@pytest.mark.parametrize("name", NAMES)
def test_stateless_neuron_function_gives_spikingjelly_numbers(name):
    sj = spikingjelly()
    theirs_out, theirs_grad = _run(sj.functional, name, sj.surrogate.Sigmoid(alpha=3.0))
    mine_out, mine_grad = _run(snnrs.functional, name, snnrs.surrogate.Sigmoid(alpha=3.0))
    assert theirs_out[0].abs().sum() > 0, "the comparison needs spikes"
    assert len(mine_out) == len(theirs_out)
    for a, b in zip(mine_out, theirs_out, strict=True):
        torch.testing.assert_close(a, b, rtol=1e-12, atol=1e-12)
    for a, b in zip(mine_grad, theirs_grad, strict=True):
        assert (a is None) == (b is None) or (a if b is None else b).abs().max() == 0
        if a is not None and b is not None:
            torch.testing.assert_close(a, b, rtol=1e-12, atol=1e-12)


def test_ilif_functions_give_spikingjelly_numbers():
    sj = spikingjelly()
    x, v = _tensor(6, (5, N), 4.0, -0.5), torch.zeros(N, dtype=torch.float64)
    theirs = sj.functional.ilif_multi_step(x, v, 4 / 3, 1.0, sj.surrogate.MultiLevelSpikeCount(4), False, True)
    mine = snnrs.functional.ilif_multi_step(x, v, 4 / 3, 1.0, snnrs.surrogate.MultiLevelSpikeCount(4), False, True)
    assert (theirs[0] > 1).any()
    for a, b in zip(mine, theirs, strict=True):
        torch.testing.assert_close(a, b, rtol=1e-12, atol=1e-12)
    step_theirs = sj.functional.ilif_step(x[0], v, 4 / 3, 1.0, sj.surrogate.MultiLevelSpikeCount(4))
    step_mine = snnrs.functional.ilif_step(x[0], v, 4 / 3, 1.0, snnrs.surrogate.MultiLevelSpikeCount(4))
    for a, b in zip(step_mine, step_theirs, strict=True):
        torch.testing.assert_close(a, b, rtol=1e-12, atol=1e-12)


def test_reduced_precision_storage_is_refused_with_a_reason():
    with pytest.raises(ValueError, match="neuron_storage"):
        snnrs.functional.lif_multi_step(torch.rand(2, 3), torch.zeros(3), neuron_storage=torch.bfloat16)


def test_queue_and_filter_step_functions_give_spikingjelly_numbers():
    sj = spikingjelly()
    g = torch.Generator().manual_seed(4)
    xs = torch.rand(6, 2, 3, dtype=torch.float64, generator=g) * 2
    weight, bias = torch.rand(3, dtype=torch.float64, generator=g), torch.tensor(-0.6, dtype=torch.float64)
    masked = torch.tril(torch.rand(6, 6, dtype=torch.float64, generator=g))
    biases = torch.rand(6, dtype=torch.float64, generator=g) - 0.8
    sg_sj, sg_us = sj.surrogate.ATan(), snnrs.surrogate.ATan()
    state = {"sj": ((), (), 0, (), torch.zeros(2, 3, dtype=torch.float64)),
             "us": ((), (), 0, (), torch.zeros(2, 3, dtype=torch.float64))}
    fired = 0.0
    for x in xs:
        out = {}
        for key, fn, sg in (("sj", sj.functional, sg_sj), ("us", snnrs.functional, sg_us)):
            delay_q, slide_q, t, mask_q, filt = state[key]
            delayed, delay_q = fn.delay_step(x, delay_q, 2)
            slid, slide_q = fn.sliding_psn_step(x, slide_q, weight, bias, sg)
            masked_spike, t, mask_q = fn.masked_psn_step(x, t, mask_q, masked, biases, 3, sg)
            filt = fn.synapse_filter_step(x, filt, 0.5)
            state[key] = (delay_q, slide_q, t, mask_q, filt)
            out[key] = (delayed, slid, masked_spike, filt)
        for a, b in zip(out["us"], out["sj"], strict=True):
            torch.testing.assert_close(a, b, rtol=1e-12, atol=1e-12)
        fired += float(out["sj"][1].sum() + out["sj"][2].sum())
    assert fired > 0


@pytest.mark.parametrize("v", [0.5, "scalar tensor", "row"])
def test_stateless_functions_take_a_state_that_broadcasts(v):
    """A number or a broadcasting tensor as the voltage is the state itself, as in SpikingJelly (not the rest
    value)."""
    sj = spikingjelly()
    x = _tensor(8, (3, N), 2.0, -0.2)
    value = {"scalar tensor": torch.tensor(0.5, dtype=torch.float64),
             "row": torch.linspace(-0.2, 0.6, N, dtype=torch.float64)}.get(v, v)
    for name, args in (("lif_step", (2.0, True, 0.9, 0.0)), ("if_step", (0.9, None))):
        theirs = getattr(sj.functional, name)(x, value, *args, sj.surrogate.Sigmoid())
        mine = getattr(snnrs.functional, name)(x, value, *args, snnrs.surrogate.Sigmoid())
        for a, b in zip(mine, theirs, strict=True):
            torch.testing.assert_close(a, b, rtol=1e-12, atol=1e-12)
    with pytest.raises(ValueError, match="broadcast"):
        snnrs.functional.if_step(x, torch.zeros(2, dtype=torch.float64), 1.0, 0.0, snnrs.surrogate.Sigmoid())
