"""The plumbing of online training through time (OTTT; ``docs/semantics.md#online-training``).

An :class:`~snnrs.neuron.OTTTLIFNode` in training emits ``[spike, trace]``. The layer after it must
compute its forward value from the spikes but its weight gradient from the trace (the eligibility of
each input, which replaces backpropagation through time). :class:`OTTTSequential` does this for every
module it holds: a module with parameters goes through :class:`GradwithTrace`, one without
(pooling, dropout, flatten) through :class:`SpikeTraceOp`; anything else sees plain tensors.
"""

import torch
from torch import nn

from snnrs.neuron.online import OTTTLIFNode

__all__ = ["ReplaceforGrad", "GradwithTrace", "SpikeTraceOp", "OTTTSequential"]


class ReplaceforGrad(torch.autograd.Function):
    """``forward(x, x_r)`` returns ``x_r``'s value; backward gives the incoming gradient to both, so a
    value computed one way can carry the gradient of a graph built another way."""

    @staticmethod
    def forward(ctx, x, x_r):
        return x_r.clone()

    @staticmethod
    def backward(ctx, grad):
        return grad, grad


def _value_of_spikes_gradient_of_trace(module: nn.Module, pair):
    spike, trace = pair
    with torch.no_grad():
        value = module(spike)
    # The graph is built on the trace (its value enters, so d/dW sees the trace); the gradient to the
    # input passes through unchanged to whatever produced the spikes.
    through_trace = module(ReplaceforGrad.apply(spike, trace))
    return ReplaceforGrad.apply(through_trace, value)


def _same_op_on_both(module: nn.Module, pair):
    spike, trace = pair
    spike = module(spike)
    with torch.no_grad():
        trace = module(trace)
    return [spike, trace]


class GradwithTrace(nn.Module):
    """Wraps a module with parameters: output valued as ``module(spike)``, gradients as if the input
    had been the trace."""

    def __init__(self, module: nn.Module):
        super().__init__()
        self.module = module

    def forward(self, x):
        return _value_of_spikes_gradient_of_trace(self.module, x)


class SpikeTraceOp(nn.Module):
    """Wraps a parameter-free module (pooling, dropout, flatten): applies it to spike and trace alike."""

    def __init__(self, module: nn.Module):
        super().__init__()
        self.module = module

    def forward(self, x):
        return _same_op_on_both(self.module, x)


class OTTTSequential(nn.Sequential):
    """``nn.Sequential`` that passes ``[spike, trace]`` pairs along: an OTTT neuron takes the spikes and
    returns a new pair; other modules are wrapped on the fly as described in the module docstring.
    Plain tensors (evaluation, or the layers before the first neuron) go through unchanged."""

    def forward(self, x):
        for module in self:
            if not isinstance(x, list):
                x = module(x)
            elif isinstance(module, OTTTLIFNode):
                x = module(x[0])
            elif next(module.parameters(), None) is None:
                x = _same_op_on_both(module, x)
            else:
                x = _value_of_spikes_gradient_of_trace(module, x)
        return x
