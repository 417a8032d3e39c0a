"""A NIR graph's nodes on the WebGPU device (``device='wgpu'``): every node takes and returns
float32 :class:`~snnrs.gpu.DeviceArray` batches, so a graph runs from its input to its output
without the host. Parameters are uploaded once, when the runtime is built; neuron state stays
on the device between calls. The rules are those of :mod:`snnrs.runtime.numpy_ops` and
:mod:`snnrs.runtime.neurons`, which the tests hold these to.
"""

from collections.abc import Callable

import numpy as np

from snnrs.runtime.conventions import DiscreteNeuron, inclusive_threshold
from snnrs.runtime.neurons import kernel_form
from snnrs.runtime.numpy_ops import _pair, conv_padding


def _gpu():
    from snnrs import gpu
    from snnrs.gpu import synapse
    return gpu, synapse


def flattened_shape(shape: tuple[int, ...], start_dim: int, end_dim: int) -> tuple[int, ...]:
    """The shape ``numpy_ops.flatten`` gives a batch of ``shape`` (dims counted after the batch dim)."""
    ndim = len(shape) - 1
    start = (start_dim + ndim if start_dim < 0 else start_dim) + 1
    end = (end_dim + ndim if end_dim < 0 else end_dim) + 1
    return (*shape[:start], int(np.prod(shape[start:end + 1], dtype=np.int64)), *shape[end + 1:])


def _per_sample(values, shape, what: str) -> np.ndarray:
    """``values`` broadcast over one sample of ``shape``, flat, float32 (they repeat every sample)."""
    try:
        return np.ascontiguousarray(np.broadcast_to(np.asarray(values, np.float32), shape).ravel())
    except ValueError:
        raise ValueError(f"{what}: values of shape {np.shape(values)} do not broadcast over a sample of shape "
                         f"{tuple(shape)}") from None


def _dense(weight, bias):
    _, synapse = _gpu()
    w = synapse.constant(weight)
    b = None if bias is None else synapse.constant(np.ravel(bias))

    def run(x):
        flat = x.reshape(-1, x.shape[-1])
        return synapse.linear(flat, w, b).reshape(*x.shape[:-1], w.shape[0])
    return run


def _conv(node):
    _, synapse = _gpu()
    weight = np.asarray(node.weight, np.float32)
    dims = weight.ndim - 2
    kernel = weight.shape[2:]
    stride, dilation = _pair(node.stride, dims), _pair(node.dilation, dims)
    padding = conv_padding(node.padding, kernel, dilation)
    bias = None if node.bias is None or np.ndim(node.bias) == 0 and not np.any(node.bias) else \
        np.broadcast_to(np.asarray(node.bias, np.float32), (weight.shape[0],))
    if dims == 1:  # a Conv1d is a Conv2d over one row
        weight = weight[:, :, None, :]
        stride, dilation, padding = (1, *stride), (1, *dilation), ((0, 0), *padding)
    w = synapse.constant(weight)
    b = None if bias is None else synapse.constant(bias)
    groups = int(node.groups) if node.groups else 1

    def run(x):
        if x.ndim != dims + 2:
            raise ValueError(f"conv: expected input [N, C, {'H, W' if dims == 2 else 'L'}], got shape {x.shape}")
        y = synapse.conv2d(x.reshape(x.shape[0], x.shape[1], 1, x.shape[2]) if dims == 1 else x, w, b, stride,
                           padding, dilation, groups)
        return y.reshape(y.shape[0], y.shape[1], y.shape[3]) if dims == 1 else y
    return run


def _broadcast_op(op: int, values):
    """``x (op) values`` with ``values`` broadcast over each sample of the batch."""
    _, synapse = _gpu()
    uploaded: dict[tuple, object] = {}

    def run(x):
        sample = x.shape[1:]
        if sample not in uploaded:
            uploaded[sample] = synapse.constant(_per_sample(values, sample, "NIR parameter"))
        return synapse.elementwise(op, x, uploaded[sample], period=max(1, int(np.prod(sample))))
    return run


