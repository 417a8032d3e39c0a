"""NIR exchange with the libraries people use (docs/semantics.md#nir-time-step): graphs snnrs writes run in
snnTorch 1.0 and Norse 1.1 with the same spikes, graphs they write run in snnrs with the same spikes, and where
a peer cannot represent something the test pins down what it does instead. The peers are installed
``--no-deps`` next to our torch in CI (.ci/run); their own code runs here, our outputs are compared to theirs."""

import contextlib
import importlib
import io
import os
import warnings

import nir  # a main dependency: never skipped
import numpy as np
import pytest
import torch
from torch import nn

from snnrs import export, layer, neuron, runtime
from snnrs.neuron import CUBALIFNode
from snnrs.runtime.time_step import TimeStepWarning
from tests.nir_helpers import nmnist_1ms_frames, outputs


def peer(module: str):
    try:
        return importlib.import_module(module)
    except ImportError:
        if os.environ.get("CI") == "true":
            pytest.fail(f"{module} missing in CI (.ci/run installs it --no-deps)")
        pytest.skip(f"{module} not installed")


def quiet(call, *args, **kwargs):
    """snnTorch prints its own notes while importing a graph."""
    with contextlib.redirect_stdout(io.StringIO()), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return call(*args, **kwargs)


NEURONS = {
    "if": lambda: neuron.IFNode(step_mode="m"),
    "lif": lambda: neuron.LIFNode(tau=2.0, step_mode="m"),
    "lif_no_decay_input": lambda: neuron.LIFNode(tau=3.0, decay_input=False, step_mode="m"),
    "plif": lambda: neuron.ParametricLIFNode(init_tau=3.0, step_mode="m"),
    "cuba": lambda: CUBALIFNode(c_decay=0.6, v_decay=0.8, v_threshold=0.4, step_mode="m"),
}


def mlp(name):
    torch.manual_seed(0)
    model = nn.Sequential(layer.Linear(6, 5, step_mode="m"), NEURONS[name](), layer.Linear(5, 4, step_mode="m"),
                          NEURONS[name]())
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, nn.Linear):  # every layer fires, none all the time
                m.weight.uniform_(-0.3, 0.5 if name == "cuba" else 1.2)
    return model


def spikes_in(x):
    torch.manual_seed(1)
    return (torch.rand(x) < 0.5).float()


def stepped(module, x):
    """A peer module run step by step with its state passed along (snnTorch's and Norse's graph modules)."""
    state, steps = None, []
    with torch.no_grad():
        for t in range(len(x)):
            out, state = module(x[t], state)
            steps.append(out[0] if isinstance(out, tuple) else out)
    return torch.stack(steps)


def as_declared(graph, x):
    """``x [T, N, features]`` in the shape the graph declares for its input: snnTorch and Norse keep the
    batch dim of their sample there ([1, 6]); snnrs's readers take exactly the declared shape."""
    shape = tuple(int(s) for s in np.atleast_1d(graph.nodes["input"].input_type["input"]))
    return x.reshape(len(x), x.shape[1], *shape)


def run_from_nir(graph, dt, x):
    with torch.no_grad():
        return export.from_nir(graph, dt=dt)(as_declared(graph, x)).reshape(len(x), x.shape[1], -1)


def run_runtime(graph, dt, x):
    """The torch-free runtime, output as ``[T, N, features]``."""
    return runtime.Runtime(graph, dt=dt).run(as_declared(graph, x).numpy()).reshape(len(x), x.shape[1], -1)


# -- snnrs → snnTorch ----------------------------------------------------------------------------------------

@pytest.mark.parametrize("name", sorted(NEURONS))
def test_snntorch_runs_graphs_written_for_it_as_snnrs_does(name):
    snn_import = peer("snntorch.import_nir")
    model, x = mlp(name), spikes_in((60, 3, 6))
    expected = outputs(model, x)
    assert 0 < expected.sum() < expected.numel()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the tie warning for tau = 3 (below)
        graph = export.to_nir(model, (6,), target="snntorch")
    assert torch.equal(stepped(quiet(snn_import.import_from_nir, graph), x), expected)
    with torch.no_grad():  # and snnrs reads the same file back exactly
        assert torch.equal(export.from_nir(graph)(x), expected)


