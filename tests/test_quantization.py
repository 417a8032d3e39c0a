"""Chip-style quantization: a digits network keeps its accuracy within 2 points as an integer
network, whose vectorised simulation equals the plain-loop reference bit for bit; the integer
rules (decay shift, thresholds, weight range) against hand computations."""

import numpy as np
import pytest
import torch

pytest.importorskip("nir", reason="nir is in the test extra")

import reference.quantization as rq
from snnrs import export, layer, neuron
from snnrs.quantization import IntegerNetwork, quantize
from tests.test_training import example


@pytest.fixture(scope="module")
def deployed():
    torch.manual_seed(0)
    return example("digits_quantize").main(["--epochs", "12", "--quiet"])


@pytest.mark.parametrize("scheme", ["per_tensor", "per_channel"])
def test_quantized_digits_lose_at_most_two_points(deployed, scheme):
    assert deployed["float_accuracy"] >= 0.9
    assert deployed[scheme] >= deployed["float_accuracy"] - 0.02, deployed


@pytest.mark.parametrize("scheme", ["per_tensor", "per_channel"])
def test_integer_simulation_equals_the_reference_bit_for_bit(deployed, scheme):
    from snnrs.datasets import load_digits
    net = deployed[f"network_{scheme}"]
    (_, _), (x_test, _) = load_digits()
    raw = np.round(x_test[:6].numpy() * 16).astype(np.int64)
    x_seq = np.broadcast_to(raw[None], (4, *raw.shape))
    fast = net.run(x_seq)
    assert np.abs(fast).sum() > 0
    for i in range(len(raw)):
        assert np.array_equal(np.array(rq.simulate(net.layers, x_seq[:, i])), fast[:, i])
    weights = [layer_["weight"] for layer_ in net.layers if "weight" in layer_]
    assert all(w.dtype == np.int64 and np.abs(w).max() == 127 for w in weights)  # the largest maps to 127


def test_integer_rules_by_hand():
    assert rq.decay(1000, 2048) == 500 and rq.decay(-3, 2048) == -1  # floor shift: -3 - floor(-1.5)
    assert rq.decay(7, 0) == 7
    # one linear layer into an IF neuron, readout afterwards
    lin = torch.nn.Sequential(layer.Linear(2, 1, bias=False), neuron.IFNode(v_threshold=1.0),
                              layer.Linear(1, 1, bias=False))
    with torch.no_grad():
        lin[0].weight.copy_(torch.tensor([[0.5, -0.25]]))
        lin[2].weight.fill_(2.0)
    net = quantize(export.to_nir(lin, (2,), dt=1.0), dt=1.0, per_channel=False)
    first, neuron_layer = net.layers[0], net.layers[1]
    assert first["weight"].tolist() == [[127, -64]]            # 0.25/(0.5/127) = 63.5 rounds to 64
    assert neuron_layer["dv"] == 0                              # IF: no decay
    assert neuron_layer["threshold"].tolist() == [254]          # θ / (g·s) = 1 / (0.5/127), θ as read (f32)
    # inputs (1, 0) three times: v = 127, 254 -> fires at the second step
    out = net.run(np.array([[[1, 0]]] * 3))
    assert out[:, 0, 0].tolist() == [0, 127, 0]                 # readout 2.0 = 127 units of s = 2/127
    assert np.allclose(net.scores(np.array([[[1, 0]]] * 3)), [[2.0]])
    with pytest.raises(ValueError, match="integers"):
        net.run(np.full((2, 1, 2), 0.5))
    with pytest.raises(ValueError, match="readout"):
        quantize(export.to_nir(torch.nn.Sequential(layer.Linear(2, 1), neuron.IFNode()), (2,), dt=1.0), dt=1.0)
    assert isinstance(net, IntegerNetwork)


def test_average_pool_before_the_neuron_and_chain_checks():
    """conv -> avg pool -> IF -> readout: the pool's 1/k² belongs to the neuron's current."""
    torch.manual_seed(0)
    net = torch.nn.Sequential(layer.Conv2d(1, 2, 3, padding=1, bias=False), layer.AvgPool2d(2),
                              neuron.IFNode(v_threshold=0.5), layer.Flatten(), layer.Linear(8, 3, bias=False))
    with torch.no_grad():
        net[0].weight.uniform_(-0.2, 0.6)
    functional_x = torch.randint(0, 5, (6, 4, 1, 4, 4))
    graph = export.to_nir(net, (1, 4, 4), dt=1.0)
    float_scores = export.from_nir(graph)(functional_x.float()).sum(0).detach().numpy()
    chip = quantize(graph, per_channel=False)
    scores = chip.scores(functional_x.numpy())
    assert np.abs(float_scores).max() > 0
    assert np.allclose(scores, float_scores, atol=0.05 * np.abs(float_scores).max())

    nir = pytest.importorskip("nir")
    w = np.ones((2, 2), np.float32)
    branched = nir.NIRGraph(
        nodes={"input": nir.Input(input_type=np.array([2])), "a": nir.Linear(weight=w), "b": nir.Linear(weight=w),
               "n": nir.IF(r=np.ones(2), v_threshold=np.ones(2), v_reset=np.zeros(2)), "out": nir.Linear(weight=w),
               "output": nir.Output(output_type=np.array([2]))},
        edges=[("input", "a"), ("input", "b"), ("a", "n"), ("b", "n"), ("n", "out"), ("out", "output")])
    with pytest.raises(ValueError, match="one chain"):
        quantize(branched, dt=1.0)


def test_a_threshold_below_one_unit_is_raised_to_one():
    lin = torch.nn.Sequential(layer.Linear(1, 1, bias=False), neuron.IFNode(v_threshold=0.001),
                              layer.Linear(1, 1, bias=False))
    with torch.no_grad():
        lin[0].weight.fill_(1.0)
        lin[2].weight.fill_(1.0)
    net = quantize(export.to_nir(lin, (1,), dt=1.0), dt=1.0, per_channel=False)
    assert net.layers[1]["threshold"].tolist() == [1] and net.report["thresholds_raised_to_1"] == 1
    assert net.run(np.zeros((3, 1, 1), np.int64)).sum() == 0  # no input, no spike
    with pytest.raises(ValueError, match="x_seq"):
        net.run(np.zeros((0, 1, 1), np.int64))