def device_synapse(node) -> Callable:
    """The device function of a stateless NIR node (the kinds of ``numpy_ops.SYNAPSES``)."""
    _, synapse = _gpu()
    kind = type(node).__name__
    if kind in ("Input", "Output"):
        return lambda x: x
    if kind == "Affine":
        return _dense(node.weight, node.bias)
    if kind == "Linear":
        return _dense(node.weight, None)
    if kind == "Scale":
        return _broadcast_op(synapse.OP_MUL, node.scale)
    if kind in ("Conv1d", "Conv2d"):
        return _conv(node)
    if kind in ("SumPool2d", "AvgPool2d"):
        kernel, stride, padding = _pair(node.kernel_size, 2), _pair(node.stride, 2), _pair(node.padding, 2)
        return lambda x: synapse.pool2d(x, kernel, stride, padding, kind == "AvgPool2d")
    if kind == "Flatten":
        start, end = int(node.start_dim), int(node.end_dim)
        return lambda x: x.reshape(flattened_shape(x.shape, start, end))
    if kind == "Threshold":
        return _broadcast_op(synapse.OP_GREATER, node.threshold)
    raise ValueError(f"NIR node {kind}: not supported by snnrs (Delay and others have no discrete rule here)")


# Bits of the neuron rule's flags (shaders/neuron_rule.wgsl).
RULE_SPIKING, RULE_SOFT_RESET, RULE_CURRENT, RULE_FRESH = 1, 2, 4, 8


class DeviceNeuronLayer:
    """One neuron layer on the device, stepping ``[T, N, ...]`` DeviceArrays on from where it stopped:
    uniform IF / LIF layers on the fused neuron kernel (as the CPU runtime runs them on the engine),
    every other layer on the general discrete rule (``shaders/neuron_rule.wgsl``)."""

    def __init__(self, spec: DiscreteNeuron):
        self.spec = spec
        self.kernel = kernel_form(spec)
        self.v = self.current = None
        self._uploaded: dict[tuple, object] = {}

    def reset(self):
        self.v = self.current = None

    def run(self, x_seq):
        return self._run_kernel(x_seq) if self.kernel is not None else self._run_rule(x_seq)

    def _constant(self, key, make):
        if key not in self._uploaded:
            _, synapse = _gpu()
            self._uploaded[key] = synapse.constant(make())
        return self._uploaded[key]

    def _run_kernel(self, x_seq):
        gpu, synapse = _gpu()
        neuron, params, gain, v_th, v_reset = self.kernel
        steps, shape = x_seq.shape[0], x_seq.shape[1:]
        x = x_seq.reshape(steps, -1)
        if gain != 1.0:
            x = synapse.elementwise(synapse.OP_MUL, x, self._constant("gain", lambda: [gain]), period=1)
        if self.v is not None and self.v.shape != (x.shape[1],):
            self.v = None
        threshold = float(inclusive_threshold(v_th, np.float32))
        spikes, self.v, _, _ = gpu.neuron_forward(x, self.v, neuron=neuron, params=params, v_threshold=threshold,
                                                  v_reset=v_reset, resident=True)
        return spikes.reshape(steps, *shape)

    def _table(self, sample):
        """The rule's parameters as 8 rows over one sample (the order of the shader's ROW_*)."""
        s, zero = self.spec, np.zeros(sample, np.float32)
        rows = [s.mem_leak, s.v_leak, s.gain]
        if s.spiking:
            strict = np.broadcast_to(np.asarray(s.v_threshold, np.float32), sample)
            rows += [strict, inclusive_threshold(strict, np.float32), s.v_reset]
        else:
            rows += [zero, zero, zero]
        rows += [zero, zero] if s.syn_decay is None else [s.syn_decay, s.syn_gain]
        return np.concatenate([_per_sample(row, sample, f"{s.kind} parameter") for row in rows])

    def _run_rule(self, x_seq):
        gpu, synapse = _gpu()
        steps, sample = x_seq.shape[0], x_seq.shape[2:]
        neurons = x_seq.size // steps
        period = max(1, int(np.prod(sample)))
        table = self._constant(sample, lambda: self._table(sample))
        flags = (RULE_SPIKING if self.spec.spiking else 0) | (RULE_SOFT_RESET if self.spec.soft_reset else 0)
        flags |= RULE_CURRENT if self.spec.syn_decay is not None else 0
        if self.v is None or self.v.shape != (neurons,):
            self.v, self.current = synapse.zeros((neurons,)), synapse.zeros((neurons,))
            flags |= RULE_FRESH
        if steps * neurons >= 2**32:
            raise ValueError(f"x: T·N = {steps * neurons} exceeds the shaders' 32-bit indexing")
        g = gpu.gpu()
        out = g.empty(4 * steps * neurons)
        if neurons:
            params = np.array([steps, neurons, period, flags, synapse.row_stride(neurons), 0, 0, 0], np.uint32)
            g.run("neuron_rule", [g.uniform(params), x_seq.buffer, table.buffer, self.v.buffer, self.current.buffer,
                                  out], neurons, includes=())
        return gpu.DeviceArray(out, x_seq.shape)


__all__ = ["DeviceNeuronLayer", "device_synapse", "flattened_shape"]
