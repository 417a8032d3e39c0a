"""NIR export and import (docs/semantics.md#nir): snnrs → NIR file → snnrs gives identical outputs for every
supported layer and neuron; graphs written by other frameworks (the sample-data folder,
``$SNNRS_SAMPLE_DATA``) import and run with the documented conventions, in torch and in the torch-free runtime alike."""

import subprocess
import sys
import warnings

import numpy as np
import pytest
import torch
from torch import nn

nir = pytest.importorskip("nir", reason="nir is in the test extra")

from snnrs import export, layer, neuron, runtime  # noqa: E402
from snnrs.conversion import VoltageScaler  # noqa: E402
from snnrs.neuron import CUBALIFNode  # noqa: E402
from snnrs.stateful_layer import LinearRecurrentContainer  # noqa: E402
from tests.nir_helpers import outputs  # noqa: E402


def roundtrip(model, example, path, dt=1e-3):
    export.write_nir(model, example, path, dt=dt)
    graph = nir.read(str(path), type_check=True)
    return export.from_nir(graph, dt=dt)


def excite(model, low=-0.1, high=0.5):
    """Weights drawn so that every layer fires (the default init leaves small nets silent)."""
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, (nn.Conv1d, nn.Conv2d, nn.Linear)):
                m.weight.uniform_(low, high)
    return model


NEURONS = {
    "if": lambda: neuron.IFNode(v_threshold=0.7, v_reset=-0.1, step_mode="m"),
    "lif": lambda: neuron.LIFNode(tau=3.0, v_threshold=0.8, v_reset=0.1, step_mode="m"),
    "lif_no_decay_input": lambda: neuron.LIFNode(tau=2.5, decay_input=False, step_mode="m"),
    "lif_soft": lambda: neuron.LIFNode(tau=2.0, v_reset=None, step_mode="m"),
    "if_soft": lambda: neuron.IFNode(v_reset=None, step_mode="m"),
    "plif": lambda: neuron.ParametricLIFNode(init_tau=3.0, step_mode="m"),
    "cuba": lambda: CUBALIFNode(c_decay=0.6, v_decay=0.8, v_threshold=0.4, step_mode="m"),
}


@pytest.mark.parametrize("name", sorted(NEURONS))
def test_every_neuron_round_trips_exactly(name, tmp_path):
    torch.manual_seed(0)
    model = nn.Sequential(layer.Linear(6, 5, step_mode="m"), NEURONS[name]())
    with torch.no_grad():
        model[0].weight.uniform_(-0.3, 0.6)
    x = torch.rand(12, 3, 6) * 2
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        back = roundtrip(model, x[0], tmp_path / "n.nir")
    assert any("soft reset" in str(w.message) for w in caught) == name.endswith("soft")
    expected = outputs(model, x)
    assert 0 < expected.sum() < expected.numel()
    assert torch.equal(outputs(back, x), expected)
    assert torch.equal(outputs(export.from_nir(tmp_path / "n.nir"), x), expected)  # dt read from the graph
    # the torch-free runtime reads the same file alike, soft reset included (from the metadata)
    assert np.array_equal(runtime.load(tmp_path / "n.nir").run(x.numpy()), expected.numpy())
    if name.endswith("soft"):
        return  # other readers reset to 0: the documented approximation
    # the NIR fields alone (metadata stripped, as another framework reads the file) and the torch-free
    # runtime give the same spikes
    graph = nir.read(str(tmp_path / "n.nir"))
    for node in graph.nodes.values():
        node.metadata = {}
    plain = export.from_nir(graph, dt=1e-3)
    assert not any(isinstance(m, type(model[1])) and type(model[1]).__name__ in ("ParametricLIFNode", "CUBALIFNode")
                   for m in plain.modules())
    assert torch.equal(outputs(plain, x), expected)
    assert np.array_equal(runtime.load(tmp_path / "n.nir").run(x.numpy()), expected.numpy())
    assert np.array_equal(runtime.load(graph, dt=1e-3).run(x.numpy()), expected.numpy())


def test_edited_nir_fields_win_over_stale_metadata(tmp_path):
    model = nn.Sequential(layer.Linear(3, 4, step_mode="m"), neuron.IFNode(step_mode="m"))
    excite(model)
    graph = export.to_nir(model, (3,), dt=1e-3)
    graph.nodes["1"].v_threshold = np.full(4, 5.0, np.float32)  # another tool raised the threshold
    x = torch.rand(6, 2, 3) * 3
    edited = outputs(export.from_nir(graph), x)
    assert torch.equal(edited, torch.from_numpy(runtime.load(graph).run(x.numpy())))
    assert edited.sum() < outputs(model, x).sum()


