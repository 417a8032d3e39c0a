"""Checkpoints of SpikingJelly 2.0.0's own model zoo — SEW ResNet-18, spiking VGG-11-BN, the PLIF
MNIST net — saved to a file by SpikingJelly, load into snnrs.models with
``models.load_spikingjelly_state_dict`` and give SpikingJelly's outputs (float64, to 1e-12).

SpikingJelly 2.0's Bottleneck computes IAND as ``A·(1 - S)`` (A the residual branch's spikes, S the
shortcut), its BasicBlock and the SEW paper as ``(1 - A)·S``; snnrs uses ``(1 - A)·S`` in both, so
there (and only there) the outputs differ, as the last test states."""

import pytest
import torch

from snnrs import functional, models, neuron, surrogate
from tests.compat.sj_sources import load_spikingjelly, spikingjelly

NEURON = dict(surrogate_function=surrogate.ATan(), detach_reset=True)


def _sj_neuron_kwargs(sj):
    return dict(surrogate_function=sj.surrogate.ATan(), detach_reset=True)


def _train_statistics(net, functional_module, x):
    """One train-mode pass so the batch norms hold running statistics other than their defaults."""
    net.train()
    with torch.no_grad():
        net(x)
    functional_module.reset_net(net)
    net.eval()


def _checkpoint_roundtrip(sj_net, tmp_path):
    path = tmp_path / "spikingjelly_checkpoint.pth"
    torch.save({"model": sj_net.state_dict(), "epoch": 3}, path)  # as SJ's training scripts save them
    return torch.load(path, weights_only=True)


CASES = {
    "sew_resnet18": (
        "model/sew_resnet.py",
        lambda m, sj: m.sew_resnet18(num_classes=10, cnf="ADD", spiking_neuron=sj.neuron.IFNode,
                                     v_threshold=0.5, **_sj_neuron_kwargs(sj)),
        lambda: models.sew_resnet18(num_classes=10, cnf="ADD", spiking_neuron=neuron.IFNode, v_threshold=0.5,
                                    return_sequence=True, **NEURON),
        (3, 2, 3, 32, 32)),
    "spiking_resnet18": (
        "model/spiking_resnet.py",
        lambda m, sj: m.spiking_resnet18(num_classes=10, spiking_neuron=sj.neuron.IFNode, v_threshold=0.5,
                                         **_sj_neuron_kwargs(sj)),
        lambda: models.spiking_resnet18(num_classes=10, spiking_neuron=neuron.IFNode, v_threshold=0.5,
                                        return_sequence=True, **NEURON),
        (3, 2, 3, 32, 32)),
    "spiking_vgg11_bn": (
        "model/spiking_vgg.py",
        lambda m, sj: m.spiking_vgg11_bn(num_classes=10, spiking_neuron=sj.neuron.IFNode, v_threshold=0.5,
                                         **_sj_neuron_kwargs(sj)),
        lambda: models.spiking_vgg11_bn(num_classes=10, spiking_neuron=neuron.IFNode, v_threshold=0.5,
                                        return_sequence=True, **NEURON),
        (3, 2, 3, 32, 32)),
    "plif_mnist": (
        "model/parametric_lif_net.py",
        lambda m, sj: m.MNISTNet(channels=128, spiking_neuron=sj.neuron.ParametricLIFNode, v_threshold=0.3,
                                 **_sj_neuron_kwargs(sj)),
        lambda: models.plif_net_mnist(return_sequence=True, v_threshold=0.3),
        (3, 2, 1, 28, 28)),
}


@pytest.mark.parametrize("name", list(CASES))
def test_spikingjelly_checkpoint_loads_and_gives_its_outputs(name, tmp_path):
    sj = spikingjelly()
    file, build_theirs, build_ours, shape = CASES[name]
    torch.manual_seed(0)
    theirs = build_theirs(load_spikingjelly(file), sj).double()
    sj.functional.set_step_mode(theirs, "m")
    x = torch.rand(shape, dtype=torch.float64, generator=torch.Generator().manual_seed(2)) * 3
    _train_statistics(theirs, sj.functional, x)
    with torch.no_grad():  # as after training: PLIF time constants moved, weights large enough to fire
        for m in theirs.modules():
            if isinstance(m, sj.neuron.ParametricLIFNode):
                m.w.fill_(0.3)
            if isinstance(m, torch.nn.Linear):
                m.weight.mul_(4.0)
    ours = build_ours().double()
    assert sum(p.numel() for p in ours.parameters()) == sum(p.numel() for p in theirs.parameters())
    models.load_spikingjelly_state_dict(ours, _checkpoint_roundtrip(theirs, tmp_path))
    ours.eval()
    with torch.no_grad():
        expected = theirs(x)
        got = ours(x)
    functional.reset_net(ours)
    assert expected.abs().sum() > 0
    torch.testing.assert_close(got, expected, rtol=1e-12, atol=1e-12)


def test_a_checkpoint_of_another_model_is_refused_with_the_entries_named():
    sj = spikingjelly()
    theirs = load_spikingjelly("model/spiking_vgg.py").spiking_vgg11_bn(spiking_neuron=sj.neuron.IFNode)
    with pytest.raises(ValueError, match="entries|does not correspond"):
        models.load_spikingjelly_state_dict(models.spiking_vgg13_bn(), theirs.state_dict())
    plif = load_spikingjelly("model/parametric_lif_net.py").MNISTNet(spiking_neuron=sj.neuron.ParametricLIFNode)
    with pytest.raises(ValueError, match="linear_bias"):
        models.load_spikingjelly_state_dict(models.plif_net_mnist(linear_bias=False), plif.state_dict())


def test_bottleneck_iand_keeps_the_sew_definition_where_spikingjelly_2_0_swaps_it():
    sj = spikingjelly()
    file = load_spikingjelly("model/sew_resnet.py")
    torch.manual_seed(0)
    theirs = file.sew_resnet50(num_classes=10, cnf="IAND", spiking_neuron=sj.neuron.IFNode, v_threshold=0.5,
                               **_sj_neuron_kwargs(sj)).double().train()  # batch statistics: spikes deep in
    sj.functional.set_step_mode(theirs, "m")
    ours = models.sew_resnet50(num_classes=10, cnf="IAND", spiking_neuron=neuron.IFNode, v_threshold=0.5,
                               return_sequence=True, **NEURON).double().train()
    models.load_spikingjelly_state_dict(ours, theirs.state_dict())
    x = torch.rand(2, 2, 3, 32, 32, dtype=torch.float64, generator=torch.Generator().manual_seed(2)) * 3
    with torch.no_grad():
        assert (ours(x) - theirs(x)).abs().max() > 1e-3
    # With Bottleneck's IAND written as in BasicBlock, SpikingJelly's network gives ours.
    original = file.sew_function
    try:
        file.sew_function = lambda a, b, cnf: original(b, a, cnf) if cnf == "IAND" else original(a, b, cnf)
        sj.functional.reset_net(theirs)
        functional.reset_net(ours)
        with torch.no_grad():
            swapped = theirs(x)
            # BasicBlock calls sew_function(identity, out) and would now swap too: only Bottlenecks here.
            torch.testing.assert_close(ours(x), swapped, rtol=1e-12, atol=1e-12)
    finally:
        file.sew_function = original
