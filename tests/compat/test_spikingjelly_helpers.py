"""SpikingJelly 2.0.0's helpers — functional, containers, encoders, base — called as SpikingJelly
code calls them give SpikingJelly's results; its CUDA backend names run snnrs's engine with a warning."""

import warnings

import pytest
import torch
from torch import nn

from snnrs import base, encoding, functional, layer, neuron
from tests.compat.sj_sources import spikingjelly


def _gen(seed):
    return torch.Generator().manual_seed(seed)


def test_loss_and_label_helpers_match():
    sj = spikingjelly().functional
    x, t = torch.randn(5, 4, 10, generator=_gen(0)), torch.randint(0, 10, (4,), generator=_gen(1))
    torch.testing.assert_close(functional.temporal_efficient_training_cross_entropy(x, t),
                               sj.temporal_efficient_training_cross_entropy(x, t))
    x2, t2 = torch.randn(5, 4, 10, 3, generator=_gen(2)), torch.randint(0, 10, (4, 3), generator=_gen(3))
    torch.testing.assert_close(functional.temporal_efficient_training_cross_entropy(x2, t2),
                               sj.temporal_efficient_training_cross_entropy(x2, t2))
    spikes = (torch.rand(6, 3, 4, generator=_gen(4)) > 0.5).float()
    labels = nn.functional.one_hot(torch.tensor([0, 1, 0, 2, 1, 0]), 3)
    for kernel, args in (("linear", ()), ("polynomial", (2,)), ("sigmoid", (0.5,)), ("gaussian", (1.5,))):
        for loss in ("mse", "l1"):
            torch.testing.assert_close(functional.spike_similar_loss(spikes, labels, kernel, loss, *args),
                                       sj.spike_similar_loss(spikes, labels, kernel, loss, *args))
    assert torch.equal(functional.redundant_one_hot(t, 10, 3), sj.redundant_one_hot(t, 10, 3))


def test_charge_and_reset_functions_match():
    sj = spikingjelly().functional
    x, v = torch.randn(3, 4, dtype=torch.float64, generator=_gen(20)), torch.randn(3, 4, dtype=torch.float64,
                                                                                   generator=_gen(21))
    spike = (torch.rand(3, 4, generator=_gen(22)) > 0.5).double()
    for decay_input in (True, False):
        for v_reset in (None, 0.0, -0.2):
            assert torch.equal(functional.lif_charge(x, v, 2.5, decay_input, v_reset),
                               sj.lif_charge(x, v, 2.5, decay_input, v_reset))
            assert torch.equal(functional.voltage_reset(v, spike, 1.0, v_reset, decay_input),
                               sj.voltage_reset(v, spike, 1.0, v_reset, decay_input))


def test_time_helpers_match():
    sj = spikingjelly().functional
    x = torch.randn(5, 4, 3, generator=_gen(5))
    for steps in (0, 1, 3, 5, 7):
        assert torch.equal(functional.delay(x, steps), sj.delay(x, steps))
    spikes = (torch.rand(4, 6, generator=_gen(6)) > 0.6).float()  # [N, T]: SpikingJelly puts time last
    assert torch.equal(functional.first_spike_index(spikes), sj.first_spike_index(spikes))
    torch.testing.assert_close(functional.t_last_multi_step_forward(x.movedim(0, -1), lambda v: v * 2),
                               sj.t_last_multi_step_forward(x.movedim(0, -1), lambda v: v * 2))
    x4 = torch.randn(2, 3, 3, 5, generator=_gen(7))  # [N, C, L, T]
    conv = nn.Conv1d(3, 2, 1)
    torch.testing.assert_close(functional.t_last_seq_to_ann_forward(x4, conv), sj.t_last_seq_to_ann_forward(x4, conv))
    lif, sj_lif = neuron.LIFNode(step_mode="m"), spikingjelly().neuron.LIFNode(step_mode="m")
    assert torch.equal(functional.chunk_multi_step_forward(2, x * 3, lif),
                       sj.chunk_multi_step_forward(2, x * 3, sj_lif))


