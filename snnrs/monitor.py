"""Monitors: record what layers see and emit, via hooks (SpikingJelly's ``activation_based.monitor``).

Each monitor hooks every module of ``net`` that is an instance of ``instance``
(all modules when None). ``monitor.records`` lists every record in call order;
``monitor[name]`` gives one layer's records; ``monitored_layers`` names them.
``clear_recorded_data()``, ``enable()``, ``disable()`` and ``remove_hooks()``
manage it; a monitor is also a context manager that removes its hooks on exit.
"""

from collections.abc import Callable

from torch import nn

__all__ = ["OutputMonitor", "InputMonitor", "AttributeMonitor", "GradInputMonitor", "GradOutputMonitor",
           "firing_rates"]


def _identity(x):
    return x


def _record_value(x):
    # Kept as is (no detach), as SpikingJelly does: records of spikes can feed a loss, e.g. a
    # firing-rate regulariser. Detach in function_on_output to save memory.
    return x


class BaseMonitor:
    def __init__(self, net: nn.Module, instance=None):
        if not isinstance(net, nn.Module):
            raise TypeError(f"net: expected a torch.nn.Module, got {type(net).__name__}")
        self.records = []
        self.name_records = {}
        self.monitored_layers = []
        self._hooks = []
        self._enabled = True
        for name, module in net.named_modules():
            if (instance is None and name) or (instance is not None and isinstance(module, instance)):
                self.monitored_layers.append(name)
                self.name_records[name] = []
                self._hooks.append(self._attach(name, module))

    def _attach(self, name, module):
        raise TypeError(f"{type(self).__name__} does not define how to attach")  # overridden by every monitor

    def _record(self, name, value):
        if self._enabled:
            self.records.append(value)
            self.name_records[name].append(value)

    def __getitem__(self, name):
        return self.name_records[name]

    def clear_recorded_data(self):
        self.records.clear()
        for values in self.name_records.values():
            values.clear()

    def enable(self):
        self._enabled = True

    def disable(self):
        self._enabled = False

    def is_enable(self):
        return self._enabled

    def remove_hooks(self):
        for handle in self._hooks:
            handle.remove()
        self._hooks.clear()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.remove_hooks()

    def __del__(self):
        for handle in getattr(self, "_hooks", []):
            handle.remove()


class OutputMonitor(BaseMonitor):
    """Records ``function_on_output(output)`` after each forward of the hooked layers."""

    def __init__(self, net, instance=None, function_on_output: Callable = _identity):
        self.function_on_output = function_on_output
        super().__init__(net, instance)

    def _attach(self, name, module):
        return module.register_forward_hook(
            lambda m, inputs, output: self._record(name, _record_value(self.function_on_output(output))))


class InputMonitor(BaseMonitor):
    """Records ``function_on_input(input)`` (the first positional input) before each forward."""

    def __init__(self, net, instance=None, function_on_input: Callable = _identity):
        self.function_on_input = function_on_input
        super().__init__(net, instance)

    def _attach(self, name, module):
        return module.register_forward_pre_hook(
            lambda m, inputs: self._record(name, _record_value(self.function_on_input(inputs[0]))))


class AttributeMonitor(BaseMonitor):
    """Records ``function_on_attribute(module.<attribute_name>)``, after forward (or before, ``pre_forward``)."""

    def __init__(self, attribute_name: str, pre_forward: bool, net, instance=None,
                 function_on_attribute: Callable = _identity):
        self.attribute_name = attribute_name
        self.pre_forward = pre_forward
        self.function_on_attribute = function_on_attribute
        super().__init__(net, instance)

    def _value(self, module):
        return _record_value(self.function_on_attribute(getattr(module, self.attribute_name)))

    def _attach(self, name, module):
        if self.pre_forward:
            return module.register_forward_pre_hook(lambda m, inputs: self._record(name, self._value(m)))
        return module.register_forward_hook(lambda m, inputs, output: self._record(name, self._value(m)))


class GradOutputMonitor(BaseMonitor):
    """Records ``function_on_grad_output(grad)``: the gradient arriving at each hooked layer's output."""

    def __init__(self, net, instance=None, function_on_grad_output: Callable = _identity):
        self.function_on_grad_output = function_on_grad_output
        super().__init__(net, instance)

    def _attach(self, name, module):
        return module.register_full_backward_hook(
            lambda m, grad_input, grad_output: self._record(name, _record_value(
                self.function_on_grad_output(grad_output[0]))))


class GradInputMonitor(BaseMonitor):
    """Records ``function_on_grad_input(grad)``: the gradient each hooked layer sends to its input."""

    def __init__(self, net, instance=None, function_on_grad_input: Callable = _identity):
        self.function_on_grad_input = function_on_grad_input
        super().__init__(net, instance)

    def _attach(self, name, module):
        return module.register_full_backward_hook(
            lambda m, grad_input, grad_output: self._record(name, _record_value(
                self.function_on_grad_input(grad_input[0]))))


def firing_rates(monitor: OutputMonitor, layers: list | None = None) -> dict:
    """Mean firing rate per layer (spikes per neuron per step) from an OutputMonitor of spikes."""
    rates = {}
    for name in layers or monitor.monitored_layers:
        records = monitor[name]
        if records:
            total = sum(float(r.sum()) for r in records)
            count = sum(r.numel() for r in records)
            rates[name] = total / count
    return rates
