"""Plots people would rather look at than read: spike rasters, firing-rate heatmaps,
membrane traces. Each function writes a PNG (matplotlib, Agg) and returns its path."""


import numpy as np
import torch


def _figure():
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    return plt


def _as_2d(name, values):
    a = values.detach().cpu().numpy() if isinstance(values, torch.Tensor) else np.asarray(values)
    if a.ndim < 2:
        raise ValueError(f"{name}: expected [T, N, ...], got shape {a.shape}")
    return a.reshape(a.shape[0], -1)


def plot_spike_raster(spikes, path, title="Spike raster"):
    """Dots at (t, neuron) for every spike of ``spikes`` [T, N, ...] (neurons flattened)."""
    s = _as_2d("spikes", spikes)
    plt = _figure()
    fig, ax = plt.subplots(figsize=(8, 4))
    t, n = np.nonzero(s)
    ax.scatter(t, n, s=4, marker="|", color="black")
    ax.set(xlabel="time step", ylabel="neuron", title=title, xlim=(-0.5, s.shape[0] - 0.5),
           ylim=(-0.5, s.shape[1] - 0.5))
    return _save(plt, fig, path)


def plot_firing_rate_heatmap(spikes, path, title="Spikes and firing rate"):
    """Heatmap of spikes [T, N, ...] (rows: neurons, columns: time), with the mean rate per neuron."""
    s = _as_2d("spikes", spikes)
    plt = _figure()
    fig, (ax, bar) = plt.subplots(1, 2, figsize=(9, 4), gridspec_kw={"width_ratios": [5, 1]}, sharey=True)
    image = ax.imshow(s.T, aspect="auto", interpolation="nearest", cmap="viridis", vmin=0, vmax=max(1, s.max()))
    ax.set(xlabel="time step", ylabel="neuron", title=title)
    bar.barh(np.arange(s.shape[1]), s.mean(axis=0), color="tab:orange")
    bar.set(xlabel="mean rate")
    fig.colorbar(image, ax=bar)
    return _save(plt, fig, path)


def plot_membrane_trace(v_seq, path, spikes=None, v_threshold=None, neurons=4, title="Membrane potential"):
    """Voltage over time of the first ``neurons`` neurons of ``v_seq`` [T, N, ...], with spikes and threshold."""
    v = _as_2d("v_seq", v_seq)
    s = None if spikes is None else _as_2d("spikes", spikes)
    plt = _figure()
    count = min(neurons, v.shape[1])
    fig, axes = plt.subplots(count, 1, figsize=(8, 1.8 * count), sharex=True, squeeze=False)
    for i, ax in enumerate(axes[:, 0]):
        ax.plot(v[:, i], color="tab:blue")
        if v_threshold is not None:
            ax.axhline(v_threshold, color="tab:red", linestyle="--", linewidth=0.8)
        if s is not None:
            for t in np.nonzero(s[:, i])[0]:
                ax.axvline(t, color="black", alpha=0.3, linewidth=0.8)
        ax.set_ylabel(f"v[{i}]")
    axes[0, 0].set_title(title)
    axes[-1, 0].set_xlabel("time step")
    return _save(plt, fig, path)


def plot_firing_rates(rates, path, title="Firing rate per layer"):
    """Horizontal bars of ``rates`` (a dict layer name -> mean firing rate), first layer on top."""
    if not rates:
        raise ValueError("rates: expected at least one layer")
    names, values = list(rates), [float(v) for v in rates.values()]
    plt = _figure()
    fig, ax = plt.subplots(figsize=(7, 0.4 * len(names) + 1.2))
    ax.barh(np.arange(len(names)), values, color="tab:blue")
    ax.set_yticks(np.arange(len(names)), names)
    ax.invert_yaxis()
    ax.set(xlabel="mean spikes per neuron per step", title=title, xlim=(0, max(1e-3, max(values)) * 1.15))
    for k, v in enumerate(values):
        ax.text(v, k, f" {v:.3f}", va="center")
    return _save(plt, fig, path)


def _save(plt, fig, path):
    from snnrs import atomic
    fig.tight_layout()
    path = atomic.save_figure(fig, path)
    plt.close(fig)
    return path
