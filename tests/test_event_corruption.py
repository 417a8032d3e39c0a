"""Hostile bytes: every reader returns events or raises ValueError naming the source and the
byte offset — never a crash, hang or runaway allocation. A bounded fuzz run (hypothesis) over
every format, and a corpus of truncated and bit-flipped versions of the real recordings."""

import re

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from snnrs import events as ev

HEADERS = {  # a valid start for each format, so fuzzing reaches the bodies
    "atis_bin": b"",
    "aedat2": b"#!AER-DAT2.0\r\n# AEChip: DVS128\r\n",
    "aedat3": b"#!AER-DAT3.1\r\n#!END-HEADER\r\n",
    "evt2": b"% evt 2.0\n",
    "evt3": b"% evt 3.0\n",
    "dat": b"% Version 2\n\x00\x08",
    "aedat4": b"#!AER-DAT4.0\r\n",
}
SAMPLES = ["sample_nmnist.bin", "evt3_sample.raw", "evt2_sample.raw", "sample.aedat4", "sample_ncars.dat",
           "sample_aedat_header.aedat"]
OFFSET = re.compile(r"byte offset (\d+)")


def _decode_or_clean_error(data, fmt, source="fuzz.bin"):
    try:
        events, _ = ev.decode_bytes(data, fmt, source)
    except ValueError as e:
        message = str(e)
        assert message.startswith(source + ": byte offset "), message
        offset = int(OFFSET.search(message).group(1))
        assert 0 <= offset <= len(data), message
        return None
    assert events.dtype == ev.EVENT_DTYPE
    return events


@pytest.mark.parametrize("fmt", sorted(HEADERS))
@settings(max_examples=150)
@given(body=st.binary(max_size=2048), with_header=st.booleans())
def test_fuzzed_bytes_give_events_or_a_clean_error(fmt, body, with_header):
    data = (HEADERS[fmt] if with_header else b"") + body
    _decode_or_clean_error(data, fmt)


@settings(max_examples=100)
@given(packets=st.lists(st.tuples(st.integers(-3, 5), st.binary(max_size=300)), max_size=6),
       lie=st.integers(-5, 5))
def test_fuzzed_aedat4_packets_give_events_or_a_clean_error(sample_data, packets, lie):
    """Packets with random stream ids, payloads and sizes that may lie, after the real IOHeader."""
    data = (sample_data / "events" / "sample.aedat4").read_bytes()
    header_len = data.index(b"\n") + 1
    header_len += 4 + int.from_bytes(data[header_len:header_len + 4], "little")
    body = b"".join(s.to_bytes(4, "little", signed=True) + (len(p) + lie).to_bytes(4, "little", signed=True) + p
                    for s, p in packets)
    _decode_or_clean_error(data[:header_len] + body, "aedat4")


@pytest.mark.parametrize("name", SAMPLES)
def test_truncated_and_bit_flipped_recordings_give_events_or_a_clean_error(sample_data, name):
    data = (sample_data / "events" / name).read_bytes()
    fmt = ev.detect_format(sample_data / "events" / name)
    rng = np.random.default_rng(len(data))
    cuts = sorted(set(rng.integers(0, len(data), 12).tolist()) | {0, 1, len(data) // 2, len(data) - 1})
    for cut in cuts:
        _decode_or_clean_error(data[:cut], fmt, name)
    errors = 0
    for _ in range(40):
        flipped = bytearray(data)
        for pos in rng.integers(0, len(data), int(rng.integers(1, 8))):
            flipped[pos] ^= 1 << int(rng.integers(0, 8))
        errors += _decode_or_clean_error(bytes(flipped), fmt, name) is None
    if name == "sample.aedat4":
        assert errors > 0, "flipped compressed packets should be caught"


def test_corrupt_file_error_names_the_file_and_offset(sample_data, tmp_path):
    data = bytearray((sample_data / "events" / "evt2_sample.raw").read_bytes())
    start = data.index(b"\n% evt 2.0\n") + len(b"\n% evt 2.0\n")
    data[start + 4 * 10 + 3] = 0x20  # word 10 gets the undefined type 0x2
    path = tmp_path / "broken.raw"
    path.write_bytes(bytes(data))
    with pytest.raises(ValueError, match=rf"broken\.raw: byte offset {start + 40}: EVT 2.0 word of undefined type"):
        ev.read_events(path)
    truncated = tmp_path / "short.bin"
    truncated.write_bytes((sample_data / "events" / "sample_nmnist.bin").read_bytes()[:-2])
    with pytest.raises(ValueError, match=r"short\.bin: byte offset 21620: file truncated"):
        ev.read_events(truncated)


def test_a_data_byte_equal_to_percent_is_not_taken_for_a_header():
    """0x25 is '%': a first EVT 2.0 word whose low byte is 0x25 must still decode."""
    words = np.array([(0x8 << 28) | 0x25, (1 << 28) | (3 << 11) | 4], "<u4")
    data = b"% evt 2.0\n" + words.tobytes()
    events, _ = ev.decode_bytes(data, "evt2")
    assert events["x"].tolist() == [3] and events["t"].tolist() == [0x25 << 6]


def test_packets_declaring_absurd_sizes_fail_at_once(sample_data):
    header = np.array([1 | (1 << 16), 1 << 16, 0, 0, 1 << 16, 1, 1], "<u4").tobytes()  # 4 GiB of payload
    with pytest.raises(ValueError, match="byte offset 32: packet declares"):
        ev.decode_bytes(b"#!AER-DAT3.1\r\n#!END-HEADER\r\n" + header, "aedat3")
    data = (sample_data / "events" / "sample.aedat4").read_bytes()
    start = data.index(b"\n") + 1
    start += 4 + int.from_bytes(data[start:start + 4], "little")
    huge = (0).to_bytes(4, "little") + (1 << 30).to_bytes(4, "little")
    with pytest.raises(ValueError, match="packet size 1073741824 outside"):
        ev.decode_bytes(data[:start] + huge, "aedat4")


@pytest.mark.parametrize("size", [(2**62 + 1, 4, 1), (2**63, 4, 2), (40000, 4), (4, 4, 3)])
def test_frame_integration_rejects_impossible_sensor_sizes(size):
    events = np.zeros(2, ev.EVENT_DTYPE)
    with pytest.raises((ValueError, OverflowError)):
        ev.integrate_windows(events, [0], [2], size)
