"""Mixed precision (docs/semantics.md#mixed-precision): the neuron kernels stream bfloat16/float16 x,
spikes and gradients while their state and time loop stay float32, and so give exactly the float32
kernel's numbers on the widened input, rounded once on the way out; under CPU autocast a network
runs the engine's neurons and synapses (no fallback to torch's loop); Trainer and the CLI take
``precision``."""

import pytest
import torch
from torch import nn

from snnrs import functional, layer, neuron, surrogate
from snnrs.ops import engine as engine_ops
from snnrs.ops import host, synapse
from snnrs.ops.config import NeuronConfig
from snnrs.training import Trainer

HALVES = [torch.bfloat16, torch.float16]
FORWARD = torch.ops.snnrs.multistep_neuron_forward.default

# (neuron, charge params, learnable w, v_reset, detach_reset, surrogate, surrogate params)
NEURONS = [
    ("lif", [2.0], None, 0.0, False, "ATan", [2.0]),
    ("if", [], None, None, True, "Sigmoid", [4.0]),
    ("plif", [], 0.3, 0.0, False, "Erf", [2.0]),
    ("qif", [2.0, 0.8, 1.0, 0.0], None, -0.1, False, "Sigmoid", [4.0]),
]


def _config(case) -> NeuronConfig:
    name, params, _, v_reset, detach, sg, sg_params = case
    return NeuronConfig(name, 1.0, v_reset, params, True, detach, sg, sg_params)


@pytest.mark.parametrize("dtype", HALVES, ids=str)
@pytest.mark.parametrize("case", NEURONS, ids=[c[0] for c in NEURONS])
# 4100 neurons span three staged blocks of 2048, the last one partial; 0 neurons is an empty step
@pytest.mark.parametrize("neurons", [1, 37, 4100, 0])
def test_16_bit_kernels_are_the_float32_kernels_rounded_once(case, dtype, neurons):
    torch.manual_seed(neurons)
    config, steps = _config(case), 5
    x = (torch.randn(steps, neurons) * 1.5 + 0.6).to(dtype)
    v_init = torch.randn(neurons) * 0.3
    w = None if case[2] is None else torch.tensor(case[2])
    half = engine_ops._neuron_forward(x, v_init, w, config, store_v_seq=True)
    full = engine_ops._neuron_forward(x.float(), v_init, w, config, store_v_seq=True)
    assert half[0].dtype == dtype and all(t.dtype == torch.float32 for t in (half[1], half[2], half[4]))
    assert torch.equal(half[0].float(), full[0])  # spikes are 0/1: exact in 16 bits
    for a, b in zip(half[1:], full[1:]):  # v_last, h_seq, bits, v_seq: the same float32 loop
        assert torch.equal(a, b)
    grad_spikes = torch.randn(steps, neurons).to(dtype)
    grad_v_last = torch.randn(neurons)
    saved = half[2], half[3]
    x_saved = x if w is not None else None
    got = engine_ops._neuron_backward(grad_spikes, grad_v_last, None, None, *saved, v_init, x_saved, w, config)
    want = engine_ops._neuron_backward(grad_spikes.float(), grad_v_last, None, None, *full[2:4], v_init,
                                       None if x_saved is None else x.float(), w, config)
    assert got[0].dtype == dtype and got[1].dtype == torch.float32
    assert torch.equal(got[0], want[0].to(dtype))  # grad_x: the float32 gradient rounded to nearest even
    assert torch.equal(got[1], want[1]) and torch.equal(got[2], want[2])


def test_16_bit_backward_without_spike_gradient_streams_in_the_state_dtype():
    config = _config(NEURONS[0])
    x = torch.randn(3, 10).to(torch.bfloat16)
    _, _, h_seq, bits, _ = engine_ops._neuron_forward(x, None, None, config, store_v_seq=False)
    grad_x, _, _ = engine_ops._neuron_backward(None, torch.ones(10), None, None, h_seq, bits, None, None, None,
                                               config)
    assert grad_x.dtype == torch.float32  # nothing says 16 bits: autograd casts it to x's dtype


def test_16_bit_state_must_be_float32():
    config = _config(NEURONS[0])
    x = torch.randn(3, 10).to(torch.bfloat16)
    with pytest.raises(TypeError, match="v_init: expected dtype torch.float32"):
        engine_ops._neuron_forward(x, torch.zeros(10, dtype=torch.bfloat16), None, config, store_v_seq=False)
    with pytest.raises(TypeError, match="storage"):
        from snnrs import _engine
        _engine.neuron_forward(x.float().numpy(), neuron="lif", params=[2.0], storage="bfloat16")


