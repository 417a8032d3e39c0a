"""Reading event files (``docs/semantics.md#event-formats``) through the engine's decoders.

Events come back as a structured array of :data:`EVENT_DTYPE` — fields ``t`` (int64, µs),
``x``, ``y`` (int16) and ``p`` (uint8), tonic-compatible by field name. Formats: ``atis_bin``
(N-MNIST, N-Caltech101), ``aedat2`` (CIFAR10-DVS), ``aedat3`` (DVS128 Gesture), ``aedat4``,
``evt2``, ``evt3`` (Prophesee ``.raw``) and ``dat`` (Prophesee ``.dat``).
"""

import os
from collections.abc import Iterator

import numpy as np

from snnrs import _engine

EVENT_DTYPE = np.dtype({"names": ["t", "x", "y", "p"], "formats": ["<i8", "<i2", "<i2", "u1"],
                        "offsets": [0, 8, 10, 12], "itemsize": _engine.EVENT_RECORD_BYTES})
FORMATS = tuple(_engine.EVENT_FORMATS)
DEFAULT_CHUNK_BYTES = 16 << 20
# Files up to this size are decoded in one call (in parallel where the format allows);
# larger ones stream in chunks.
WHOLE_FILE_BYTES = 2 << 30


def _records_to_events(records: np.ndarray) -> np.ndarray:
    return records.view(EVENT_DTYPE)


def _check_format(format: str) -> str:
    if format not in FORMATS:
        raise ValueError(f"format: expected one of {FORMATS}, got {format!r}")
    return format


def detect_format(path) -> str:
    """The format of the file at ``path``, from its first bytes and its extension."""
    path = os.fspath(path)
    with open(path, "rb") as f:
        head = f.read(1 << 16)
    extension = os.path.splitext(path)[1].lstrip(".")
    found = _engine.detect_event_format(head, extension)
    if found is None:
        raise ValueError(f"{path}: cannot tell the event format from its header or extension "
                         f"'.{extension}'; pass format= one of {FORMATS}")
    return found


def read_events(path, format: str | None = None, *, return_sensor_size: bool = False,
                chunk_bytes: int = DEFAULT_CHUNK_BYTES):
    """All events of the file at ``path`` (format detected unless given).

    With ``return_sensor_size=True`` returns ``(events, (width, height) or None)``. Files up to
    ``WHOLE_FILE_BYTES`` are memory-mapped and decoded at once; larger ones are read in chunks of
    ``chunk_bytes``. Corrupt bytes raise ValueError naming the file and the byte offset.
    """
    path = os.fspath(path)
    _check_chunk_bytes(chunk_bytes)
    format = _check_format(format) if format is not None else detect_format(path)
    size = os.path.getsize(path)
    if 0 < size <= WHOLE_FILE_BYTES:
        # Mapped, not copied: the engine decodes the page cache in place, on every core.
        records, sensor = _engine.decode_events(np.memmap(path, dtype=np.uint8, mode="r"), format, path)
        events = _records_to_events(records)
        return (events, sensor) if return_sensor_size else events
    chunks, sensor = [], None
    stream = None
    for part, stream in _stream(path, format, chunk_bytes):  # noqa: B007  (stream: the last one, after the loop)
        if part.size:
            chunks.append(part)
    sensor = stream.sensor if stream is not None else None
    records = np.concatenate(chunks) if chunks else np.empty(0, np.uint8)
    events = _records_to_events(records)
    return (events, sensor) if return_sensor_size else events


def iter_events(path, format: str | None = None, chunk_bytes: int = DEFAULT_CHUNK_BYTES
                ) -> Iterator[np.ndarray]:
    """The events of a file in consecutive arrays, one per chunk of ``chunk_bytes`` read,
    so memory stays bounded however large the file."""
    for part, _ in _stream(path, format, chunk_bytes):
        if part.size:
            yield _records_to_events(part)


def _check_chunk_bytes(chunk_bytes):
    if isinstance(chunk_bytes, bool) or not isinstance(chunk_bytes, int) or chunk_bytes < 1:
        raise ValueError(f"chunk_bytes: expected a positive int, got {chunk_bytes!r}")


def _stream(path, format, chunk_bytes) -> Iterator[tuple[np.ndarray, "object"]]:
    path = os.fspath(path)
    _check_chunk_bytes(chunk_bytes)
    format = _check_format(format) if format is not None else detect_format(path)
    stream = _engine.EventStream(format, path)
    with open(path, "rb") as f:
        while True:
            chunk = f.read(chunk_bytes)
            if not chunk:
                break
            yield stream.feed(chunk), stream
    yield stream.finish(), stream


def decode_bytes(data: bytes, format: str, source: str = "<bytes>"):
    """Decodes a whole file held in memory: ``(events, (width, height) or None)``."""
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise TypeError(f"data: expected bytes, got {type(data).__name__}")
    records, sensor = _engine.decode_events(bytes(data), _check_format(format), source)
    return _records_to_events(records), sensor


def as_events(events) -> np.ndarray:
    """``events`` (a structured array or a dict with keys t, x, y, p) as a contiguous
    :data:`EVENT_DTYPE` array; a copy only when the layout differs. Polarity becomes 1 where
    ``p > 0`` and 0 elsewhere, so both the 0/1 and the -1/+1 conventions map OFF to 0."""
    if isinstance(events, np.ndarray) and events.dtype == EVENT_DTYPE and events.flags.c_contiguous:
        return events
    names = ("t", "x", "y", "p")
    if isinstance(events, dict):
        missing = [k for k in names if k not in events]
        get = events.__getitem__
        n = len(np.asarray(events["t"])) if "t" in events else 0
    elif isinstance(events, np.ndarray) and events.dtype.names:
        missing = [k for k in names if k not in events.dtype.names]
        get = events.__getitem__
        n = len(events)
    else:
        raise TypeError("events: expected a structured array or a dict with fields t, x, y, p, "
                        f"got {type(events).__name__}")
    if missing:
        raise ValueError(f"events: missing fields {missing} (expected t, x, y, p)")
    out = np.empty(n, EVENT_DTYPE)
    for k in names:
        column = np.asarray(get(k))
        if column.shape != (n,):
            raise ValueError(f"events: field {k!r} has shape {column.shape}, expected ({n},)")
        if k in ("x", "y") and n and (column.min() < 0 or column.max() > np.iinfo(np.int16).max):
            raise ValueError(f"events: field {k!r} outside [0, 32767]")
        out[k] = (column > 0) if k == "p" else column
    return out
