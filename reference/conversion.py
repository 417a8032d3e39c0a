"""Conversion neurons (docs/semantics.md#conversion-neurons): few-spikes coding, SpikeZIP's STBIF and the
activation-aware IF. Written with reference.autodiff operations, so the surrogate-rule gradients come from
the same code (STBIF is inference only)."""

import numpy as np

from reference import autodiff as ad


def few_spike(x, theta, h, d, *, surrogate="Sigmoid", surrogate_params=None, sequence=False):
    """K steps from ``v = x``: ``z_k = Θ(v - theta_k)``, emit ``d_k·z_k``, ``v -= h_k·z_k``. The table entries
    may be scalars or arrays shaped like ``x`` (per element). Returns the sum, or the K emissions."""
    v, emitted = x, []
    for theta_k, h_k, d_k in zip(theta, h, d):
        z = ad.spike(v - theta_k, surrogate, surrogate_params)
        emitted.append(d_k * z)
        v = v - h_k * z
    if sequence:
        return ad.stack(emitted)
    total = emitted[0]
    for e in emitted[1:]:
        total = total + e
    return total


def outlier_aware(x, table, outlier_table, split_threshold, clamp_value=None, **kw):
    """``|x|`` (clamped) coded with ``table`` where ``|x| <= split_threshold``, else ``outlier_table``; the sign
    restored (as a constant)."""
    value = ad.value_of(x)
    if clamp_value is not None:
        x = ad.where(np.abs(value) > clamp_value, np.sign(value) * clamp_value, x)
        value = ad.value_of(x)
    sign = np.sign(value)
    magnitude = x * sign  # |x| with the derivative sign·dx
    inlier = np.abs(value) <= split_threshold
    # (theta, h, d): each step's entry taken from the table the element's magnitude falls in
    per_element = [[np.where(inlier, a, b) for a, b in zip(main, outlier)]
                   for main, outlier in zip(table, outlier_table)]
    return few_spike(magnitude, *per_element, **kw) * sign


def hybrid_gated(x, tables, gate_thresholds, **kw):
    """Each element coded with the table of its range: region ``r`` = the number of thresholds ``< x``
    (``torch.bucketize``'s left-closed rule)."""
    value = ad.value_of(x)
    region = np.searchsorted(np.asarray(gate_thresholds, dtype=np.float64), value, side="left")
    tables = [np.asarray(t, dtype=np.float64) for t in tables]  # [regions][3][K]
    stacked = np.stack(tables)  # [regions, 3, K]
    per_element = [[stacked[region, part, k] for k in range(stacked.shape[2])] for part in range(3)]
    return few_spike(x, *per_element, **kw)


def stbif(x_seq, q_threshold, pos_max, neg_min):
    """SpikeZIP's bipolar IF over ``x_seq [T, ...]`` (float64): returns outputs, q, acc_q, the last quantum."""
    x_seq = np.asarray(x_seq, dtype=np.float64)
    q = np.full(x_seq.shape[1:], 0.5)
    acc = np.zeros(x_seq.shape[1:])
    quantum = np.zeros(x_seq.shape[1:])
    out = np.empty_like(x_seq)
    for t in range(x_seq.shape[0]):
        q = q + x_seq[t] / q_threshold
        acc = np.round(acc)
        up = (q >= 1) & (acc < pos_max)
        down = (q < 0) & (acc > neg_min)
        quantum = up.astype(np.float64) - down.astype(np.float64)
        acc = acc + quantum
        q = q - quantum
        out[t] = quantum * q_threshold
    return out, q, acc, quantum


def activation_aware_if(x_seq, v_init=None, *, v_threshold, v_offset, v_reset=None, detach_reset=False,
                        surrogate="Sigmoid", surrogate_params=None):
    """IF firing at ``H + v_offset >= v_threshold`` (both broadcast against a step), soft reset by the
    threshold or hard reset to ``v_reset``. Returns spikes and v_seq."""
    v = (0.0 if v_reset is None else v_reset) + 0.0 * ad.value_of(x_seq[0]) if v_init is None else v_init
    spikes, vs = [], []
    for t in range(len(ad.value_of(x_seq))):
        h = v + x_seq[t]
        s = ad.spike(h + v_offset - v_threshold, surrogate, surrogate_params)
        sr = ad.detach(s) if detach_reset else s
        v = h - sr * v_threshold if v_reset is None else sr * v_reset + (1.0 - sr) * h
        spikes.append(s)
        vs.append(v)
    return {"spikes": ad.stack(spikes), "v_seq": ad.stack(vs)}
