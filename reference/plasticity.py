"""Trace-based STDP (pair-based, all-to-all), one time step at a time. Plain loops.

Traces jump by the spike and decay with their time constant::

    trace_pre  ← trace_pre  - trace_pre / tau_pre  + s_pre
    trace_post ← trace_post - trace_post / tau_post + s_post

and the weight change of synapse (post o, pre i), summed over the batch, is

    Δw[o][i] = f_post(w[o][i]) · trace_pre[i] · s_post[o]     (potentiation, at a post spike: pre before post)
             - f_pre(w[o][i]) · s_pre[i] · trace_post[o]      (depression, at a pre spike: post before pre)

with the traces already updated for this step. ``f_post``/``f_pre`` shape the
dependence on the weight of the change a post-/pre-synaptic spike triggers
(identity by default), as in SpikingJelly.
"""

import numpy as np


def _identity(w):
    return w


def update_trace(trace, spikes, tau):
    return trace - trace / tau + spikes


def stdp_linear_step(weight, s_pre, s_post, trace_pre, trace_post, *, tau_pre, tau_post, f_pre=_identity,
                     f_post=_identity):
    """Linear synapse ``weight [out, in]``, ``s_pre [N, in]``, ``s_post [N, out]``. Returns (Δw, traces)."""
    trace_pre = update_trace(trace_pre, s_pre, tau_pre)
    trace_post = update_trace(trace_post, s_post, tau_post)
    out_features, in_features = weight.shape
    delta = np.zeros_like(weight, dtype=np.float64)
    for o in range(out_features):
        for i in range(in_features):
            ltp = sum(trace_pre[n][i] * s_post[n][o] for n in range(len(s_pre)))
            ltd = sum(s_pre[n][i] * trace_post[n][o] for n in range(len(s_pre)))
            delta[o][i] = f_post(weight[o][i]) * ltp - f_pre(weight[o][i]) * ltd
    return delta, trace_pre, trace_post


def stdp_conv2d_step(weight, s_pre, s_post, trace_pre, trace_post, *, tau_pre, tau_post, padding=0, stride=1,
                     f_pre=_identity, f_post=_identity):
    """Conv2d synapse ``weight [C_out, C_in, kh, kw]``, ``s_pre [N, C_in, H, W]``, ``s_post [N, C_out, H', W']``.

    Each output position pairs with the input pixels under its kernel window (zero padding
    holds no spikes and no trace). Returns (Δw, traces).
    """
    trace_pre = update_trace(trace_pre, s_pre, tau_pre)
    trace_post = update_trace(trace_post, s_post, tau_post)
    c_out, c_in, kh, kw = weight.shape
    pad = lambda a: np.pad(a, ((0, 0), (0, 0), (padding, padding), (padding, padding)))
    pre_s, pre_t = pad(s_pre), pad(trace_pre)
    ltp = np.zeros(weight.shape)
    ltd = np.zeros(weight.shape)
    for n in range(s_pre.shape[0]):
        for o in range(c_out):
            for y in range(s_post.shape[2]):
                for x in range(s_post.shape[3]):
                    for c in range(c_in):
                        for dy in range(kh):
                            for dx in range(kw):
                                yy, xx = y * stride + dy, x * stride + dx
                                ltp[o, c, dy, dx] += pre_t[n, c, yy, xx] * s_post[n, o, y, x]
                                ltd[o, c, dy, dx] += pre_s[n, c, yy, xx] * trace_post[n, o, y, x]
    return f_post(weight) * ltp - f_pre(weight) * ltd, trace_pre, trace_post
