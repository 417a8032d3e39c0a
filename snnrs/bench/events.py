"""Events per second for reading, for integrating into frames and for files straight to frames: the
engine vs a plain NumPy implementation (and tonic when installed), in one run.

    python benchmarks/events.py [--events 10000000] [--repeats 5] [--frames 16]

Three synthetic recordings of the same events are written to a temporary folder: N-MNIST's
ATIS .bin, Prophesee EVT 2.0 and EVT 3.0 (no vector words: random events seldom share a row and a
microsecond). Reading: the engine's reader vs NumPy vectorised decoding
of the same format (frombuffer and bit operations). Integrating (16 frames split by time,
128x128 sensor, two polarities): the engine vs SpikingJelly's NumPy recipe (np.bincount per
frame) and tonic's (np.add.at). Files to frames: read_frames (decode and count in one go, no event
array) vs read_events then to_frame vs NumPy vs tonic's to_frame_numpy, with the bound set by the
memory traffic (two passes over the file at the measured copy speed). Medians of --repeats runs.
"""

import argparse
import os
import tempfile

import numpy as np

from snnrs import events as ev
from snnrs.bench.timing import median_seconds

W = H = 128


def synthetic_events(n, rng):
    events = np.zeros(n, ev.EVENT_DTYPE)
    events["t"] = np.sort(rng.integers(0, 8_000_000, n))  # < 2^23 µs: no ATIS overflow markers
    events["x"], events["y"] = rng.integers(0, W, n), rng.integers(0, H, n)
    events["p"] = rng.integers(0, 2, n)
    return events


def write_atis(events, path):
    t = events["t"]
    raw = np.empty((len(events), 5), np.uint8)
    raw[:, 0], raw[:, 1] = events["x"], events["y"]
    raw[:, 2] = (events["p"].astype(np.uint8) << 7) | ((t >> 16) & 0x7F).astype(np.uint8)
    raw[:, 3], raw[:, 4] = (t >> 8) & 0xFF, t & 0xFF
    raw.tofile(path)


def write_evt2(events, path):
    t = events["t"]
    high = t >> 6
    change = np.flatnonzero(np.diff(high, prepend=-1) != 0)
    words = np.empty(len(events) + len(change), np.uint32)
    cd_pos = np.arange(len(events)) + np.searchsorted(change, np.arange(len(events)), side="right")
    th_pos = change + np.arange(len(change))
    words[th_pos] = (np.uint32(8) << 28) | high[change].astype(np.uint32)
    words[cd_pos] = ((events["p"].astype(np.uint32) << 28) | ((t & 0x3F).astype(np.uint32) << 22)
                     | (events["x"].astype(np.uint32) << 11) | events["y"].astype(np.uint32))
    with open(path, "wb") as f:
        f.write(b"% evt 2.0\n")
        words.tofile(f)


def write_evt3(events, path):
    """EVT 3.0 words for sorted events: a TIME_LOW word where t changes (each fall of the low 12 bits is
    a wrap of 4096 µs; a 4096 µs period without events gets a 4095, 0 pair), ADDR_Y, then ADDR_X with the
    polarity. No TIME_HIGH words: the wraps alone carry the time."""
    t = events["t"].astype(np.int64)
    wraps = np.diff(t >> 12, prepend=0)
    new_time = t != np.concatenate([[-1], t[:-1]])
    n_words = 2 * wraps + new_time + 2
    starts = np.cumsum(n_words) - n_words
    words = np.empty(int(n_words.sum()), np.uint16)
    has = np.flatnonzero(wraps > 0)
    owner = np.repeat(has, wraps[has])
    k = np.arange(len(owner)) - np.repeat(np.cumsum(wraps[has]) - wraps[has], wraps[has])
    words[starts[owner] + 2 * k], words[starts[owner] + 2 * k + 1] = 0x6FFF, 0x6000
    at = starts + 2 * wraps
    words[at[new_time]] = 0x6000 | (t[new_time] & 0xFFF).astype(np.uint16)
    at = at + new_time
    words[at] = events["y"].astype(np.uint16)
    words[at + 1] = 0x2000 | (events["p"].astype(np.uint16) << 11) | events["x"].astype(np.uint16)
    with open(path, "wb") as f:
        f.write(b"% evt 3.0\n")
        words.tofile(f)


