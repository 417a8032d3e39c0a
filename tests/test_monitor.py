"""Monitors record the right things in 's' and 'm' modes; plots are valid PNGs."""

import pytest
import torch
from torch import nn

from snnrs import functional, layer, monitor, neuron, visualizing


def _net(step_mode):
    torch.manual_seed(0)
    net = nn.Sequential(layer.Linear(5, 8), neuron.LIFNode(), layer.Linear(8, 3), neuron.IFNode())
    functional.set_step_mode(net, step_mode)
    return net


@pytest.mark.parametrize("step_mode,shape", [("s", (4, 5)), ("m", (6, 4, 5))])
def test_monitors_record_per_layer_with_the_right_shapes(step_mode, shape):
    net = _net(step_mode)
    x = torch.rand(*shape, requires_grad=True) * 3
    out_mon = monitor.OutputMonitor(net, neuron.BaseNode)
    in_mon = monitor.InputMonitor(net, neuron.BaseNode)
    v_mon = monitor.AttributeMonitor("v", False, net, neuron.BaseNode)
    grad_mon = monitor.GradOutputMonitor(net, neuron.BaseNode)
    gin_mon = monitor.GradInputMonitor(net, layer.Linear)
    net(x).sum().backward()
    lead = shape[:-1]
    assert out_mon.monitored_layers == ["1", "3"]
    assert [r.shape for r in out_mon.records] == [(*lead, 8), (*lead, 3)]
    assert in_mon["1"][0].shape == (*lead, 8)
    assert v_mon["3"][0].shape == lead[-1:] + (3,)  # the state after the call: one step
    assert [g.shape for g in grad_mon.records] == [(*lead, 3), (*lead, 8)]  # backward order
    assert gin_mon["0"][0].shape == (*lead, 5)
    rates = monitor.firing_rates(out_mon)
    assert set(rates) == {"1", "3"} and all(0 <= r <= 1 for r in rates.values())
    assert rates["1"] == pytest.approx(out_mon["1"][0].mean().item())
    out_mon.disable()
    net(x)
    assert len(out_mon.records) == 2
    out_mon.enable()
    out_mon.clear_recorded_data()
    assert out_mon.records == [] and out_mon["1"] == []
    out_mon.remove_hooks()
    net(x)
    assert out_mon.records == []


def test_plots_are_valid_pngs(tmp_path):
    import matplotlib.image

    torch.manual_seed(1)
    node = neuron.LIFNode(step_mode="m", store_v_seq=True)
    spikes = node(torch.rand(20, 2, 6) * 2.5)
    paths = [
        visualizing.plot_spike_raster(spikes, tmp_path / "raster.png"),
        visualizing.plot_firing_rate_heatmap(spikes, tmp_path / "rates.png"),
        visualizing.plot_membrane_trace(node.v_seq, tmp_path / "trace.png", spikes=spikes, v_threshold=1.0),
    ]
    for path in paths:
        data = path.read_bytes()
        assert data[:8] == b"\x89PNG\r\n\x1a\n"
        image = matplotlib.image.imread(path)
        assert image.shape[0] > 100 and image.shape[1] > 100
    with pytest.raises(ValueError, match="spikes: expected"):
        visualizing.plot_spike_raster(torch.ones(5), tmp_path / "bad.png")
