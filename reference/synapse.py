"""Synapses: the convolution and its weight gradient, defined by plain loops (float64).

A 2-D convolution with zero padding, stride, dilation and groups::

    out[n, o, y, x] = bias[o] + Σ_{c in group(o)} Σ_{kh, kw} w[o, c', kh, kw] · in[n, c, y·s + kh·d − p, x·s + kw·d − p]

where inputs outside the image (the padding) are 0 and ``c' = c − group(o)·C/groups``. The weight
gradient is the same sum read the other way: ``∂L/∂w[o, c', kh, kw] = Σ_{n, y, x} g[n, o, y, x] ·
in[n, c, y·s + kh·d − p, x·s + kw·d − p]``. Conv1d is the case H = 1 and Linear H = W = 1 with a
1x1 kernel. Evaluated only over the nonzero inputs (spikes) it is the same sum in another order;
the engine's spike-sparse kernels are held to these loops.
"""

import numpy as np


def _out_size(n, k, s, p, d):
    return (n + 2 * p - d * (k - 1) - 1) // s + 1


def conv2d(x, w, bias=None, stride=(1, 1), padding=(0, 0), dilation=(1, 1), groups=1):
    """``x [N, C, H, W]``, ``w [O, C/groups, KH, KW]`` -> ``[N, O, OH, OW]``."""
    x, w = np.asarray(x, dtype=np.float64), np.asarray(w, dtype=np.float64)
    n, c, h, wd = x.shape
    o, cpg, kh, kw = w.shape
    oh = _out_size(h, kh, stride[0], padding[0], dilation[0])
    ow = _out_size(wd, kw, stride[1], padding[1], dilation[1])
    opg = o // groups
    out = np.zeros((n, o, oh, ow))
    for b in range(n):
        for oc in range(o):
            first = (oc // opg) * cpg
            for y in range(oh):
                for xx in range(ow):
                    total = 0.0 if bias is None else float(bias[oc])
                    for ci in range(cpg):
                        for i in range(kh):
                            for j in range(kw):
                                iy = y * stride[0] + i * dilation[0] - padding[0]
                                ix = xx * stride[1] + j * dilation[1] - padding[1]
                                if 0 <= iy < h and 0 <= ix < wd:
                                    total += w[oc, ci, i, j] * x[b, first + ci, iy, ix]
                    out[b, oc, y, xx] = total
    return out


def conv2d_weight_grad(x, grad_out, kernel_size, stride=(1, 1), padding=(0, 0), dilation=(1, 1), groups=1):
    """``∂L/∂w [O, C/groups, KH, KW]`` from ``x [N, C, H, W]`` and ``grad_out [N, O, OH, OW]``."""
    x, g = np.asarray(x, dtype=np.float64), np.asarray(grad_out, dtype=np.float64)
    n, c, h, wd = x.shape
    o, oh, ow = g.shape[1], g.shape[2], g.shape[3]
    kh, kw = kernel_size
    cpg, opg = c // groups, o // groups
    grad = np.zeros((o, cpg, kh, kw))
    for oc in range(o):
        first = (oc // opg) * cpg
        for ci in range(cpg):
            for i in range(kh):
                for j in range(kw):
                    total = 0.0
                    for b in range(n):
                        for y in range(oh):
                            for xx in range(ow):
                                iy = y * stride[0] + i * dilation[0] - padding[0]
                                ix = xx * stride[1] + j * dilation[1] - padding[1]
                                if 0 <= iy < h and 0 <= ix < wd:
                                    total += g[b, oc, y, xx] * x[b, first + ci, iy, ix]
                    grad[oc, ci, i, j] = total
    return grad
