"""SpikingJelly 2.0's stateless neuron functions for the neurons snnrs fuses (``if_step``,
``lif_multi_step``, ``izhikevich_step``, …; ``docs/spikingjelly.md``): the same names, argument order
and return values, computed by the neuron modules themselves — so a multi-step call runs the fused
engine kernel, and a custom neuron written in SpikingJelly 2.0's functional style (as its own
OTTT neuron calls ``functional.lif_step``) gives the numbers the built-in one does.

Multi-step functions return ``(spikes, v_last, v_seq or None)``; step functions ``(spike, v)`` (and
the other states after v where the neuron has them, in SpikingJelly's order).
"""

import torch
from torch.func import functional_call

from snnrs import surrogate
from snnrs.neuron.cuba import CUBALIFNode
from snnrs.neuron.integrate import IFNode
from snnrs.neuron.izhikevich import IzhikevichNode
from snnrs.neuron.lif import KLIFNode, LIAFNode, LIFNode, ParametricLIFNode
from snnrs.neuron.nonlinear import EIFNode, QIFNode

__all__ = ["if_step", "if_multi_step", "lif_step", "lif_multi_step", "plif_step", "plif_multi_step", "qif_step",
           "qif_multi_step", "eif_step", "eif_multi_step", "izhikevich_step", "izhikevich_multi_step", "klif_step",
           "cuba_lif_step", "liaf_step"]


def _check_precision(neuron_storage, neuron_fwd, neuron_bwd):
    if neuron_storage is not None or neuron_fwd != "fp32" or neuron_bwd != "fp32":
        raise ValueError("neuron_storage / neuron_fwd / neuron_bwd: SpikingJelly's reduced-precision CUDA storage is "
                         "not provided; snnrs runs bfloat16/float16 input with float32 state (docs/spikingjelly.md)")


def _state(value, like: torch.Tensor) -> torch.Tensor:
    """A caller's state (a tensor of the step's shape, or anything broadcasting to it: a number, a scalar
    tensor) as a tensor of the step's shape; the gradient still reaches a tensor given."""
    value = torch.as_tensor(value, dtype=like.dtype, device=like.device)
    if value.shape == like.shape:
        return value
    try:
        return value.expand(like.shape).clone()
    except RuntimeError:
        raise ValueError(f"state: shape {tuple(value.shape)} does not broadcast to the step's {tuple(like.shape)}") \
            from None


def _sequence(node, x_seq, v, store_v_seq, parameters=None, **states):
    """Runs ``node`` (multi-step) on ``x_seq`` from voltage ``v`` (and ``states``): spikes, final v, v_seq."""
    node.step_mode = "m"
    node.store_v_seq = bool(store_v_seq)
    node.v = _state(v, x_seq[0])
    for name, value in states.items():
        setattr(node, name, _state(value, x_seq[0]))
    spikes = functional_call(node, parameters, (x_seq,)) if parameters else node(x_seq)
    return spikes, node.v, node.v_seq if store_v_seq else None


def _one_step(node, x, v, parameters=None, **states):
    spikes, v_next, _ = _sequence(node, x.unsqueeze(0), v, False, parameters, **states)
    return spikes[0], v_next


def _default(surrogate_function):
    return surrogate.Sigmoid() if surrogate_function is None else surrogate_function


def if_multi_step(x_seq, v, v_threshold=1.0, v_reset=0.0, surrogate_function=None, detach_reset=False,
                  store_v_seq=False, *, neuron_storage=None, neuron_fwd="fp32", neuron_bwd="fp32"):
    _check_precision(neuron_storage, neuron_fwd, neuron_bwd)
    node = IFNode(v_threshold, v_reset, _default(surrogate_function), detach_reset)
    return _sequence(node, x_seq, v, store_v_seq)


def if_step(x, v, v_threshold, v_reset, surrogate_function, detach_reset=False):
    return _one_step(IFNode(v_threshold, v_reset, surrogate_function, detach_reset), x, v)


def lif_multi_step(x_seq, v, tau=2.0, decay_input=True, v_threshold=1.0, v_reset=0.0, surrogate_function=None,
                   detach_reset=False, store_v_seq=False, *, neuron_storage=None, neuron_fwd="fp32",
                   neuron_bwd="fp32"):
    _check_precision(neuron_storage, neuron_fwd, neuron_bwd)
    node = LIFNode(tau, decay_input, v_threshold, v_reset, _default(surrogate_function), detach_reset)
    return _sequence(node, x_seq, v, store_v_seq)


def lif_step(x, v, tau, decay_input, v_threshold, v_reset, surrogate_function, detach_reset=False):
    return _one_step(LIFNode(tau, decay_input, v_threshold, v_reset, surrogate_function, detach_reset), x, v)


