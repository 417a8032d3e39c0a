"""Spiking LSTM, GRU and vanilla RNN layers (``snnrs.rnn``) give SpikingJelly 2.0.0's numbers: one and two
layers, one and two directions, dropout between layers (the same draws for the same seed, per step or
invariant), a second surrogate for the candidate gate, given initial states — outputs, final states, input
and parameter gradients (float64, 1e-12)."""

import pytest
import torch

import snnrs.rnn
import snnrs.surrogate
from tests.compat.sj_sources import spikingjelly

CASES = {
    "lstm": dict(cls="SpikingLSTM", kw=dict(num_layers=1)),
    "lstm 2 layers, bidirectional, dropout": dict(cls="SpikingLSTM", kw=dict(num_layers=2, bidirectional=True,
                                                                            dropout_p=0.3)),
    "lstm invariant dropout, second surrogate": dict(cls="SpikingLSTM", kw=dict(num_layers=3, dropout_p=0.3,
                                                                               invariant_dropout_mask=True),
                                                     second=True),
    "gru 2 layers, bidirectional": dict(cls="SpikingGRU", kw=dict(num_layers=2, bidirectional=True), second=True),
    "vanilla 2 layers": dict(cls="SpikingVanillaRNN", kw=dict(num_layers=2)),
}


def _build(rnn, sg, name):
    case = CASES[name]
    kw = dict(case["kw"])
    if case.get("second"):
        kw["surrogate_function2"] = sg.ATan(alpha=1.5)
    return getattr(rnn, case["cls"])(5, 6, **kw).double()


@pytest.mark.parametrize("name", list(CASES))
@pytest.mark.parametrize("given_states", [False, True])
def test_spiking_rnn_gives_spikingjelly_numbers(name, given_states):
    sj = spikingjelly()
    x = torch.rand(7, 3, 5, dtype=torch.float64, generator=torch.Generator().manual_seed(0)) * 2 - 0.5
    results = []
    for rnn, sg in ((sj_rnn(sj), sj.surrogate), (snnrs.rnn, snnrs.surrogate)):
        torch.manual_seed(0)
        net = _build(rnn, sg, name)
        states = None
        if given_states:
            count = net.states_num()
            layers = net.num_layers * (2 if net.bidirectional else 1)
            init = torch.rand(count, layers, 3, 6, dtype=torch.float64, generator=torch.Generator().manual_seed(1))
            states = tuple(init) if count > 1 else init[0]
        torch.manual_seed(2)  # the same dropout draws
        xi = x.clone().requires_grad_(True)
        y, final = net(xi, states)
        finals = list(final) if isinstance(final, tuple) else [final]
        weights = torch.linspace(-1, 1, y.numel(), dtype=y.dtype).reshape(y.shape)
        ((y * weights).sum() + sum(f.sum() for f in finals)).backward()
        results.append((y.detach(), [f.detach() for f in finals], xi.grad, [p.grad for p in net.parameters()]))
    (y_sj, f_sj, g_sj, p_sj), (y_us, f_us, g_us, p_us) = results
    assert (y_sj != 0).any() and g_sj.abs().sum() > 0
    torch.testing.assert_close(y_us, y_sj, rtol=1e-12, atol=1e-12)
    for a, b in zip(f_us + [g_us] + p_us, f_sj + [g_sj] + p_sj, strict=True):
        torch.testing.assert_close(a, b, rtol=1e-12, atol=1e-12)


def sj_rnn(sj):
    import importlib
    return importlib.import_module("spikingjelly.activation_based.rnn")


def test_bad_initial_states_are_a_clear_error():
    net = snnrs.rnn.SpikingGRU(4, 5, 2)
    with pytest.raises(ValueError, match="states"):
        net(torch.rand(3, 2, 4), torch.zeros(1, 2, 5))
