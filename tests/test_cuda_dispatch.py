"""The CUDA path's dispatch: ``torch.ops.snnrs.multistep_neuron_*`` run the Triton kernels on tensors the
path takes, under autograd, ``torch.compile(fullgraph=True)`` and ``opcheck``, with the CPU engine's
numbers. On a GPU the kernels take CUDA tensors; without one, SNNRS_TRITON_ON_CPU=1 and TRITON_INTERPRET=1
send CPU tensors through the same kernels in triton's interpreter. The kernels' numbers are held to
reference/ by conformance/test_cuda_equals_reference.py."""

import contextlib
import importlib.util
import os

import pytest
import torch

from snnrs import neuron, surrogate
from snnrs.ops import NeuronConfig, multistep_neuron

ON_GPU = torch.cuda.is_available()


@pytest.fixture(scope="module", autouse=True)
def kernels_mode():
    if importlib.util.find_spec("triton") is None:
        if os.environ.get("CI") == "true":
            pytest.fail("triton is missing in CI (it comes with torch's Linux wheels)")
        pytest.skip("triton is not installed")
    from snnrs import cuda

    # on a GPU the compiled kernels take CUDA tensors (CPU tensors stay on the engine)
    with contextlib.nullcontext() if ON_GPU else cuda.interpreter():
        yield


@contextlib.contextmanager
def triton_path(on: bool = True):
    """Within the block, tensors from ``to_triton`` take the Triton kernels (CUDA tensors on a GPU, else CPU
    tensors in the interpreter); CPU tensors outside it take the engine."""
    os.environ["SNNRS_TRITON_ON_CPU"] = "1" if on and not ON_GPU else "0"
    try:
        yield
    finally:
        os.environ["SNNRS_TRITON_ON_CPU"] = "0"


def to_triton(t):
    """A module or tensor where the Triton kernels take it."""
    return t.cuda() if ON_GPU else t


@pytest.fixture()
def kernel_calls(monkeypatch):
    """The Triton kernels' calls ("forward", "backward"; single- and two-state), recorded."""
    from snnrs.cuda import neuron as kernels
    calls = []
    def recording(name, which):
        original = getattr(kernels, name)

        def recorded(*args, **kwargs):
            calls.append(which)
            return original(*args, **kwargs)

        return recorded

    for family in ("neuron", "izhikevich"):
        for which in ("forward", "backward"):
            monkeypatch.setattr(kernels, f"{family}_{which}", recording(f"{family}_{which}", which))
    return calls


def loss(y):
    return (y.float() * torch.linspace(-1, 1, y.shape[-1], device=y.device)).sum()


def run(make, x, triton: bool):
    """Forward and backward of a fresh neuron from ``make()`` on the Triton kernels or the CPU engine:
    (output, dL/dx, parameter gradients), on the CPU."""
    with triton_path(triton):
        torch.manual_seed(0)
        module = make()
        if triton:
            module, x = to_triton(module), to_triton(x)
        x = x.detach().clone().requires_grad_(True)
        y = module(x)
        loss(y).backward()
        return y.detach().cpu(), x.grad.cpu(), [p.grad.cpu() for p in module.parameters()]


NEURONS = {
    "LIF": lambda: neuron.LIFNode(tau=3.0, step_mode="m", surrogate_function=surrogate.ATan()),
    "LIF soft, detached, no input decay": lambda: neuron.LIFNode(tau=2.0, v_reset=None, detach_reset=True,
                                                                 decay_input=False, step_mode="m"),
    "ParametricLIF": lambda: neuron.ParametricLIFNode(step_mode="m", v_reset=-0.2,
                                                      surrogate_function=surrogate.Erf()),
    "IF": lambda: neuron.IFNode(step_mode="m", surrogate_function=surrogate.PiecewiseQuadratic()),
    "QIF": lambda: neuron.QIFNode(step_mode="m"),
    "EIF": lambda: neuron.EIFNode(step_mode="m", v_reset=None),
    "KLIF": lambda: neuron.KLIFNode(step_mode="m"),
    "CUBA-LIF": lambda: neuron.CUBALIFNode(step_mode="m"),
    "LIAF": lambda: neuron.LIAFNode(torch.relu, True, step_mode="m"),
    "Izhikevich": lambda: neuron.IzhikevichNode(step_mode="m", a=0.3, b=0.2, tau_w=3.0,
                                                surrogate_function=surrogate.Sigmoid()),
}


