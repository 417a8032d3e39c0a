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
    "TernaryLIFNode": dict(tau=2.5, v_reset=None),
    "GatedLIFNode": dict(T=8),
    "DSRIFNode": dict(T=8, v_threshold=0.9),  # rates on both sides of the threshold: both gradients
    "DSRLIFNode": dict(T=8, v_threshold=0.3, delta_t=0.5),
    "RAFNode": dict(b=-0.1, omega=0.8, v_threshold=0.6),
}
NEURONS = ["IFNode", "LIFNode", "ParametricLIFNode", "QIFNode", "EIFNode", "IzhikevichNode", "KLIFNode", "LIAFNode",
           "CUBALIFNode", "PSN", "MaskedPSN", "SlidingPSN", "SimpleIFNode", "SimpleLIFNode", "NonSpikingIFNode",
           "NonSpikingLIFNode", "TernaryIFNode", "TernaryLIFNode", "ILIFNode", "RAFNode", "ComplementaryLIFNode",
           "GatedLIFNode", "HalfThresholdIFNode", "DSRIFNode", "DSRLIFNode"]
INPUT_RANGE = {"TernaryIFNode": (-2.5, 2.5), "TernaryLIFNode": (-3.0, 3.0), "ILIFNode": (-0.5, 3.5)}
MULTI_STEP_ONLY = {"PSN", "NonSpikingIFNode", "NonSpikingLIFNode", "GatedLIFNode", "DSRIFNode", "DSRLIFNode"}
ONLINE = ["OTTTLIFNode", "SLTTLIFNode"]  # single-step, [spike, trace]: tests/compat/test_spikingjelly_online.py
SJ_MULTI_STEP_BUG = {"LIAFNode"}
# SpikingJelly 2.0's DSR neurons cast their spikes to float32 whatever the input dtype (and so carry a
# float32-rounded threshold into a float64 voltage); compared in float32, where both compute alike.
SJ_FLOAT32_OUTPUT = {"DSRIFNode", "DSRLIFNode"}


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
    low, high = INPUT_RANGE.get(name, (-0.3, 2.2))
    x = torch.rand(8, 3, 5, dtype=torch.float64, generator=torch.Generator().manual_seed(0)) * (high - low) + low
    if name in SJ_FLOAT32_OUTPUT:
        theirs.float(), mine.float()
        x = x.float()
    (y_sj, g_sj, p_sj), (y_us, g_us, p_us) = _run(theirs, x, mode), _run(mine, x, mode)
    assert y_sj.abs().sum() > 0 and g_sj.abs().sum() > 0
    if name.startswith("Ternary"):
        assert (y_sj < 0).any() and (y_sj > 0).any(), "both signs of spike are compared"
    if name == "ILIFNode":
        assert (y_sj > 1).any(), "counts above one are compared"
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


@pytest.mark.parametrize("name", NEURONS + ONLINE)
def test_constructor_arguments_come_in_spikingjelly_2_0s_order(name):
    """SpikingJelly's own subclasses (and users') pass arguments by position — OTTTLIFNode hands
    ``store_v_seq`` to LIFNode eighth — so SpikingJelly 2.0's parameters must be a prefix of ours, in order
    (snnrs's extra ``backend`` comes after them)."""
    import inspect
    sj = spikingjelly()
    def named(cls):  # up to a *args / **kwargs (LIAFNode hands those to LIFNode)
        names = []
        for p in list(inspect.signature(cls.__init__).parameters.values())[1:]:
            if p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD):
                break
            names.append(p.name)
        return names
    theirs, mine = named(getattr(sj.neuron, name)), named(getattr(ours, name))
    assert mine[:len(theirs)] == theirs, f"SpikingJelly: {theirs}; snnrs: {mine}"


def test_store_v_seq_in_backends_place_is_a_clear_error():
    with pytest.raises(TypeError, match="store_v_seq"):
        ours.LIFNode(2.0, True, 1.0, 0.0, ours.LIFNode().surrogate_function, False, "m", "torch")


@pytest.mark.parametrize("name", sorted(SJ_FLOAT32_OUTPUT))
def test_dsr_keeps_the_input_dtype_where_spikingjelly_2_0_returns_float32(name):
    theirs, mine = _pair(name, "m", "torch")
    x = torch.rand(8, 3, 5, dtype=torch.float64, generator=torch.Generator().manual_seed(0)) * 2
    with torch.no_grad():
        assert theirs(x).dtype == torch.float32
        assert mine(x).dtype == torch.float64