def test_every_synaptic_layer_round_trips_exactly(tmp_path):
    torch.manual_seed(1)
    model = nn.Sequential(
        layer.Conv2d(2, 4, 3, stride=2, padding=1, step_mode="m"), neuron.IFNode(step_mode="m"),
        layer.Conv2d(4, 4, 3, padding="same", dilation=2, groups=2, bias=False, step_mode="m"),
        neuron.LIFNode(step_mode="m"),
        layer.AvgPool2d(2, step_mode="m"),
        layer.SeqToANNContainer(nn.AvgPool2d(2, divisor_override=1)),  # sum pooling
        layer.Flatten(step_mode="m"), VoltageScaler(0.5),
        layer.Linear(16, 8, bias=False, step_mode="m"), neuron.IFNode(step_mode="m"))
    excite(model)
    x = torch.rand(5, 2, 2, 16, 16) * 3
    back = roundtrip(model, x[0], tmp_path / "c.nir")
    kinds = [type(n).__name__ for n in nir.read(str(tmp_path / "c.nir")).nodes.values()]
    for kind in ("Conv2d", "AvgPool2d", "SumPool2d", "Flatten", "Scale", "Linear", "IF", "LIF"):
        assert kind in kinds
    expected = outputs(model, x)
    assert expected.sum() > 0
    assert torch.equal(outputs(back, x), expected)
    conv1d = nn.Sequential(layer.Conv1d(3, 4, 3, stride=2, padding=1, step_mode="m"), neuron.IFNode(step_mode="m"))
    x1 = torch.rand(4, 2, 3, 9) * 2
    assert torch.equal(outputs(roundtrip(conv1d, x1[0], tmp_path / "c1.nir"), x1), outputs(conv1d, x1))


def test_batchnorm_is_folded_and_recurrent_containers_become_cycles(tmp_path):
    torch.manual_seed(2)
    bn = nn.Sequential(layer.Conv2d(1, 3, 3, step_mode="m"), layer.BatchNorm2d(3, step_mode="m"),
                       neuron.IFNode(step_mode="m"))
    with torch.no_grad():
        bn[1].running_mean.uniform_(-0.5, 0.5)
        bn[1].running_var.uniform_(0.5, 2.0)
        bn[1].weight.uniform_(0.5, 1.5)
        bn[1].bias.uniform_(-0.2, 0.2)
    excite(bn).eval()
    x = torch.rand(6, 2, 1, 8, 8, dtype=torch.float64) * 2
    back = roundtrip(bn.double(), x[0], tmp_path / "bn.nir").double()
    assert "BatchNorm" not in str(back)
    assert outputs(bn, x).sum() > 0
    assert torch.equal(outputs(back, x), outputs(bn, x))  # float64: folding's rounding flips no spike

    recurrent = nn.Sequential(layer.Linear(3, 5, step_mode="m"),
                              LinearRecurrentContainer(neuron.LIFNode(tau=2.0), 5, 5, step_mode="m"))
    excite(recurrent, 0.0, 0.8)
    x = torch.rand(20, 2, 3, dtype=torch.float64) * 2
    back = roundtrip(recurrent.double(), x[0], tmp_path / "rec.nir").double()
    assert back.recurrent
    graph = nir.read(str(tmp_path / "rec.nir"))
    assert any(isinstance(n, nir.NIRGraph) for n in graph.nodes.values())
    expected = outputs(recurrent, x)
    assert expected.sum() > 0 and torch.equal(outputs(back, x), expected)


def test_export_refuses_what_nir_cannot_express():
    with pytest.raises(ValueError, match="MaxPool2d"):
        export.to_nir(nn.Sequential(nn.MaxPool2d(2)), (1, 4, 4))
    with pytest.raises(ValueError, match="no NIR neuron"):
        export.to_nir(nn.Sequential(neuron.QIFNode()), (3,))
    with pytest.raises(ValueError, match="dt"):
        export.to_nir(nn.Sequential(nn.Linear(2, 2)), (2,), dt=0)
    with pytest.raises(TypeError, match="example_input"):
        export.to_nir(nn.Sequential(nn.Linear(2, 2)), "2")
    with pytest.raises(FileNotFoundError):
        export.from_nir("/nonexistent.nir")
    with pytest.raises(ValueError, match="padding_mode"):
        export.to_nir(nn.Sequential(nn.Conv2d(1, 1, 3, padding=1, padding_mode="circular")), (1, 4, 4))
    with pytest.raises(ValueError, match="track_running_stats"), pytest.warns(UserWarning, match="training mode"):
        export.to_nir(nn.Sequential(nn.Conv2d(1, 2, 3), nn.BatchNorm2d(2, track_running_stats=False)), (1, 4, 4))
    with pytest.raises(ValueError, match="sub_module"):
        export.to_nir(nn.Sequential(LinearRecurrentContainer(neuron.QIFNode(), 2, 2)), (2,))


# ---- graphs from other frameworks ----

def _trace(sample_data, name):
    return np.loadtxt(sample_data / "nir" / f"{name}.csv", delimiter=",")


