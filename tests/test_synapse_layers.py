"""The layers' synapse op (docs/semantics.md#sparse-synapses): layer.Conv1d/Conv2d/Linear run it
on CPU float tensors, give torch's numbers and gradients, fall back to torch where it does not
apply, pass opcheck and train under torch.compile; bad engine arguments are clear errors; the
engine's OpenMP and rayon loops give the same bits."""

import os
import subprocess
import sys

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from snnrs import _engine, functional, layer, neuron, surrogate
from snnrs.ops import synapse


def _spikes(*shape, density=0.1, seed=0):
    g = torch.Generator().manual_seed(seed)
    return (torch.rand(shape, generator=g) < density).float()


@pytest.mark.parametrize("density", [0.02, 0.6])
def test_conv2d_layer_runs_the_op_and_matches_torch(density):
    torch.manual_seed(0)
    conv = layer.Conv2d(6, 8, 3, stride=2, padding=1, dilation=1, groups=2, step_mode="m")
    x = _spikes(3, 2, 6, 9, 9, density=density).requires_grad_()
    out = conv(x)
    assert "synapse" in type(out.grad_fn).__name__ or "synapse" in repr(out.grad_fn.next_functions)
    ref = F.conv2d(x.flatten(0, 1), conv.weight, conv.bias, 2, 1, 1, 2).unflatten(0, (3, 2))
    torch.testing.assert_close(out, ref, rtol=1e-5, atol=1e-5)
    g = torch.randn_like(ref)
    got = torch.autograd.grad(out, (x, conv.weight, conv.bias), g)
    want = torch.autograd.grad(ref, (x, conv.weight, conv.bias), g)
    for a, b in zip(got, want):
        torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-4)


