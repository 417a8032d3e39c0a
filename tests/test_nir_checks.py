"""Reading NIR graphs safely (docs/semantics.md#nir-time-step, #nir-validation): a dt that does not fit a
graph warns with the dt that does, malformed graphs raise ValueError naming the node, ``from_nir`` and the
torch-free runtime agree (soft reset included), and a recurrent Affine's bias counts from the first step, as
in snnTorch's RLeaky."""

import os
import warnings

import numpy as np
import pytest
import torch

nir = pytest.importorskip("nir", reason="nir is in the test extra")

from snnrs import export, runtime  # noqa: E402
from snnrs.runtime.time_step import TimeStepWarning  # noqa: E402
from tests.nir_helpers import nmnist_1ms_frames  # noqa: E402

READERS = {"from_nir": lambda g, **kw: export.from_nir(g, **kw), "runtime": lambda g, **kw: runtime.Runtime(g, **kw)}


def _f32(a):
    return np.asarray(a, np.float32)


def _lif(n, tau=1e-3, r=10.0, threshold=1.0):
    return nir.LIF(tau=_f32(np.full(n, tau)), r=_f32(np.full(n, r)), v_leak=_f32(np.zeros(n)),
                   v_threshold=_f32(np.full(n, threshold)), v_reset=_f32(np.zeros(n)))


def _chain(*nodes, n_in=4):
    return nir.NIRGraph.from_list(nir.Input(np.array([n_in])), *nodes, nir.Output(np.array([4])), type_check=False)


def _affine(n_out=4, n_in=4, value=0.5):
    return nir.Affine(_f32(np.full((n_out, n_in), value)), _f32(np.zeros(n_out)))


# -- dt ---------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("reader", sorted(READERS))
def test_sinabs_cnn_read_with_the_default_dt_warns_with_the_dt_that_fits(sample_data, reader):
    path = sample_data / "nir" / "cnn_sinabs.nir"
    with pytest.warns(TimeStepWarning, match=r"Pass dt=1 ") as caught:
        READERS[reader](path)
    assert "'1', '10', '12', '3', '6'" in str(caught[0].message)  # every IF layer named
    assert caught[0].filename == __file__  # pointing at the user's line


def test_sinabs_cnn_with_its_dt_classifies_the_recording_alike_everywhere(sample_data):
    path = sample_data / "nir" / "cnn_sinabs.nir"
    frames = nmnist_1ms_frames(sample_data)
    with warnings.catch_warnings():
        warnings.simplefilter("error", TimeStepWarning)  # the right dt: no warning
        module = export.from_nir(path, dt=1.0)
        rt = runtime.load(path, dt=1.0)
    with torch.no_grad():
        counts = module(torch.from_numpy(frames)).sum(0).numpy()
    expected = [[1, 0, 0, 0, 144, 2, 0, 0, 0, 0]]
    assert counts.tolist() == expected
    assert rt.run(frames).sum(0).tolist() == expected
    from snnrs import gpu
    if gpu.available():
        assert runtime.load(path, dt=1.0, device="wgpu").run(frames).sum(0).tolist() == expected
    elif os.environ.get("CI") == "true":
        pytest.fail("no WebGPU adapter in CI")


@pytest.mark.parametrize("name, dt", [("lif_norse", 1e-4), ("braille_noDelay_bias_zero", 1e-4),
                                      ("braille_noDelay_noBias_subtract", 1e-4), ("cnn_sinabs", 1.0)])
def test_shared_graphs_at_their_own_dt_do_not_warn(sample_data, name, dt):
    with warnings.catch_warnings():
        warnings.simplefilter("error", TimeStepWarning)
        export.from_nir(sample_data / "nir" / f"{name}.nir", dt=dt)
        runtime.load(sample_data / "nir" / f"{name}.nir", dt=dt)


@pytest.mark.parametrize("reader", sorted(READERS))
def test_time_constant_shorter_than_dt_warns(reader):
    graph = _chain(_affine(), _lif(4, tau=1e-4, r=1.0))  # snnTorch's convention: beta 0 at dt 1e-4
    with pytest.warns(TimeStepWarning, match=r"tau = 0.0001 s is shorter than dt.*dt/tau = 10"):
        READERS[reader](graph, dt=1e-3)