@pytest.mark.parametrize("dtype", HALVES, ids=str)
def test_forward_op_passes_opcheck_in_16_bits(dtype):
    torch.manual_seed(0)
    x = (torch.randn(5, 3, 4) + 0.7).to(dtype).requires_grad_()
    v_init = torch.zeros(3, 4, requires_grad=True)
    w = torch.tensor(0.3, requires_grad=True)
    torch.library.opcheck(FORWARD, (x, v_init, w, "plif", 1.0, 0.0, [], True, False, "ATan", [2.0], True))


@pytest.mark.parametrize("dtype", HALVES, ids=str)
def test_neuron_module_keeps_float32_state_and_16_bit_gradients(dtype, monkeypatch):
    torch.manual_seed(1)
    x = (torch.randn(4, 2, 50) + 0.8).to(dtype)
    node = neuron.ParametricLIFNode(step_mode="m", surrogate_function=surrogate.ATan())
    x_half = x.clone().requires_grad_()
    storages = []
    kernel = engine_ops._engine.neuron_forward

    def recording(*args, **kwargs):
        storages.append(kwargs.get("storage"))
        return kernel(*args, **kwargs)

    monkeypatch.setattr(engine_ops._engine, "neuron_forward", recording)
    out = node(x_half)
    monkeypatch.undo()
    assert storages == [host.HALF_STORAGE[dtype]]  # the kernel read the 16-bit x itself, no float32 copy
    assert out.dtype == dtype and node.v.dtype == torch.float32
    out.float().sum().backward()
    reference = neuron.ParametricLIFNode(step_mode="m", surrogate_function=surrogate.ATan())
    x_full = x.float().requires_grad_()
    want = reference(x_full)
    want.sum().backward()
    assert torch.equal(out.float(), want)
    assert x_half.grad.dtype == dtype and torch.equal(x_half.grad, x_full.grad.to(dtype))
    assert torch.equal(node.w.grad, reference.w.grad)


def _net():
    torch.manual_seed(0)
    return nn.Sequential(
        layer.Conv2d(1, 8, 3, padding=1, bias=False), layer.BatchNorm2d(8), neuron.LIFNode(),
        layer.Conv2d(8, 8, 3, padding=1, bias=False), layer.BatchNorm2d(8), neuron.LIFNode(),
        layer.Flatten(), layer.Linear(8 * 8 * 8, 10))


def test_autocast_network_runs_the_engine_without_fallback(monkeypatch):
    net = _net()
    functional.set_step_mode(net, "m")
    x = torch.rand(4, 3, 1, 8, 8) * 2
    calls = {}
    real = type(synapse.synapse).__call__

    def counting(self, *args, **kwargs):  # every fused op (synapses and neurons) by name
        calls[self.name] = calls.get(self.name, 0) + 1
        return real(self, *args, **kwargs)

    monkeypatch.setattr(type(synapse.synapse), "__call__", counting)
    monkeypatch.setattr(neuron.BaseNode, "_torch_steps", lambda self, x: pytest.fail("torch loop ran"))
    monkeypatch.setattr(host, "cpu_computes_natively", lambda dtype: False)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        out = net(x)
    assert out.dtype == torch.bfloat16 and calls == {"synapse": 3, "multistep_neuron": 2}
    out.float().sum().backward()
    assert all(p.grad is not None and p.grad.dtype == torch.float32 for p in net.parameters())


def test_autocast_synapse_gives_torchs_autocast_numbers(monkeypatch):
    """Ours: the operands rounded as autocast rounds them, summed in float32, rounded once. torch's own
    bfloat16 convolution sums in float32 too (in another order): within one bfloat16 rounding."""
    monkeypatch.setattr(host, "cpu_computes_natively", lambda dtype: False)
    torch.manual_seed(2)
    conv = layer.Conv2d(4, 6, 3, padding=1)
    x = (torch.rand(2, 4, 7, 7) < 0.3).float()
    with torch.autocast("cpu", dtype=torch.bfloat16):
        ours = conv(x)
        want = nn.Conv2d._conv_forward(conv, x, conv.weight, conv.bias)
    assert ours.dtype == want.dtype == torch.bfloat16
    torch.testing.assert_close(ours.float(), want.float(), rtol=2**-7, atol=2**-7)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        # autocast leaves float64 alone, and so does the op: torch's own convolution takes it
        assert not synapse.supports(x.double(), conv.weight.double())
        assert synapse.supports(x, conv.weight)
    monkeypatch.setattr(host, "cpu_computes_natively", lambda dtype: True)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        assert not synapse.supports(x, conv.weight)  # native bfloat16 hardware: torch's bf16 convolution


