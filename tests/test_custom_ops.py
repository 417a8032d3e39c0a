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
    ("klif", 0.0, False, False, "Sigmoid", [4.0], True),
    ("klif", None, True, True, "ATan", [2.0], False),
]
LEARNABLE_W = {"plif": 0.3, "klif": 1.2}


def _forward_args(cfg, dtype, shape=(5, 3, 4)):
    name, v_reset, decay_input, detach_reset, sg, params, store = cfg
    x = (torch.randn(shape, dtype=dtype) + 0.7).requires_grad_()
    v_init = torch.zeros(shape[1:], dtype=dtype).requires_grad_()
    w = torch.tensor(LEARNABLE_W[name], dtype=dtype, requires_grad=True) if name in LEARNABLE_W else None
    charge = {"if": [], "lif": [2.0], "plif": [], "qif": [2.0, 0.8, 1.0, 0.0], "eif": [2.0, 1.0, 0.8, 0.0],
              "klif": [2.0]}[name]
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
                                     v_init, x if name in LEARNABLE_W else None, w, name, 1.0, v_reset, args[6],
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


# The two-state neurons' ops: Izhikevich (second state W) and resonate-and-fire (u).
TWO_STATE_PARAMS = {"izhikevich": [2.0, 0.8, 1.0, -0.1, 0.05, 3.0, 0.3, 0.2], "resonate": [-0.2, 1.3, 0.8]}


def _two_state_args(name, dtype, v_reset, store, shape=(5, 3, 4)):
    x = (torch.randn(shape, dtype=dtype) + 0.7).requires_grad_()
    v_init = torch.zeros(shape[1:], dtype=dtype).requires_grad_()
    state_init = torch.full(shape[1:], 0.1, dtype=dtype).requires_grad_()
    return (x, v_init, state_init, 1.0, v_reset, TWO_STATE_PARAMS[name], False, "ATan", [2.0], store)


@pytest.mark.parametrize("name", list(TWO_STATE_PARAMS))
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("v_reset,store", [(0.0, True), (None, False)])
def test_two_state_ops_pass_opcheck(name, dtype, v_reset, store):
    torch.manual_seed(2)
    forward = getattr(torch.ops.snnrs, f"{name}_forward").default
    args = _two_state_args(name, dtype, v_reset, store)
    torch.library.opcheck(forward, args)
    x, v_init, state_init = (a.detach() for a in args[:3])
    spikes, v_last, state_last, h_seq, bits, v_seq = forward(x, v_init, state_init, *args[3:])
    torch.library.opcheck(getattr(torch.ops.snnrs, f"{name}_backward").default, (
        torch.randn_like(spikes), torch.randn_like(v_last), torch.randn_like(state_last),
        torch.randn_like(h_seq) if store else None, h_seq, bits, v_init, 1.0, v_reset, TWO_STATE_PARAMS[name], False,
        "ATan", [2.0]))


@pytest.mark.parametrize("model", ["izhikevich", "resonate", "klif"])
def test_carried_state_gets_the_gradient_of_the_torch_loop(model):
    """Two chunks with the state (V, and Izhikevich's W or resonate-and-fire's u) carried between them:
    values and gradients of the engine equal the torch loop's, so gradients at the carried states and
    KLIF's k are right."""
    torch.manual_seed(3)
    x = (torch.rand(10, 2, 6, dtype=torch.float64) * 1.5)
    results = []
    for backend in ("engine", "torch"):
        torch.manual_seed(0)
        if model == "izhikevich":
            node = neuron.IzhikevichNode(step_mode="m", a=0.3, b=0.2, tau_w=3.0, backend=backend,
                                         surrogate_function=surrogate.ATan())
        elif model == "resonate":
            node = neuron.RAFNode(-0.15, 1.1, 0.9, v_threshold=0.5, step_mode="m", backend=backend,
                                  surrogate_function=surrogate.ATan())
        else:
            node = neuron.KLIFNode(step_mode="m", backend=backend, v_reset=None).double()
            with torch.no_grad():
                node.k.fill_(1.3)
        xi = x.clone().requires_grad_()
        out = torch.cat([node(xi[:4]), node(xi[4:])])
        loss = (out * torch.linspace(-1, 1, out.numel(), dtype=torch.float64).view(out.shape)).sum() + node.v.sum()
        if model == "izhikevich":
            loss = loss + (node.w * 0.7).sum()
        if model == "resonate":
            loss = loss + (node.u * 0.7).sum()
        loss.backward()
        results.append((out.detach(), xi.grad, node.k.grad if model == "klif" else None))
    (oe, ge, ke), (ot, gt, kt) = results
    assert torch.equal(oe, ot)
    assert ge.abs().sum() > 0
    torch.testing.assert_close(ge, gt, rtol=1e-9, atol=1e-10)
    if model == "klif":
        torch.testing.assert_close(ke, kt, rtol=1e-9, atol=1e-10)