def test_snnrs_graph_read_with_another_dt_warns_and_its_own_does_not(tmp_path):
    from torch import nn

    from snnrs import layer, neuron
    model = nn.Sequential(layer.Linear(3, 4, step_mode="m"), neuron.LIFNode(tau=2.0, step_mode="m"))
    export.write_nir(model, (3,), tmp_path / "g.nir", dt=1e-3)
    with warnings.catch_warnings():
        warnings.simplefilter("error", TimeStepWarning)
        export.from_nir(tmp_path / "g.nir")  # dt read from the graph
        runtime.load(tmp_path / "g.nir", dt=1e-3)
    with pytest.warns(TimeStepWarning, match=r"written by snnrs with dt = 0.001 s.*Pass dt=0.001"):
        runtime.load(tmp_path / "g.nir", dt=1e-4)


@pytest.mark.parametrize("dt", [0.0, -1.0, float("nan"), float("inf"), "1e-3", True])
def test_dt_must_be_a_positive_number(dt):
    with pytest.raises(ValueError, match="dt: expected a positive time step"):
        export.from_nir(_chain(_affine(), _lif(4)), dt=dt)


# -- malformed graphs -------------------------------------------------------------------------------------

def _nan_at(field):
    node = _lif(4)
    value = np.array(getattr(node, field), np.float32)
    value[1] = np.nan
    setattr(node, field, value)
    return node


def _undeclared(graph):
    """The graph with no node declaring its input (as some writers leave it)."""
    for name, node in graph.nodes.items():
        if name != "input":
            node.input_type = {"input": None}
    return graph


MALFORMED = {
    "nan weight": (lambda: _chain(nir.Affine(_f32([[np.nan] * 4] * 4), _f32(np.zeros(4))), _lif(4)),
                   r"'affine' \(Affine\): weight has 16 non-finite values"),
    "nan threshold": (lambda: _chain(_affine(), _nan_at("v_threshold")),
                      r"'lif' \(LIF\): v_threshold has 1 non-finite"),
    "nan r": (lambda: _chain(_affine(), _nan_at("r")), r"'lif' \(LIF\): r has 1 non-finite"),
    "inf tau": (lambda: _chain(_affine(), nir.LIF(tau=_f32([np.inf] * 4), r=_f32([1] * 4), v_leak=_f32([0] * 4),
                                                  v_threshold=_f32([1] * 4))), r"'lif' \(LIF\): tau has 4 non-finite"),
    "neurons after fewer outputs": (lambda: _chain(_affine(4, 4), _lif(7)),
                                    r"'lif' \(LIF\): (declares input \[7\] but receives \[4\]|.*shape \(7,\))"),
    "affine on the wrong width": (lambda: _chain(_affine(4, 4), _affine(4, 6), _lif(4)),
                                  r"'affine_1' \(Affine\): (declares input \[6\]|does not apply to its input \[4\])"),
    "conv on the wrong channels": (lambda: nir.NIRGraph.from_list(
        nir.Input(np.array([2, 5, 5])), nir.Conv2d(None, _f32(np.ones((3, 4, 3, 3))), 1, 1, 1, 1, _f32(np.zeros(3))),
        nir.Output(np.array([3, 5, 5])), type_check=False),
        r"'conv2d' \(Conv2d\): does not apply to its input \[2, 5, 5\]"),
    "neurons after fewer outputs, undeclared": (lambda: _undeclared(_chain(_affine(4, 4), _lif(7))),
                                                r"'lif' \(LIF\): tau has shape \(7,\) but the node receives \[4\]"),
    "unsupported node": (lambda: _chain(nir.Delay(_f32(np.ones(4)))),
                         r"'delay' \(Delay\): snnrs has no rule for this kind of node"),
}


@pytest.mark.parametrize("reader", sorted(READERS))
@pytest.mark.parametrize("case", sorted(MALFORMED))
def test_malformed_graphs_raise_naming_the_node(case, reader):
    make, message = MALFORMED[case]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", TimeStepWarning)
        with pytest.raises(ValueError, match=message):
            READERS[reader](make(), dt=1e-4)


