"""SpikingJelly 2.0.0's own example programs and model files, run unchanged but for their imports
(pointed at snnrs, in memory), give SpikingJelly's numbers: the same parameters in, the same
outputs, input gradients and parameter gradients out — float64 to 1e-12 (on the default path, spike-sparse
synapses included), float32 (with torch's own convolutions, ``snnrs.ops.synapse.ENABLED = False``) with equal spikes
and gradients to 1e-5 relative (a gradient that cancels to much less than the network's largest is
measured against 10% of that) — in multi-step and single-step mode, on both of our CPU backends; and
every neuron layer of SpikingJelly's network fires, so the comparison covers all of them.

SpikingJelly 2.0.0's own example programs and model files covered: see PROGRAMS (17 files, 29 networks).

SpikingJelly's tensor-/pipeline-parallel tooling (``memopt``, ``distributed``), which two model
files import for their multi-GPU builders, is deliberately not part of snnrs and stays SpikingJelly's
(see ``docs/spikingjelly.md``).
"""

import functools
from dataclasses import dataclass, field
from types import SimpleNamespace

import pytest
import torch

from snnrs.ops import synapse
from tests.compat.sj_sources import load_as_snnrs, load_spikingjelly, spikingjelly
from tests.compat.twins import run_twins


@dataclass
class Program:
    """One network of a SpikingJelly file: how to build it (given the file's module and the
    neuron/surrogate modules of the framework in use), its input, and how to run it."""

    file: str
    build: object  # (module, frameworks) -> nn.Module
    input_shape: tuple
    step_modes: tuple = ("m", "s")
    dtypes: tuple = (torch.float64, torch.float32)
    scale: float = 3.0  # input amplitude: enough to make the random network spike
    weight_gain: float = 1.0  # multiplies conv/linear weights where an untrained network would stay silent
    native_step_mode: bool = False  # the network sets its own step mode (leave it)
    eval_only: bool = False
    notes: str = ""
    label: str = field(default="")

    def __post_init__(self):
        self.label = self.label or self.file.split("/")[-1].removesuffix(".py")


def _plif_net(cls, **kw):
    def build(m, fw):
        return getattr(m, cls)(channels=8, spiking_neuron=fw.neuron.ParametricLIFNode, detach_reset=True,
                               v_threshold=0.2, **kw)
    return build


def _zoo(factory, neuron="IFNode", v_threshold=0.5, **kw):
    def build(m, fw):
        return getattr(m, factory)(num_classes=10, spiking_neuron=getattr(fw.neuron, neuron),
                                   surrogate_function=fw.surrogate.ATan(), detach_reset=True, v_threshold=v_threshold,
                                   **kw)
    return build


def _ottt(factory, v_threshold=0.2):
    # The builder passes no neuron arguments through; a lower threshold (given with the neuron) makes the
    # deep layers of an untrained network fire.
    def build(m, fw):
        return getattr(m, factory)(spiking_neuron=functools.partial(fw.neuron.OTTTLIFNode, v_threshold=v_threshold))
    return build


