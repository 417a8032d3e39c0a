"""Reading event files (``docs/semantics.md#event-formats``) through the engine's decoders.

Events come back as a structured array of :data:`EVENT_DTYPE`: fields ``x``, ``y`` (int16), ``t``
(int64, µs) and ``p`` (int8, 0 = OFF, 1 = ON), in tonic's order ``x, y, t, p`` and with a signed
polarity, so tonic's transforms (and ``2 * p - 1``) work on them as on tonic's own arrays
(``docs/semantics.md#events``). Formats: ``atis_bin``
(N-MNIST, N-Caltech101), ``aedat2`` (CIFAR10-DVS), ``aedat3`` (DVS128 Gesture), ``aedat4``,
``evt2``, ``evt3`` (Prophesee ``.raw``) and ``dat`` (Prophesee ``.dat``).
"""

import errno
import os
import stat
from collections.abc import Iterator

import numpy as np

from snnrs import _engine

# tonic's fields, order and packed layout (tonic.io.events_struct: x, y int16, t int64, p; the order is what
# structured_to_unstructured and tonic's NumpyAsType give as columns), with a signed polarity (tonic's is
# bool, on which its ToVoxelGrid's p[p == 0] = -1 silently makes every event ON) and three bytes of
# padding to the engine's 16-byte record. np.save / np.load keep it.
EVENT_DTYPE = np.dtype({"names": ["x", "y", "t", "p"], "formats": ["<i2", "<i2", "<i8", "i1"],
                        "offsets": [0, 2, 4, 12], "itemsize": _engine.EVENT_RECORD_BYTES})
FORMATS = tuple(_engine.EVENT_FORMATS)
DEFAULT_CHUNK_BYTES = 16 << 20
# chunk_bytes above this is refused: a chunk is held in memory whole (and may decode to ~100x its size)
MAX_CHUNK_BYTES = 1 << 30
# Files up to this size are read into memory and decoded in one call (in parallel where the format
# allows); larger ones stream in chunks.
WHOLE_FILE_BYTES = 2 << 30
# The most events read_events returns unless told otherwise: 2^28 events are 4 GiB of records. Compressed
# formats (EVT 3.0 vectors, AEDAT4 LZ4 packets) can decode to ~100x their size; past the budget reading
# stops with a MemoryError instead of exhausting the machine. Larger recordings: iter_events.
DEFAULT_MAX_EVENTS = 1 << 28


def _records_to_events(records: np.ndarray) -> np.ndarray:
    return records.view(EVENT_DTYPE)


def _check_format(format: str) -> str:
    if format not in FORMATS:
        raise ValueError(f"format: expected one of {FORMATS}, got {format!r}")
    return format


def _regular_file(path) -> tuple[str, int]:
    """``(path as str, size)`` of a regular file; devices, FIFOs, sockets and folders are refused before
    anything is read (``/dev/zero`` would never end, a FIFO would block)."""
    if not isinstance(path, (str, bytes, os.PathLike)):
        raise TypeError(f"path: expected a str, bytes or os.PathLike, got {type(path).__name__}")
    path = os.fsdecode(os.fspath(path))
    info = os.stat(path)  # FileNotFoundError / PermissionError name the path
    if stat.S_ISDIR(info.st_mode):
        raise IsADirectoryError(errno.EISDIR, "a folder, not an event file", path)
    if not stat.S_ISREG(info.st_mode):
        raise OSError(errno.EINVAL, "not a regular file (a device, FIFO or socket): event files only", path)
    return path, info.st_size


def detect_format(path) -> str:
    """The format of the file at ``path``, from its first bytes and its extension."""
    path, _ = _regular_file(path)
    with open(path, "rb") as f:
        head = f.read(1 << 16)
    extension = os.path.splitext(path)[1].lstrip(".")
    found = _engine.detect_event_format(head, extension)
    if found is None:
        raise ValueError(f"{path}: cannot tell the event format from its header or extension "
                         f"'.{extension}'; pass format= one of {FORMATS}")
    return found


def _check_max_events(max_events):
    if max_events is None:
        return None
    if isinstance(max_events, bool) or not isinstance(max_events, int) or max_events < 0:
        raise ValueError(f"max_events: expected a non-negative int or None, got {max_events!r}")
    return min(max_events, 1 << 62)  # beyond any address space: no budget (and fits the engine's integer)