def test_unknown_node_type_in_a_file_is_named(tmp_path):
    h5py = pytest.importorskip("h5py")
    path = tmp_path / "unknown.nir"
    nir.write(str(path), _chain(nir.Delay(_f32(np.ones(4)))))
    with h5py.File(path, "r+") as f:
        del f["node/nodes/delay/type"]
        f["node/nodes/delay/type"] = "Teleport"
    for read in (export.from_nir, runtime.load):
        with pytest.raises(ValueError, match=r"node 'delay' has type 'Teleport', which nir .* does not define"):
            read(path)


# -- agreement ---------------------------------------------------------------------------------------------

def test_soft_reset_survives_edits_of_other_fields_in_both_readers(tmp_path):
    """The general neuron (per-neuron time constants: no fused kernel) keeps snnrs's soft reset too."""
    from torch import nn

    from snnrs import functional, layer, neuron
    torch.manual_seed(0)
    model = nn.Sequential(layer.Linear(6, 5, step_mode="m"), neuron.LIFNode(tau=2.0, v_reset=None, step_mode="m"))
    with torch.no_grad():
        model[0].weight.uniform_(-0.1, 0.6)
    x = (torch.rand(40, 3, 6) < 0.5).float()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        graph = export.to_nir(model, (6,), dt=1e-3)
    lif = graph.nodes["1"]
    lif.tau = lif.tau.copy()
    lif.tau[0] *= 1.5  # edited by another tool: the metadata no longer describes the layer
    with torch.no_grad():
        expected_others = model(x)
        functional.reset_net(model)
    soft = runtime.load(graph).run(x.numpy())
    with torch.no_grad():
        assert np.array_equal(export.from_nir(graph)(x).numpy(), soft)
    graph.nodes["1"].metadata = {}  # as other tools write it: a reset to 0
    hard = runtime.load(graph, dt=1e-3).run(x.numpy())
    assert soft.sum() > hard.sum() > 0
    assert not np.array_equal(soft[:, :, 1:], hard[:, :, 1:])
    assert np.array_equal(soft[:, :, 1:], expected_others[:, :, 1:].numpy())  # untouched neurons: as snnrs ran them


def test_recurrent_affine_bias_counts_from_the_first_step_as_in_snntorch_rleaky():
    try:
        import snntorch as snn
    except ImportError:
        if os.environ.get("CI") == "true":
            pytest.fail("snnTorch missing in CI (.ci/run installs it --no-deps)")
        pytest.skip("snnTorch not installed (pip install --no-deps snntorch==1.0.0)")
    rng = np.random.default_rng(3)
    n_in, n_h, n_out, dt, beta = 5, 6, 3, 1e-4, 0.8
    tau = dt / (1 - beta)  # snnTorch's export: tau = dt/(1 - beta), r = tau/dt, dt = 1e-4
    w_in, b_in = rng.uniform(-0.2, 0.8, (n_h, n_in)), rng.uniform(0, 0.2, n_h)
    w_rec, b_rec = rng.uniform(-0.3, 0.3, (n_h, n_h)), rng.uniform(0.2, 0.5, n_h)
    w_out = rng.uniform(-0.2, 0.8, (n_out, n_h))
    inner = nir.NIRGraph(nodes={"input": nir.Input(np.array([n_h])), "lif": _lif(n_h, tau, tau / dt),
                                "w_rec": nir.Affine(_f32(w_rec), _f32(b_rec)), "output": nir.Output(np.array([n_h]))},
                         edges=[("input", "lif"), ("lif", "w_rec"), ("w_rec", "lif"), ("lif", "output")],
                         type_check=False)
    graph = nir.NIRGraph(nodes={"input": nir.Input(np.array([n_in])), "fc": nir.Affine(_f32(w_in), _f32(b_in)),
                                "rl": inner, "fc2": nir.Linear(_f32(w_out)), "out": _lif(n_out, tau, tau / dt),
                                "output": nir.Output(np.array([n_out]))},
                         edges=[("input", "fc"), ("fc", "rl"), ("rl", "fc2"), ("fc2", "out"), ("out", "output")],
                         type_check=False)
    x = (rng.random((40, 2, n_in)) < 0.4).astype(np.float32)

    # snnTorch's own modules with the same weights (reset to zero at once, as NIR)
    fc, fc2 = torch.nn.Linear(n_in, n_h), torch.nn.Linear(n_h, n_out, bias=False)
    rleaky = snn.RLeaky(beta=beta, linear_features=n_h, reset_mechanism="zero", reset_delay=False)
    leaky = snn.Leaky(beta=beta, reset_mechanism="zero", reset_delay=False)
    with torch.no_grad():
        for module, weight in ((fc, w_in), (fc2, w_out), (rleaky.recurrent, w_rec)):
            module.weight.copy_(torch.from_numpy(_f32(weight)))
        fc.bias.copy_(torch.from_numpy(_f32(b_in)))
        rleaky.recurrent.bias.copy_(torch.from_numpy(_f32(b_rec)))
        spk, mem = rleaky.init_rleaky()
        mem_out = leaky.init_leaky()
        steps = []
        for t in range(len(x)):
            spk, mem = rleaky(fc(torch.from_numpy(x[t])), spk, mem)
            out, mem_out = leaky(fc2(spk), mem_out)
            steps.append(out)
        expected = torch.stack(steps).numpy()
    assert 0 < expected.sum() < expected.size
    with torch.no_grad():
        assert np.array_equal(export.from_nir(graph, dt=dt)(torch.from_numpy(x)).numpy(), expected)
    assert np.array_equal(runtime.Runtime(graph, dt=dt).run(x), expected)


