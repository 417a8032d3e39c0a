"""Pictures of event data: frames on one colour scale, an (x, y, t) scatter, an animated GIF.

Frames are drawn as ON minus OFF counts on a diverging colour map centred on zero, so the background (no
events) is white in every panel, ON is red and OFF blue; one scale for all frames, clipped at a percentile of
the counts so a few hot pixels do not wash the scene out; a colour bar; each panel titled with its time span.
"""

import numpy as np

from snnrs import atomic


def _pyplot():
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    return plt


def signed_frames(frames) -> np.ndarray:
    """ON minus OFF per frame: ``[T, H, W]`` from ``[T, 2, H, W]`` (one channel: the counts themselves)."""
    frames = np.asarray(frames, dtype=np.float32)
    if frames.ndim != 4 or frames.shape[1] not in (1, 2) or len(frames) == 0:
        raise ValueError(f"frames: expected [T, 1 or 2, H, W] with T >= 1, got shape {frames.shape}")
    return frames[:, 1] - frames[:, 0] if frames.shape[1] == 2 else frames[:, 0]


def color_limit(signed, percentile: float = 99.5) -> float:
    """The colour scale's half-range: the ``percentile`` of the non-zero |counts| over all frames (so hot
    pixels saturate instead of setting the range), at least 1."""
    if not 0 < percentile <= 100:
        raise ValueError(f"percentile: expected a value in (0, 100], got {percentile}")
    magnitude = np.abs(signed[signed != 0])
    return max(float(np.percentile(magnitude, percentile)) if magnitude.size else 1.0, 1.0)


def span_titles(spans_us) -> list[str]:
    """``"0.0–12.5 ms"`` per frame from ``[(start µs, end µs), ...]`` measured from the first frame's start."""
    if spans_us is None:
        return None
    origin = spans_us[0][0] if len(spans_us) else 0
    return [f"{(a - origin) / 1e3:.1f}–{(b - origin) / 1e3:.1f} ms" for a, b in spans_us]


def frames_figure(frames, spans_us=None, title: str | None = None, percentile: float = 99.5, columns: int = 3):
    """The matplotlib figure of :func:`plot_frames` (for notebooks: ``fig = frames_figure(frames)``)."""
    plt = _pyplot()
    signed = signed_frames(frames)
    limit = color_limit(signed, percentile)
    steps = len(signed)
    columns = max(1, min(columns, steps))
    rows = -(-steps // columns)
    height, width = signed.shape[1:]
    panel = 3.2
    fig, axes = plt.subplots(rows, columns, squeeze=False, layout="constrained",
                             figsize=(panel * columns + 1.2, panel * rows * height / max(width, 1) + 0.8))
    titles = span_titles(spans_us) or [f"frame {t}" for t in range(steps)]
    image = None
    for k, ax in enumerate(axes.flat):
        ax.axis("off")
        if k < steps:
            image = ax.imshow(signed[k], cmap="RdBu_r", vmin=-limit, vmax=limit, interpolation="nearest")
            ax.set_title(titles[k], fontsize=9)
    if image is not None:
        bar = fig.colorbar(image, ax=axes, shrink=0.9)
        bar.set_label(f"ON − OFF events (clipped at ±{limit:g})")
    if title:
        fig.suptitle(title)
    return fig


def plot_frames(frames, path, spans_us=None, title: str | None = None, percentile: float = 99.5,
                columns: int = 3):
    """Draws ``[T, P, H, W]`` frames to ``path`` (written atomically); ``spans_us``: each frame's
    (start, end) in µs for the panel titles. Returns the path."""
    plt = _pyplot()
    fig = frames_figure(frames, spans_us, title, percentile, columns)
    path = atomic.save_figure(fig, path)
    plt.close(fig)
    return path


def plot_event_scatter(events, path, window_us: float | None = None, max_points: int = 20_000,
                       title: str | None = None):
    """A 3-D scatter of the events of the first ``window_us`` µs (default: the first tenth of the recording),
    x and y across, time up; ON red, OFF blue; at most ``max_points`` drawn (evenly thinned)."""
    plt = _pyplot()
    t = events["t"]
    if len(t) == 0:
        raise ValueError("events: nothing to draw (no events)")
    span = int(t[-1]) - int(t[0])
    window_us = window_us if window_us is not None else max(span / 10, 1)
    chosen = events[t < t[0] + window_us]
    chosen = chosen[:: max(1, len(chosen) // max_points)]
    on = chosen["p"] > 0
    fig = plt.figure(figsize=(6.5, 5.5))
    ax = fig.add_subplot(projection="3d")
    for mask, color, label in ((on, "tab:red", "ON"), (~on, "tab:blue", "OFF")):
        ax.scatter(chosen["x"][mask], chosen["y"][mask], (chosen["t"][mask] - t[0]) / 1e3, s=1, c=color,
                   label=label, depthshade=False)
    ax.set(xlabel="x", ylabel="y", zlabel="t (ms)")
    ax.invert_yaxis()  # image rows grow downwards
    ax.legend(loc="upper left", markerscale=6)
    ax.set_title(title or f"first {window_us / 1e3:.1f} ms: {len(chosen):,} events")
    path = atomic.save_figure(fig, path)
    plt.close(fig)
    return path


def save_frames_gif(frames, path, spans_us=None, fps: float = 8, percentile: float = 99.5):
    """The frames as an animated GIF (one frame per frame, same colour scale as :func:`plot_frames`),
    written atomically. Returns the path."""
    plt = _pyplot()
    from matplotlib import animation
    signed = signed_frames(frames)
    limit = color_limit(signed, percentile)
    titles = span_titles(spans_us) or [f"frame {t}" for t in range(len(signed))]
    height, width = signed.shape[1:]
    fig, ax = plt.subplots(figsize=(4.5, 4.5 * height / max(width, 1) + 0.5))
    ax.axis("off")
    image = ax.imshow(signed[0], cmap="RdBu_r", vmin=-limit, vmax=limit, interpolation="nearest")
    heading = ax.set_title(titles[0])

    def show(k):
        image.set_data(signed[k])
        heading.set_text(titles[k])
        return image, heading

    movie = animation.FuncAnimation(fig, show, frames=len(signed), interval=1000 / fps)
    with atomic.atomic_path(path) as tmp:
        named = tmp.with_name(tmp.name + ".gif")  # Pillow picks the format from the name
        try:
            movie.save(named, writer=animation.PillowWriter(fps=fps))
            named.replace(tmp)
        finally:
            named.unlink(missing_ok=True)
    plt.close(fig)
    return path
