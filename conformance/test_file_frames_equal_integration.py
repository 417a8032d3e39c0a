"""Files counted straight into frames (``snnrs.events.read_frames``) equal reading them and integrating the
events (``read_events`` then ``to_frame`` / ``integrate_events_by_*``) exactly, in every mode, for files of
every format: recordings in time order, arbitrary bytes (corrupt, out of order, outside the sensor: then the
same kind of error), read in blocks as small as a few records so that one file takes many blocks and pieces."""

import os
import re
import tempfile

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from snnrs import events as ev
from snnrs.events.file_frames import planned_frames

HEADERS = {"atis_bin": b"", "aedat2": b"#!AER-DAT2.0\r\n", "evt2": b"% evt 2.0\n", "evt3": b"% evt 3.0\n",
           "dat": b"% Version 2\n\x00\x08"}
UNITS = {"atis_bin": 5, "aedat2": 8, "evt2": 4, "evt3": 2, "dat": 8}


def atis(t, x, y, p):

    out = bytearray()
    high = 0
    for ti, xi, yi, pi in zip(t.tolist(), x.tolist(), y.tolist(), p.tolist()):
        while ti - high >= 1 << 23:
            out += bytes([0, 240, 0, 0, 0])
            high += 1 << 13
        r = ti - high
        out += bytes([xi, yi, (pi << 7) | (r >> 16), (r >> 8) & 0xFF, r & 0xFF])
    return bytes(out)


def evt2(t, x, y, p):
    words = []
    high = -1
    for ti, xi, yi, pi in zip(t.tolist(), x.tolist(), y.tolist(), p.tolist()):
        if ti >> 6 != high:
            high = ti >> 6
            words.append((8 << 28) | high)
        words.append((pi << 28) | ((ti & 0x3F) << 22) | (xi << 11) | yi)
    return HEADERS["evt2"] + np.array(words, "<u4").tobytes()


def dat(t, x, y, p):
    d = (x.astype(np.uint32) & 0x3FFF) | ((y.astype(np.uint32) & 0x3FFF) << 14) | (p.astype(np.uint32) << 28)
    return HEADERS["dat"] + np.stack([t.astype(np.uint32), d], 1).astype("<u4").tobytes()


def aedat2(t, x, y, p):
    addr = (y.astype(np.uint32) << 8) | (x.astype(np.uint32) << 1) | p.astype(np.uint32)
    return HEADERS["aedat2"] + np.stack([addr, t.astype(np.uint32)], 1).astype(">u4").tobytes()


WRITERS = {"atis_bin": atis, "evt2": evt2, "dat": dat, "aedat2": aedat2}


@st.composite
def recordings(draw):
    """(format, file bytes): a recording in time order written in the format, or arbitrary bytes."""
    fmt = draw(st.sampled_from(sorted(HEADERS)))
    if fmt in WRITERS and draw(st.booleans()):
        n = draw(st.integers(0, 400))
        rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
        span = draw(st.sampled_from([1, 50, 5_000, 200_000, 30_000_000]))  # past 2^23 µs: ATIS overflow markers
        t = np.sort(rng.integers(0, span, n)) + draw(st.sampled_from([0, 0, 1_000_000]))
        side = 128 if fmt == "aedat2" else 40
        x, y, p = rng.integers(0, side, n), rng.integers(0, side, n), rng.integers(0, 2, n)
        return fmt, WRITERS[fmt](t, x, y, p)
    return fmt, HEADERS[fmt] + draw(st.binary(max_size=1500))


@st.composite
def modes(draw):
    kind = draw(st.sampled_from(["time_window", "event_count", "n_time_bins", "n_event_bins", "frames_number",
                                 "duration"]))
    if kind == "time_window":
        window = draw(st.sampled_from([1, 7, 100, 1000, 30_000, 2.5]))
        overlap = draw(st.sampled_from([0.0, 0.0, window / 2, window / 3]))
        return dict(time_window=window, overlap=overlap, include_incomplete=draw(st.booleans()))
    if kind == "event_count":
        count = draw(st.integers(1, 80))
        return dict(event_count=count, overlap=draw(st.integers(0, count - 1)),
                    include_incomplete=draw(st.booleans()))
    if kind in ("n_time_bins", "n_event_bins"):
        return {kind: draw(st.integers(1, 12)), "overlap": draw(st.sampled_from([0.0, 0.0, 0.25, 0.5]))}
    if kind == "frames_number":
        return dict(frames_number=draw(st.integers(1, 12)), split_by=draw(st.sampled_from(["number", "time"])))
    return dict(duration=draw(st.sampled_from([1, 10, 333, 10_000])))