def test_a_cycle_read_out_after_its_affine_keeps_the_timing_of_each_step():
    """input → A → IF → rec → IF (a cycle), rec → output: the output reads rec of this step's spikes, and
    the IF receives rec of the previous step's spikes, ``b`` at t = 0 (a NumPy loop spells it out)."""
    rng = np.random.default_rng(5)
    n, steps = 4, 30
    w_in, w_rec, b = rng.uniform(0, 0.6, (n, 3)), rng.uniform(-0.4, 0.4, (n, n)), rng.uniform(0.1, 0.3, n)
    graph = nir.NIRGraph(
        nodes={"input": nir.Input(np.array([3])), "a": nir.Linear(_f32(w_in)),
               "if": nir.IF(r=_f32(np.ones(n)), v_threshold=_f32(np.ones(n)), v_reset=_f32(np.zeros(n))),
               "rec": nir.Affine(_f32(w_rec), _f32(b)), "output": nir.Output(np.array([n]))},
        edges=[("input", "a"), ("a", "if"), ("if", "rec"), ("rec", "if"), ("rec", "output")], type_check=False)
    x = (rng.random((steps, 1, 3)) < 0.5).astype(np.float64)
    v, previous, expected = np.zeros(n), _f32(b).astype(np.float64), []
    for t in range(steps):
        v = v + x[t, 0] @ _f32(w_in).astype(np.float64).T + previous
        spikes = (v > 1.0).astype(np.float64)
        v = np.where(spikes > 0, 0.0, v)
        previous = spikes @ _f32(w_rec).astype(np.float64).T + _f32(b)
        expected.append(previous)
    expected = np.stack(expected)[:, None]
    got = runtime.Runtime(graph, dt=1.0, dtype=np.float64).run(x)
    assert np.allclose(got, expected, rtol=0, atol=1e-12)
    with torch.no_grad():
        module = export.from_nir(graph, dt=1.0).double()
        assert np.allclose(module(torch.from_numpy(x)).numpy(), expected, rtol=0, atol=1e-12)


def test_both_readers_take_exactly_the_declared_input_shape():
    """A graph declaring input [1, 4] fed [T, N, 4]: torch would broadcast it through the Affine, the runtime
    would read it as unbatched; both refuse alike instead."""
    graph = nir.NIRGraph.from_list(nir.Input(np.array([1, 4])), _affine(), _lif(4), nir.Output(np.array([1, 4])),
                                   type_check=False)
    x = np.ones((3, 2, 4), np.float32)
    with pytest.raises(ValueError, match=r"expected \[T, N, 1, 4\]"):
        export.from_nir(graph, dt=1e-4)(torch.from_numpy(x))
    with pytest.raises(ValueError, match=r"expected \[T, N, 1, 4\]"):
        runtime.Runtime(graph, dt=1e-4).run(x[:, None])  # [T, 1, 2, 4]: one sample of the wrong shape
    good = x.reshape(3, 2, 1, 4)
    with torch.no_grad():
        assert np.array_equal(export.from_nir(graph, dt=1e-4)(torch.from_numpy(good)).numpy(),
                              runtime.Runtime(graph, dt=1e-4).run(good))
