"""Engine readers and frame integration equal reference/events.py: the readers on arbitrary
bytes (same events, or an error at the same offset), every integration mode on arbitrary
event sets, empty windows and empty recordings included."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from reference import events as ref
from snnrs import events as ev

HEADERS = {"atis_bin": b"", "aedat2": b"#!AER-DAT2.0\r\n", "evt2": b"% evt 2.0\n", "evt3": b"% evt 3.0\n",
           "dat": b"% Version 2\n\x00\x08"}
# Words with mostly valid types, so the decoders' state machines get exercised.
EVT3_WORDS = st.lists(st.tuples(st.sampled_from([0, 2, 3, 4, 5, 6, 8, 0xA, 0xE, 0x7, 0xF, 0x1]),
                                st.integers(0, 0xFFF)).map(lambda t: (t[0] << 12) | t[1]), max_size=300)
EVT2_WORDS = st.lists(st.tuples(st.sampled_from([0, 1, 8, 0xA, 0xE, 0xF, 0x3]), st.integers(0, (1 << 28) - 1))
                      .map(lambda t: (t[0] << 28) | t[1]), max_size=200)


def _both(data, fmt):
    try:
        expected = ref.DECODERS[fmt](data)
    except ref.DecodeError as e:
        with pytest.raises(ValueError, match=rf"byte offset {e.offset}:"):
            ev.decode_bytes(data, fmt)
        return
    events, _ = ev.decode_bytes(data, fmt)
    got = list(zip(events["t"].tolist(), events["x"].tolist(), events["y"].tolist(), events["p"].tolist()))
    assert got == expected


@pytest.mark.parametrize("fmt", sorted(HEADERS))
@given(body=st.binary(max_size=1200))
def test_readers_equal_reference_on_arbitrary_bytes(fmt, body):
    _both(HEADERS[fmt] + body, fmt)


@given(words=EVT3_WORDS, tail=st.binary(max_size=1))
def test_evt3_equals_reference_on_mostly_valid_words(words, tail):
    _both(HEADERS["evt3"] + np.array(words, "<u2").tobytes() + tail, "evt3")


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_evt3_long_streams_decode_in_parallel_chunks_as_the_reference_does(seed):
    """Streams long enough for many parallel chunks (at least 2^14 words each): every register (y, polarity,
    vector base, both clocks and their wraps) crosses chunk boundaries; small clock values wrap often. Seed 2
    puts an undefined word late in the stream: the error offset is the reference's, from whichever chunk."""
    rng = np.random.default_rng(seed)
    kinds = np.array([0x0, 0x2, 0x3, 0x4, 0x5, 0x6, 0x6, 0x8, 0x7, 0xA, 0xE, 0xF], np.uint16)
    n = 150_000
    kind = kinds[rng.integers(0, len(kinds), n)]
    payload = rng.integers(0, 0x1000, n).astype(np.uint16)
    small = rng.random(n) < 0.5
    payload[small] &= 7
    words = (kind << 12) | payload
    if seed == 2:
        words[123_457] = 0x9000
    _both(HEADERS["evt3"] + words.astype("<u2").tobytes(), "evt3")


@given(words=EVT2_WORDS)
def test_evt2_equals_reference_on_mostly_valid_words(words):
    _both(HEADERS["evt2"] + np.array(words, "<u4").tobytes(), "evt2")


