"""Online training through time (OTTT, SLTT) and weight standardisation give SpikingJelly 2.0.0's
numbers outside the model zoo too: evaluation mode, SLTT, the light/heavy classifiers' layers,
WSLinear, per-step backward (the way OTTT is trained), and the single-step-only contract."""

import pytest
import torch

import snnrs.layer
import snnrs.neuron
from tests.compat.sj_sources import spikingjelly


def _mlp(framework, neuron_cls, **kw):
    layer, neuron = framework.layer, framework.neuron
    return layer.OTTTSequential(
        layer.WSLinear(6, 8), getattr(neuron, neuron_cls)(v_threshold=0.3, **kw), layer.Dropout(0.0),
        layer.WSLinear(8, 5, gain=False), getattr(neuron, neuron_cls)(v_threshold=0.2, **kw), layer.Flatten(1),
        layer.Linear(5, 3)).double()


def _online_run(net, x_seq, train=True):
    """Trains the way OTTT does: backward after every step, gradients accumulating."""
    net.train(train)
    outputs = []
    for t, x in enumerate(x_seq):
        y = net(x)
        outputs.append(y.detach())
        if y.requires_grad:
            (y * (t + 1)).sum().backward()
    return torch.stack(outputs), {n: p.grad.clone() for n, p in net.named_parameters() if p.grad is not None}


@pytest.mark.parametrize("neuron_cls", ["OTTTLIFNode", "SLTTLIFNode"])
@pytest.mark.parametrize("train", [True, False])
@pytest.mark.parametrize("backend", ["engine", "torch"])
def test_online_network_gives_spikingjelly_numbers(neuron_cls, train, backend):
    sj = spikingjelly()
    torch.manual_seed(0)
    theirs = _mlp(sj, neuron_cls)
    mine = _mlp(snnrs, neuron_cls, backend=backend)
    mine.load_state_dict(theirs.state_dict(), strict=True)
    x = torch.rand(5, 4, 6, dtype=torch.float64, generator=torch.Generator().manual_seed(2)) * 2
    (y_sj, g_sj), (y_us, g_us) = _online_run(theirs, x, train), _online_run(mine, x, train)
    assert (y_sj != 0).any()
    torch.testing.assert_close(y_us, y_sj, rtol=1e-12, atol=1e-12)
    assert set(g_us) == set(g_sj)
    # Evaluation fires with the Heaviside step: only the readout after the last neuron gets a gradient.
    assert (len(g_sj) > 2) == train and {"6.weight", "6.bias"} <= set(g_sj)
    for name, g in g_sj.items():
        torch.testing.assert_close(g_us[name], g, rtol=1e-12, atol=1e-12, msg=name)


def test_ottt_neuron_returns_spike_and_trace_in_training_and_spikes_in_evaluation():
    node = snnrs.neuron.OTTTLIFNode(v_threshold=0.5)
    x = torch.tensor([1.0, 0.2, 0.9])
    spike, trace = node(x)
    assert torch.equal(trace, spike)
    spike2, trace2 = node(x)
    torch.testing.assert_close(trace2, spike * 0.5 + spike2)
    assert not trace2.requires_grad
    node.eval()
    node.reset()
    assert isinstance(node(x), torch.Tensor)


def test_online_neurons_are_single_step_only():
    with pytest.raises(ValueError, match="one step per call"):
        snnrs.neuron.OTTTLIFNode(step_mode="m")
    node = snnrs.neuron.SLTTLIFNode()
    with pytest.raises(ValueError, match="step_mode"):
        node.step_mode = "m"


def test_ws_conv2d_multi_step_equals_spikingjelly():
    sj = spikingjelly()
    torch.manual_seed(0)
    theirs = sj.layer.WSConv2d(3, 4, 3, padding=1, step_mode="m").double()
    mine = snnrs.layer.WSConv2d(3, 4, 3, padding=1, step_mode="m").double()
    mine.load_state_dict(theirs.state_dict(), strict=True)
    x = torch.rand(2, 2, 3, 5, 5, dtype=torch.float64)
    torch.testing.assert_close(mine(x), theirs(x), rtol=1e-12, atol=1e-12)
    with pytest.raises(ValueError, match=r"\[T, N, C, H, W\]"):
        mine(x[0])


@pytest.mark.parametrize("neuron_cls", ["OTTTLIFNode", "SLTTLIFNode"])
def test_evaluation_fires_with_the_heaviside_step_even_with_a_non_spiking_surrogate(neuron_cls):
    sj = spikingjelly()
    x = torch.rand(4, 3, 5, dtype=torch.float64, generator=torch.Generator().manual_seed(5)) * 2
    outs = []
    for fw in (sj, snnrs):
        node = getattr(fw.neuron, neuron_cls)(v_threshold=0.5, surrogate_function=fw.surrogate.Sigmoid(spiking=False))
        node.eval()
        outs.append(torch.stack([node(step) for step in x]))
    assert set(outs[0].unique().tolist()) == {0.0, 1.0}
    torch.testing.assert_close(outs[1], outs[0], rtol=0, atol=0)