PROGRAMS = [
    Program("examples/lif_fc_mnist.py", lambda m, fw: m.SNN(tau=2.0), (3, 4, 1, 28, 28)),
    Program("examples/conv_fashion_mnist.py", lambda m, fw: m.CSNN(T=3, channels=8), (2, 1, 28, 28),
            step_modes=("m",), native_step_mode=True, weight_gain=3.0),
    Program("examples/rsnn_sequential_fmnist.py", lambda m, fw: m.PlainNet(), (28, 2, 28), label="rsnn PlainNet"),
    Program("examples/rsnn_sequential_fmnist.py", lambda m, fw: m.StatefulSynapseNet(), (28, 2, 28),
            label="rsnn StatefulSynapseNet"),
    Program("examples/rsnn_sequential_fmnist.py", lambda m, fw: m.FeedBackNet(), (28, 2, 28),
            label="rsnn FeedBackNet"),
    # Its own neurons and ReLU-like surrogate (which casts to float32); needs `new_grad` from its training loop.
    Program("examples/cifar10_r11_enabling_spikebased_backpropagation.py", lambda m, fw: m.ResNet11(),
            (2, 2, 3, 32, 32), step_modes=("s",), dtypes=(torch.float32,), eval_only=True, weight_gain=2.0,
            label="cifar10_r11"),
    Program("model/parametric_lif_net.py", _plif_net("MNISTNet"), (3, 2, 1, 28, 28), label="plif MNISTNet"),
    Program("model/parametric_lif_net.py", _plif_net("FashionMNISTNet"), (3, 2, 1, 28, 28),
            label="plif FashionMNISTNet"),
    Program("model/parametric_lif_net.py", _plif_net("NMNISTNet"), (3, 2, 2, 34, 34), label="plif NMNISTNet"),
    Program("model/parametric_lif_net.py", _plif_net("CIFAR10Net"), (2, 2, 3, 32, 32), label="plif CIFAR10Net"),
    Program("model/parametric_lif_net.py", _plif_net("CIFAR10DVSNet"), (2, 1, 2, 128, 128),
            label="plif CIFAR10DVSNet"),
    Program("model/parametric_lif_net.py", _plif_net("DVSGestureNet"), (2, 1, 2, 128, 128),
            label="plif DVSGestureNet"),
    Program("model/spiking_vgg.py", _zoo("spiking_vgg11_bn"), (2, 2, 3, 32, 32), label="spiking_vgg11_bn"),
    Program("model/spiking_vgg.py", _zoo("spiking_vgg11", neuron="LIFNode"), (2, 1, 3, 32, 32),
            step_modes=("m",), weight_gain=2.0, label="spiking_vgg11 LIF"),
    Program("model/spiking_resnet.py", _zoo("spiking_resnet18"), (2, 2, 3, 32, 32), label="spiking_resnet18"),
    Program("model/spiking_resnet.py", _zoo("spiking_resnet50", neuron="LIFNode", v_threshold=0.3), (2, 1, 3, 32, 32),
            step_modes=("m",), label="spiking_resnet50 LIF"),
    Program("model/sew_resnet.py", _zoo("sew_resnet18", cnf="ADD"), (2, 2, 3, 32, 32), label="sew_resnet18 ADD"),
    Program("model/sew_resnet.py", _zoo("sew_resnet34", neuron="LIFNode", v_threshold=0.3, cnf="IAND"),
            (2, 1, 3, 32, 32), step_modes=("m",), label="sew_resnet34 IAND"),
    Program("model/sew_resnet.py", _zoo("sew_resnet50", neuron="ParametricLIFNode", v_threshold=0.3,
                                              cnf="ADD"), (2, 1, 3, 32, 32),
            step_modes=("m",), label="sew_resnet50 PLIF"),
    # The transformer and membrane-shortcut models build multi-step neurons themselves (LIF by default).
    # Thresholds lowered where an untrained network would leave deep or attention neurons silent (the check
    # fails on any neuron layer of SpikingJelly's network that never fires).
    Program("model/spikformer.py", lambda m, fw: m.Spikformer(T=2, img_size_h=32, img_size_w=32, patch_size=4,
                                                              num_classes=10, embed_dims=32, num_heads=4, depths=1,
                                                              v_threshold=0.2),
            (2, 3, 32, 32), step_modes=("m",), native_step_mode=True, label="Spikformer"),
    Program("model/spike_driven_transformer.py",
            lambda m, fw: m.SpikeDrivenTransformer(T=2, num_classes=10, embed_dims=32, num_heads=4, depths=1,
                                                   v_threshold=0.2),
            (2, 3, 32, 32), step_modes=("m",), native_step_mode=True, label="SpikeDrivenTransformer"),
    Program("model/qkformer.py", lambda m, fw: m.QKFormer(T=2, num_classes=10, embed_dims=32, num_heads=(2, 2, 2),
                                                          depths=(1, 1, 1), v_threshold=0.2),
            (2, 3, 32, 32), step_modes=("m",), native_step_mode=True, label="QKFormer"),
    Program("model/maxformer.py", lambda m, fw: m.MaxFormer(T=2, num_classes=10, embed_dims=32, depths=(1, 1, 1),
                                                            cifar=True, v_threshold=0.2),
            (2, 3, 32, 32), step_modes=("m",), native_step_mode=True, label="MaxFormer"),
    # Online training through time: OTTT neurons (single-step only) hand [spike, trace] to OTTTSequential,
    # which routes weight gradients through the traces; every step's graph stands alone (v detached).
    Program("model/spiking_vggws_ottt.py", _ottt("ottt_spiking_vggws"), (2, 2, 3, 32, 32),
            step_modes=("s",), label="ottt_spiking_vggws"),
    Program("model/spiking_vggws_ottt.py", _ottt("ottt_spiking_vgg11"), (2, 2, 3, 32, 32),
            step_modes=("s",), label="ottt_spiking_vgg11"),
    # The ILC spiking actor of reinforcement learning: population encoding, CUBA-LIF layers, inter-layer
    # connections in the output population, a non-spiking decoder.
    Program("examples/ilc_san/ilc_san.py",
            lambda m, fw: m.PopSpikeActor(4, 2, 6, 5, [16, 16], (-3.0, 3.0), 1.0, 5, "pop-det", "max-mem", 1.0),
            (3, 4), step_modes=("m",), native_step_mode=True, label="ilc_san PopSpikeActor"),
    # Spiking LSTM (snnrs.rnn): gates are spikes of an Erf surrogate; the cell state is clamped forward only.
    Program("examples/spiking_lstm_sequential_mnist.py", lambda m, fw: m.Net(), (28, 2, 28), step_modes=("m",),
            native_step_mode=True, label="spiking_lstm_sequential_mnist"),
    Program("model/ms_resnet.py", lambda m, fw: m.ms_resnet18(num_classes=10), (2, 2, 3, 32, 32), step_modes=("m",),
            native_step_mode=True, label="ms_resnet18"),
    Program("model/masnn.py", lambda m, fw: m.att_ms_resnet18(num_classes=10, T=2), (2, 2, 3, 32, 32),
            step_modes=("m",), native_step_mode=True, label="att_ms_resnet18 (MA-SNN)"),
]