def integrated(path, fmt, sensor, mode, binarize):
    """The frames of read_events(path), by the public integrators (tonic's names or SpikingJelly's)."""
    events = ev.read_events(path, fmt)
    width, height, channels = sensor
    if "frames_number" in mode:
        return ev.integrate_events_by_fixed_frames_number(events, mode["split_by"], mode["frames_number"], height,
                                                          width, binarize)
    if "duration" in mode:
        return ev.integrate_events_by_fixed_duration(events, mode["duration"], height, width, binarize)
    return ev.to_frame(events, sensor, binarize=binarize, **mode)


ERRORS = ("byte offset", "sorted by t", "outside the sensor", "windows", "2^53")


def outcome(f):
    """The frames, or (error type, which error): both paths must fail alike, the first problem first; an
    event outside the sensor with its index and coordinates."""
    try:
        return f()
    except (ValueError, MemoryError) as e:
        kind = next((kind for kind in ERRORS if kind in str(e)), str(e))
        if kind == "outside the sensor":
            kind = re.search(r"event \d+ at \(x=-?\d+, y=-?\d+\)", str(e)).group()
        return type(e), kind


@settings(max_examples=300, deadline=None)
@given(recording=recordings(), mode=modes(), side=st.sampled_from([8, 40, 128, 256]),
       channels=st.sampled_from([1, 2]), binarize=st.booleans(), units=st.sampled_from([1, 3, 16, 1000]))
def test_read_frames_equals_read_events_then_integration(recording, mode, side, channels, binarize, units):
    fmt, data = recording
    if "frames_number" in mode or "duration" in mode:
        channels = 2  # SpikingJelly's integrators count both polarities
    sensor = (side, side, channels)
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "recording")
        with open(path, "wb") as f:
            f.write(data)
        expected = outcome(lambda: integrated(path, fmt, sensor, mode, binarize))
        plan = ev.frame_mode(**mode)
        got = outcome(lambda: planned_frames(path, sensor, plan, format=fmt, binarize=binarize,
                                             block_bytes=units * UNITS[fmt]))
        if isinstance(expected, tuple):
            assert got == expected
        else:
            assert not isinstance(got, tuple), got
            assert got.dtype == np.float32 and got.shape == expected.shape
            np.testing.assert_array_equal(got, expected)
        # the public entry point, default blocks
        public = outcome(lambda: ev.read_frames(path, sensor, format=fmt, binarize=binarize, **mode))
        if isinstance(expected, tuple):
            assert public == expected
        else:
            np.testing.assert_array_equal(public, expected)


@pytest.mark.parametrize("name", ["sample_nmnist.bin", "evt2_sample.raw", "evt3_sample.raw", "sample_ncars.dat",
                                  "sample.aedat4"])
@pytest.mark.parametrize("mode", [dict(n_time_bins=6), dict(time_window=20_000.0, overlap=5_000.0),
                                  dict(event_count=3_000, overlap=500), dict(frames_number=5, split_by="time")])
def test_shared_recordings_give_the_same_frames_either_way(sample_data, name, mode):
    path = sample_data / "events" / name
    events, header = ev.read_events(path, return_sensor_size=True)
    if header is None:
        header = (int(events["x"].max()) + 1, int(events["y"].max()) + 1)
    sensor = (header[0], header[1], 2)
    expected = integrated(path, ev.detect_format(path), sensor, mode, False)
    for block_bytes in (None, 4096):
        got = planned_frames(path, sensor, ev.frame_mode(**mode), block_bytes=block_bytes)
        np.testing.assert_array_equal(got, expected)
    assert expected.sum() > 0


