"""Chip-style quantization of an exported network (no torch): int8 weights, integer thresholds
and 12-bit fixed-point decays in the style of Loihi, and a vectorised integer simulation that
equals ``reference/quantization.py`` bit for bit.

Input: a NIR graph (``snnrs.export.to_nir``) that is a chain of Conv2d/Affine/Linear, IF or LIF
neurons with reset to 0 and no leak elsewhere, AvgPool2d/SumPool2d, Flatten. Per synaptic layer
with weight scale ``s`` (per tensor: ``max|W|/127``; per output channel: ``max|W_c|/127``):

* weights ``w_q = round(W/s)`` in [-127, 127]; bias ``b_q = round(b/s)`` (accumulator units);
* the following neuron's membrane in units of ``m = g·s`` (``g`` its input gain per step), so its
  input current is the integer ``Σ w_q·x + b_q``; threshold ``round(θ/m)`` per channel; decay
  ``dv = round(4096·dt/τ)`` (0 for IF): ``v ← v - ((v·dv) >> 12) + a``, fire where ``v >= threshold``,
  reset to 0;
* average pooling becomes a sum pool and its ``1/k²`` moves into the next layer's weights; the
  first layer's ``input_scale`` (e.g. 1/16 for raw 0..16 digits) moves into its weights, so the
  chip reads raw integer inputs;
* a final synaptic layer without a neuron is the readout: integer accumulators per step, and
  ``scores()`` turns them back into real values (``× s`` per channel) summed over T.
"""

from dataclasses import dataclass, field

import numpy as np

from snnrs.runtime.conventions import discrete_neuron
from snnrs.runtime.loading import load_for_running
from snnrs.runtime.numpy_ops import convolution

DECAY_BITS = 12
WEIGHT_LIMIT = 127  # int8, symmetric


@dataclass
class IntegerNetwork:
    """The quantized chain (``layers`` as ``reference.quantization`` reads them) and the readout's
    per-channel scales."""

    layers: list[dict]
    output_scale: np.ndarray
    report: dict[str, float] = field(default_factory=dict)

    def run(self, x_seq: np.ndarray) -> np.ndarray:
        """Integer inputs ``[T, N, *input_shape]`` → the last layer's integers ``[T, N, ...]``;
        state starts at 0 for every call."""
        x_seq = np.asarray(x_seq)
        if x_seq.ndim < 2 or x_seq.shape[0] == 0 or x_seq.shape[1] == 0:
            raise ValueError(f"x_seq: expected [T, N, ...] with T, N >= 1, got shape {x_seq.shape}")
        if not np.issubdtype(x_seq.dtype, np.integer):
            if not np.array_equal(x_seq, np.round(x_seq)):
                raise ValueError("x_seq: the integer network reads integers (scale inputs with input_scale)")
            x_seq = x_seq.astype(np.int64)
        states: dict[int, np.ndarray] = {}
        outputs = []
        for x in x_seq.astype(np.int64):
            for k, layer in enumerate(self.layers):
                x = _apply(layer, x, states, k)
            outputs.append(x)
        return np.stack(outputs)

    def accuracy(self, x_seq: np.ndarray, labels: np.ndarray) -> float:
        """Fraction of samples whose largest score is the label."""
        return float(np.mean(self.scores(x_seq).argmax(1) == np.asarray(labels)))

    def scores(self, x_seq: np.ndarray) -> np.ndarray:
        """Real-valued class scores ``[N, C]``: the readout's integers × its scales, summed over T."""
        return self.run(x_seq).sum(axis=0) * self.output_scale


def _apply(layer, x, states, k):
    kind = layer["kind"]
    if kind == "conv":
        return convolution(x, layer["weight"], layer["bias"], layer["stride"], layer["padding"], 1, 1)
    if kind == "affine":
        return x @ layer["weight"].T + layer["bias"]
    if kind == "sumpool":
        n, c, h, w = x.shape
        kk, s = layer["kernel"], layer["stride"]
        out_h, out_w = (h - kk) // s + 1, (w - kk) // s + 1
        total = np.zeros((n, c, out_h, out_w), np.int64)
        for a in range(kk):
            for b in range(kk):
                total += x[:, :, a:a + s * (out_h - 1) + 1:s, b:b + s * (out_w - 1) + 1:s]
        return total
    if kind == "flatten":
        return x.reshape(len(x), -1)
    if kind == "neuron":
        v = states.get(k)
        if v is None or v.shape != x.shape:
            v = np.zeros_like(x)
        v = v - ((v * layer["dv"]) >> DECAY_BITS) + x
        threshold = layer["threshold"].reshape((1, -1) + (1,) * (x.ndim - 2))
        fired = v >= threshold
        states[k] = np.where(fired, 0, v)
        return fired.astype(np.int64)
    raise ValueError(f"unknown layer kind {kind!r}")


def _scales(weight: np.ndarray, per_channel: bool) -> np.ndarray:
    peak = np.abs(weight).reshape(len(weight), -1).max(axis=1) if per_channel else \
        np.full(len(weight), np.abs(weight).max())
    return np.where(peak > 0, peak / WEIGHT_LIMIT, 1.0)


def _int(values: np.ndarray) -> np.ndarray:
    return np.round(values).astype(np.int64)