def test_snntorch_reads_the_plain_export_of_an_if_not_at_all_and_of_a_lif_at_another_dt_silently():
    """Why the target exists: snnTorch asserts r == 1 for IF (we write r = 1/dt), and assumes dt = 1e-4."""
    snn_import = peer("snntorch.import_nir")
    with pytest.raises(AssertionError, match="r != 1"):
        quiet(snn_import.import_from_nir, export.to_nir(mlp("if"), (6,), dt=1e-4))
    model, x = mlp("lif_no_decay_input"), spikes_in((60, 3, 6))
    assert outputs(model, x).sum() > 0
    # read with its dt = 1e-4 a LIF written at 1e-3 leaks 10x slower and is scaled 10x down: nearly silent
    read = stepped(quiet(snn_import.import_from_nir, export.to_nir(model, (6,), dt=1e-3)), x)
    assert read.sum() < 0.1 * outputs(model, x).sum()


def test_snntorch_runs_a_conv_net_with_sum_pools_written_for_it_as_snnrs_does():
    """Conv, IF, a 2x2 sum pool (written as an average pool, the area moved into the next weights), flatten
    (dims counted from the end), linear, LIF."""
    snn_import = peer("snntorch.import_nir")
    torch.manual_seed(5)
    model = nn.Sequential(layer.Conv2d(2, 4, 3, padding=1, step_mode="m"), neuron.IFNode(step_mode="m"),
                          layer.AvgPool2d(2, divisor_override=1, step_mode="m"), layer.Flatten(step_mode="m"),
                          layer.Linear(4 * 4 * 4, 5, step_mode="m"), neuron.LIFNode(tau=2.0, step_mode="m"))
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, (nn.Conv2d, nn.Linear)):
                m.weight.uniform_(-0.2, 0.3)
    x = spikes_in((30, 3, 2, 8, 8))
    expected = outputs(model, x)
    assert 0 < expected.sum() < expected.numel()
    graph = export.to_nir(model, (2, 8, 8), target="snntorch")
    assert [type(n).__name__ for n in graph.nodes.values()].count("AvgPool2d") == 1
    assert torch.equal(stepped(quiet(snn_import.import_from_nir, graph), x), expected)
    with torch.no_grad():
        assert torch.equal(export.from_nir(graph)(x), expected)


@pytest.mark.parametrize("tau, warns", [(2.0, False), (4.0, False), (3.0, True), (1.5, True)])
def test_target_snntorch_warns_where_its_threshold_scaling_rounds(tau, warns):
    model = nn.Sequential(layer.Linear(2, 2, step_mode="m"), neuron.LIFNode(tau=tau, step_mode="m"))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        export.to_nir(model, (2,), target="snntorch")
    assert any("threshold divided by 1/tau" in str(w.message) for w in caught) == warns


def test_target_snntorch_refuses_what_snntorch_cannot_hold():
    def pooled(*after, kernel=2):
        return nn.Sequential(layer.Conv2d(1, 2, 3, padding=1, step_mode="m"), neuron.IFNode(step_mode="m"),
                             layer.AvgPool2d(kernel, divisor_override=1, step_mode="m"), *after)
    with pytest.raises(ValueError, match="a sum pool ends the model"):
        export.to_nir(pooled(), (1, 6, 6), target="snntorch")
    with pytest.raises(ValueError, match="IFNode after a sum pool"):
        export.to_nir(pooled(neuron.IFNode(step_mode="m")), (1, 6, 6), target="snntorch")
    with pytest.raises(ValueError, match="3x3 window.*power-of-two"):
        export.to_nir(pooled(layer.Flatten(step_mode="m"), layer.Linear(8, 2, step_mode="m"), kernel=3), (1, 6, 6),
                      target="snntorch")
    with pytest.raises(ValueError, match="v_reset=0"):
        export.to_nir(nn.Sequential(layer.Linear(2, 2, step_mode="m"), neuron.IFNode(v_reset=None, step_mode="m")),
                      (2,), target="snntorch")
    with pytest.raises(ValueError, match="dt = 0.0001 s; leave dt unset"):
        export.to_nir(mlp("lif"), (6,), dt=1e-3, target="snntorch")
    with pytest.raises(ValueError, match="target: expected"):
        export.to_nir(mlp("lif"), (6,), target="brian")


# -- snnTorch → snnrs ----------------------------------------------------------------------------------------

