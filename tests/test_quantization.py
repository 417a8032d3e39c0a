"""Chip-style quantization: a digits network keeps its accuracy within 2 points as an integer
network, whose vectorised simulation equals the plain-loop reference bit for bit; the integer
rules (decay shift, thresholds, weight range) against hand computations."""

import numpy as np
import pytest
import torch

pytest.importorskip("nir", reason="nir is in the test extra")

import reference.quantization as rq  # noqa: E402
from snnrs import export, layer, neuron  # noqa: E402
from snnrs.quantization import IntegerNetwork, quantize  # noqa: E402
from tests.test_training import example  # noqa: E402


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
