"""Frame integration (``docs/semantics.md#frames``; definitions in ``reference/events.py``), counted by the engine.

Frames are float32 ``[M, P, H, W]`` (P = 2 polarity channels: channel 0 counts ``p == 0``).
Windows are chosen here with NumPy (a search per window), the counting is the engine's,
parallel over frames with the GIL released. Time-based modes need events sorted by ``t``.
"""

import math
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from snnrs import _engine
from snnrs.events.io import as_events


def _sensor(sensor_size):
    """(width, height, channels) from tonic-style (W, H, P) or (W, H)."""
    try:
        size = tuple(int(s) for s in sensor_size)
    except TypeError:
        raise TypeError(f"sensor_size: expected (width, height[, polarities]), got {sensor_size!r}") from None
    if len(size) not in (2, 3) or min(size) < 1 or (len(size) == 3 and size[2] not in (1, 2)):
        raise ValueError(f"sensor_size: expected (width, height[, 1 or 2]) with positive sizes, got {sensor_size!r}")
    return size[0], size[1], size[2] if len(size) == 3 else 2


def _positive_int(name, value):
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"{name}: expected a positive int, got {value!r}")
    return int(value)


def _sorted_times(events):
    t = events["t"]
    if t.size > 1 and np.any(t[1:] < t[:-1]):
        raise ValueError("events: time-based windows need events sorted by t (np.sort(events, order='t'))")
    return t


def integrate_windows(events, starts, ends, sensor_size, binarize: bool = False) -> np.ndarray:
    """Frame i counts events ``starts[i]:ends[i]``."""
    events = as_events(events)
    width, height, channels = _sensor(sensor_size)
    starts = np.ascontiguousarray(np.asarray(starts, dtype=np.int64).clip(0, len(events)), dtype=np.uint64)
    ends = np.ascontiguousarray(np.asarray(ends, dtype=np.int64).clip(0, len(events)), dtype=np.uint64)
    ends = np.maximum(ends, starts)
    return _engine.accumulate_frames(events.view(np.uint8).reshape(-1), starts, ends, width=width, height=height,
                                     channels=channels, binarize=bool(binarize))


def windows_by_number(n_events: int, frames_number: int):
    di = n_events // frames_number
    starts = np.arange(frames_number) * di
    ends = starts + di
    ends[-1] = n_events
    return starts, ends


def windows_by_time(t: np.ndarray, frames_number: int):
    if t.size == 0:
        return np.zeros(frames_number, np.int64), np.zeros(frames_number, np.int64)
    dt = (int(t[-1]) - int(t[0])) // frames_number
    bounds = int(t[0]) + np.arange(frames_number + 1, dtype=np.int64) * dt
    starts = np.searchsorted(t, bounds[:-1], side="left")
    ends = np.append(np.searchsorted(t, bounds[1:-1], side="left"), t.size)
    return starts, ends


def integrate_events_by_fixed_frames_number(events, split_by: str, frames_num: int, H: int, W: int,
                                            binarize: bool = False) -> np.ndarray:
    """SpikingJelly's integration into ``frames_num`` frames, split by event ``'number'`` or
    by ``'time'``; an empty window gives an empty frame."""
    events = as_events(events)
    frames_num = _positive_int("frames_num", frames_num)
    if split_by == "number":
        starts, ends = windows_by_number(len(events), frames_num)
    elif split_by == "time":
        starts, ends = windows_by_time(_sorted_times(events), frames_num)
    else:
        raise ValueError(f"split_by: expected 'number' or 'time', got {split_by!r}")
    return integrate_windows(events, starts, ends, (W, H, 2), binarize)


def integrate_events_by_fixed_duration(events, duration: int, H: int, W: int, binarize: bool = False) -> np.ndarray:
    """Frames of ``duration`` µs from the first event; the last frame takes the event on its end."""
    events = as_events(events)
    duration = _positive_int("duration", duration)
    t = _sorted_times(events)
    if t.size == 0:
        return np.zeros((0, 2, H, W), np.float32)
    rel = t - t[0]
    count = max(1, math.ceil(int(rel[-1]) / duration))
    bounds = np.arange(1, count, dtype=np.int64) * duration
    cuts = np.searchsorted(rel, bounds, side="left")
    starts = np.concatenate([[0], cuts])
    ends = np.concatenate([cuts, [t.size]])
    return integrate_windows(events, starts, ends, (W, H, 2), binarize)


def to_frame(events, sensor_size, time_window: float | None = None, event_count: int | None = None,
             n_time_bins: int | None = None, n_event_bins: int | None = None, overlap: float = 0.0,
             include_incomplete: bool = False, binarize: bool = False) -> np.ndarray:
    """tonic's ``ToFrame``: exactly one of ``time_window`` (µs), ``event_count``, ``n_time_bins``,
    ``n_event_bins``; half-open windows, the remainder dropped unless ``include_incomplete``."""
    given = [v is not None for v in (time_window, event_count, n_time_bins, n_event_bins)]
    if sum(given) != 1:
        raise ValueError("give exactly one of time_window, event_count, n_time_bins, n_event_bins")
    events = as_events(events)
    n = len(events)
    if time_window is not None:
        if not time_window - overlap > 0:
            raise ValueError(f"overlap: expected overlap < time_window, got {overlap} >= {time_window}")
        t = _sorted_times(events)
        if n == 0:
            starts, ends = [0], [0]
        else:
            stride = time_window - overlap
            span = (t[-1] - t[0]) - time_window
            count = int(np.ceil(span / stride) + 1 if include_incomplete else np.floor(span / stride) + 1)
            begin = np.arange(max(count, 1)) * stride + t[0]
            starts, ends = np.searchsorted(t, begin), np.searchsorted(t, begin + time_window)
    elif event_count is not None:
        event_count = _positive_int("event_count", event_count)
        stride = event_count - int(overlap)
        if stride <= 0:
            raise ValueError(f"overlap: expected overlap < event_count, got {overlap} >= {event_count}")
        count_in = min(event_count, n)
        span = n - count_in
        count = int(np.ceil(span / stride) + 1 if include_incomplete else np.floor(span / stride) + 1)
        starts = np.arange(count) * stride
        ends = starts + count_in
    elif n_time_bins is not None:
        bins = _positive_int("n_time_bins", n_time_bins)
        if not 0 <= overlap < 1:
            raise ValueError(f"overlap: expected a fraction in [0, 1) for n_time_bins, got {overlap}")
        t = _sorted_times(events)
        if n == 0:
            starts = ends = np.zeros(bins, np.int64)
        else:
            window = (t[-1] - t[0]) // bins * (1 + overlap)
            begin = np.arange(bins) * (window * (1 - overlap)) + t[0]
            starts, ends = np.searchsorted(t, begin), np.searchsorted(t, begin + window)
    else:
        bins = _positive_int("n_event_bins", n_event_bins)
        if not 0 <= overlap < 1:
            raise ValueError(f"overlap: expected a fraction in [0, 1) for n_event_bins, got {overlap}")
        spike_count = int(n // bins * (1 + overlap))
        starts = np.arange(bins) * int(spike_count * (1 - overlap))
        ends = starts + spike_count
    return integrate_windows(events, starts, ends, sensor_size, binarize)


def integrate_many(samples: Sequence, integrate: Callable[..., np.ndarray], *args, workers: int | None = None,
                   **kwargs):
    """``[integrate(s, *args, **kwargs) for s in samples]``, several samples at once (the engine
    releases the GIL while it counts)."""
    with ThreadPoolExecutor(max_workers=workers) as pool:
        return list(pool.map(lambda s: integrate(s, *args, **kwargs), samples))