def numpy_read_atis(path):
    raw = np.fromfile(path, np.uint8).reshape(-1, 5)
    events = np.empty(len(raw), ev.EVENT_DTYPE)
    overflow = raw[:, 1] == 240
    t = ((raw[:, 2].astype(np.int64) & 0x7F) << 16) | (raw[:, 3].astype(np.int64) << 8) | raw[:, 4]
    t += np.cumsum(overflow) * (1 << 13)
    keep = ~overflow
    events = np.empty(int(keep.sum()), ev.EVENT_DTYPE)
    events["t"], events["x"], events["y"] = t[keep], raw[keep, 0], raw[keep, 1]
    events["p"] = raw[keep, 2] >> 7
    return events


def numpy_read_evt2(path):
    with open(path, "rb") as f:
        data = f.read()
    start = data.index(b"\n") + 1
    words = np.frombuffer(data, np.uint32, offset=start)
    kind = words >> 28
    is_high = kind == 8
    last_high = np.maximum.accumulate(np.where(is_high, np.arange(len(words)), -1))
    high = np.where(last_high >= 0, words[np.maximum(last_high, 0)] & 0x0FFFFFFF, 0).astype(np.int64)
    cd = kind <= 1
    w = words[cd]
    events = np.empty(len(w), ev.EVENT_DTYPE)
    events["t"] = (high[cd] << 6) | ((w >> 22) & 0x3F)
    events["x"], events["y"], events["p"] = (w >> 11) & 0x7FF, w & 0x7FF, kind[cd]
    return events


def _last_value(words, kind, value_mask, at_words):
    """At the words `at_words` (a mask): the value of the last word of `kind` before them (0 before the
    first), and how many of those fell below the one before them so far (wraps)."""
    is_kind = (words >> 12) == kind
    values = (words[is_kind] & value_mask).astype(np.int64)
    if len(values) == 0:
        return np.zeros(int(at_words.sum()), np.int64), np.zeros(int(at_words.sum()), np.int64)
    wraps = np.concatenate([[0], np.cumsum(values[1:] < values[:-1])])
    rank = (np.cumsum(is_kind, dtype=np.int32) - 1)[at_words]  # the last word of `kind` so far (-1: none)
    seen, at = rank >= 0, np.maximum(rank, 0)
    return np.where(seen, values[at], 0), np.where(seen, wraps[at], 0)


def numpy_read_evt3(path):
    """Vectorised EVT 3.0 decoding of the words write_evt3 uses (vector words would need a loop)."""
    with open(path, "rb") as f:
        data = f.read()
    words = np.frombuffer(data, np.uint16, offset=data.index(b"\n") + 1)
    kind = words >> 12
    if np.isin(kind, (0x3, 0x4, 0x5)).any():
        raise ValueError("numpy_read_evt3 decodes no vector words")
    cd = kind == 0x2
    y, _ = _last_value(words, 0x0, 0x7FF, cd)
    low, low_wraps = _last_value(words, 0x6, 0xFFF, cd)
    high, high_wraps = _last_value(words, 0x8, 0xFFF, cd)
    w = words[cd]
    events = np.empty(len(w), ev.EVENT_DTYPE)
    events["t"] = (high_wraps << 24) + ((high + low_wraps) << 12) + low
    events["x"], events["y"], events["p"] = w & 0x7FF, y, (w >> 11) & 1
    return events


def time_windows(t, frames):
    dt = (int(t[-1]) - int(t[0])) // frames
    bounds = int(t[0]) + np.arange(frames + 1) * dt
    starts = np.searchsorted(t, bounds[:-1])
    ends = np.append(np.searchsorted(t, bounds[1:-1]), len(t))
    return starts, ends


