"""The neuron factory SpikingJelly 2.0's model files import (``from .._neuron import
_make_multi_step_neuron``); kept under that name so those files run against snnrs unchanged."""

import copy
from collections.abc import Callable

from snnrs import neuron


def _make_multi_step_neuron(spiking_neuron: Callable | None, kwargs: dict, defaults: dict | None = None):
    """A multi-step neuron: ``spiking_neuron(**kwargs, step_mode='m')`` — or, when ``spiking_neuron``
    is None, a LIF neuron from ``defaults`` updated by ``kwargs``. A ``step_mode`` other than 'm' in
    ``kwargs`` is an error (the model runs whole sequences)."""
    if kwargs.get("step_mode", "m") != "m":
        raise ValueError(f"step_mode: these models run multi-step neurons, got {kwargs['step_mode']!r}")
    parameters = copy.deepcopy(defaults) if spiking_neuron is None and defaults else {}
    parameters.update(copy.deepcopy(kwargs))
    parameters["step_mode"] = "m"
    return (neuron.LIFNode if spiking_neuron is None else spiking_neuron)(**parameters)