def test_snntorch_exports_run_in_snnrs_with_the_same_spikes():
    snn = peer("snntorch")
    from snntorch import utils as snn_utils
    from snntorch.export_nir import export_to_nir

    def leaky(n, beta, **kw):  # per-neuron parameters: snnTorch's scalar ones export 0-d, which nir 1.0.8 rejects
        return snn.Leaky(beta=torch.full((n,), beta), threshold=torch.ones(n), init_hidden=True,
                         reset_mechanism="zero", reset_delay=False, **kw)

    def synaptic(n, alpha, beta, **kw):
        return snn.Synaptic(alpha=torch.full((n,), alpha), beta=torch.full((n,), beta), threshold=torch.ones(n),
                            init_hidden=True, reset_mechanism="zero", reset_delay=False, **kw)

    nets = {"Leaky": nn.Sequential(nn.Linear(6, 5), leaky(5, 0.8), nn.Linear(5, 4), leaky(4, 0.9, output=True)),
            "Synaptic": nn.Sequential(nn.Linear(6, 5), synaptic(5, 0.7, 0.8), nn.Linear(5, 4),
                                      synaptic(4, 0.6, 0.9, output=True))}
    x = spikes_in((50, 3, 6))
    for name, net in nets.items():
        torch.manual_seed(2)
        with torch.no_grad():
            for m in net.modules():
                if isinstance(m, nn.Linear):
                    m.weight.uniform_(0.0, 0.8)
        graph = quiet(export_to_nir, net, x[0, :1], ignore_dims=[0])
        snn_utils.reset(net)
        with torch.no_grad():
            expected = torch.stack([out[0] if isinstance(out := net(x[t]), tuple) else out for t in range(len(x))])
        assert 0 < expected.sum() < expected.numel(), name
        with warnings.catch_warnings():
            warnings.simplefilter("error", TimeStepWarning)  # snnTorch's dt: no warning
            assert torch.equal(run_from_nir(graph, 1e-4, x), expected), name
            assert np.array_equal(run_runtime(graph, 1e-4, x), expected.numpy()), name


# -- snnrs → Norse -------------------------------------------------------------------------------------------

@pytest.mark.parametrize("name", ["if", "lif", "cuba"])
def test_norse_runs_snnrs_graphs_as_snnrs_does(name):
    norse = peer("norse.torch")
    model, x = mlp(name), spikes_in((60, 3, 6))
    expected = outputs(model, x)
    graph = export.to_nir(model, (6,), dt=1e-3)
    module = quiet(norse.from_nir, graph, dt=1e-3)
    assert torch.equal(stepped(module, x), expected)


def test_norse_ignores_r_so_a_lif_without_decay_input_runs_there_as_one_with_it():
    """Norse 1.1 reads NIR's LIF as ``v += dt/tau·(v_leak - v + i)`` and ignores ``r`` (it warns): a LIF with
    decay_input=False (r = τ) runs there as the same LIF with decay_input=True, not as written; documented
    in docs/semantics.md#nir-time-step."""
    norse = peer("norse.torch")
    model, x = mlp("lif_no_decay_input"), spikes_in((60, 3, 6))
    graph = export.to_nir(model, (6,), dt=1e-3)
    in_norse = stepped(quiet(norse.from_nir, graph, dt=1e-3), x)
    assert not torch.equal(in_norse, outputs(model, x))
    model[1].decay_input = model[3].decay_input = True
    assert torch.equal(in_norse, outputs(model, x))


# -- Norse → snnrs -------------------------------------------------------------------------------------------

def _norse_net(norse, cell):
    torch.manual_seed(3)
    net = norse.SequentialState(nn.Linear(6, 5), cell(), nn.Linear(5, 4), cell())
    with torch.no_grad():
        for m in net.modules():
            if isinstance(m, nn.Linear):
                m.weight.uniform_(0.0, 1.5)
    return net


def test_norse_lif_exports_run_in_snnrs_with_dt_squared():
    """Norse 1.1's ``to_nir`` writes ``tau = dt/tau_mem_inv`` (dt times its time constant, so its own
    ``from_nir`` does not read it back either): snnrs reproduces its spikes with ``dt = dt_norse²``,
    and with Norse's own dt it warns that tau is shorter than dt."""
    norse = peer("norse.torch")
    net = _norse_net(norse, lambda: norse.LIFBoxCell(norse.LIFBoxParameters(tau_mem_inv=torch.tensor(100.0),
                                                                            v_th=torch.tensor(0.5))))
    x = spikes_in((50, 3, 6))
    expected = stepped(net, x)
    assert 0 < expected.sum() < expected.numel()
    graph = quiet(norse.to_nir, net, x[0, :1], dt=1e-3)
    with pytest.warns(TimeStepWarning, match="shorter than dt"):
        export.from_nir(graph, dt=1e-3)
    assert torch.equal(run_from_nir(graph, 1e-6, x), expected)
    assert np.array_equal(run_runtime(graph, 1e-6, x), expected.numpy())