def test_seq_to_ann_forward_takes_tuples_and_max_unpool_runs_multi_step():
    sj = spikingjelly()
    x, y = torch.randn(3, 2, 4, generator=_gen(8)), torch.randn(3, 2, 4, generator=_gen(9))
    out = functional.seq_to_ann_forward((x, y), torch.add)
    torch.testing.assert_close(out, sj.functional.seq_to_ann_forward((x, y), torch.add))
    pool, unpool = layer.MaxPool2d(2, return_indices=True, step_mode="m"), layer.MaxUnpool2d(2, step_mode="m")
    sj_unpool = sj.layer.MaxUnpool2d(2, step_mode="m")
    images = torch.randn(3, 2, 1, 4, 4, generator=_gen(10))
    values, where = pool(images)
    assert torch.equal(unpool(values, where), sj_unpool(values, where))


def test_step_mode_container_takes_spikingjellys_signature():
    sj = spikingjelly().layer
    conv = nn.Conv2d(1, 2, 3, padding=1)
    ours, theirs = layer.StepModeContainer(False, "m", conv), sj.StepModeContainer(False, "m", conv)
    x = torch.randn(3, 2, 1, 5, 5, generator=_gen(11))
    assert ours.step_mode == "m" and torch.equal(ours(x), theirs(x))
    assert layer.StepModeContainer(True, conv, step_mode="m").step_mode == "m"  # snnrs's keyword form
    with pytest.raises(TypeError, match="step_mode"):
        layer.StepModeContainer(True, "m", conv, step_mode="s")


def test_population_encoders_match():
    sj = spikingjelly().encoding
    obs = torch.randn(4, 3, generator=_gen(12))
    for name in ("PopEncoder", "PopSpikeEncoderDeterministic", "PopSpikeEncoderRandom"):
        theirs, mine = getattr(sj, name)(3, 5, 4, (-1, 1), 0.5), getattr(encoding, name)(3, 5, 4, (-1, 1), 0.5)
        mine.load_state_dict(theirs.state_dict(), strict=True)
        torch.manual_seed(0)
        expected = theirs(obs)
        torch.manual_seed(0)
        assert torch.equal(mine(obs), expected), name


def test_single_step_store_v_seq_accumulates_like_spikingjelly():
    sj = spikingjelly().neuron
    for backend in ("engine", "torch"):
        theirs, mine = sj.LIFNode(store_v_seq=True), neuron.LIFNode(store_v_seq=True, backend=backend)
        for step in torch.rand(4, 2, 3, generator=_gen(13)) * 2:
            theirs(step), mine(step)
        assert mine.v_seq.shape == theirs.v_seq.shape == (4, 2, 3)
        assert torch.equal(mine.v_seq, theirs.v_seq)
        mine.reset()
        assert mine.v_seq is None


def test_memory_helpers_match():
    sj = spikingjelly()
    nets = [nn.Sequential(layer.Linear(3, 4), neuron.LIFNode(), neuron.IzhikevichNode()),
            nn.Sequential(sj.layer.Linear(3, 4), sj.neuron.LIFNode(), sj.neuron.IzhikevichNode())]
    x = torch.rand(2, 3, generator=_gen(14))
    for net in nets:
        net(x)
    ours, theirs = base.extract_memories(nets[0]), sj.base.extract_memories(nets[1])
    assert [n for n, _ in base.named_memories(nets[0])] == [n for n, _ in sj.base.named_memories(nets[1])] == [
        "1.v", "2.v", "2.w"]
    base.load_memories(nets[0], [m * 0 if isinstance(m, torch.Tensor) else m for m in ours])
    assert all(not isinstance(m, torch.Tensor) or m.abs().sum() == 0 for m in base.memories(nets[0]))
    assert len(theirs) == len(ours) == 3
    assert base.MultiStepModule().supported_step_mode() == ("m",)
    assert base.SingleStepModule().supported_step_mode() == ("s",)


