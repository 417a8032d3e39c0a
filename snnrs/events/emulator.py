"""A simple DVS emulator: frames (video) to events, per-pixel log-intensity thresholds.
Semantics (the idealised pixel) in ``reference/events.py::emulate_dvs``; vectorised here."""


import numpy as np

from snnrs.events.io import EVENT_DTYPE


def _threshold(name, value, shape):
    c = np.broadcast_to(np.asarray(value, dtype=np.float64), shape) if np.ndim(value) else np.full(shape, float(value))
    if c.shape != shape or not np.all(np.isfinite(c)) or np.any(c <= 0):
        raise ValueError(f"{name}: expected positive finite thresholds, a scalar or shape {shape}")
    return c


def emulate_dvs(frames, times, threshold_on: float | np.ndarray = 0.2,
                threshold_off: float | np.ndarray = 0.2, eps: float = 1e-3) -> np.ndarray:
    """Events (:data:`snnrs.events.EVENT_DTYPE`) a DVS would emit watching ``frames``
    (``[T, H, W]`` intensities >= 0; RGB ``[T, H, W, 3]`` is averaged to gray) taken at
    ``times`` (µs, increasing)."""
    frames = np.asarray(frames, dtype=np.float64)
    if frames.ndim == 4 and frames.shape[-1] in (3, 4):
        frames = frames[..., :3].mean(axis=-1)
    if frames.ndim != 3 or frames.shape[0] < 1:
        raise ValueError(f"frames: expected [T, H, W] (or [T, H, W, 3]), got shape {frames.shape}")
    if np.any(frames < 0) or not np.all(np.isfinite(frames)):
        raise ValueError("frames: expected finite intensities >= 0")
    times = np.asarray(times, dtype=np.int64)
    if times.shape != (frames.shape[0],) or np.any(np.diff(times) <= 0):
        raise ValueError(f"times: expected {frames.shape[0]} increasing timestamps, got shape {times.shape}")
    if not eps > 0:
        raise ValueError(f"eps: expected > 0, got {eps}")
    shape = frames.shape[1:]
    c_on, c_off = _threshold("threshold_on", threshold_on, shape), _threshold("threshold_off", threshold_off, shape)
    height, width = shape
    ys, xs = np.divmod(np.arange(height * width), width)
    ref = np.log(frames[0] + eps).ravel()
    c_on, c_off = c_on.ravel(), c_off.ravel()
    parts = []
    for k in range(1, frames.shape[0]):
        d = np.log(frames[k] + eps).ravel() - ref
        on, off = d >= c_on, d <= -c_off
        c = np.where(on, c_on, c_off)
        n = np.zeros(d.shape, np.int64)
        n[on] = np.floor(d[on] / c_on[on])
        n[off] = np.floor(-d[off] / c_off[off])
        pixels = np.repeat(np.arange(d.size), n)  # emission order: pixel (row-major), then i
        i = np.arange(pixels.size) - np.repeat(np.cumsum(n) - n, n) + 1
        t0, dt = float(times[k - 1]), float(times[k] - times[k - 1])
        stamp = np.floor(t0 + dt * (i * c[pixels]) / np.abs(d[pixels])).astype(np.int64)
        step = np.empty(pixels.size, EVENT_DTYPE)
        step["t"], step["x"], step["y"], step["p"] = stamp, xs[pixels], ys[pixels], on[pixels]
        parts.append(step)
        ref = ref + np.where(on, n * c_on, np.where(off, -n * c_off, 0.0))
    events = np.concatenate(parts) if parts else np.empty(0, EVENT_DTYPE)
    return events[np.argsort(events["t"], kind="stable")]
