"""Residual networks as NIR graphs (docs/semantics.md#nir): a SEW ResNet with ADD (and the plain spiking
ResNet) exports as a graph whose sums are edges, runs in ``from_nir``, the CPU and the WGSL runtime with the
model's own outputs, and in snnTorch; the stem's max pool after spikes is written exactly; what NIR cannot
express is refused with the reason."""

import os
import warnings

import numpy as np
import pytest
import torch
from torch import nn

from snnrs import export, neuron, runtime, surrogate
from snnrs.layer import SeqToANNContainer
from snnrs.models.sew_resnet import BasicBlock, Bottleneck, SEWResNet
from tests.nir_helpers import outputs


def sew(block=BasicBlock, cnf="ADD", layers=(1, 1, 1, 1), dtype=torch.float64):
    """A small SEW ResNet whose every layer fires (BatchNorm statistics drawn so), per-step logits."""
    torch.manual_seed(0)
    model = SEWResNet(block, list(layers), num_classes=10, T=3, cnf=cnf, spiking_neuron=neuron.IFNode,
                      return_sequence=True)
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, nn.BatchNorm2d):
                m.running_mean.uniform_(-0.2, 0.2)
                m.running_var.uniform_(0.5, 1.5)
                m.weight.uniform_(0.8, 1.6)
                m.bias.uniform_(0.0, 0.4)
    return model.eval().to(dtype)


def firing_rates(model, x):
    rates = []
    hooks = [m.register_forward_hook(lambda mod, i, o: rates.append(float(o.mean())))
             for m in model.modules() if isinstance(m, neuron.IFNode)]
    outputs(model, x)
    for h in hooks:
        h.remove()
    return rates


@pytest.mark.parametrize("block, cnf, layers", [(BasicBlock, "ADD", (1, 1, 1, 1)), (BasicBlock, "ADD", (2, 1, 1, 1)),
                                                (BasicBlock, None, (1, 1, 1, 1)), (Bottleneck, "ADD", (1, 1, 1, 1))])
def test_resnets_export_and_run_as_the_model_does(block, cnf, layers):
    model = sew(block, cnf, layers)
    x = torch.rand(3, 2, 3, 32, 32, dtype=torch.float64) * 2
    rates = firing_rates(model, x)
    assert len(rates) >= 9 and all(0.02 < r < 0.6 for r in rates), rates  # every layer fires, none saturates
    expected = outputs(model, x)
    graph = export.to_nir(model, (3, 32, 32), dt=1e-3)
    kinds = [type(n).__name__ for n in graph.nodes.values()]
    assert "Threshold" in kinds and "SumPool2d" in kinds  # the stem's max pool
    targets = [t for _, t in graph.edges]
    assert any(targets.count(t) > 1 for t in set(targets))  # residual sums are edges into one node
    assert torch.equal(outputs(export.from_nir(graph).double(), x), expected)  # float64: BN folding flips nothing
    assert np.array_equal(runtime.Runtime(graph, dtype=np.float64).run(x.numpy()), expected.numpy())


def test_sew_resnet_on_the_gpu_shaders_equals_the_cpu_runtime():
    from snnrs import gpu
    if not gpu.available():
        if os.environ.get("CI") == "true":
            pytest.fail("no WebGPU adapter in CI")
        pytest.skip("no WebGPU adapter")
    graph = export.to_nir(sew(dtype=torch.float32), (3, 32, 32), dt=1e-3)
    x = np.random.default_rng(0).random((3, 2, 3, 32, 32)).astype(np.float32) * 2
    cpu = runtime.Runtime(graph).run(x)
    assert np.abs(cpu).sum() > 0
    # The output is the last layer's potential: float32 sums in another order change its last bits,
    # while one spike flipped anywhere upstream would move it by a weight's size.
    np.testing.assert_allclose(runtime.Runtime(graph, device="wgpu").run(x), cpu, rtol=1e-5,
                               atol=1e-6 * np.abs(cpu).max())


def test_what_nir_cannot_express_is_refused_with_the_reason():
    with pytest.raises(ValueError, match=r"cnf='AND'.*no product"):
        export.to_nir(sew(cnf="AND"), (3, 32, 32))
    with pytest.raises(ValueError, match=r"cnf='IAND'.*no product"):
        export.to_nir(sew(cnf="IAND"), (3, 32, 32))
    not_after_spikes = nn.Sequential(nn.Conv2d(1, 2, 3), nn.MaxPool2d(2))
    with pytest.raises(ValueError, match="MaxPool2d: .*right after a spiking neuron"):
        export.to_nir(not_after_spikes, (1, 8, 8))
    uneven = nn.Sequential(nn.Conv2d(1, 2, 3), nn.AdaptiveAvgPool2d((4, 4)))
    with pytest.raises(ValueError, match=r"AdaptiveAvgPool2d\(4, 4\) on \(7, 7\)"):
        export.to_nir(uneven, (1, 9, 9))
    with pytest.raises(ValueError, match="MaxPool2d"):  # no Threshold node in snnTorch's reader
        export.to_nir(sew(dtype=torch.float32), (3, 32, 32), target="snntorch")


def test_snntorch_runs_a_sew_resnet_as_snnrs_does():
    """With the stem's max pool as an average pool (snnTorch reads no Threshold node), written for snnTorch."""
    try:
        from snntorch.import_nir import import_from_nir
    except ImportError:
        if os.environ.get("CI") == "true":
            pytest.fail("snnTorch missing in CI (.ci/run installs it --no-deps)")
        pytest.skip("snnTorch not installed")
    import contextlib
    import io
    model = sew(dtype=torch.float32)
    model.maxpool = SeqToANNContainer(nn.AvgPool2d(2))
    x = torch.rand(3, 2, 3, 32, 32) * 2
    expected = outputs(model, x)
    graph = export.to_nir(model, (3, 32, 32), target="snntorch")
    with contextlib.redirect_stdout(io.StringIO()), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        peer = import_from_nir(graph)
    state, steps = None, []
    with torch.no_grad():
        for t in range(len(x)):
            out, state = peer(x[t], state)
            steps.append(out)
    assert torch.equal(torch.stack(steps), expected)


def test_a_max_pool_in_a_shortcut_after_a_residual_sum_is_refused():
    """The shortcut starts from the block's input: after an ADD block that is a sum (0, 1 or 2), where a sum
    pool and a threshold would give 1 for 2; refused, not written wrong."""
    model = sew(layers=(1, 1, 1, 1))
    block = model.layer2[0]
    block.downsample = SeqToANNContainer(nn.MaxPool2d(2), *block.downsample)
    with pytest.raises(ValueError, match="MaxPool2d: .*right after a spiking neuron"):
        export.to_nir(model, (3, 32, 32))


@pytest.mark.parametrize("make, message", [
    (lambda: neuron.ILIFNode(step_mode="m"), "spike counts"),
    (lambda: neuron.HalfThresholdIFNode(step_mode="m"), "V_th/2"),
    (lambda: neuron.IFNode(surrogate_function=surrogate.ATan(spiking=False), step_mode="m"), "spiking=False"),
])
def test_neurons_whose_output_nir_cannot_say_are_refused(make, message):
    with pytest.raises(ValueError, match=message):
        export.to_nir(nn.Sequential(nn.Linear(3, 3), make()), (3,))