@pytest.mark.parametrize("trace", ["lif_exact", "lif_norse", "lif_snntorch"])
def test_single_lif_graph_reproduces_the_reference_spike_times(sample_data, trace):
    """norse's LIF graph (tau 2.5 ms, dt 0.1 ms, threshold 0.1) fed the traces' input spikes."""
    data = _trace(sample_data, trace)
    expected = np.nonzero(data[:, 2])[0]
    assert len(expected) >= 3
    x = data[:, 0].astype(np.float32).reshape(-1, 1, 1)
    path = sample_data / "nir" / "lif_norse.nir"
    for got in (np.nonzero(runtime.load(path, dt=1e-4).run(x)[:, 0, 0])[0],
                torch.nonzero(export.from_nir(path, dt=1e-4)(torch.from_numpy(x))[:, 0, 0]).ravel().numpy()):
        assert len(got) == len(expected) and np.all(np.abs(got - expected) <= 1), (got, expected)


def _nmnist_frames(sample_data, steps=10):
    from snnrs.events import integrate_events_by_fixed_frames_number, read_events
    events = read_events(sample_data / "events" / "sample_nmnist.bin")
    return integrate_events_by_fixed_frames_number(events, "number", steps, 34, 34)[:, None]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_sinabs_nmnist_cnn_runs_on_the_real_recording_alike_in_runtime_and_torch(sample_data, dtype):
    """Sinabs writes IF with r = 1 per step: loaded with dt = 1."""
    path = sample_data / "nir" / "cnn_sinabs.nir"
    frames = _nmnist_frames(sample_data).astype(dtype)
    counts_runtime = runtime.load(path, dt=1.0, dtype=dtype).run(frames).sum(axis=0)
    module = export.from_nir(path, dt=1.0).to(torch.float64 if dtype == np.float64 else torch.float32)
    with torch.no_grad():
        counts_torch = module(torch.from_numpy(frames)).sum(0).numpy()
    assert counts_runtime.shape == (1, 10) and counts_runtime.sum() > 0
    assert np.array_equal(counts_runtime, counts_torch)


def test_sinabs_cnn_on_the_gpu_shaders_equals_the_cpu_runtime(sample_data):
    gpu = pytest.importorskip("snnrs.gpu")
    if not gpu.available():
        pytest.skip("no WebGPU adapter")
    path = sample_data / "nir" / "cnn_sinabs.nir"
    frames = _nmnist_frames(sample_data).astype(np.float32)
    cpu = runtime.load(path, dt=1.0).run(frames)
    assert np.array_equal(runtime.load(path, dt=1.0, device="wgpu").run(frames), cpu)


@pytest.mark.parametrize("name", ["braille_noDelay_bias_zero", "braille_noDelay_noBias_subtract"])
def test_recurrent_cuba_lif_graphs_from_snntorch_run(sample_data, name):
    path = sample_data / "nir" / f"{name}.nir"
    x = (np.random.default_rng(0).random((60, 4, 12)) < 0.3).astype(np.float32)
    rt = runtime.load(path, dt=1e-4)
    assert rt.plan.recurrent
    out = rt.run(x)
    module = export.from_nir(path, dt=1e-4)
    with torch.no_grad():
        out_torch = module(torch.from_numpy(x)).numpy()
    assert out.shape == (60, 4, 7) and 0 < out.sum() < out.size
    assert np.array_equal(out, out_torch)
    # streaming: two chunks with persistent state equal one call
    rt.reset()
    assert np.array_equal(np.concatenate([rt.run(x[:25]), rt.run(x[25:])]), out)
    # a new batch size starts afresh, recurrent outputs included
    fresh = runtime.load(path, dt=1e-4).run(x[:, :2])
    assert np.array_equal(rt.run(x[:, :2]), fresh)
    with torch.no_grad():
        assert np.array_equal(module(torch.from_numpy(x[:, :2])).numpy(), fresh)


def test_runtime_streams_and_never_imports_torch(sample_data, tmp_path):
    path = sample_data / "nir" / "cnn_sinabs.nir"
    frames = _nmnist_frames(sample_data, steps=12).astype(np.float32)
    rt = runtime.load(path, dt=1.0)
    whole = rt.run(frames)
    rt.reset()
    assert np.array_equal(np.concatenate([rt.run(frames[:5]), rt.run(frames[5:])]), whole)
    with pytest.raises(ValueError, match="frames: expected"):
        rt.run(np.zeros((3, 1, 2, 30, 30), np.float32))
    np.save(tmp_path / "frames.npy", frames)
    code = (f"import sys, numpy as np, snnrs.runtime as r; out = r.load({str(path)!r}, dt=1.0)"
            f".run(np.load({str(tmp_path / 'frames.npy')!r})); print(int(out.sum())); "
            "assert 'torch' not in sys.modules, 'torch was imported'")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert int(result.stdout.strip()) == int(whole.sum())