def test_norse_current_based_lif_is_another_rule():
    """Norse's LIFCell (written as CubaLIF) adds each input to the current unscaled and lets the membrane read
    the previous step's current; NIR's CubaLIF as snnTorch and snnrs read it scales the input by
    ``w_in·dt/tau_syn`` and reads the current of the same step. No dt makes them agree: the spikes differ."""
    norse = peer("norse.torch")
    net = _norse_net(norse, lambda: norse.LIFCell(norse.LIFParameters(
        tau_mem_inv=torch.tensor(100.0), tau_syn_inv=torch.tensor(200.0), v_th=torch.tensor(0.3))))
    x = spikes_in((50, 3, 6))
    expected = stepped(net, x)
    graph = quiet(norse.to_nir, net, x[0, :1], dt=1e-3)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", TimeStepWarning)
        for dt in (1e-3, 1e-6):
            assert not torch.equal(run_from_nir(graph, dt, x), expected)


# -- Sinabs --------------------------------------------------------------------------------------------------

def _as_nir_if(sinabs_module):
    """Sinabs' IAF layers switched to NIR's IF: one spike per step, reset to 0, no floor on the membrane
    (Sinabs' defaults are MultiSpike, subtracting the threshold, and a floor at -threshold)."""
    from sinabs.activation import MembraneReset, SingleSpike
    from sinabs.layers import IAF
    switched = 0
    for m in sinabs_module.modules():
        if isinstance(m, IAF):
            m.spike_fn, m.reset_fn, m.min_v_mem = SingleSpike, MembraneReset(), None
            switched += 1
    return switched


def _sinabs_counts(module, frames):
    with torch.no_grad():
        out = module(torch.from_numpy(frames[:, 0]))
    return (out[0] if isinstance(out, tuple) else out).sum(0).numpy()


def test_sinabs_reads_the_nir_paper_cnn_with_its_own_neurons(sample_data):
    """The NIR paper's CNN, trained in Sinabs, on the N-MNIST sample: Sinabs itself runs its IF nodes as
    multi-spike neurons with a subtractive reset (its defaults, not NIR's IF), so its counts differ from
    NIR's; switched to NIR's IF, Sinabs gives exactly snnrs's counts (convolutions, pools, affine and
    flatten agree)."""
    sinabs = peer("sinabs")
    path = sample_data / "nir" / "cnn_sinabs.nir"
    frames = nmnist_1ms_frames(sample_data)
    ours_counts = runtime.load(path, dt=1.0).run(frames).sum(0)[0]
    graph = nir.read(str(path))
    native = _sinabs_counts(quiet(sinabs.from_nir, graph, batch_size=1), frames)
    assert not np.array_equal(native, ours_counts) and native.sum() > 3 * ours_counts.sum()
    switched = quiet(sinabs.from_nir, graph, batch_size=1)
    assert _as_nir_if(switched) == 5
    assert np.array_equal(_sinabs_counts(switched, frames), ours_counts)


def test_sinabs_runs_an_snnrs_conv_net_as_snnrs_does_with_nir_if(sample_data):
    sinabs = peer("sinabs")
    torch.manual_seed(4)
    model = nn.Sequential(layer.Conv2d(2, 8, 3, stride=2, padding=1, step_mode="m"), neuron.IFNode(step_mode="m"),
                          layer.AvgPool2d(2, divisor_override=1, step_mode="m"), layer.Flatten(step_mode="m"),
                          layer.Linear(8 * 8 * 8, 10, step_mode="m"), neuron.IFNode(step_mode="m"))
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, (nn.Conv2d, nn.Linear)):
                m.weight.uniform_(-0.05, 0.15)
    frames = nmnist_1ms_frames(sample_data)
    expected = outputs(model, torch.from_numpy(frames)).sum(0)[0].numpy()
    assert expected.sum() > 0
    graph = export.to_nir(model, (2, 34, 34), dt=1.0)  # Sinabs counts in steps: r = 1 per step
    module = quiet(sinabs.from_nir, graph, batch_size=1)
    assert _as_nir_if(module) == 2
    assert np.array_equal(_sinabs_counts(module, frames), expected)
