"""Frame integration (``docs/semantics.md#frames``; definitions in ``reference/events.py``), counted by the engine.

Frames are float32 ``[M, P, H, W]`` (P = 2 polarity channels: channel 0 counts OFF, ``p <= 0``, channel 1
ON, ``p > 0``).
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


# ---- windows ----
# Every mode's windows are chosen from the event count and the first and last timestamps alone, so the
# same plan serves events in memory (searchsorted below) and files counted straight into frames
# (read_frames, where the engine asks for the plan once it has scanned the file). A plan is
# ("index", lo, hi): frame i counts events lo[i]:hi[i]; or ("time", lo, hi): the events with
# lo[i] <= t < hi[i] (float64 bounds, compared as NumPy compares int64 times with floats).

def _index_plan(starts, ends, n):
    starts = np.asarray(starts, dtype=np.int64).clip(0, n)
    ends = np.maximum(np.asarray(ends, dtype=np.int64).clip(0, n), starts)
    return "index", starts.astype(np.uint64), ends.astype(np.uint64)


def _time_plan(lo, hi):
    lo = np.asarray(lo, dtype=np.float64)
    return "time", lo, np.maximum(np.asarray(hi, dtype=np.float64), lo)  # an end before its start: empty


def windows_by_number(n_events: int, frames_number: int):
    di = n_events // frames_number
    starts = np.arange(frames_number) * di
    ends = starts + di
    ends[-1] = n_events
    return starts, ends


def _plan_by_time(n, first_last, frames_number):
    if n == 0:
        return _index_plan(np.zeros(frames_number), np.zeros(frames_number), 0)
    t0, t1 = first_last
    dt = (t1 - t0) // frames_number
    bounds = t0 + np.arange(frames_number + 1, dtype=np.int64) * dt
    return _time_plan(bounds[:-1], np.append(bounds[1:-1], np.inf))


def _plan_by_duration(n, first_last, duration):
    if n == 0:
        return _index_plan([], [], 0)
    t0, t1 = first_last
    count = max(1, math.ceil(int(t1 - t0) / duration))
    cuts = t0 + np.arange(1, count, dtype=np.int64) * duration
    return _time_plan(np.concatenate([[-np.inf], cuts]), np.append(cuts, np.inf))


def _plan_time_window(n, first_last, time_window, overlap, include_incomplete):
    if n == 0:
        return _index_plan([0], [0], 0)
    t0, t1 = first_last
    stride = time_window - overlap
    span = (t1 - t0) - time_window
    count = int(np.ceil(span / stride) + 1 if include_incomplete else np.floor(span / stride) + 1)
    begin = np.arange(max(count, 1)) * stride + t0
    return _time_plan(begin, begin + time_window)


def _plan_event_count(n, event_count, overlap, include_incomplete):
    stride = event_count - int(overlap)
    count_in = min(event_count, n)
    span = n - count_in
    count = int(np.ceil(span / stride) + 1 if include_incomplete else np.floor(span / stride) + 1)
    starts = np.arange(count) * stride
    return _index_plan(starts, starts + count_in, n)


def _plan_time_bins(n, first_last, bins, overlap):
    if n == 0:
        return _index_plan(np.zeros(bins), np.zeros(bins), 0)
    t0, t1 = first_last
    window = (t1 - t0) // bins * (1 + overlap)
    begin = np.arange(bins) * (window * (1 - overlap)) + t0
    return _time_plan(begin, begin + window)


def _plan_event_bins(n, bins, overlap):
    spike_count = int(n // bins * (1 + overlap))
    starts = np.arange(bins) * int(spike_count * (1 - overlap))
    return _index_plan(starts, starts + spike_count, n)


def frame_mode(*, time_window=None, event_count=None, n_time_bins=None, n_event_bins=None, overlap=0.0,
               include_incomplete=False, frames_number=None, split_by=None, duration=None):
    """A checked frame mode: ``plan(n, (first t, last t) or None) -> (domain, lo, hi)``. Exactly one of
    tonic's ``time_window`` (µs), ``event_count``, ``n_time_bins``, ``n_event_bins`` (with ``overlap``,
    ``include_incomplete``) or SpikingJelly's ``frames_number`` (with ``split_by`` 'number' or 'time') or
    ``duration`` (µs)."""
    given = {k: v for k, v in dict(time_window=time_window, event_count=event_count, n_time_bins=n_time_bins,
                                    n_event_bins=n_event_bins, frames_number=frames_number,
                                    duration=duration).items() if v is not None}
    if len(given) != 1:
        raise ValueError("give exactly one of time_window, event_count, n_time_bins, n_event_bins (tonic's "
                         f"ToFrame) or frames_number, duration (SpikingJelly's), got {sorted(given) or 'none'}")
    if frames_number is not None:
        frames_number = _positive_int("frames_number", frames_number)
        if split_by == "number":
            return lambda n, first_last: _index_plan(*windows_by_number(n, frames_number), n)
        if split_by == "time":
            return lambda n, first_last: _plan_by_time(n, first_last, frames_number)
        raise ValueError(f"split_by: expected 'number' or 'time', got {split_by!r}")
    if split_by is not None:
        raise ValueError("split_by: only with frames_number")
    if duration is not None:
        duration = _positive_int("duration", duration)
        return lambda n, first_last: _plan_by_duration(n, first_last, duration)
    if time_window is not None:
        if isinstance(time_window, bool) or not isinstance(time_window, (int, float, np.integer, np.floating)) \
                or not time_window > 0:
            raise ValueError(f"time_window: expected a positive number of µs, got {time_window!r}")
        if not time_window - overlap > 0:
            raise ValueError(f"overlap: expected overlap < time_window, got {overlap} >= {time_window}")
        return lambda n, first_last: _plan_time_window(n, first_last, time_window, overlap, include_incomplete)
    if event_count is not None:
        event_count = _positive_int("event_count", event_count)
        if event_count - int(overlap) <= 0:
            raise ValueError(f"overlap: expected overlap < event_count, got {overlap} >= {event_count}")
        return lambda n, first_last: _plan_event_count(n, event_count, overlap, include_incomplete)
    if not 0 <= overlap < 1:
        name = "n_time_bins" if n_time_bins is not None else "n_event_bins"
        raise ValueError(f"overlap: expected a fraction in [0, 1) for {name}, got {overlap}")
    if n_time_bins is not None:
        bins = _positive_int("n_time_bins", n_time_bins)
        return lambda n, first_last: _plan_time_bins(n, first_last, bins, overlap)
    bins = _positive_int("n_event_bins", n_event_bins)
    return lambda n, first_last: _plan_event_bins(n, bins, overlap)


def integrate_planned(events, plan, sensor_size, binarize: bool = False) -> np.ndarray:
    """Frames of events in memory by a :func:`frame_mode` plan (time windows need events sorted by t)."""
    events = as_events(events)
    n = len(events)
    t = events["t"]
    domain, lo, hi = plan(n, (int(t[0]), int(t[-1])) if n else None)
    if domain == "time":
        t = _sorted_times(events)
        lo, hi = np.searchsorted(t, lo, side="left"), np.searchsorted(t, hi, side="left")
    return integrate_windows(events, lo, hi, sensor_size, binarize)


def integrate_events_by_fixed_frames_number(events, split_by: str, frames_num: int, H: int, W: int,
                                            binarize: bool = False) -> np.ndarray:
    """SpikingJelly's integration into ``frames_num`` frames, split by event ``'number'`` or
    by ``'time'``; an empty window gives an empty frame."""
    if split_by not in ("number", "time"):
        raise ValueError(f"split_by: expected 'number' or 'time', got {split_by!r}")
    plan = frame_mode(frames_number=_positive_int("frames_num", frames_num), split_by=split_by)
    return integrate_planned(events, plan, (W, H, 2), binarize)


def integrate_events_by_fixed_duration(events, duration: int, H: int, W: int, binarize: bool = False) -> np.ndarray:
    """Frames of ``duration`` µs from the first event; the last frame takes the event on its end."""
    plan = frame_mode(duration=duration)
    events = as_events(events)
    if len(events) == 0:
        return np.zeros((0, 2, H, W), np.float32)
    return integrate_planned(events, plan, (W, H, 2), binarize)


def to_frame(events, sensor_size, time_window: float | None = None, event_count: int | None = None,
             n_time_bins: int | None = None, n_event_bins: int | None = None, overlap: float = 0.0,
             include_incomplete: bool = False, binarize: bool = False) -> np.ndarray:
    """tonic's ``ToFrame``: exactly one of ``time_window`` (µs), ``event_count``, ``n_time_bins``,
    ``n_event_bins``; half-open windows, the remainder dropped unless ``include_incomplete``."""
    if sum(v is not None for v in (time_window, event_count, n_time_bins, n_event_bins)) != 1:
        raise ValueError("give exactly one of time_window, event_count, n_time_bins, n_event_bins")
    plan = frame_mode(time_window=time_window, event_count=event_count, n_time_bins=n_time_bins,
                      n_event_bins=n_event_bins, overlap=overlap, include_incomplete=include_incomplete)
    return integrate_planned(events, plan, sensor_size, binarize)


def integrate_many(samples: Sequence, integrate: Callable[..., np.ndarray], *args, workers: int | None = None,
                   **kwargs):
    """``[integrate(s, *args, **kwargs) for s in samples]``, several samples at once (the engine
    releases the GIL while it counts)."""
    with ThreadPoolExecutor(max_workers=workers) as pool:
        return list(pool.map(lambda s: integrate(s, *args, **kwargs), samples))
