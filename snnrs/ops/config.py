"""The named configurations the fused kernels take after their tensors.

A torch custom op needs a flat schema, so :mod:`snnrs.ops.registration` spreads these fields
into the op's arguments, in this order; the kernels and the autograd glue only ever see them by
name.
"""

from typing import NamedTuple


class NeuronConfig(NamedTuple):
    """A single-state neuron: its charge rule and parameters, how it fires and resets, and the
    surrogate its backward uses (see ``docs/semantics.md#neurons``)."""

    neuron: str  # a name of snnrs._engine.NEURONS
    v_threshold: float
    v_reset: float | None  # None: soft reset
    params: list[float]  # the neuron's own parameters, less a learnable one given as a tensor
    decay_input: bool
    detach_reset: bool
    surrogate: str  # a name of snnrs._engine.SURROGATES
    surrogate_params: list[float]


class TwoStateConfig(NamedTuple):
    """A neuron with a second state beside V — Izhikevich's recovery W (``docs/semantics.md#izhikevich``;
    ``params`` as ``snnrs._engine.IZHIKEVICH_PARAMETERS``) or resonate-and-fire's u
    (``docs/semantics.md#more-neurons``; ``RESONATE_PARAMETERS``)."""

    v_threshold: float
    v_reset: float | None
    params: list[float]
    detach_reset: bool
    surrogate: str
    surrogate_params: list[float]


IzhikevichConfig = TwoStateConfig