@pytest.mark.parametrize("name", NEURONS)
@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16, torch.float16])
def test_neurons_take_the_triton_kernels_with_the_engines_numbers(kernel_calls, name, dtype):
    x = (torch.randn(5, 3, 33, generator=torch.Generator().manual_seed(1)) + 0.6).to(dtype)
    got = run(NEURONS[name], x, triton=True)
    assert kernel_calls == ["forward", "backward"]
    want = run(NEURONS[name], x, triton=False)
    assert kernel_calls == ["forward", "backward"]  # the engine ran the second time
    torch.testing.assert_close(got[0], want[0], rtol=0, atol=0)
    assert got[1].dtype == want[1].dtype == dtype
    # float32 gradients within float32 rounding; 16-bit ones within one step of their format (the float32
    # value before rounding differs in its last bits: the engine evaluates sg' in float64)
    step = {torch.float32: None, torch.bfloat16: 2**-7, torch.float16: 2**-10}[dtype]
    tolerance = dict(rtol=1e-5, atol=1e-6) if step is None else dict(rtol=step, atol=1e-5)
    torch.testing.assert_close(got[1], want[1], **tolerance)
    for g, w in zip(got[2], want[2]):
        torch.testing.assert_close(g, w, rtol=1e-4, atol=1e-6)


def test_single_step_mode_takes_the_kernels_too(kernel_calls):
    with triton_path():
        node = to_triton(neuron.IFNode())
        outputs = [node(to_triton(torch.full((4,), 0.6))) for _ in range(3)]
    assert kernel_calls == ["forward"] * 3
    assert [o[0].item() for o in outputs] == [0.0, 1.0, 0.0]  # H: 0.6, 1.2 (fires, V = 0), 0.6


def test_neurons_without_a_triton_rule_stay_off_the_kernels(kernel_calls):
    with triton_path():
        to_triton(neuron.RAFNode(step_mode="m"))(to_triton(torch.randn(3, 8)))  # resonate-and-fire: none yet
        neuron.LIFNode(step_mode="m")(to_triton(torch.randn(3, 8, dtype=torch.float64)))  # float64
    assert kernel_calls == []


def test_compiled_fullgraph_network_runs_the_kernels(kernel_calls):
    x = torch.randn(4, 2, 12, generator=torch.Generator().manual_seed(2))

    def make():
        return torch.nn.Sequential(torch.nn.Linear(12, 12), neuron.ParametricLIFNode(step_mode="m"))

    with triton_path():
        torch.manual_seed(0)
        net = to_triton(make())
        compiled = torch.compile(net, fullgraph=True)
        xc = to_triton(x).requires_grad_(True)
        loss(compiled(xc)).backward()
    assert "forward" in kernel_calls and "backward" in kernel_calls
    _, grad_x, grads = run(make, x, triton=False)
    torch.testing.assert_close(xc.grad.cpu(), grad_x, rtol=1e-5, atol=1e-6)
    for p, g in zip(net.parameters(), grads):
        torch.testing.assert_close(p.grad.cpu(), g, rtol=1e-4, atol=1e-6)


@pytest.mark.parametrize("store_v_seq, save_for_backward", [(True, True), (False, True), (True, False)])
def test_opcheck_passes_on_the_triton_path(kernel_calls, store_v_seq, save_for_backward):
    training = save_for_backward  # without saved state there is no backward: inference inputs
    config = NeuronConfig("plif", 1.0, 0.0, [], True, False, "Sigmoid", [4.0])
    x = to_triton(torch.randn(3, 5)).requires_grad_(training)
    w = to_triton(torch.tensor(0.3)).requires_grad_(training)
    v_init = to_triton(torch.randn(5)) if store_v_seq else None
    args = multistep_neuron._forward.flatten(x, v_init, w, config, store_v_seq, save_for_backward)
    with triton_path():
        torch.library.opcheck(multistep_neuron.forward_op, args)
    assert "forward" in kernel_calls and ("backward" in kernel_calls) == training