@settings(max_examples=150, deadline=None)
@given(data=st.data(), chunk_records=st.sampled_from([1, 7, 64, 10_000]))
def test_iter_frames_streams_the_frames_of_read_frames(data, chunk_records):
    fmt = data.draw(st.sampled_from(sorted(WRITERS)))
    n = data.draw(st.integers(0, 300))
    rng = np.random.default_rng(data.draw(st.integers(0, 2**32 - 1)))
    t = np.sort(rng.integers(0, data.draw(st.sampled_from([1, 100, 20_000])), n))
    recording = WRITERS[fmt](t, rng.integers(0, 40, n), rng.integers(0, 40, n), rng.integers(0, 2, n))
    mode = data.draw(modes().filter(lambda m: "time_window" in m or "event_count" in m))
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "recording")
        with open(path, "wb") as f:
            f.write(recording)
        expected = ev.read_frames(path, (40, 40, 2), format=fmt, **mode)
        streamed = list(ev.iter_frames(path, (40, 40, 2), format=fmt, chunk_bytes=chunk_records * UNITS[fmt],
                                       **mode))
    assert len(streamed) == len(expected)
    for got, want in zip(streamed, expected):
        np.testing.assert_array_equal(got, want)


def write(folder, data):
    path = os.path.join(folder, "recording.bin")
    with open(path, "wb") as f:
        f.write(data)
    return path


def test_out_of_order_times_are_reported_before_an_event_outside_the_sensor(tmp_path):
    t, x = np.array([0, 1, 2, 1, 3]), np.array([0, 30, 0, 0, 0])
    path = write(tmp_path, atis(t, x, np.zeros(5, int), np.zeros(5, int)))
    for f in (lambda: ev.to_frame(ev.read_events(path), (8, 8, 2), n_time_bins=2),
              lambda: ev.read_frames(path, (8, 8, 2), n_time_bins=2)):
        with pytest.raises(ValueError, match="sorted by t"):
            f()


def test_iter_frames_counts_the_events_it_has_let_go_of(tmp_path):
    t = np.array([0, 1, 2, 3, 31])
    path = write(tmp_path, atis(t, np.zeros(5, int), np.zeros(5, int), np.ones(5, int)))
    mode = dict(time_window=5, overlap=-20, include_incomplete=True)
    expected = ev.read_frames(path, (2, 2, 2), **mode)
    streamed = list(ev.iter_frames(path, (2, 2, 2), chunk_bytes=5, **mode))
    assert len(streamed) == len(expected) == 3
    np.testing.assert_array_equal(np.stack(streamed), expected)


def test_arguments_are_refused_before_any_reading(tmp_path):
    path = write(tmp_path, atis(np.arange(3), np.zeros(3, int), np.zeros(3, int), np.zeros(3, int)))
    with pytest.raises(ValueError, match="time_window"):
        ev.read_frames(path, (2, 2, 2), time_window=-5, overlap=-10)
    with pytest.raises(ValueError, match="chunk_bytes"):
        planned_frames(path, (2, 2, 2), ev.frame_mode(n_time_bins=2), block_bytes=1 << 50)
    with pytest.raises(ValueError, match="sensor_size"):
        ev.iter_frames(path, None, time_window=5)  # at the call, not at the first frame
    with pytest.raises(ValueError, match="exactly one"):
        ev.read_frames(path, (2, 2, 2))


@pytest.mark.parametrize("mode", [dict(n_time_bins=3), dict(time_window=4.0, overlap=2.0),
                                  dict(event_count=4, overlap=1), dict(event_count=5),
                                  dict(frames_number=2, split_by="number")])
@pytest.mark.parametrize("records_per_block", [1, 3, 64])
@pytest.mark.parametrize("outside_at", [[7], [5, 11], [22]])
def test_the_first_event_outside_the_sensor_is_named_as_integration_names_it(tmp_path, mode, records_per_block,
                                                                             outside_at):
    # 23 events; those at `outside_at` lie outside an 8x8 sensor (x or y); event 22 is in no window of
    # event_count=5 (the last, incomplete one is left out), so there no error is expected either way
    n = 23
    t, x, y = np.arange(n) // 2, np.arange(n) % 8, np.arange(n) % 5
    for k, i in enumerate(outside_at):
        (x if k % 2 == 0 else y)[i] = 9 + k
    path = write(tmp_path, atis(t, x, y, np.arange(n) % 2))
    sensor = (8, 8, 2)
    expected = outcome(lambda: integrated(path, "atis_bin", sensor, mode, False))
    got = outcome(lambda: planned_frames(path, sensor, ev.frame_mode(**mode), block_bytes=5 * records_per_block))
    if isinstance(expected, tuple):
        assert got == expected
    else:
        np.testing.assert_array_equal(got, expected)