def test_conv1d_and_linear_layers_match_torch():
    torch.manual_seed(0)
    c1 = layer.Conv1d(4, 5, 3, stride=2, padding=1)
    lin = layer.Linear(7, 3, step_mode="m")
    x1, x2 = _spikes(5, 4, 11, density=0.05), _spikes(4, 2, 7, density=0.05)
    torch.testing.assert_close(c1(x1), F.conv1d(x1, c1.weight, c1.bias, 2, 1), rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(lin(x2), F.linear(x2, lin.weight, lin.bias), rtol=1e-5, atol=1e-6)


def test_unsupported_calls_run_torch():
    conv = layer.Conv2d(2, 3, 3, padding="same")
    x = torch.rand(1, 2, 5, 5)
    torch.testing.assert_close(conv(x), F.conv2d(x, conv.weight, conv.bias, padding="same"))
    unbatched = layer.Conv2d(2, 3, 3)(torch.rand(2, 5, 5))
    assert unbatched.shape == (3, 3, 3)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        assert layer.Conv2d(2, 3, 3)(torch.rand(1, 2, 5, 5)).dtype == torch.bfloat16
    assert not synapse.supports(torch.rand(2, 2, dtype=torch.float16), torch.rand(2, 2, dtype=torch.float16))


def test_second_derivatives_are_torchs():
    torch.manual_seed(0)
    for density in (1.0, 0.05):
        conv = layer.Conv2d(3, 4, 3, padding=1)
        x = (_spikes(2, 3, 5, 5, density=density) * torch.randn(2, 3, 5, 5)).requires_grad_()
        gx = torch.autograd.grad(conv(x).pow(2).sum(), x, create_graph=True)[0]
        got = torch.autograd.grad(gx.pow(2).sum(), conv.weight)[0]
        ref_x = x.detach().requires_grad_()
        gx_ref = torch.autograd.grad(F.conv2d(ref_x, conv.weight, conv.bias, padding=1).pow(2).sum(), ref_x,
                                     create_graph=True)[0]
        want = torch.autograd.grad(gx_ref.pow(2).sum(), conv.weight)[0]
        torch.testing.assert_close(got, want, rtol=1e-4, atol=1e-4)


def test_channels_last_and_frozen_layers_compile():
    conv = layer.Conv2d(3, 4, 3, bias=False)
    x = torch.randn(2, 3, 6, 6).contiguous(memory_format=torch.channels_last)
    torch.library.opcheck(torch.ops.snnrs.synapse_forward.default, (x, conv.weight, None, [1, 1], [0, 0], [1, 1], 1))
    torch.compile(conv, fullgraph=True)(x).sum().backward()  # no gradient for x, no bias: two empty slots
    assert conv.weight.grad is not None


def test_input_gradient_is_skipped_when_not_wanted():
    conv = layer.Conv2d(2, 3, 3)
    x = _spikes(2, 2, 6, 6, density=0.05)  # an input image: no gradient wanted
    conv(x).sum().backward()
    assert x.grad is None and conv.weight.grad is not None


def test_synapse_ops_pass_opcheck():
    x, w, b = _spikes(3, 4, 5, 5, density=0.1), torch.randn(6, 2, 3, 3), torch.randn(6)
    config = (([2, 1]), ([1, 0]), ([1, 1]), 2)
    torch.library.opcheck(torch.ops.snnrs.synapse_forward.default, (x, w, b, *config))
    out, nonzero = torch.ops.snnrs.synapse_forward(x, w, b, *config)
    torch.library.opcheck(torch.ops.snnrs.synapse_backward.default,
                          (torch.randn_like(out), x, w, nonzero, *config, [True, True, True]))


def _network():
    torch.manual_seed(0)
    return nn.Sequential(
        layer.Conv2d(2, 8, 3, padding=1, step_mode="m"),
        neuron.LIFNode(step_mode="m", surrogate_function=surrogate.ATan()),
        layer.Flatten(step_mode="m"), layer.Linear(8 * 36, 4, step_mode="m"))


def test_compiled_network_with_synapses_trains_like_eager():
    x, y = torch.rand(4, 3, 2, 6, 6) * 3, torch.rand(3, 4)
    eager, compiled_net = _network(), _network()
    compiled = torch.compile(compiled_net, fullgraph=True)
    grads = []
    for model, net in ((eager, eager), (compiled, compiled_net)):
        loss = F.mse_loss(model(x).mean(0), y)
        loss.backward()
        grads.append([p.grad.clone() for p in net.parameters()])
        functional.reset_net(net)
    for a, b in zip(*grads):
        torch.testing.assert_close(b, a, rtol=1e-5, atol=1e-6)
    assert all(g.abs().sum() > 0 for g in grads[1])


def test_bad_engine_arguments_are_clear_errors():
    x, w = np.zeros((2, 4, 5, 5), np.float32), np.zeros((6, 2, 3, 3), np.float32)
    with pytest.raises(ValueError, match="groups"):
        _engine.sparse_conv_forward(x, w, None, groups=3)
    with pytest.raises(ValueError, match="weight"):
        _engine.sparse_conv_forward(x, w, None, groups=1)  # 4 channels, weight takes 2
    with pytest.raises(TypeError, match="float32 or float64"):
        _engine.sparse_conv_forward(x.astype(np.int32), w, None, groups=2)
    with pytest.raises(ValueError, match="4-D"):
        _engine.sparse_conv_forward(x[0], w, None, groups=2)
    with pytest.raises(ValueError, match="kernel"):
        _engine.sparse_conv_forward(np.zeros((1, 4, 1, 1), np.float32), w, None, groups=2)
    with pytest.raises(TypeError, match="same as x"):
        _engine.sparse_conv_forward(x, w.astype(np.float64), None, groups=2)


def test_forced_path_is_restored_and_checked():
    before = synapse.FORWARD_CROSSOVER, synapse.WEIGHT_GRAD_CROSSOVER
    with synapse.forced("sparse"):
        assert synapse.FORWARD_CROSSOVER == synapse.WEIGHT_GRAD_CROSSOVER == float("inf")
    assert before == (synapse.FORWARD_CROSSOVER, synapse.WEIGHT_GRAD_CROSSOVER)
    with pytest.raises(ValueError, match="path"), synapse.forced("fast"):
        pass


_BITS_SCRIPT = """
import hashlib, torch
from snnrs import layer, neuron
torch.manual_seed(0)
net = torch.nn.Sequential(layer.Conv2d(3, 16, 3, padding=1, step_mode="m"), neuron.LIFNode(step_mode="m"),
                          layer.Conv2d(16, 16, 3, padding=1, step_mode="m"), neuron.ParametricLIFNode(step_mode="m"))
x = torch.rand(4, 8, 3, 16, 16) * 2
out = net(x)
out.sum().backward()
h = hashlib.sha256(out.detach().numpy().tobytes())
for p in net.parameters():
    h.update(p.grad.numpy().tobytes())
print(h.hexdigest())
"""


def test_openmp_and_rayon_loops_give_the_same_bits():
    digests = set()
    for mode in ("openmp", "rayon"):
        env = {**os.environ, "SNNRS_PARALLEL": mode}
        run = subprocess.run([sys.executable, "-c", _BITS_SCRIPT], env=env, capture_output=True, text=True,
                             timeout=300)
        assert run.returncode == 0, run.stderr
        digests.add(run.stdout.strip())
    assert len(digests) == 1


def test_train_step_and_crossover_benchmarks_print_their_tables(capsys):
    from snnrs.bench import synapse as synapse_bench
    from snnrs.bench import train_step
    train_step.main(["--quick", "--repeats", "1", "--precision", "fp32"])
    synapse_bench.main(["--quick", "--repeats", "1"])
    out = capsys.readouterr().out
    assert "| SEW ResNet-18 | 8 | fp32 |" in out and "conv 64->64 3x3, 8x8" in out