def _read_whole(path: str, size: int) -> np.ndarray:
    """The file's bytes, read (not memory-mapped: a mapped file truncated by another process kills the
    reader with SIGBUS). A file that shrinks while being read is an OSError."""
    try:
        data = np.empty(size, np.uint8)
    except MemoryError:
        raise MemoryError(f"{path}: {size} bytes could not be allocated to read it; use iter_events") from None
    view = memoryview(data)
    done = 0
    with open(path, "rb") as f:
        while done < size:
            n = f.readinto(view[done:])
            if not n:
                raise OSError(errno.EIO, f"the file shrank from {size} to {done} bytes while being read "
                              "(is another process writing or truncating it?)", path)
            done += n
    return data


def read_events(path, format: str | None = None, *, return_sensor_size: bool = False,
                chunk_bytes: int = DEFAULT_CHUNK_BYTES, max_events: int | None = DEFAULT_MAX_EVENTS):
    """All events of the file at ``path`` (a str, bytes or path-like; format detected unless given).

    With ``return_sensor_size=True`` returns ``(events, (width, height) or None)``. Files up to
    ``WHOLE_FILE_BYTES`` are read into memory and decoded at once; larger ones are read in chunks of
    ``chunk_bytes`` (at most ``MAX_CHUNK_BYTES``). Corrupt bytes raise ValueError naming the file and
    the byte offset. More than ``max_events`` events (default ``DEFAULT_MAX_EVENTS``, 2^28; None: no
    budget) or more than memory holds raise MemoryError naming the file: read such recordings piece by
    piece with :func:`iter_events`. Only regular files are read (not devices or FIFOs).
    """
    _check_chunk_bytes(chunk_bytes)
    max_events = _check_max_events(max_events)
    path, size = _regular_file(path)
    format = _check_format(format) if format is not None else detect_format(path)
    if 0 < size <= WHOLE_FILE_BYTES:
        records, sensor = _engine.decode_events(_read_whole(path, size), format, path, max_events)
        events = _records_to_events(records)
        return (events, sensor) if return_sensor_size else events
    chunks, sensor, count = [], None, 0
    stream = None
    for part, stream in _stream(path, format, chunk_bytes):  # stream: the last one, used after the loop
        count += part.size // EVENT_DTYPE.itemsize
        if max_events is not None and count > max_events:
            raise MemoryError(f"{path}: byte offset {stream.position}: more than max_events={max_events} events; "
                              "pass a larger max_events= or read the file in pieces with iter_events")
        if part.size:
            chunks.append(part)
    sensor = stream.sensor if stream is not None else None
    try:
        records = np.concatenate(chunks) if chunks else np.empty(0, np.uint8)
    except MemoryError:
        raise MemoryError(f"{path}: {count} events ({count * EVENT_DTYPE.itemsize} bytes) could not be "
                          "allocated; read the file in pieces with iter_events") from None
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
    if isinstance(chunk_bytes, bool) or not isinstance(chunk_bytes, int) or not 1 <= chunk_bytes <= MAX_CHUNK_BYTES:
        raise ValueError(f"chunk_bytes: expected an int in 1..{MAX_CHUNK_BYTES} (1 GiB), got {chunk_bytes!r}")


def _stream(path, format, chunk_bytes) -> Iterator[tuple[np.ndarray, "object"]]:
    _check_chunk_bytes(chunk_bytes)
    path, _ = _regular_file(path)
    format = _check_format(format) if format is not None else detect_format(path)
    stream = _engine.EventStream(format, path)
    with open(path, "rb") as f:
        while True:
            chunk = f.read(chunk_bytes)
            if not chunk:
                break
            yield stream.feed(chunk), stream
    yield stream.finish(), stream


def decode_bytes(data: bytes, format: str, source: str = "<bytes>", *,
                 max_events: int | None = DEFAULT_MAX_EVENTS):
    """Decodes a whole file held in memory: ``(events, (width, height) or None)``; ``max_events`` as in
    :func:`read_events`."""
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise TypeError(f"data: expected bytes, got {type(data).__name__}")
    records, sensor = _engine.decode_events(bytes(data), _check_format(format), source,
                                            _check_max_events(max_events))
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