@pytest.mark.parametrize("backend", ["cupy", "triton"])
def test_spikingjelly_cuda_backends_run_the_engine_with_one_warning(backend):
    from snnrs import base as snnrs_base
    snnrs_base._warned_backends.clear()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        node = neuron.LIFNode(backend=backend)
        neuron.LIFNode(backend=backend)
    assert node.backend == "engine"
    assert len([w for w in caught if backend in str(w.message)]) == 1
    net = nn.Sequential(neuron.IFNode(), neuron.ParametricLIFNode())
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert functional.set_backend(net, backend) == 2
    assert {m.backend for m in net} == {"engine"}


@pytest.mark.parametrize("name", ["LIFNode", "IzhikevichNode", "CUBALIFNode"])
def test_functional_step_takes_every_state_and_leaves_the_module_alone(name):
    sj = spikingjelly().neuron
    theirs, mine = getattr(sj, name)().double(), getattr(neuron, name)().double()
    x = torch.rand(2, 3, dtype=torch.float64, generator=_gen(15)) * 2
    states = tuple(torch.rand(2, 3, dtype=torch.float64, generator=_gen(16 + i)) * 0.5
                   for i in range(len(list(theirs.named_memories()))))
    before = [value for _, value in base.named_memories(mine)]
    (sj_out,), sj_states = theirs.single_step_functional_forward((x,), states)
    (our_out,), our_states = mine.single_step_functional_forward((x,), states)
    assert torch.equal(our_out, sj_out)
    assert len(our_states) == len(sj_states) == len(states)
    for a, b in zip(our_states, sj_states, strict=True):
        torch.testing.assert_close(a, b, rtol=1e-15, atol=1e-15)
    assert [value for _, value in base.named_memories(mine)] == before


class _Accumulator(nn.Module):
    """A user's own stateful module with a reset(), not a MemoryModule (as SpikingJelly users write them)."""

    def __init__(self):
        super().__init__()
        self.total = 0.0

    def forward(self, x):
        self.total = self.total + x
        return self.total

    def reset(self):
        self.total = 0.0


def test_reset_net_resets_every_module_with_a_reset_as_spikingjelly_does():
    sj = spikingjelly()
    outputs = []
    for reset_net in (sj.functional.reset_net, functional.reset_net):
        # a user's module and SpikingJelly's own neuron in an snnrs net
        net = nn.Sequential(nn.Linear(3, 4), _Accumulator(), sj.neuron.LIFNode(), neuron.IFNode())
        nn.init.constant_(net[0].weight, 0.5)
        nn.init.zeros_(net[0].bias)
        x = torch.full((2, 3), 2.0)
        net(x)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            reset_net(net)
        out = net(x)
        outputs.append(torch.cat([out.flatten(), net[1].total.flatten(), net[2].v.flatten(), net[3].v.flatten()]))
    assert outputs[0][:8].sum() > 0  # the second batch spikes: "equal" is not vacuous
    torch.testing.assert_close(outputs[1], outputs[0])
    with pytest.warns(UserWarning, match="_Accumulator is not a snnrs MemoryModule but defines reset"):
        functional._WARNED_RESETS.discard(_Accumulator)
        functional.reset_net(_Accumulator())


def test_reset_net_of_a_compiled_net_resets_each_neuron_once_without_a_warning():
    calls = []

    class Counted(neuron.IFNode):
        def reset(self):
            calls.append(self)
            super().reset()

    node = Counted()
    # an OptimizedModule forwards `reset` to the neuron and holds it as a submodule
    net = nn.Sequential(nn.Linear(3, 4), torch.compile(node))
    node(torch.rand(2, 4))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        functional.reset_net(net)
    assert calls == [node] and node.v == 0.0


def test_reset_net_inside_a_modules_own_reset_does_not_recurse():
    class ResetsItsChildren(nn.Module):
        def __init__(self):
            super().__init__()
            self.lif = neuron.LIFNode()

        def reset(self):  # a common pattern: reset = reset_net over itself
            functional.reset_net(self)

    net = ResetsItsChildren()
    net.lif(torch.full((3,), 0.6))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        functional.reset_net(nn.Sequential(net))
    assert net.lif.v == 0.0