def _chain(p) -> list:
    """The nodes of a graph that is one chain (each node fed by exactly the one before it)."""
    names = list(p.order)
    for previous, name in zip(names, names[1:]):
        sources = p.inputs[name]
        if len(sources) != 1 or sources[0][0] != previous or sources[0][1]:
            raise ValueError(f"quantize: the graph must be one chain of layers; node {name!r} is fed by "
                             f"{[s for s, _ in sources]}")
    return [p.nodes[name] for name in names if type(p.nodes[name]).__name__ not in ("Input", "Output")]


def quantize(graph_or_path, dt: float | None = None, per_channel: bool = True,
             input_scale: float = 1.0) -> IntegerNetwork:
    """Quantizes a chain-shaped NIR graph (see the module doc); ``dt`` as for ``from_nir`` (None: the
    dt snnrs wrote into the graph)."""
    loaded = load_for_running(graph_or_path, dt)
    dt, p = loaded.dt, loaded.plan
    if p.recurrent:
        raise ValueError("quantize: recurrent graphs are not supported (a chain of layers is)")
    chain = _chain(p)
    layers: list[dict] = []
    carry = float(input_scale)   # multiplies the next synaptic layer's weights (input scale, 1/k² of pools)
    pending: np.ndarray | None = None  # scale s of the synaptic layer awaiting its neuron
    clipped = total = raised = 0
    for node in chain:
        kind = type(node).__name__
        if kind in ("Conv2d", "Affine", "Linear"):
            if pending is not None:
                raise ValueError("quantize: two synaptic layers in a row (put a neuron between them)")
            if kind == "Conv2d" and (int(np.max(node.groups or 1)) != 1 or np.any(np.asarray(node.dilation) != 1)
                                     or isinstance(node.padding, str)):
                raise ValueError("quantize: Conv2d with groups, dilation or string padding is not supported")
            weight = np.asarray(node.weight, np.float64) * carry
            bias = np.asarray(node.bias, np.float64) if kind != "Linear" else np.zeros(len(weight))
            s = _scales(weight, per_channel)
            shape = (-1,) + (1,) * (weight.ndim - 1)
            w_q = np.clip(_int(weight / s.reshape(shape)), -WEIGHT_LIMIT, WEIGHT_LIMIT)
            clipped += int(np.sum(np.abs(np.round(weight / s.reshape(shape))) > WEIGHT_LIMIT))
            total += weight.size
            layer = {"kind": "conv" if kind == "Conv2d" else "affine", "weight": w_q, "bias": _int(bias / s)}
            if kind == "Conv2d":
                layer["stride"] = tuple(int(v) for v in np.broadcast_to(np.atleast_1d(node.stride), (2,)))
                layer["padding"] = tuple(int(v) for v in np.broadcast_to(np.atleast_1d(node.padding), (2,)))
            layers.append(layer)
            pending, carry = s, 1.0
        elif kind in ("IF", "LIF"):
            if pending is None:
                raise ValueError(f"quantize: a {kind} neuron must follow a conv or linear layer")
            spec = discrete_neuron(node, dt)
            reset, leak = spec.uniform("v_reset"), spec.uniform("v_leak")
            gain, mem_leak = spec.uniform("gain"), spec.uniform("mem_leak")
            if reset != 0.0 or leak != 0.0 or gain is None or mem_leak is None:
                raise ValueError(f"quantize: {kind} needs uniform parameters, v_reset = v_leak = 0")
            if spec.soft_reset:
                raise ValueError(f"quantize: {kind} was written by snnrs with a soft reset; the integer neurons "
                                 "reset to 0")
            theta = np.asarray(spec.v_threshold, np.float64).reshape(-1)
            channels = len(pending)
            theta = theta.reshape(channels, -1)[:, 0] if theta.size % channels == 0 else np.full(channels, theta[0])
            m = gain * pending
            threshold = _int(theta / m)
            # a threshold that rounds to 0 would fire on no input at all: the smallest positive one instead
            raised += int(np.sum(threshold < 1))
            threshold = np.maximum(threshold, 1)
            layers.append({"kind": "neuron", "dv": int(round((1 << DECAY_BITS) * mem_leak)), "threshold": threshold})
            pending = None
        elif kind in ("AvgPool2d", "SumPool2d"):
            values = [np.atleast_1d(np.asarray(v)).astype(int).ravel() for v in (node.kernel_size, node.stride,
                                                                              node.padding)]
            if any(len(set(v.tolist())) != 1 for v in values):
                raise ValueError("quantize: only square pooling (one kernel size and stride) is supported")
            k, s_, pad = (int(v[0]) for v in values)
            if pad != 0:
                raise ValueError("quantize: padded pooling is not supported")
            layers.append({"kind": "sumpool", "kernel": k, "stride": s_})
            if kind == "AvgPool2d":
                # 1/k² joins the layer the pooled values reach: the pending neuron's current or the next weights
                if pending is not None:
                    pending = pending / (k * k)
                else:
                    carry *= 1.0 / (k * k)
        elif kind == "Flatten":
            layers.append({"kind": "flatten"})
        else:
            raise ValueError(f"quantize: NIR node {kind} is not supported")
    if pending is None:
        raise ValueError("quantize: the chain must end in a readout layer (conv or linear without a neuron)")
    return IntegerNetwork(layers, pending, {"clipped_weights": clipped / max(total, 1),
                                            "thresholds_raised_to_1": raised})


def reference_layers(network: IntegerNetwork) -> list[dict]:
    """The layers as ``reference.quantization.simulate`` takes them (the same dicts)."""
    return network.layers


__all__ = ["IntegerNetwork", "quantize", "reference_layers", "DECAY_BITS", "WEIGHT_LIMIT"]
