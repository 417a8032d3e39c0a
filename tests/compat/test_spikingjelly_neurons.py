"""Every neuron class snnrs shares with SpikingJelly 2.0.0, with the same constructor arguments and
state dict, gives SpikingJelly's spikes and gradients (float64, to 1e-12) in multi-step and
single-step mode, on both of our CPU backends; bfloat16 input runs the engine in float32 and gives
SpikingJelly's float32 spikes.

SpikingJelly 2.0's LIAFNode in multi-step mode runs LIFNode's fused kernel and returns LIF spikes
instead of its analog output (its single-step mode is right); snnrs gives the analog output in both
modes, as the last test states."""

import pytest
import torch

import snnrs.neuron as ours
from tests.compat.sj_sources import spikingjelly

ARGS = {
    "PSN": dict(T=8), "MaskedPSN": dict(k=2, T=8), "SlidingPSN": dict(k=2),
    "LIAFNode": dict(act=torch.nn.Identity(), threshold_related=True),
    "SimpleLIFNode": dict(tau=2.0, decay_input=True),
    "LIFNode": dict(tau=3.0, decay_input=False, v_reset=None),
    "ParametricLIFNode": dict(init_tau=3.0),
    "KLIFNode": dict(tau=2.5, v_reset=None),
}
NEURONS = ["IFNode", "LIFNode", "ParametricLIFNode", "QIFNode", "EIFNode", "IzhikevichNode", "KLIFNode", "LIAFNode",
           "CUBALIFNode", "PSN", "MaskedPSN", "SlidingPSN", "SimpleIFNode", "SimpleLIFNode", "NonSpikingIFNode",
           "NonSpikingLIFNode"]
MULTI_STEP_ONLY = {"PSN", "NonSpikingIFNode", "NonSpikingLIFNode"}
SJ_MULTI_STEP_BUG = {"LIAFNode"}


def _cases():
    for name in NEURONS:
        for mode in ("m", "s"):
            if mode == "s" and name in MULTI_STEP_ONLY or mode == "m" and name in SJ_MULTI_STEP_BUG:
                continue
            for backend in ("engine", "torch"):
                yield pytest.param(name, mode, backend, id=f"{name}-{mode}-{backend}")


def _run(node, x, mode):
    xi = x.clone().requires_grad_(True)
    y = node(xi) if mode == "m" else torch.stack([node(step) for step in xi])
    if isinstance(y, list):  # NonSpiking*Node with decode=None: the potentials, one per step
        y = torch.stack(y)
    (y * torch.linspace(-1, 1, y.numel(), dtype=y.dtype).reshape(y.shape)).sum().backward()
    return y.detach(), xi.grad, [p.grad for p in node.parameters()]


def _pair(name, mode, backend):
    sj = spikingjelly()
    theirs = getattr(sj.neuron, name)(**ARGS.get(name, {})).double()
    mine = getattr(ours, name)(**ARGS.get(name, {})).double()
    if name not in MULTI_STEP_ONLY:
        theirs.step_mode = mine.step_mode = mode
    if hasattr(mine, "backend"):
        mine.backend = backend if backend in mine.supported_backends else mine.backend
    if name == "MaskedPSN" and mode == "s":  # single-step needs the causal mask
        theirs.lambda_ = 1.0
    if name in ("PSN", "MaskedPSN", "SlidingPSN"):  # a trained-looking bias: the default -1 keeps it silent
        with torch.no_grad():
            theirs.bias.fill_(-0.2)
    mine.load_state_dict(theirs.state_dict(), strict=True)
    return theirs, mine


@pytest.mark.parametrize(("name", "mode", "backend"), list(_cases()))
def test_neuron_gives_spikingjelly_numbers(name, mode, backend):
    theirs, mine = _pair(name, mode, backend)
    x = torch.rand(8, 3, 5, dtype=torch.float64, generator=torch.Generator().manual_seed(0)) * 2.5 - 0.3
    (y_sj, g_sj, p_sj), (y_us, g_us, p_us) = _run(theirs, x, mode), _run(mine, x, mode)
    assert y_sj.abs().sum() > 0 and g_sj.abs().sum() > 0
    torch.testing.assert_close(y_us, y_sj, rtol=0, atol=0)
    torch.testing.assert_close(g_us, g_sj, rtol=1e-12, atol=1e-12)
    for a, b in zip(p_us, p_sj, strict=True):
        torch.testing.assert_close(a, b, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("name", ["IFNode", "LIFNode", "ParametricLIFNode", "IzhikevichNode", "CUBALIFNode"])
def test_half_precision_runs_the_engine_in_float32_as_spikingjelly_does_in_float32(name):
    """snnrs's deliberate difference: bfloat16 input runs the engine with float32 arithmetic and state
    (as mixed precision keeps its state), returning bfloat16 spikes — SpikingJelly's float32 run on the
    same values, where SpikingJelly (and snnrs's torch backend) in bfloat16 round the state each step."""
    sj = spikingjelly()
    node = getattr(ours, name)(step_mode="m")
    x = (torch.rand(6, 4, 5, generator=torch.Generator().manual_seed(1)) * 2).bfloat16()
    assert node.engine_supports(x)
    y = node(x.requires_grad_())
    assert y.dtype == torch.bfloat16 and node.v.dtype == torch.float32
    theirs = getattr(sj.neuron, name)()
    theirs.step_mode = "m"
    with torch.no_grad():
        assert torch.equal(y.float(), theirs(x.detach().float()))


def test_liaf_multi_step_gives_its_analog_output_where_spikingjelly_2_0_returns_lif_spikes():
    theirs, mine = _pair("LIAFNode", "m", "engine")
    x = torch.rand(8, 3, 5, dtype=torch.float64, generator=torch.Generator().manual_seed(0)) * 2.5 - 0.3
    with torch.no_grad():
        sj_multi = theirs(x)
        theirs.reset()
        theirs.step_mode = "s"
        sj_single = torch.stack([theirs(step) for step in x])
        ours_multi = mine(x)
    assert set(sj_multi.unique().tolist()) <= {0.0, 1.0}  # spikes: SpikingJelly's bug
    assert not set(sj_single.unique().tolist()) <= {0.0, 1.0}  # analog, as defined
    torch.testing.assert_close(ours_multi, sj_single, rtol=0, atol=1e-15)