BACKENDS = ("engine", "torch")


def _frameworks():
    sj = spikingjelly()
    import snnrs
    import snnrs.functional
    import snnrs.neuron
    import snnrs.surrogate

    theirs = SimpleNamespace(neuron=sj.neuron, surrogate=sj.surrogate, functional=sj.functional)
    ours = SimpleNamespace(neuron=snnrs.neuron, surrogate=snnrs.surrogate, functional=snnrs.functional)
    return theirs, ours


def _single_step_forward(net, x_seq):
    return torch.stack([net(x) for x in x_seq])


def _cases():
    for program in PROGRAMS:
        for step_mode in program.step_modes:
            for dtype in program.dtypes:
                for backend in BACKENDS:
                    name = f"{program.label}-{step_mode}-{str(dtype).removeprefix('torch.')}-{backend}"
                    yield pytest.param(program, step_mode, dtype, backend, id=name)


@pytest.mark.parametrize(("program", "step_mode", "dtype", "backend"), list(_cases()))
def test_program_gives_spikingjelly_numbers(program: Program, step_mode, dtype, backend):
    theirs, ours = _frameworks()
    sj_module, our_module = load_spikingjelly(program.file), load_as_snnrs(program.file)
    torch.manual_seed(0)
    sj_net = program.build(sj_module, theirs)
    with torch.no_grad():
        for m in sj_net.modules():
            if isinstance(m, (torch.nn.Conv2d, torch.nn.Linear)):
                m.weight.mul_(program.weight_gain)
    our_net = program.build(our_module, ours)
    ours.functional.set_backend(our_net, backend)
    if program.eval_only:
        sj_net.eval()
        our_net.eval()
    x = torch.rand(program.input_shape, generator=torch.Generator().manual_seed(1)) * program.scale
    forward = None
    if program.native_step_mode:
        mode = None
    elif step_mode == "s":
        mode, forward = "s", _single_step_forward
    else:
        mode = "m"
    # float64 runs the default path (the spike-sparse synapses sum in another order: 1e-12); the bit-identical
    # float32 comparison needs torch's own convolution calls, which snnrs.ops.synapse.ENABLED = False gives.
    synapse.ENABLED = dtype == torch.float64
    try:
        difference = run_twins(sj_net, our_net, x, theirs.functional, ours.functional, dtype=dtype, step_mode=mode,
                               forward=forward)
    finally:
        synapse.ENABLED = True
    difference.assert_identical(dtype)


def test_the_suite_covers_at_least_twelve_spikingjelly_program_and_model_files():
    assert len({p.file for p in PROGRAMS}) >= 12