def numpy_integrate_bincount(events, frames):
    out = np.zeros((frames, 2, H, W), np.float32)
    for i, (s, e) in enumerate(zip(*time_windows(events["t"], frames))):
        part = events[s:e]
        position = part["p"].astype(np.int64) * (H * W) + part["y"].astype(np.int64) * W + part["x"]
        out[i].reshape(-1)[:] = np.bincount(position, minlength=2 * H * W)
    return out


def numpy_integrate_add_at(events, frames):
    out = np.zeros((frames, 2, H, W), np.float32)
    for i, (s, e) in enumerate(zip(*time_windows(events["t"], frames))):
        part = events[s:e]
        np.add.at(out[i], (part["p"].astype(np.int64), part["y"], part["x"]), 1)
    return out


NUMPY_READERS = {"atis_bin": numpy_read_atis, "evt2": numpy_read_evt2, "evt3": numpy_read_evt3}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=10_000_000)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--frames", type=int, default=16)
    args = parser.parse_args(argv)
    rng = np.random.default_rng(0)
    events = synthetic_events(args.events, rng)
    n, frames = args.events, args.frames
    integrate_engine = lambda e: ev.integrate_events_by_fixed_frames_number(e, "time", frames, H, W)
    with tempfile.TemporaryDirectory() as folder:
        paths = {"atis_bin": os.path.join(folder, "events.bin"), "evt2": os.path.join(folder, "events.raw"),
                 "evt3": os.path.join(folder, "events3.raw")}
        write_atis(events, paths["atis_bin"])
        write_evt2(events, paths["evt2"])
        write_evt3(events, paths["evt3"])
        for path in paths.values():
            cache_as_if_read_from_disk(path)
        decoded = {}
        for fmt, path in paths.items():  # both readers agree before anything is timed
            decoded[fmt] = ev.read_events(path, format=fmt)
            np.testing.assert_array_equal(decoded[fmt], NUMPY_READERS[fmt](path))
            np.testing.assert_array_equal(decoded[fmt], events)
        np.testing.assert_array_equal(integrate_engine(events), numpy_integrate_bincount(events, frames))
        print(f"{n:,} events, {frames} frames split by time, {W}x{H} sensor; median of {args.repeats}; "
              f"Mev/s = million events per second\n")
        print("| step | engine (Mev/s) | NumPy (Mev/s) | engine / NumPy |")
        print("|---|---|---|---|")
        rows = []
        for fmt, path in paths.items():
            e_s = median_seconds(lambda path=path, fmt=fmt: ev.read_events(path, format=fmt), args.repeats)
            n_s = median_seconds(lambda path=path, fmt=fmt: NUMPY_READERS[fmt](path), args.repeats)
            rows.append((f"read {fmt}", e_s, n_s))
        e_int = median_seconds(lambda: integrate_engine(events), args.repeats)
        n_bin = median_seconds(lambda: numpy_integrate_bincount(events, frames), args.repeats)
        n_add = median_seconds(lambda: numpy_integrate_add_at(events, frames), max(1, args.repeats // 2))
        rows += [("integrate (NumPy: np.bincount, SpikingJelly)", e_int, n_bin),
                 ("integrate (NumPy: np.add.at, tonic)", e_int, n_add)]
        for fmt in paths:
            read_e = next(r for r in rows if r[0] == f"read {fmt}")
            rows.append((f"read {fmt} + integrate (vs bincount)", read_e[1] + e_int, read_e[2] + n_bin))
            rows.append((f"read {fmt} + integrate (vs add.at)", read_e[1] + e_int, read_e[2] + n_add))
        for name, e_s, n_s in rows:
            print(f"| {name} | {n / e_s / 1e6:.1f} | {n / n_s / 1e6:.1f} | {n_s / e_s:.1f}x |", flush=True)
        fused_table(paths, events, frames, args.repeats)


def cache_as_if_read_from_disk(path):
    """Drops the file's pages from the page cache and reads it back, so that it is cached as a recording
    read from disk is. How a file was written decides its page cache's layout: right after NumPy's tofile
    of the ATIS records, reading this 50 MB file ran at 2.3 GB/s here, and at 9 GB/s once dropped and
    read back (read-ahead fills large pages), which timed the readers on the writer's luck."""
    with open(path, "rb") as f:
        os.fsync(f.fileno())  # dirty pages are not dropped
        if hasattr(os, "posix_fadvise"):  # POSIX only; elsewhere the file stays as written
            os.posix_fadvise(f.fileno(), 0, 0, os.POSIX_FADV_DONTNEED)
        while f.read(1 << 24):
            pass


def copy_bandwidth(megabytes=256):
    """Bytes per second of a large memory copy (after the pages exist): the machine's streaming speed."""
    src = np.ones(megabytes << 17)  # float64: megabytes MiB
    dst = np.empty_like(src)
    np.copyto(dst, src)
    seconds = median_seconds(lambda: np.copyto(dst, src), 5)
    return 2 * src.nbytes / seconds  # read and write


def fused_table(paths, events, frames, repeats):
    """File to frames: in one go (read_frames), in two steps (read_events then to_frame), NumPy, tonic."""
    n = len(events)
    sensor = (W, H, 2)
    try:
        from tonic.functional import to_frame_numpy
    except ImportError:
        to_frame_numpy = None
    bandwidth = copy_bandwidth()
    columns = {}
    for fmt, path in paths.items():
        fused = lambda path=path: ev.read_frames(path, sensor, n_time_bins=frames)
        two_steps = lambda path=path: ev.to_frame(ev.read_events(path), sensor, n_time_bins=frames)
        np.testing.assert_array_equal(fused(), two_steps())  # the same frames before anything is timed
        column = {"fused": median_seconds(fused, repeats), "two": median_seconds(two_steps, repeats),
                  "numpy": median_seconds(lambda fmt=fmt, path=path: numpy_integrate_bincount(NUMPY_READERS[fmt](path),
                                                                                              frames), repeats)}
        if to_frame_numpy is not None:
            decoded = ev.read_events(path)
            column["tonic"] = median_seconds(lambda d=decoded: to_frame_numpy(d, sensor, n_time_bins=frames), 1)
        # the fused path reads the file twice (a scan, then the counting): that traffic at the copy speed
        column["bound"] = bandwidth / (2 * os.path.getsize(path) / n)
        columns[fmt] = column
    names = list(paths)
    print(f"\nFile to {frames} frames (n_time_bins={frames}, {W}x{H}); median of {repeats}; Mev/s\n")
    print("| path | " + " | ".join(names) + " |")
    print("|---|" + "---|" * len(names))
    rows = [("read_frames: decode and count in one go (engine)", "fused"),
            ("read_events, then to_frame (engine, two steps)", "two"),
            ("NumPy: decode, then np.bincount per frame", "numpy")]
    if to_frame_numpy is not None:
        rows.append(("tonic.functional.to_frame_numpy (events already in memory)", "tonic"))
    for label, key in rows:
        print(f"| {label} | " + " | ".join(f"{n / columns[f][key] / 1e6:.1f}" for f in names) + " |")
    print("| one go / two steps | " + " | ".join(f"{columns[f]['two'] / columns[f]['fused']:.1f}x"
                                                 for f in names) + " |")
    if to_frame_numpy is not None:
        print("| one go / tonic | " + " | ".join(f"{columns[f]['tonic'] / columns[f]['fused']:.1f}x"
                                               for f in names) + " |")
    print("| bound: two passes over the file at the copy speed "
          f"({bandwidth / 1e9:.1f} GB/s) | " + " | ".join(f"{columns[f]['bound'] / 1e6:.0f}" for f in names) + " |")
    if to_frame_numpy is None:
        print("\n(tonic not installed: no tonic row; pip install --no-deps tonic)")


if __name__ == "__main__":
    main()