def test_trainer_precision_arguments():
    model = nn.Linear(3, 2)
    opt = torch.optim.SGD(model.parameters(), 0.1)
    trainer = Trainer(model, opt, epochs=1, precision="bf16", progress=False)
    assert trainer.amp and trainer.autocast_dtype == torch.bfloat16 and not trainer.scaler.is_enabled()
    assert Trainer(model, opt, epochs=1, precision="fp16", progress=False).scaler.is_enabled()
    assert not Trainer(model, opt, epochs=1, precision="fp32", progress=False).amp
    with pytest.raises(ValueError, match="precision: expected one of"):
        Trainer(model, opt, epochs=1, precision="half")
    with pytest.raises(ValueError, match="amp, precision"):
        Trainer(model, opt, epochs=1, amp=True, precision="bf16")


def test_trainer_bf16_trains_under_autocast(monkeypatch):
    monkeypatch.setattr(host, "cpu_computes_natively", lambda dtype: False)
    net = _net()
    functional.set_step_mode(net, "m")
    torch.manual_seed(3)
    x = torch.rand(64, 4, 1, 8, 8)
    y = (x.mean((1, 2, 3, 4)) > 0.5).long()

    class Batches:
        def __len__(self):
            return 4

        def __iter__(self):
            for i in range(4):
                yield x[16 * i:16 * (i + 1)].transpose(0, 1), y[16 * i:16 * (i + 1)]

    trainer = Trainer(net, torch.optim.Adam(net.parameters(), 1e-2), epochs=3, precision="bf16", progress=False)
    history = trainer.fit(Batches())
    assert history[-1]["train_loss"] < history[0]["train_loss"]


def test_compiled_network_under_autocast_runs_like_eager(monkeypatch):
    """fullgraph: whether the CPU has native 16-bit dot products is known before tracing (a file read
    inside the traced layers broke the graph)."""
    monkeypatch.setattr(host, "_NATIVE_HALF", {torch.bfloat16: False, torch.float16: False})
    x = torch.rand(4, 3, 1, 8, 8) * 2
    results = []
    for compiled in (False, True):
        net = _net()
        functional.set_step_mode(net, "m")
        model = torch.compile(net, fullgraph=True, backend="aot_eager") if compiled else net
        with torch.autocast("cpu", dtype=torch.bfloat16):
            out = model(x)
        out.float().sum().backward()
        results.append((out, [p.grad for p in net.parameters()]))
    (eager, eager_grads), (compiled_out, compiled_grads) = results
    assert compiled_out.dtype == torch.bfloat16
    torch.testing.assert_close(compiled_out, eager)
    for a, b in zip(eager_grads, compiled_grads):
        torch.testing.assert_close(b, a)


def test_node_with_its_own_starting_voltage_takes_16_bit_input():
    node = neuron.HalfThresholdIFNode(step_mode="m")  # starts at v_threshold / 2 (its own _carried_v)
    out = node(torch.rand(3, 5).to(torch.bfloat16) * 2)
    assert out.dtype == torch.bfloat16 and node.v.dtype == torch.float32


def test_unscaled_checkpoint_resumes_with_loss_scaling(tmp_path):
    """A float32 run saves an empty scaler state; resuming it in fp16 starts the scaler afresh."""
    torch.manual_seed(4)
    x, y = torch.rand(32, 6), torch.randint(0, 2, (32,))
    batches = [(x[:16], y[:16]), (x[16:], y[16:])]

    def trainer(epochs, precision, resume=None):
        model = nn.Linear(6, 2)
        return Trainer(model, torch.optim.SGD(model.parameters(), 0.1), epochs=epochs, precision=precision,
                       progress=False, checkpoint_dir=tmp_path, resume=resume)

    trainer(1, "fp32").fit(batches)
    resumed = trainer(2, "fp16", resume=tmp_path / "last.pt")
    history = resumed.fit(batches)
    assert len(history) == 2 and resumed.scaler.is_enabled()
