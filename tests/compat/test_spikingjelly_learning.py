"""SpikingJelly 2.0.0's plasticity and online-learning API gives its numbers on snnrs: the STDP learner
(Linear, Conv1d, Conv2d; single- and multi-step; weight-dependent ``f_pre``/``f_post``), the stateless STDP
rules, the reward-modulated learners driven as in SpikingJelly's own ``plasticity/mstdp*.py`` examples, and
the OTTT and FPTT training loops — the same weights, traces and gradients (float64, 1e-12)."""

from functools import partial

import pytest
import torch
from torch import nn

import snnrs.functional
import snnrs.layer
import snnrs.learning
import snnrs.neuron
from tests.compat.sj_sources import spikingjelly


def _frameworks():
    sj = spikingjelly()
    return {"sj": sj, "snnrs": snnrs}


def _f_pre(w, w_min=-1.0):
    return (w - w_min) ** 0.5


def _f_post(w, w_max=1.0):
    return (w_max - w) ** 1.5


SYNAPSES = {
    "linear": (lambda fw: fw.layer.Linear(6, 4, bias=False), (6, 3, 6)),
    "conv1d": (lambda fw: fw.layer.Conv1d(2, 3, 3, stride=2, bias=False), (6, 2, 2, 9)),
    "conv2d": (lambda fw: fw.layer.Conv2d(2, 3, 3, bias=False), (6, 2, 2, 6, 6)),
    "conv2d circular padding": (lambda fw: fw.layer.Conv2d(2, 3, 3, padding=1, padding_mode="circular", bias=False),
                                (6, 2, 2, 6, 6)),
    "conv1d reflect padding": (lambda fw: fw.layer.Conv1d(2, 3, 3, padding=1, padding_mode="reflect", bias=False),
                               (6, 2, 2, 9)),
}


@pytest.mark.parametrize("synapse", list(SYNAPSES))
@pytest.mark.parametrize("step_mode", ["s", "m"])
def test_stdp_learner_gives_spikingjellys_weight_change(synapse, step_mode):
    build, shape = SYNAPSES[synapse]
    x = (torch.rand(shape, dtype=torch.float64, generator=torch.Generator().manual_seed(0)) > 0.5).double()
    deltas = []
    for fw in _frameworks().values():
        torch.manual_seed(0)
        syn = build(fw).double()
        nn.init.uniform_(syn.weight, -0.5, 0.8)
        sn = fw.neuron.IFNode(v_threshold=0.4)
        fw.functional.set_step_mode(nn.Sequential(syn, sn), step_mode)
        learner = fw.learning.STDPLearner(step_mode, syn, sn, 2.0, 3.0, f_pre=_f_pre, f_post=_f_post)
        with torch.no_grad():
            if step_mode == "m":
                sn(syn(x))
            else:
                for x_t in x:
                    sn(syn(x_t))
        learner.step(on_grad=True)
        deltas.append(-syn.weight.grad)
    assert deltas[0].abs().sum() > 0
    torch.testing.assert_close(deltas[1], deltas[0], rtol=1e-12, atol=1e-12)