@st.composite
def aedat3_files(draw):
    out = b"#!AER-DAT3.1\r\n#!END-HEADER\r\n"
    for _ in range(draw(st.integers(0, 4))):
        kind, size = draw(st.sampled_from([1, 1, 2])), draw(st.sampled_from([8, 8, 12, 4]))
        records = draw(st.binary(max_size=6 * size))
        capacity = len(records) // size + draw(st.sampled_from([0, 0, 1]))
        header = np.array([kind | (1 << 16), size, 0, draw(st.integers(0, 3)), capacity, capacity, capacity], "<u4")
        out += header.tobytes() + records[:len(records) // size * size]
    return out


@given(data=aedat3_files())
def test_aedat3_equals_reference(data):
    _both(data, "aedat3")


@st.composite
def recordings(draw, max_events=60):
    n = draw(st.integers(0, max_events))
    width, height = draw(st.integers(1, 6)), draw(st.integers(1, 5))
    t = np.sort(np.array(draw(st.lists(st.integers(0, 400), min_size=n, max_size=n)), dtype=np.int64))
    events = np.zeros(n, ev.EVENT_DTYPE)
    events["t"] = t
    events["x"] = draw(st.lists(st.integers(0, width - 1), min_size=n, max_size=n))
    events["y"] = draw(st.lists(st.integers(0, height - 1), min_size=n, max_size=n))
    events["p"] = draw(st.lists(st.integers(0, 1), min_size=n, max_size=n))
    return events, width, height


def _tuples(events):
    return list(zip(events["t"].tolist(), events["x"].tolist(), events["y"].tolist(), events["p"].tolist()))


def _expect(events, windows, width, height, channels=2, binarize=False):
    return np.array(ref.integrate(_tuples(events), windows, width, height, channels, binarize),
                    dtype=np.float32).reshape(len(windows), channels, height, width)


@given(rec=recordings(), frames=st.integers(1, 7), split_by=st.sampled_from(["number", "time"]),
       binarize=st.booleans())
def test_fixed_frames_number_equals_reference(rec, frames, split_by, binarize):
    events, w, h = rec
    got = ev.integrate_events_by_fixed_frames_number(events, split_by, frames, h, w, binarize)
    t = events["t"].tolist()
    windows = ref.windows_by_number(len(t), frames) if split_by == "number" else ref.windows_by_time(t, frames)
    np.testing.assert_array_equal(got, _expect(events, windows, w, h, binarize=binarize))


@given(rec=recordings(), duration=st.integers(1, 150))
def test_fixed_duration_equals_reference(rec, duration):
    events, w, h = rec
    got = ev.integrate_events_by_fixed_duration(events, duration, h, w)
    expected = _expect(events, ref.windows_by_duration(events["t"].tolist(), duration), w, h)
    assert got.shape == expected.shape
    np.testing.assert_array_equal(got, expected)


@st.composite
def tonic_modes(draw):
    mode = draw(st.sampled_from(["time_window", "event_count", "n_time_bins", "n_event_bins"]))
    if mode == "time_window":
        window = draw(st.integers(1, 200))
        return dict(time_window=window, overlap=draw(st.integers(0, window - 1)),
                    include_incomplete=draw(st.booleans()))
    if mode == "event_count":
        count = draw(st.integers(1, 30))
        return dict(event_count=count, overlap=draw(st.integers(0, count - 1)), include_incomplete=draw(st.booleans()))
    overlap = draw(st.sampled_from([0.0, 0.1, 0.25, 0.5]))
    return {mode: draw(st.integers(1, 8)), "overlap": overlap}


@given(rec=recordings(), mode=tonic_modes(), channels=st.sampled_from([1, 2]))
def test_tonic_to_frame_modes_equal_reference(rec, mode, channels):
    events, w, h = rec
    got = ev.to_frame(events, (w, h, channels), **mode)
    windows = ref.tonic_windows(events["t"].tolist(), **mode)
    np.testing.assert_array_equal(got, _expect(events, windows, w, h, channels))


def test_empty_windows_give_empty_frames_where_spikingjelly_crashes():
    events = np.zeros(3, ev.EVENT_DTYPE)
    events["t"] = [0, 0, 100]
    frames = ev.integrate_events_by_fixed_frames_number(events, "time", 4, 1, 1)
    assert frames[:, :, 0, 0].sum(axis=1).tolist() == [2, 0, 0, 1]
    assert ev.integrate_events_by_fixed_duration(events[:1], 10, 1, 1).shape == (1, 2, 1, 1)
    assert ev.integrate_events_by_fixed_duration(events[:0], 10, 1, 1).shape == (0, 2, 1, 1)


def _grid_events(n, seed, span=300):
    rng = np.random.default_rng(seed)
    events = np.zeros(n, ev.EVENT_DTYPE)
    events["t"] = np.sort(rng.integers(0, span, n))
    events["x"], events["y"], events["p"] = rng.integers(0, 4, n), rng.integers(0, 3, n), rng.integers(0, 2, n)
    return events


def test_every_mode_equals_reference_on_a_grid_of_sizes():
    """A deterministic sweep next to the property tests: every event count 0..24 against every
    frame count, duration and tonic parameter in a small grid."""
    for n in range(25):
        events = _grid_events(n, n)
        t = events["t"].tolist()
        for frames in range(1, 8):
            for split_by, windows in (("number", ref.windows_by_number(n, frames)),
                                      ("time", ref.windows_by_time(t, frames))):
                got = ev.integrate_events_by_fixed_frames_number(events, split_by, frames, 3, 4)
                np.testing.assert_array_equal(got, _expect(events, windows, 4, 3),
                                              err_msg=f"{split_by} n={n} M={frames}")
            got = ev.to_frame(events, (4, 3), n_event_bins=frames, overlap=0.25)
            windows = ref.tonic_windows(t, n_event_bins=frames, overlap=0.25)
            np.testing.assert_array_equal(got, _expect(events, windows, 4, 3), err_msg=f"n_event_bins n={n}")
            got = ev.to_frame(events, (4, 3), n_time_bins=frames, overlap=0.5)
            windows = ref.tonic_windows(t, n_time_bins=frames, overlap=0.5)
            np.testing.assert_array_equal(got, _expect(events, windows, 4, 3), err_msg=f"n_time_bins n={n}")
        for duration in (1, 7, 50, 301):
            got = ev.integrate_events_by_fixed_duration(events, duration, 3, 4)
            np.testing.assert_array_equal(got, _expect(events, ref.windows_by_duration(t, duration), 4, 3))
        for count, overlap, incomplete in ((1, 0, False), (4, 1, True), (5, 2, False), (30, 0, True)):
            got = ev.to_frame(events, (4, 3), event_count=count, overlap=overlap, include_incomplete=incomplete)
            windows = ref.tonic_windows(t, event_count=count, overlap=overlap, include_incomplete=incomplete)
            np.testing.assert_array_equal(got, _expect(events, windows, 4, 3), err_msg=f"event_count n={n}")
            got = ev.to_frame(events, (4, 3), time_window=count * 20, overlap=overlap * 10,
                              include_incomplete=incomplete)
            windows = ref.tonic_windows(t, time_window=count * 20, overlap=overlap * 10, include_incomplete=incomplete)
            np.testing.assert_array_equal(got, _expect(events, windows, 4, 3), err_msg=f"time_window n={n}")


@given(data=st.data(), steps=st.integers(1, 5), height=st.integers(1, 4), width=st.integers(1, 4),
       per_pixel=st.booleans())
def test_dvs_emulator_equals_reference(data, steps, height, width, per_pixel):
    intensity = st.floats(0.0, 255.0, allow_nan=False)
    frames = np.array(data.draw(st.lists(intensity, min_size=steps * height * width,
                                         max_size=steps * height * width))).reshape(steps, height, width)
    gaps = data.draw(st.lists(st.integers(1, 5000), min_size=steps, max_size=steps))
    times = np.cumsum(gaps)
    threshold = st.floats(0.05, 2.0)
    if per_pixel:
        c_on = np.array(data.draw(st.lists(threshold, min_size=height * width, max_size=height * width)))
        c_on = c_on.reshape(height, width)
    else:
        c_on = data.draw(threshold)
    c_off = data.draw(threshold)
    got = ev.emulate_dvs(frames, times, c_on, c_off)
    expected = ref.emulate_dvs(frames.tolist(), times.tolist(), c_on.tolist() if per_pixel else c_on, c_off)
    assert _tuples(got) == expected


def test_dvs_emulator_emits_one_event_per_threshold_crossing():
    frames = np.array([[[1.0]], [[np.e ** 1.0]], [[1.0]]]) - 1e-3  # log(I + eps): 0, 1, 0
    events = ev.emulate_dvs(frames, [0, 1000, 2000], threshold_on=0.25, threshold_off=0.5)
    assert events["p"].tolist() == [1, 1, 1, 1, 0, 0]
    assert events["t"].tolist() == [250, 500, 750, 1000, 1500, 2000]
