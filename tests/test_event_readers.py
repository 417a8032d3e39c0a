"""The engine's readers on real recordings (the sample-data folder, ``$SNNRS_SAMPLE_DATA``): exact where a reference
decoding ships with the file, plausible bounds and monotone time otherwise, and equal to the
plain-loop decoders of reference/events.py."""

import numpy as np
import pytest

from reference import events as ref
from snnrs import events as ev

SAMPLES = {  # file: (format, sensor size the header gives, or None)
    "sample_nmnist.bin": ("atis_bin", None),
    "evt3_sample.raw": ("evt3", (1280, 720)),
    "evt2_sample.raw": ("evt2", (640, 480)),
    "sample.aedat4": ("aedat4", (320, 240)),
    "sample_ncars.dat": ("dat", None),
    "sample_aedat_header.aedat": ("aedat2", None),
}


def test_evt3_sample_equals_its_reference_decoding(sample_data):
    events = ev.read_events(sample_data / "events" / "evt3_sample.raw")
    expected = np.load(sample_data / "events" / "evt3_sample.npy")
    assert sorted(events.dtype.names) == sorted(expected.dtype.names)  # ours in tonic's order x, y, t, p
    assert len(events) == len(expected) == 219596
    for field in "txyp":
        np.testing.assert_array_equal(events[field], expected[field], err_msg=field)


def test_nmnist_sample_has_4325_events_inside_34x34(sample_data):
    events = ev.read_events(sample_data / "events" / "sample_nmnist.bin")
    assert len(events) == 4325
    assert events["x"].min() >= 0 and events["x"].max() < 34
    assert events["y"].min() >= 0 and events["y"].max() < 34
    assert set(np.unique(events["p"])) == {0, 1}
    assert np.all(np.diff(events["t"]) >= 0)


@pytest.mark.parametrize("name", [n for n in SAMPLES if n != "sample_aedat_header.aedat"])
def test_samples_decode_inside_their_sensor_with_monotone_time(sample_data, name):
    path = sample_data / "events" / name
    fmt, sensor = SAMPLES[name]
    assert ev.detect_format(path) == fmt
    events, size = ev.read_events(path, return_sensor_size=True)
    assert size == sensor
    assert len(events) > 1000
    width, height = sensor or (int(events["x"].max()) + 1, int(events["y"].max()) + 1)
    assert events["x"].min() >= 0 and events["x"].max() < width
    assert events["y"].min() >= 0 and events["y"].max() < height
    assert np.all(np.diff(events["t"]) >= 0), "timestamps go backwards"
    assert events["t"][-1] > events["t"][0]


def test_aedat2_header_only_file_has_no_events(sample_data):
    path = sample_data / "events" / "sample_aedat_header.aedat"
    assert ev.detect_format(path) == "aedat2"
    assert len(ev.read_events(path)) == 0


@pytest.mark.parametrize("name", ["sample_nmnist.bin", "evt3_sample.raw", "evt2_sample.raw", "sample_ncars.dat"])
def test_engine_equals_reference_decoder_on_real_bytes(sample_data, name):
    data = (sample_data / "events" / name).read_bytes()
    fmt = SAMPLES[name][0]
    start = ref.header_end(data, ord("%")) if fmt != "atis_bin" else 0
    unit = {"atis_bin": 5, "evt2": 4, "evt3": 2, "dat": 8}[fmt]
    body_start = start + (2 if fmt == "dat" else 0)
    cut = body_start + min(len(data) - body_start, 120_000) // unit * unit  # the loops are slow: a prefix
    prefix = data[:cut]
    events, _ = ev.decode_bytes(prefix, fmt)
    expected = ref.DECODERS[fmt](prefix)
    assert len(events) == len(expected) > 0
    got = list(zip(events["t"].tolist(), events["x"].tolist(), events["y"].tolist(), events["p"].tolist()))
    assert got == expected


SMALL = ["sample_nmnist.bin", "sample_ncars.dat", "sample_aedat_header.aedat"]


@pytest.mark.parametrize("name,chunk", [(n, c) for n in SAMPLES for c in (1 << 20, 4099)] + [(n, 17) for n in SMALL])
def test_streaming_in_chunks_equals_reading_at_once(sample_data, name, chunk):
    path = sample_data / "events" / name
    whole = ev.read_events(path)
    parts = list(ev.iter_events(path, chunk_bytes=chunk))
    joined = np.concatenate(parts) if parts else whole[:0]
    np.testing.assert_array_equal(joined, whole)


def test_reader_arguments_are_checked(tmp_path):
    with pytest.raises(ValueError, match="format: expected one of"):
        ev.decode_bytes(b"", "mp4")
    with pytest.raises(TypeError, match="data: expected bytes"):
        ev.decode_bytes([1, 2], "evt2")
    unknown = tmp_path / "x.unknown"
    unknown.write_bytes(b"\x00" * 10)
    with pytest.raises(ValueError, match="cannot tell the event format"):
        ev.read_events(unknown)
    with pytest.raises(ValueError, match="chunk_bytes"):
        ev.read_events(unknown, format="evt2", chunk_bytes=0)