def test_stateless_stdp_rules_are_spikingjellys():
    sj = spikingjelly()
    g = torch.Generator().manual_seed(1)

    def spikes(*shape):
        return (torch.rand(shape, dtype=torch.float64, generator=g) > 0.5).double()

    cases = {
        "stdp_linear_step": (spikes(3, 5), spikes(3, 4), torch.rand(4, 5, dtype=torch.float64), {}),
        "stdp_conv1d_step": (spikes(2, 2, 9), spikes(2, 3, 4), torch.rand(3, 2, 3, dtype=torch.float64),
                             {"stride": (2,)}),
        "stdp_conv2d_step": (spikes(2, 2, 6, 6), spikes(2, 3, 4, 4), torch.rand(3, 2, 3, 3, dtype=torch.float64),
                             {"stride": (1, 1)}),
        "mstdp_linear_step": (spikes(3, 5), spikes(3, 4), torch.rand(4, 5, dtype=torch.float64), {}),
        "mstdpet_linear_step": (spikes(5), spikes(4), torch.rand(4, 5, dtype=torch.float64), {}),
    }
    for name, (pre, post, w, extra) in cases.items():
        trace = (torch.rand_like(pre), torch.rand_like(post))
        kw = dict(tau_pre=2.0, tau_post=3.0, f_pre=_f_pre, f_post=_f_post, **extra)
        theirs = getattr(sj.functional, name)(pre, post, trace, w, **kw)
        mine = getattr(snnrs.functional, name)(pre, post, trace, w, **kw)
        torch.testing.assert_close(mine[0], theirs[0], rtol=1e-12, atol=1e-12, msg=name)
        for a, b in zip(mine[1], theirs[1], strict=True):
            torch.testing.assert_close(a, b, rtol=1e-12, atol=1e-12, msg=name)
    eligibility, trace_e = torch.rand(4, 5, dtype=torch.float64), torch.rand(4, 5, dtype=torch.float64)
    for a, b in zip(snnrs.functional.mstdpet_reward_step(0.7, eligibility, trace_e, tau_trace=4.0),
                    sj.functional.mstdpet_reward_step(0.7, eligibility, trace_e, tau_trace=4.0), strict=True):
        torch.testing.assert_close(a, b, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("learner", ["MSTDPLearner", "MSTDPETLearner"])
def test_reward_modulated_learners_follow_spikingjellys_example(learner):
    """The loop of SpikingJelly's examples/plasticity/mstdp.py and mstdpet.py, shortened: SGD on the
    learner's gradient, weights clamped, rewards per step."""
    batched = learner == "MSTDPLearner"
    steps, n_in, n_out = 40, 4, 3
    g = torch.Generator().manual_seed(0)
    in_spike = (torch.rand((steps, 2, n_in) if batched else (steps, n_in), generator=g) > 0.7).double()
    reward = (torch.rand((steps, 2) if batched else (steps,), generator=g) * 2 - 1).double()
    histories = []
    for fw in _frameworks().values():
        net = nn.Sequential(fw.layer.Linear(n_in, n_out, bias=False), fw.neuron.IFNode(v_threshold=0.5)).double()
        nn.init.constant_(net[0].weight, 0.4)
        optimizer = torch.optim.SGD(net.parameters(), lr=0.05)
        kwargs = dict(step_mode="s", synapse=net[0], sn=net[1], tau_pre=5.0, tau_post=4.0,
                      f_pre=partial(_f_pre, w_min=-1.0), f_post=partial(_f_post, w_max=1.0))
        if not batched:
            kwargs["tau_trace"] = 3.0
        rule = getattr(fw.learning, learner)(**kwargs)
        history = []
        with torch.no_grad():
            for t in range(steps):
                optimizer.zero_grad()
                net(in_spike[t])
                rule.step(reward[t], on_grad=True)
                optimizer.step()
                net[0].weight.clamp_(-1.0, 1.0)
                history.append((net[0].weight.clone(), rule.trace_pre.clone(), rule.trace_post.clone()))
        histories.append(history)
    assert not torch.equal(histories[0][-1][0], torch.full_like(histories[0][-1][0], 0.4)), "the weights learned"
    for (w_sj, pre_sj, post_sj), (w_us, pre_us, post_us) in zip(*histories, strict=True):
        torch.testing.assert_close(w_us, w_sj, rtol=1e-12, atol=1e-12)
        torch.testing.assert_close(pre_us, pre_sj, rtol=1e-12, atol=1e-12)
        torch.testing.assert_close(post_us, post_sj, rtol=1e-12, atol=1e-12)


def _online_net(fw, neuron):
    torch.manual_seed(0)
    return nn.Sequential(fw.layer.Linear(5, 8), getattr(fw.neuron, neuron)(v_threshold=0.3), fw.layer.Linear(8, 3)
                         ).double()


@pytest.mark.parametrize("online", [True, False])
def test_ottt_online_training_gives_spikingjellys_model(online):
    x = torch.rand(4, 6, 5, dtype=torch.float64, generator=torch.Generator().manual_seed(2))  # [N, T, ...]
    target = torch.rand(4, 6, 3, dtype=torch.float64, generator=torch.Generator().manual_seed(3))
    results = []
    for fw in _frameworks().values():
        net = _online_net(fw, "OTTTLIFNode")
        seq = fw.layer.OTTTSequential(*net)
        optimizer = torch.optim.SGD(seq.parameters(), lr=0.1)
        loss, y = fw.learning.online_learning.ottt_online_training(seq, optimizer, x, target, nn.functional.mse_loss,
                                                                   online)
        fw.functional.reset_net(seq)
        results.append((loss, y, [p.detach().clone() for p in seq.parameters()]))
    torch.testing.assert_close(results[1][0], results[0][0], rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(results[1][1], results[0][1], rtol=1e-12, atol=1e-12)
    for a, b in zip(results[1][2], results[0][2], strict=True):
        torch.testing.assert_close(a, b, rtol=1e-12, atol=1e-12)


def test_fptt_online_training_gives_spikingjellys_model_and_running_average():
    x = torch.rand(6, 4, 5, dtype=torch.float64, generator=torch.Generator().manual_seed(2))  # [T, N, ...]
    target = torch.rand(6, 4, 3, dtype=torch.float64, generator=torch.Generator().manual_seed(3))
    results = []
    for fw in _frameworks().values():
        net = _online_net(fw, "LIFNode")
        optimizer = torch.optim.SGD(net.parameters(), lr=0.1)
        w_ra = fw.learning.online_learning.fptt_online_training_init_w_ra(optimizer)
        fw.learning.online_learning.fptt_online_training(net, optimizer, x, target, nn.functional.mse_loss, 0.5, w_ra)
        results.append(([p.detach().clone() for p in net.parameters()], w_ra))
    for a, b in zip(results[1][0] + results[1][1], results[0][0] + results[0][1], strict=True):
        torch.testing.assert_close(a, b, rtol=1e-12, atol=1e-12)


def test_reward_learner_refuses_several_recorded_steps():
    net = nn.Sequential(snnrs.layer.Linear(3, 2), snnrs.neuron.IFNode())
    rule = snnrs.learning.MSTDPLearner("s", net[0], net[1], 2.0, 2.0)
    net(torch.rand(1, 3))
    net(torch.rand(1, 3))
    with pytest.raises(RuntimeError, match="one network step"):
        rule.step(1.0)


def test_stdp_step_with_nothing_recorded_returns_none_and_leaves_the_gradient_alone():
    syn, sn = snnrs.layer.Linear(3, 2, bias=False), snnrs.neuron.IFNode()
    learner = snnrs.learning.STDPLearner("s", syn, sn, 2.0, 2.0)
    assert learner.step() is None and syn.weight.grad is None


def test_a_bad_reward_leaves_the_reward_learner_as_it_was():
    net = torch.nn.Sequential(snnrs.layer.Linear(3, 2), snnrs.neuron.IFNode(v_threshold=0.1))
    rule = snnrs.learning.MSTDPLearner("s", net[0], net[1], 2.0, 2.0)
    net(torch.ones(4, 3))
    with pytest.raises(ValueError, match="reward"):
        rule.step(torch.ones(3))
    assert len(rule.in_spikes) == 1 and rule.trace_pre is None
    assert rule.step(torch.ones(4)) is not None