def test_compiled_izhikevich_resonate_and_klif_network_trains_like_eager():
    def network():
        torch.manual_seed(0)
        return nn.Sequential(nn.Linear(12, 16), neuron.IzhikevichNode(step_mode="m", a=0.2, b=0.1),
                             nn.Linear(16, 8), neuron.RAFNode(v_threshold=0.4, step_mode="m"),
                             nn.Linear(8, 4), neuron.KLIFNode(step_mode="m"))
    x, y = torch.rand(6, 8, 12) * 2, torch.rand(8, 4)
    eager_net, compiled_net = network(), network()
    loss_e, grads_e = _train_step(eager_net, eager_net, x, y)
    loss_c, grads_c = _train_step(torch.compile(compiled_net, fullgraph=True), compiled_net, x, y)
    torch.testing.assert_close(loss_c, loss_e)
    assert any(g.abs().sum() > 0 for g in grads_c)
    for ge, gc in zip(grads_e, grads_c):
        torch.testing.assert_close(gc, ge, rtol=1e-5, atol=1e-6)


def _wgpu_or_skip():
    import os

    from snnrs import gpu
    if not gpu.available():
        if os.environ.get("CI") == "true":
            pytest.fail("no WebGPU adapter in CI")
        pytest.skip("no WebGPU adapter")
    import snnrs.ops.wgsl  # noqa: F401  (registers torch.ops.snnrs.wgpu_*)


@pytest.mark.parametrize("cfg", [c for c in CONFIGS if c[0] in ("if", "lif", "plif")], ids=lambda c: c[0] + "-" + c[4])
def test_wgpu_ops_pass_opcheck(cfg):
    _wgpu_or_skip()
    torch.manual_seed(0)
    args = _forward_args(cfg, torch.float32)
    forward = torch.ops.snnrs.wgpu_neuron_forward.default
    torch.library.opcheck(forward, args[:12])
    x, v_init, w = (a.detach() if a is not None else None for a in args[:3])
    spikes, v_last, h_seq, v_seq = forward(x, v_init, w, *args[3:12])
    store = cfg[6]
    torch.library.opcheck(torch.ops.snnrs.wgpu_neuron_backward.default, (
        torch.randn_like(spikes), torch.randn_like(v_last), torch.randn_like(h_seq) if store else None, h_seq, spikes,
        v_init, x if w is not None else None, w, *args[3:11]))


def test_compiled_network_on_wgpu_trains_like_eager():
    _wgpu_or_skip()
    eager_net, compiled_net = _network(), _network()
    for net in (eager_net, compiled_net):
        functional.set_backend(net, "wgpu")
    x, y = torch.rand(6, 8, 12) * 2, torch.rand(8, 4)
    loss_e, grads_e = _train_step(eager_net, eager_net, x, y)
    loss_c, grads_c = _train_step(torch.compile(compiled_net, fullgraph=True), compiled_net, x, y)
    torch.testing.assert_close(loss_c, loss_e)
    assert any(g.abs().sum() > 0 for g in grads_c)
    for ge, gc in zip(grads_e, grads_c):
        torch.testing.assert_close(gc, ge, rtol=1e-5, atol=1e-6)
