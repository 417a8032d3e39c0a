"""Run a NIR graph on event frames, step by step with persistent state, without torch."""

from pathlib import Path

import numpy as np

from snnrs.runtime.conventions import NEURONS, discrete_neuron
from snnrs.runtime.device_ops import DeviceNeuronLayer, device_synapse
from snnrs.runtime.loading import load_for_running
from snnrs.runtime.neurons import NeuronLayer
from snnrs.runtime.numpy_ops import synapse


class Runtime:
    """A loaded NIR graph. ``run(frames)`` takes ``[T, N, *input_shape]`` (or ``[T, *input_shape]``
    for one sample) and returns the output node's ``[T, N, ...]``; the neurons keep their state
    between calls (stream a long recording in chunks) until ``reset()``.

    ``dt``: the time step in seconds that NIR's time constants are divided by (``docs/semantics.md#nir``); None: the
    dt snnrs wrote into the graph's metadata, else 1e-4 (the NIR paper's);
    ``device``: ``'cpu'`` (NumPy, neurons on the engine) or ``'wgpu'`` (the whole graph on the WGSL shaders: the
    frames are uploaded once per call, every node runs on the device, the output is downloaded once; neuron state
    stays there between calls);
    ``dtype``: float32 or float64 (the GPU computes float32).
    """

    def __init__(self, graph_or_path, dt: float | None = None, device: str = "cpu", dtype=np.float32):
        if device not in ("cpu", "wgpu"):
            raise ValueError(f"device: expected 'cpu' or 'wgpu', got {device!r}")
        self.dtype = np.dtype(dtype)
        if self.dtype not in (np.float32, np.float64):
            raise TypeError(f"dtype: expected float32 or float64, got {self.dtype}")
        if device == "wgpu" and self.dtype != np.float32:
            raise TypeError("dtype: the wgpu device computes float32")
        loaded = load_for_running(graph_or_path, dt)
        self.graph, self.plan, self.dt, self.device = loaded.graph, loaded.plan, loaded.dt, device
        self.shapes = loaded.shapes
        dt = self.dt
        self.arrays = DeviceArrays() if device == "wgpu" else HostArrays(self.dtype)
        self.ops: dict[str, object] = {}
        for name in self.plan.order:
            node = self.plan.nodes[name]
            if type(node).__name__ in NEURONS:
                spec = discrete_neuron(node, dt)
                self.ops[name] = DeviceNeuronLayer(spec) if device == "wgpu" else NeuronLayer(spec)
            else:
                self.ops[name] = device_synapse(node) if device == "wgpu" else synapse(node)
        self.input_shape = tuple(int(s) for s in np.atleast_1d(self.plan.nodes[self.plan.input_name]
                                                               .input_type["input"]))
        self._previous: dict[str, np.ndarray] = {}

    def reset(self) -> None:
        for op in self.ops.values():
            if _stateful(op):
                op.reset()
        self._previous = {}

    def _frames(self, frames) -> np.ndarray:
        x = np.asarray(frames)
        if x.ndim == len(self.input_shape) + 1:
            x = x[:, None]
        if x.ndim != len(self.input_shape) + 2 or tuple(x.shape[2:]) != self.input_shape:
            raise ValueError(f"frames: expected [T, N, {', '.join(map(str, self.input_shape))}] (or without N), "
                             f"got shape {x.shape}")
        if x.shape[0] == 0 or x.shape[1] == 0:
            raise ValueError(f"frames: expected at least one time step and one sample, got shape {x.shape}")
        return x.astype(self.dtype, copy=False)

    def run(self, frames) -> np.ndarray:
        x = self.arrays.upload(self._frames(frames))
        if not self.plan.recurrent:
            return self.arrays.download(self._run_layerwise(x))
        steps = [self._step(self.arrays.take_step(x, t)) for t in range(x.shape[0])]
        return self.arrays.download(self.arrays.stack(steps))

    def _apply(self, name, value, multistep):
        op = self.ops[name]
        if _stateful(op):
            if multistep:
                return op.run(value)
            out = op.run(value.reshape(1, *value.shape))
            return out.reshape(out.shape[1:])
        if multistep:  # fold T into the batch for the stateless nodes
            steps, batch = value.shape[:2]
            out = op(value.reshape(steps * batch, *value.shape[2:]))
            return out.reshape(steps, batch, *out.shape[1:])
        return op(value)

    def _rest(self, batch):
        """Each node's output before the first step, what a delayed edge carries at t = 0: neurons silent,
        every other node applied to its inputs' rest values (a recurrent Affine gives its bias, as the
        recurrent weights of snnTorch's RLeaky do on the zero spikes before the start)."""
        rest = {}
        for name in self.plan.order:
            if name == self.plan.input_name or _stateful(self.ops[name]):
                rest[name] = self.arrays.zeros((batch, *self.shapes[name]))
            else:
                rest[name] = self.ops[name](self._gather(name, rest, {}, batch))
        return rest

    def _gather(self, name, outputs, previous, batch):
        """The sum of a node's inputs; a delayed input is the source's previous output (zeros where
        there is none yet)."""
        total = None
        for source, delayed in self.plan.inputs[name]:
            value = previous.get(source) if delayed else outputs[source]
            if value is None:
                value = self.arrays.zeros((batch, *self.shapes[source]))
            total = value if total is None else self.arrays.add(total, value)
        return total

    def _run_layerwise(self, x):
        outputs = {}
        for name in self.plan.order:
            value = x if name == self.plan.input_name else self._gather(name, outputs, {}, x.shape[1])
            outputs[name] = self._apply(name, value, True)
        return outputs[self.plan.output_name]

    def _step(self, x):
        batch = x.shape[0]
        if any(v.shape[0] != batch for v in self._previous.values()):
            self._previous = {}  # a new batch size: the neurons restart too
        if not self._previous:
            self._previous = self._rest(batch)
        outputs = {}
        for name in self.plan.order:
            value = x if name == self.plan.input_name else self._gather(name, outputs, self._previous, batch)
            outputs[name] = self._apply(name, value, False)
        self._previous = outputs
        return outputs[self.plan.output_name]


def _stateful(op) -> bool:
    return isinstance(op, (NeuronLayer, DeviceNeuronLayer))


class HostArrays:
    """How the runtime makes, sums, slices and stacks its arrays on the host (NumPy)."""

    def __init__(self, dtype):
        self.dtype = dtype

    def upload(self, x):
        return x

    def download(self, x):
        return x

    def zeros(self, shape):
        return np.zeros(shape, self.dtype)

    def add(self, a, b):
        return a + b

    def take_step(self, x, t):
        return x[t]

    def stack(self, steps):
        return np.stack(steps)


class DeviceArrays:
    """The same on the WebGPU device: one upload of the frames, one download of the output."""

    def __init__(self):
        from snnrs.gpu import synapse
        self.ops = synapse

    def upload(self, x):
        from snnrs.gpu import DeviceArray
        return DeviceArray.upload(np.ascontiguousarray(x, np.float32))

    def download(self, x):
        return x.numpy()

    def zeros(self, shape):
        return self.ops.zeros(shape)

    def add(self, a, b):
        return self.ops.add(a, b)

    def take_step(self, x, t):
        return self.ops.take_step(x, t)

    def stack(self, steps):
        return self.ops.stack(steps)


def load(path: str | Path, dt: float | None = None, device: str = "cpu", dtype=np.float32) -> Runtime:
    """Loads a NIR file for :class:`Runtime`."""
    return Runtime(path, dt=dt, device=device, dtype=dtype)


__all__ = ["Runtime", "load"]
