"""Event files straight into frames (``docs/semantics.md#frames-from-files``).

:func:`read_frames` decodes a file and counts its events into frames in one go, on every core, without
building the event array (for N-MNIST's ATIS, EVT 2.0, AEDAT 2 and ``.dat``; the other formats decode in
bounded blocks). The file is read twice in blocks, never held whole. The frames equal ``read_events``
followed by the same mode's integration exactly.
:func:`iter_frames` streams the frames of a long recording as their windows close.
"""

from collections.abc import Iterator

import numpy as np

from snnrs import _engine
from snnrs.events.frames import _sensor, frame_mode, integrate_windows
from snnrs.events.io import (
    DEFAULT_CHUNK_BYTES,
    EVENT_DTYPE,
    _check_chunk_bytes,
    _check_format,
    _regular_file,
    detect_format,
    iter_events,
)


def _geometry(path, sensor_size, header_sensor):
    if sensor_size is None:
        if header_sensor is None:
            raise ValueError(f"{path}: sensor_size: the file does not say its sensor's size; pass "
                             "sensor_size=(width, height, polarities), e.g. (34, 34, 2) for N-MNIST")
        return header_sensor[0], header_sensor[1], 2
    return _sensor(sensor_size)


def read_frames(path, sensor_size=None, *, format: str | None = None, time_window: float | None = None,
                event_count: int | None = None, n_time_bins: int | None = None, n_event_bins: int | None = None,
                overlap: float = 0.0, include_incomplete: bool = False, frames_number: int | None = None,
                split_by: str | None = None, duration: int | None = None, binarize: bool = False) -> np.ndarray:
    """The frames of the event file at ``path``: float32 ``[frames, polarities, height, width]``.

    Exactly one mode: tonic's ``ToFrame`` (``time_window`` µs, ``event_count``, ``n_time_bins`` or
    ``n_event_bins``, with ``overlap`` and ``include_incomplete``) or SpikingJelly's integrators
    (``frames_number`` with ``split_by='number'`` or ``'time'``, or ``duration`` µs). ``sensor_size`` is
    tonic's ``(width, height, polarities)``; None takes the size from the file's header where it has one.
    The result equals ``to_frame`` / ``integrate_events_by_*`` of ``read_events(path)``; the file is read in
    blocks, so neither it nor its events need fit in memory. Corrupt bytes raise ValueError naming the file
    and byte offset; time windows need the file's events in time order (ValueError otherwise).
    """
    plan = frame_mode(time_window=time_window, event_count=event_count, n_time_bins=n_time_bins,
                      n_event_bins=n_event_bins, overlap=overlap, include_incomplete=include_incomplete,
                      frames_number=frames_number, split_by=split_by, duration=duration)
    return planned_frames(path, sensor_size, plan, format=format, binarize=binarize)


def planned_frames(path, sensor_size, plan, *, format: str | None = None, binarize: bool = False,
                   block_bytes: int | None = None) -> np.ndarray:
    """:func:`read_frames` by a :func:`snnrs.events.frame_mode` plan; ``block_bytes``: bytes read at a time
    (default 1 MiB)."""
    if sensor_size is not None:
        _sensor(sensor_size)  # checked before the file is read
    if block_bytes is not None:
        _check_chunk_bytes(block_bytes)
    path, _ = _regular_file(path)
    format = _check_format(format) if format is not None else detect_format(path)

    def windows(count, first_last, header_sensor):
        width, height, channels = _geometry(path, sensor_size, header_sensor)
        domain, lo, hi = plan(count, first_last)
        return domain, np.ascontiguousarray(lo), np.ascontiguousarray(hi), width, height, channels, bool(binarize)

    return _engine.frames_from_file(path, format, windows, block_bytes)


def iter_frames(path, sensor_size, *, format: str | None = None, time_window: float | None = None,
                event_count: int | None = None, overlap: float = 0.0, include_incomplete: bool = False,
                binarize: bool = False, chunk_bytes: int = DEFAULT_CHUNK_BYTES) -> Iterator[np.ndarray]:
    """The frames of a long recording one by one (float32 ``[polarities, height, width]``), each as soon as
    its window has closed, reading the file in chunks of ``chunk_bytes``: memory holds one window's events,
    not the recording's. ``time_window`` (µs) or ``event_count``, ``overlap`` and ``include_incomplete`` as in
    tonic's ``ToFrame``; ``sensor_size`` tonic's ``(width, height, polarities)``. The frames are those of
    :func:`read_frames` with the same arguments. Arguments are checked here, before the first frame."""
    if (time_window is None) == (event_count is None):
        raise ValueError("iter_frames: give exactly one of time_window or event_count")
    plan = frame_mode(time_window=time_window, event_count=event_count, overlap=overlap,
                      include_incomplete=include_incomplete)
    if sensor_size is None:
        raise ValueError("sensor_size: iter_frames needs (width, height, polarities) before it reads the file")
    sensor = _sensor(sensor_size)
    _check_chunk_bytes(chunk_bytes)
    path, _ = _regular_file(path)
    format = _check_format(format) if format is not None else detect_format(path)
    if time_window is not None:
        windows = dict(by_time=True, stride=time_window - overlap, length=time_window)
    else:
        windows = dict(by_time=False, stride=event_count - int(overlap), length=event_count)
    return _frames_as_windows_close(path, format, sensor, plan, binarize, chunk_bytes, **windows)


def _frames_as_windows_close(path, format, sensor, plan, binarize, chunk_bytes, by_time, stride, length):
    def frame(events, lo, hi):
        try:
            return integrate_windows(events, [lo], [hi], sensor, binarize)[0]
        except ValueError as e:
            raise ValueError(f"{path}: {e}") from None

    pending = np.empty(0, EVENT_DTYPE)  # the events from the first window not yet emitted on
    dropped = 0  # events before `pending`
    emitted = 0
    first = last_t = None
    for part in iter_events(path, format, chunk_bytes):
        if by_time and (np.any(part["t"][1:] < part["t"][:-1]) or last_t is not None and part["t"][0] < last_t):
            raise ValueError(f"{path}: events: time-based windows need events sorted by t")
        pending = np.concatenate([pending, part])
        t = pending["t"]
        if first is None:
            first = int(t[0])
        last_t = int(t[-1])
        # a window whose end has been passed is in the final set whatever follows (docs: frames-from-files)
        while True:
            if by_time:
                begin = emitted * stride + first
                if not begin + length <= last_t:
                    break
                lo, hi = np.searchsorted(t, begin), np.searchsorted(t, begin + length)
            else:
                lo = emitted * stride - dropped
                hi = lo + length
                if hi > len(pending):
                    break
            yield frame(pending, lo, hi)
            emitted += 1
        keep = np.searchsorted(t, emitted * stride + first) if by_time else emitted * stride - dropped
        keep = int(min(max(keep, 0), len(pending)))
        dropped += keep
        pending = pending[keep:]
    # the rest: the whole plan, now that the end is known, from the windows not yet emitted
    n = dropped + len(pending)
    domain, lo, hi = plan(n, (first, last_t) if n else None)
    for i in range(emitted, len(lo)):
        if domain == "time":
            a, b = np.searchsorted(pending["t"], lo[i]), np.searchsorted(pending["t"], hi[i])
        else:
            a, b = int(lo[i]) - dropped, int(hi[i]) - dropped
        yield frame(pending, a, b)
