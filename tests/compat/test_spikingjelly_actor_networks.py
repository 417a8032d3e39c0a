"""SpikingJelly 2.0.0's reinforcement-learning actor neurons — coloured noise, noisy CUBA-LIF, inter-layer
connections, the noisy non-spiking decoder — give SpikingJelly's numbers, alone and in the Noisy-SAN
network of its own ``noisy_san`` example (with the same pre-drawn noise), in training (noise on) and
acting (noise off), and when replaying stored noise.

SpikingJelly 2.0's own ``NoisyPopSpikeActor`` cannot run: its decoder asks for ``decode='last-mem'``, which
SpikingJelly's noisy decoder spells ``'last-me'`` and so returns a list; snnrs accepts both spellings
(the last test states it)."""

import numpy as np
import pytest
import torch

import snnrs.neuron
from tests.compat.sj_sources import load_as_snnrs, load_spikingjelly, spikingjelly

T = 5


def _copy_noise(src, dst):
    for name in ("eps_v_seq", "eps_s_seq", "eps_seq", "noise_step"):
        if hasattr(src, name):
            setattr(dst, name, getattr(src, name))


@pytest.mark.parametrize("exponent", [0.0, 1.0, 2.0])
@pytest.mark.parametrize("samples", [16, 15])
def test_colored_noise_is_spikingjellys_for_the_same_seed(exponent, samples):
    sj = spikingjelly()
    theirs = sj.neuron.powerlaw_psd_gaussian(exponent, [3, samples], random_state=7)
    mine = snnrs.neuron.powerlaw_psd_gaussian(exponent, [3, samples], random_state=7)
    np.testing.assert_allclose(mine, theirs, rtol=1e-12, atol=1e-12)
    assert abs(mine.std() - 1) < 0.6


def _actor_neurons(framework):
    n = framework.neuron
    return {
        "ILCIFNode": n.ILCIFNode(2, 3, v_threshold=0.6),
        "ILCLIFNode": n.ILCLIFNode(2, 3, v_threshold=0.6),
        "ILCCUBALIFNode": n.ILCCUBALIFNode(2, 3),
        "NoisyCUBALIFNode": n.NoisyCUBALIFNode(6, T=T, beta=1.0),
        "NoisyILCCUBALIFNode": n.NoisyILCCUBALIFNode(2, 3, T=T, beta=0.5, v_threshold=0.6),
        "NoisyNonSpikingIFNode": n.NoisyNonSpikingIFNode(6, T=T, decode="max-abs-mem"),
    }


CASES = [(name, noise) for name in _actor_neurons(snnrs)
         for noise in (("drawn", "off", "replayed") if name.startswith("Noisy") else ("off",))]


@pytest.mark.parametrize(("name", "noise"), CASES)
def test_actor_neuron_gives_spikingjelly_numbers(name, noise):
    sj = spikingjelly()
    torch.manual_seed(0)
    theirs = _actor_neurons(sj)[name].double()
    mine = _actor_neurons(snnrs)[name].double()
    mine.load_state_dict(theirs.state_dict(), strict=True)
    if name.startswith("Noisy"):
        theirs.reset_noise(4)
        _copy_noise(theirs, mine)
        theirs.is_training = mine.is_training = noise != "off"
        if noise == "replayed":
            width = 6 if "NonSpiking" in name else 12
            stored = torch.rand(2, T, width, dtype=torch.float64, generator=torch.Generator().manual_seed(3))
            theirs.load_colored_noise(stored)
            mine.load_colored_noise(stored)
    x = torch.rand(T, 2, 6, dtype=torch.float64, generator=torch.Generator().manual_seed(1)) * 1.5
    results = []
    for node in (theirs, mine):
        xi = x.clone().requires_grad_(True)
        y = node(xi * 1.0)  # SpikingJelly's ILC writes into its input: hand it a non-leaf
        (y * torch.linspace(-1, 1, y.numel(), dtype=y.dtype).reshape(y.shape)).sum().backward()
        results.append((y.detach(), xi.grad, {k: p.grad for k, p in node.named_parameters()}))
    (y_sj, g_sj, p_sj), (y_us, g_us, p_us) = results
    assert (y_sj != 0).any()
    torch.testing.assert_close(y_us, y_sj, rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(g_us, g_sj, rtol=1e-12, atol=1e-12)
    for key, grad in p_sj.items():
        torch.testing.assert_close(p_us[key], grad, rtol=1e-12, atol=1e-12, msg=key)
    if name.startswith("Noisy"):
        assert mine.noise_step == theirs.noise_step


@pytest.mark.parametrize("noise", [True, False])
def test_noisy_san_network_from_spikingjellys_example_gives_its_numbers(noise):
    spikingjelly()
    sj_module = load_spikingjelly("examples/noisy_san/noisy_san.py")
    our_module = load_as_snnrs("examples/noisy_san/noisy_san.py")
    torch.manual_seed(0)
    theirs = sj_module.NoisySpikeMLP(12, 2, 5, [16, 16], T, 1.0, 0.5).double()
    mine = our_module.NoisySpikeMLP(12, 2, 5, [16, 16], T, 1.0, 0.5).double()
    mine.load_state_dict(theirs.state_dict(), strict=True)
    theirs.reset_noise(3)
    for a, b in zip(theirs._noisy_nodes(), mine._noisy_nodes(), strict=True):
        _copy_noise(a, b)
    theirs.use_noise(noise)
    mine.use_noise(noise)
    x = (torch.rand(T, 4, 12, dtype=torch.float64, generator=torch.Generator().manual_seed(2)) > 0.5).double()
    outs = []
    for net in (theirs, mine):
        xi = x.clone().requires_grad_(True)
        y = net(xi)
        (y * torch.linspace(-1, 1, y.numel(), dtype=y.dtype).reshape(y.shape)).sum().backward()
        outs.append((y.detach(), xi.grad, [p.grad for p in net.parameters()], net.get_colored_noise()))
    assert (outs[0][0] != 0).any()
    for a, b in zip(outs[1], outs[0], strict=True):
        if isinstance(a, list):
            for pa, pb in zip(a, b, strict=True):
                torch.testing.assert_close(pa, pb, rtol=1e-12, atol=1e-12)
        else:
            torch.testing.assert_close(a, b, rtol=1e-12, atol=1e-12)


def test_noisy_decoder_accepts_both_spellings_of_last_mem_where_spikingjelly_returns_a_list():
    sj = spikingjelly()
    x = torch.rand(T, 2, 3)
    theirs = sj.neuron.NoisyNonSpikingIFNode(3, is_training=False, T=T, decode="last-mem")
    assert isinstance(theirs(x), list)  # SpikingJelly 2.0's typo ('last-me')
    for spelling in ("last-mem", "last-me"):
        mine = snnrs.neuron.NoisyNonSpikingIFNode(3, is_training=False, T=T, decode=spelling)
        torch.testing.assert_close(mine(x), x.sum(0))


def test_noisy_neuron_asks_for_reset_noise_before_training():
    node = snnrs.neuron.NoisyCUBALIFNode(4)
    with pytest.raises(RuntimeError, match="reset_noise"):
        node(torch.rand(5, 2, 4))