def plif_multi_step(x_seq, v, w, decay_input=True, v_threshold=1.0, v_reset=0.0, surrogate_function=None,
                    detach_reset=False, store_v_seq=False, *, neuron_storage=None, neuron_fwd="fp32",
                    neuron_bwd="fp32"):
    """``w`` is the raw parameter: ``1/tau = sigmoid(w)``; its gradient flows back to the caller's ``w``."""
    _check_precision(neuron_storage, neuron_fwd, neuron_bwd)
    node = ParametricLIFNode(2.0, decay_input, v_threshold, v_reset, _default(surrogate_function), detach_reset)
    return _sequence(node, x_seq, v, store_v_seq, {"w": torch.as_tensor(w).to(x_seq)})


def plif_step(x, v, w, decay_input, v_threshold, v_reset, surrogate_function, detach_reset=False):
    node = ParametricLIFNode(2.0, decay_input, v_threshold, v_reset, surrogate_function, detach_reset)
    return _one_step(node, x, v, {"w": torch.as_tensor(w).to(x)})


def qif_multi_step(x_seq, v, tau=2.0, v_threshold=1.0, v_reset=0.0, v_rest=0.0, v_c=0.8, a0=1.0, detach_reset=False,
                   surrogate_function=None, store_v_seq=False):
    node = QIFNode(tau, v_c, a0, v_threshold, v_rest, v_reset, _default(surrogate_function), detach_reset)
    return _sequence(node, x_seq, v, store_v_seq)


def qif_step(x, v, tau, a0, v_rest, v_c, v_threshold, v_reset, surrogate_function, detach_reset=False):
    return _one_step(QIFNode(tau, v_c, a0, v_threshold, v_rest, v_reset, surrogate_function, detach_reset), x, v)


def eif_multi_step(x_seq, v, tau=2.0, v_threshold=1.0, v_reset=0.0, v_rest=0.0, theta_rh=1.0, delta_t=1.0,
                   detach_reset=False, surrogate_function=None, store_v_seq=False):
    node = EIFNode(tau, delta_t, theta_rh, v_threshold, v_rest, v_reset, _default(surrogate_function), detach_reset)
    return _sequence(node, x_seq, v, store_v_seq)


def eif_step(x, v, tau, delta_t, theta_rh, v_rest, v_threshold, v_reset, surrogate_function, detach_reset=False):
    node = EIFNode(tau, delta_t, theta_rh, v_threshold, v_rest, v_reset, surrogate_function, detach_reset)
    return _one_step(node, x, v)


def izhikevich_multi_step(x_seq, v, w, tau=2.0, v_threshold=1.0, v_reset=0.0, v_rest=0.0, a=0.1, b=0.2, tau_w=2.0,
                          v_c=0.8, a0=1.0, detach_reset=False, surrogate_function=None, store_state_seq=False):
    """``(spikes, v, w, v_seq or None, w_seq or None)``."""
    node = IzhikevichNode(tau, v_c, a0, v_threshold, v_reset, v_rest, 0.0, tau_w, a, b, _default(surrogate_function),
                          detach_reset)
    if not store_state_seq:
        spikes, v_last, _ = _sequence(node, x_seq, v, False, w=w)
        return spikes, v_last, node.w, None, None
    spikes, vs, ws = [], [], []
    for x in x_seq:  # one step at a time to record w as well
        spike, v = _one_step(node, x, v, w=w)
        w = node.w
        spikes.append(spike)
        vs.append(v)
        ws.append(w)
    return torch.stack(spikes), v, w, torch.stack(vs), torch.stack(ws)


def izhikevich_step(x, v, w, tau, a0, v_rest, v_c, tau_w, a, b, v_threshold, v_reset, surrogate_function,
                    detach_reset=False):
    spikes, v_next, w_next, _, _ = izhikevich_multi_step(x.unsqueeze(0), v, w, tau, v_threshold, v_reset, v_rest, a,
                                                         b, tau_w, v_c, a0, detach_reset, surrogate_function)
    return spikes[0], v_next, w_next


def klif_step(x, v, k, tau, decay_input, scale_reset, v_threshold, v_reset, surrogate_function, detach_reset=False):
    node = KLIFNode(scale_reset, tau, decay_input, v_threshold, v_reset, surrogate_function, detach_reset)
    return _one_step(node, x, v, {"k": torch.as_tensor(k).to(x)})


def cuba_lif_step(x, current, v, current_decay, voltage_decay, v_threshold, v_reset, surrogate_function,
                  detach_reset=False):
    """``(spike, current, v)``."""
    node = CUBALIFNode(current_decay, voltage_decay, v_threshold, v_reset, surrogate_function, detach_reset)
    spike, v_next = _one_step(node, x, v, c=current)
    return spike, node.c, v_next


def liaf_step(x, v, tau, decay_input, v_threshold, v_reset, act, threshold_related, surrogate_function,
              detach_reset=False):
    """``(output, v)``: the analog output ``act(H - V_th)`` (or ``act(H)``) and the voltage after reset."""
    node = LIAFNode(act, threshold_related, tau, decay_input, v_threshold, v_reset, surrogate_function, detach_reset)
    return _one_step(node, x, v)
