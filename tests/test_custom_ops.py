"""The engine custom ops pass torch.library.opcheck and train under torch.compile(fullgraph=True)."""

import pytest
import torch
from torch import nn

import snnrs  # noqa: F401  (registers torch.ops.snnrs)
from snnrs import functional, neuron, surrogate

FORWARD = torch.ops.snnrs.multistep_neuron_forward.default
BACKWARD = torch.ops.snnrs.multistep_neuron_backward.default

CONFIGS = [
    # (neuron, v_reset, decay_input, detach_reset, surrogate, params, store_v_seq)
    ("if", 0.0, True, False, "Sigmoid", [4.0], False),
    ("lif", None, False, True, "ATan", [2.0], True),
    ("lif", -0.1, True, False, "Rect", [1.0], False),
    ("plif", 0.0, True, False, "PiecewiseLeakyReLU", [1.0, 0.01], True),
    ("plif", None, False, True, "Erf", [2.0], False),
    ("qif", -0.1, True, False, "Sigmoid", [4.0], True),
    ("eif", None, True, True, "ATan", [2.0], False),
]


def _forward_args(cfg, dtype, shape=(5, 3, 4)):
    name, v_reset, decay_input, detach_reset, sg, params, store = cfg
    x = (torch.randn(shape, dtype=dtype) + 0.7).requires_grad_()
    v_init = torch.zeros(shape[1:], dtype=dtype).requires_grad_()
    w = torch.tensor(0.3, dtype=dtype, requires_grad=True) if name == "plif" else None
    charge = {"if": [], "lif": [2.0], "plif": [], "qif": [2.0, 0.8, 1.0, 0.0], "eif": [2.0, 1.0, 0.8, 0.0]}[name]
    return (x, v_init, w, name, 1.0, v_reset, charge, decay_input, detach_reset, sg, params, store)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("cfg", CONFIGS, ids=[c[0] + "-" + c[4] for c in CONFIGS])
def test_forward_op_passes_opcheck(cfg, dtype):
    torch.manual_seed(0)
    torch.library.opcheck(FORWARD, _forward_args(cfg, dtype))


@pytest.mark.parametrize("cfg", CONFIGS, ids=[c[0] + "-" + c[4] for c in CONFIGS])
def test_backward_op_passes_opcheck(cfg):
    torch.manual_seed(0)
    args = _forward_args(cfg, torch.float64)
    x, v_init, w = (a.detach() if a is not None else None for a in args[:3])
    spikes, v_last, h_seq, bits, v_seq = FORWARD(x, v_init, w, *args[3:])
    name, v_reset, decay_input, detach_reset, sg, params, store = cfg
    grad_v_seq = torch.randn_like(h_seq) if store else None
    torch.library.opcheck(BACKWARD, (torch.randn_like(spikes), torch.randn_like(v_last), grad_v_seq,
                                     torch.randn_like(h_seq), h_seq, bits,
                                     v_init, x if name == "plif" else None, w, name, 1.0, v_reset, args[6],
                                     decay_input, detach_reset, sg, params))


def _network():
    torch.manual_seed(0)
    return nn.Sequential(
        nn.Linear(12, 32), neuron.LIFNode(step_mode="m", surrogate_function=surrogate.ATan()),
        nn.Linear(32, 32), neuron.ParametricLIFNode(step_mode="m"),
        nn.Linear(32, 4), neuron.IFNode(step_mode="m", v_reset=None),
    )


def _train_step(model, net, x, y):
    opt = torch.optim.SGD(net.parameters(), lr=0.1)
    out = model(x).mean(0)
    loss = nn.functional.mse_loss(out, y)
    loss.backward()
    grads = [p.grad.clone() for p in net.parameters()]
    opt.step()
    functional.reset_net(net)
    return loss.detach(), grads


def test_compiled_lif_network_trains_one_step_like_eager():
    x = torch.rand(6, 8, 12) * 2
    y = torch.rand(8, 4)
    eager_net, compiled_net = _network(), _network()
    compiled = torch.compile(compiled_net, fullgraph=True)
    loss_e, grads_e = _train_step(eager_net, eager_net, x, y)
    loss_c, grads_c = _train_step(compiled, compiled_net, x, y)
    torch.testing.assert_close(loss_c, loss_e)
    for ge, gc in zip(grads_e, grads_c):
        torch.testing.assert_close(gc, ge, rtol=1e-5, atol=1e-6)
    assert any(g.abs().sum() > 0 for g in grads_c)
    for pe, pc in zip(eager_net.parameters(), compiled_net.parameters()):
        torch.testing.assert_close(pc, pe, rtol=1e-5, atol=1e-6)


def test_inference_forward_saves_nothing_and_matches_training_forward():
    torch.manual_seed(1)
    x = torch.rand(5, 3, 4) * 2
    args = (x, None, None, "lif", 1.0, 0.0, [2.0], True, False, "ATan", [2.0], True)
    torch.library.opcheck(FORWARD, args + (False,))
    train = FORWARD(*args, True)
    infer = FORWARD(*args, False)
    assert infer[2].numel() == 0 and infer[3].numel() == 0  # no h_seq, no bits
    for a, b in zip((train[0], train[1], train[4]), (infer[0], infer[1], infer[4])):
        assert torch.equal(a, b)
    node = neuron.LIFNode(step_mode="m")
    with torch.no_grad():
        y = node(x)
    node.reset()
    assert torch.equal(y, node(x.requires_grad_()))
    with pytest.raises(ValueError, match="save_for_backward"):
        torch.ops.snnrs.multistep_neuron_forward(*args, False)
