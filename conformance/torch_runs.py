"""Runs snnrs.neuron modules on float64 data and collects outputs and gradients."""

import numpy as np
import torch

from snnrs import neuron as tn
from snnrs import surrogate as ts
from snnrs.ops import registration

MODULES = {"if": tn.IFNode, "lif": tn.LIFNode, "plif": tn.ParametricLIFNode}


def make_node(cfg, backend, step_mode="m", store_v_seq=True):
    sg = getattr(ts, cfg["surrogate"])(**cfg["surrogate_params"], spiking=True)
    common = dict(v_threshold=cfg["v_threshold"], v_reset=cfg["v_reset"], surrogate_function=sg,
                  detach_reset=cfg["detach_reset"], step_mode=step_mode, backend=backend, store_v_seq=store_v_seq)
    if cfg["neuron"] == "if":
        node = tn.IFNode(**common)
    elif cfg["neuron"] == "lif":
        node = tn.LIFNode(tau=cfg["tau"], decay_input=cfg["decay_input"], **common)
    else:
        node = tn.ParametricLIFNode(decay_input=cfg["decay_input"], **common).double()
        with torch.no_grad():
            node.w.fill_(cfg["w"])  # after .double(): w must not pass through float32
    return node.double()


def run_module(cfg, backend, x, v_init, g_spikes, g_v_seq, step_mode="m"):
    """Forward and backward of loss = <spikes, g_spikes> + <v_seq, g_v_seq>.

    backend 'engine-custom-op' is the engine reached through torch.ops.snnrs
    (as under torch.compile) instead of the eager autograd.Function.
    """
    if backend == "engine-custom-op":
        previous, registration.EAGER_FAST_PATH = registration.EAGER_FAST_PATH, False
        try:
            return run_module(cfg, "engine", x, v_init, g_spikes, g_v_seq, step_mode)
        finally:
            registration.EAGER_FAST_PATH = previous
    node = make_node(cfg, backend, step_mode)
    xt = torch.tensor(x, requires_grad=True)
    v0 = torch.tensor(v_init, requires_grad=True)
    node.v = v0
    if step_mode == "m":
        spikes = node(xt)
        v_seq = node.v_seq
    else:
        outs, vs = [], []
        for t in range(x.shape[0]):
            outs.append(node(xt[t]))
            vs.append(node.v)
        spikes, v_seq = torch.stack(outs), torch.stack(vs)
    loss = (spikes * torch.tensor(g_spikes)).sum() + (v_seq * torch.tensor(g_v_seq)).sum()
    loss.backward()
    grad_w = node.w.grad.item() if cfg["neuron"] == "plif" else 0.0
    return {"spikes": spikes.detach().numpy(), "v_seq": v_seq.detach().numpy(), "grad_x": xt.grad.numpy(),
            "grad_v_init": v0.grad.numpy() if v0.grad is not None else np.zeros_like(v_init), "grad_w": grad_w}
