"""Runs one network written against SpikingJelly twice — once with SpikingJelly, once with its
imports pointed at snnrs — from the same parameters, and compares what comes out."""

from collections.abc import Callable
from dataclasses import dataclass

import torch

# float32 gradients agree to this, relative to the largest entry of the gradient — or, for a gradient much
# smaller than the network's largest (a sum that cancels: a PLIF time constant's, a bias before a batch
# norm), to this fraction of the network's largest gradient: below that, both sides are float32 rounding.
FLOAT32_GRAD_RTOL = 1e-5
FLOAT32_CANCELLATION_FLOOR = 0.1


@dataclass
class Difference:
    """How far the snnrs run is from the SpikingJelly run."""

    output: float  # max |Δ| of the outputs
    output_relative: float
    input_grad: float  # max |Δ| / max |g| of the input gradients
    param_grad: float  # worst over parameters of max |Δ| / allowed (<= 1 passes)
    worst_param: str
    active: float  # fraction of nonzero outputs (a network that never spikes proves nothing)
    silent: list  # SpikingJelly's neuron layers that never fired (their forward comparison proves nothing)

    def assert_identical(self, dtype: torch.dtype):
        tol_out, tol_grad = (1e-12, 1e-12) if dtype == torch.float64 else (0.0, FLOAT32_GRAD_RTOL)
        assert self.active > 0, "the outputs are all zero: choose an input that makes the network spike"
        assert not self.silent, f"neuron layers that never fire: {self.silent[:5]} ({len(self.silent)} in all)"
        assert self.output_relative <= tol_out, f"outputs differ: max |Δ| {self.output:.3g}"
        assert self.input_grad <= tol_grad, f"input gradients differ: {self.input_grad:.3g} relative"
        assert self.param_grad <= 1.0, f"gradient of {self.worst_param} differs: {self.param_grad:.3g}× the tolerance"


def _scale(*tensors: torch.Tensor) -> float:
    return max(max(t.abs().max().item() for t in tensors), 1e-30)


def _relative(a: torch.Tensor, b: torch.Tensor) -> float:
    return (a - b).abs().max().item() / _scale(a, b)


def _outputs(y) -> list:
    if isinstance(y, torch.Tensor):
        return [y]
    if isinstance(y, (tuple, list)):
        return [t for item in y for t in _outputs(item)]
    return []


def _neuron_layers(net) -> dict:
    """The spiking neuron layers of ``net`` (SpikingJelly's or snnrs's classes named ``*Node``, not the
    non-spiking readouts), by name."""
    return {name: m for name, m in net.named_modules()
            if type(m).__name__.endswith("Node") and "NonSpiking" not in type(m).__name__}


def _run(net, functional, x, dtype, step_mode, forward, seed, fired=None):
    """Outputs, input gradient and parameter gradients of one forward/backward from rest; with a dict
    ``fired``, records for each neuron layer whether it spiked."""
    net.to(dtype)
    if step_mode is not None:
        functional.set_step_mode(net, step_mode)
    functional.reset_net(net)
    xi = x.detach().to(dtype).clone().requires_grad_(True)
    net.zero_grad(set_to_none=True)
    hooks = []
    if fired is not None:
        for name, layer in _neuron_layers(net).items():
            fired.setdefault(name, False)

            def record(module, args, output, name=name):
                fired[name] = fired[name] or any(bool((t != 0).any()) for t in _outputs(output))
            hooks.append(layer.register_forward_hook(record))
    torch.manual_seed(seed)  # the same dropout masks, encoder draws
    try:
        ys = _outputs(forward(net, xi) if forward else net(xi))
    finally:
        for hook in hooks:
            hook.remove()
    generator = torch.Generator().manual_seed(seed)
    loss = sum((y * torch.randn(y.shape, generator=generator, dtype=torch.float64).to(y)).sum()
               for y in ys if y.is_floating_point() and y.requires_grad)
    if isinstance(loss, torch.Tensor):
        loss.backward()
    functional.reset_net(net)
    grads = {name: p.grad.detach().clone() for name, p in net.named_parameters() if p.grad is not None}
    return [y.detach() for y in ys], xi.grad, grads


def run_twins(sj_net: torch.nn.Module, our_net: torch.nn.Module, x: torch.Tensor, sj_functional, our_functional,
              dtype: torch.dtype = torch.float64, step_mode: str | None = None,
              forward: Callable | None = None, seed: int = 0) -> Difference:
    """Loads SpikingJelly's parameters into ``our_net`` (strictly), runs both on ``x`` and backward
    from the same random output gradient; returns the differences."""
    our_net.load_state_dict(sj_net.state_dict(), strict=True)
    fired = {}
    sj_ys, sj_gx, sj_grads = _run(sj_net, sj_functional, x, dtype, step_mode, forward, seed, fired)
    our_ys, our_gx, our_grads = _run(our_net, our_functional, x, dtype, step_mode, forward, seed)
    assert len(sj_ys) == len(our_ys), f"{len(sj_ys)} outputs from SpikingJelly, {len(our_ys)} from snnrs"
    out = max(((a - b).abs().max().item() for a, b in zip(sj_ys, our_ys, strict=True)), default=0.0)
    out_rel = max((_relative(a, b) for a, b in zip(sj_ys, our_ys, strict=True)), default=0.0)
    assert (sj_gx is None) == (our_gx is None), "only one of the two runs reaches the input"
    gx = 0.0 if sj_gx is None else _relative(sj_gx, our_gx)
    assert set(sj_grads) == set(our_grads), f"parameters with gradients differ: {set(sj_grads) ^ set(our_grads)}"
    worst, worst_name = 0.0, ""
    # A gradient that cancels to almost nothing is rounding noise on both sides: differences are measured
    # against the network's largest gradient at least (float64) or a fraction of it (float32).
    network_scale = max((_scale(g) for g in sj_grads.values()), default=0.0)
    for name, g in sj_grads.items():
        difference = (g - our_grads[name]).abs().max().item()
        if dtype == torch.float64:
            allowed = 1e-12 * max(_scale(g, our_grads[name]), network_scale)
        else:
            allowed = FLOAT32_GRAD_RTOL * max(_scale(g, our_grads[name]), FLOAT32_CANCELLATION_FLOOR * network_scale)
        ratio = difference / max(allowed, 1e-300)
        if ratio > worst:
            worst, worst_name = ratio, name
    active = sum(float((y != 0).sum()) for y in sj_ys) / max(sum(y.numel() for y in sj_ys), 1)
    silent = [name for name, spiked in fired.items() if not spiked]
    return Difference(out, out_rel, gx, worst, worst_name, active, silent)
