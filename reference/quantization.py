"""The integer network a chip runs (Loihi style), as plain loops over Python integers.

Layers are dicts (built by ``snnrs.quantization``):

* ``{"kind": "conv", "weight": int [O, C, K, K], "bias": int [O], "stride": (s, s), "padding": (p, p)}``
* ``{"kind": "affine", "weight": int [O, I], "bias": int [O]}``
* ``{"kind": "sumpool", "kernel": k, "stride": s}`` and ``{"kind": "flatten"}``
* ``{"kind": "neuron", "dv": int, "threshold": int [C] (per channel), "shape": ...}``

A neuron's membrane is an integer: each step ``v ← v - ((v·dv) >> 12) + a`` with ``a`` the
integer input current and ``dv`` the 12-bit decay (4096/τ rounded; 0 for IF); it fires where
``v >= threshold`` and then resets to 0. ``>>`` is the arithmetic shift (floor division by 4096:
**our definition** of the chip's rounding). Inputs are integers (spikes, spike counts after a sum
pool, or the raw pixel values of the first layer), so every value stays an integer.
"""

import numpy as np

DECAY_BITS = 12


def decay(v: int, dv: int) -> int:
    return v - ((v * dv) >> DECAY_BITS)


def conv(x, layer):
    """x: nested ints [C][H][W] -> [O][H'][W'] (zero padding, stride, no dilation or groups)."""
    w, b = layer["weight"], layer["bias"]
    out_c, in_c, kh, kw = w.shape
    sh, sw = layer["stride"]
    ph, pw = layer["padding"]
    height, width = len(x[0]), len(x[0][0])
    out_h, out_w = (height + 2 * ph - kh) // sh + 1, (width + 2 * pw - kw) // sw + 1
    out = [[[0] * out_w for _ in range(out_h)] for _ in range(out_c)]
    for o in range(out_c):
        for i in range(out_h):
            for j in range(out_w):
                acc = int(b[o])
                for c in range(in_c):
                    for di in range(kh):
                        for dj in range(kw):
                            y, z = i * sh + di - ph, j * sw + dj - pw
                            if 0 <= y < height and 0 <= z < width:
                                acc += int(w[o, c, di, dj]) * x[c][y][z]
                out[o][i][j] = acc
    return out


def affine(x, layer):
    w, b = layer["weight"], layer["bias"]
    return [int(b[o]) + sum(int(w[o, i]) * x[i] for i in range(len(x))) for o in range(w.shape[0])]


def sumpool(x, layer):
    k, s = layer["kernel"], layer["stride"]
    height, width = len(x[0]), len(x[0][0])
    return [[[sum(plane[i * s + a][j * s + b] for a in range(k) for b in range(k))
              for j in range((width - k) // s + 1)] for i in range((height - k) // s + 1)] for plane in x]


def flatten(x):
    if isinstance(x[0], list):
        return [value for part in x for value in flatten(part)]
    return list(x)


def neuron_step(current, state, layer):
    """current, state: ints ``[C][H][W]`` or ``[C]``; returns (spikes, new state). The threshold
    is per channel C."""
    def one(a, v, threshold):
        v = decay(v, layer["dv"]) + a
        return (1, 0) if v >= threshold else (0, v)

    spikes, new = [], []
    for c, (a_c, v_c) in enumerate(zip(current, state)):
        threshold = int(layer["threshold"][c])
        if isinstance(a_c, list):
            rows = [[one(a, v, threshold) for a, v in zip(row_a, row_v)] for row_a, row_v in zip(a_c, v_c)]
            spikes.append([[s for s, _ in row] for row in rows])
            new.append([[v for _, v in row] for row in rows])
        else:
            s_c, v = one(a_c, v_c, threshold)
            spikes.append(s_c)
            new.append(v)
    return spikes, new


def _zeros_like(x):
    return [_zeros_like(part) for part in x] if isinstance(x, list) else 0


def simulate(layers, x_seq):
    """Runs one sample: ``x_seq`` ints ``[T, *input_shape]``; returns the last layer's integer
    outputs per step (a list of length T)."""
    states = [None] * len(layers)
    outputs = []
    for x in np.asarray(x_seq).tolist():
        for k, layer in enumerate(layers):
            kind = layer["kind"]
            if kind == "conv":
                x = conv(x, layer)
            elif kind == "affine":
                x = affine(x, layer)
            elif kind == "sumpool":
                x = sumpool(x, layer)
            elif kind == "flatten":
                x = flatten(x)
            elif kind == "neuron":
                if states[k] is None:
                    states[k] = _zeros_like(x)
                x, states[k] = neuron_step(x, states[k], layer)
            else:
                raise ValueError(f"unknown layer kind {kind!r}")
        outputs.append(x)
    return outputs
