"""Readers never kill the process and never answer wrong without a word: a file truncated while read is a
snapshot or an OSError (not SIGBUS), allocations the machine cannot hold are MemoryError naming the file
and size (not an abort), devices and FIFOs are refused up front, the event budget is kept, small stream
chunks cost linear time, and damaged AEDAT4 structure is reported."""

import os
import struct
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest

import snnrs.events as ev
from snnrs import _engine
from snnrs.events import io as event_io
from tests import event_writers


def _run_isolated(code: str, *args, timeout=120):
    """Runs ``code`` in a fresh interpreter; returns (returncode, stdout, stderr)."""
    result = subprocess.run([sys.executable, "-c", textwrap.dedent(code), *map(str, args)], capture_output=True,
                            text=True, timeout=timeout)
    return result.returncode, result.stdout, result.stderr


# The child limits its address space to what it uses now plus `headroom` bytes, so large requests fail.
LIMIT_MEMORY = """
import resource
def limit_memory(headroom):
    with open("/proc/self/status") as f:
        used = next(int(line.split()[1]) * 1024 for line in f if line.startswith("VmSize"))
    resource.setrlimit(resource.RLIMIT_AS, (used + headroom, resource.RLIM_INFINITY))
"""


def test_a_file_truncated_while_being_decoded_does_not_kill_the_reader(tmp_path):
    path = tmp_path / "big.bin"
    data = np.random.default_rng(0).integers(0, 256, 5 * (12 << 20), dtype=np.uint8).tobytes()
    path.write_bytes(data)
    expected = len(ev.decode_bytes(data, "atis_bin")[0])
    # the file is cut to nothing after the reader has opened it and right before decoding starts
    code, out, err = _run_isolated("""
        import os, sys
        import snnrs.events as ev
        from snnrs.events import io
        path = sys.argv[1]
        decode = io._engine.decode_events
        def cut_then_decode(data, *args):
            os.truncate(path, 0)
            return decode(data, *args)
        io._engine.decode_events = cut_then_decode
        try:
            print(len(ev.read_events(path, "atis_bin")))
        except (OSError, ValueError) as e:
            print("error", e)
        """, path)
    assert code == 0, f"reader died (return code {code}): {err[-500:]}"
    assert out.strip() == str(expected)  # decoded from the snapshot read before the cut


def test_a_file_that_shrinks_while_read_is_an_oserror_naming_it(tmp_path, monkeypatch):
    path = tmp_path / "short.bin"
    path.write_bytes(bytes(50))
    monkeypatch.setattr(event_io, "_regular_file", lambda p: (os.fsdecode(p), 100))  # stat saw 100 bytes
    with pytest.raises(OSError, match="shrank from 100 to 50 bytes") as info:
        ev.read_events(path, "atis_bin")
    assert str(path) in str(info.value)


@pytest.mark.parametrize("special", ["/dev/zero", "/dev/null"])
def test_devices_are_refused_before_reading(special):
    if not os.path.exists(special):
        pytest.skip(f"{special} is POSIX")
    with pytest.raises(OSError, match="not a regular file") as info:
        ev.read_events(special, "atis_bin")
    assert special in str(info.value)
    with pytest.raises(OSError, match="not a regular file"):
        next(ev.iter_events(special, "atis_bin"))


def test_a_fifo_is_refused_without_blocking(tmp_path):
    if not hasattr(os, "mkfifo"):
        pytest.skip("FIFOs are POSIX")
    fifo = tmp_path / "pipe.bin"
    os.mkfifo(fifo)
    code, out, err = _run_isolated("""
        import sys
        import snnrs.events as ev
        try:
            ev.read_events(sys.argv[1])
        except OSError as e:
            print("refused", e)
        """, fifo, timeout=60)
    assert code == 0 and "refused" in out and "not a regular file" in out, err


def test_a_folder_is_refused(tmp_path):
    with pytest.raises(IsADirectoryError, match="folder"):
        ev.read_events(tmp_path, "atis_bin")


def test_bytes_and_pathlike_paths_work(sample_data):
    path = sample_data / "events" / "sample_nmnist.bin"
    expected = ev.read_events(str(path))
    assert np.array_equal(ev.read_events(os.fsencode(path)), expected)
    assert np.array_equal(np.concatenate(list(ev.iter_events(os.fsencode(path)))), expected)
    assert ev.detect_format(os.fsencode(path)) == "atis_bin"
    with pytest.raises(TypeError, match="path"):
        ev.read_events(3.5)


@pytest.mark.parametrize("chunk_bytes", [0, (1 << 30) + 1, 1 << 40, True, 2.0])
def test_chunk_bytes_is_bounded(sample_data, chunk_bytes):
    with pytest.raises(ValueError, match=r"chunk_bytes: expected an int in 1\.\.1073741824"):
        ev.read_events(sample_data / "events" / "sample_nmnist.bin", chunk_bytes=chunk_bytes)


def _evt3_vectors(words: int) -> bytes:
    # VECT_12 words with all 12 bits set: 12 events per 2 bytes, the format's largest amplification
    return b"% evt 3.0\n% end\n" + struct.pack("<H", 0x3000) + np.full(words, 0x4FFF, "<u2").tobytes()


def test_the_event_budget_is_a_memory_error_naming_the_file(tmp_path):
    path = tmp_path / "vectors.raw"
    path.write_bytes(_evt3_vectors(1000))  # 12,000 events
    assert len(ev.read_events(path, max_events=12_000)) == 12_000
    assert len(ev.read_events(path, max_events=None)) == 12_000
    for read in (lambda: ev.read_events(path, max_events=11_999),
                 lambda: ev.read_events(path, max_events=11_999, chunk_bytes=64),
                 lambda: ev.decode_bytes(path.read_bytes(), "evt3", str(path), max_events=11_999)[0]):
        with pytest.raises(MemoryError, match="more than max_events=11999") as info:
            read()
        assert str(path) in str(info.value) and "iter_events" in str(info.value)
    # the parallel fixed-record readers keep the budget too
    atis = tmp_path / "n.bin"
    atis.write_bytes(bytes(5 * 100))
    with pytest.raises(MemoryError, match="100 events, more than max_events=99"):
        ev.read_events(atis, max_events=99)
    with pytest.raises(ValueError, match="max_events"):
        ev.read_events(atis, max_events=-1)


LINUX_LIMITS = pytest.mark.skipif(not os.path.exists("/proc/self/status"), reason="address-space limits: Linux")


@LINUX_LIMITS
def test_amplifying_files_past_memory_are_memory_errors_not_aborts(tmp_path):
    # 40 MB of EVT 3.0 vector words decode to 240 million events (3.8 GB of records)
    path = tmp_path / "vectors.raw"
    path.write_bytes(_evt3_vectors(20_000_000))
    code, out, err = _run_isolated(LIMIT_MEMORY + """
import sys
import snnrs.events as ev
limit_memory(1 << 30)
try:
    ev.read_events(sys.argv[1], max_events=None)
    print("read")
except MemoryError as e:
    print("MemoryError", e)
""", path, timeout=300)
    assert code == 0, f"reader died (return code {code}): {err[-500:]}"
    assert out.startswith("MemoryError") and str(path) in out and "bytes" in out, out


@LINUX_LIMITS
def test_an_output_larger_than_memory_is_a_memory_error_not_an_abort():
    code, out, err = _run_isolated(LIMIT_MEMORY + """
import numpy as np
from snnrs import _engine
x = np.zeros((2, 1 << 25), np.float32)          # 256 MB of input
limit_memory(64 << 20)                          # the outputs need 600 MB more
try:
    _engine.neuron_forward(x, neuron="lif", params=[2.0])
    print("ran")
except MemoryError as e:
    print("MemoryError", e)
""")
    assert code == 0, f"died (return code {code}): {err[-500:]}"
    assert out.startswith("MemoryError") and "could not be allocated" in out and "[2, 33554432]" in out, out


def test_small_stream_chunks_take_linear_time(tmp_path):
    # a long header (a recording's XML-like notes) fed 64 bytes at a time must not be rescanned from byte 0
    header = b"#!AER-DAT3.1\r\n" + b"".join(b"#note %06d padding the header line\r\n" % i for i in range(40_000))
    events = event_writers.random_events(np.random.default_rng(1), 300, 128, 128)
    packets = event_writers.aedat3(events)[len(b"#!AER-DAT3.1\r\n#Source 1: DVS128\r\n#!END-HEADER\r\n"):]
    path = tmp_path / "long_header.aedat"
    path.write_bytes(header + b"#!END-HEADER\r\n" + packets)
    started = time.perf_counter()
    small = np.concatenate(list(ev.iter_events(path, "aedat3", chunk_bytes=64)))
    seconds = time.perf_counter() - started
    assert np.array_equal(small, ev.read_events(path, "aedat3"))
    assert len(small) == 300
    assert seconds < 5, f"{len(header) / 1e6:.1f} MB of header at 64-byte chunks took {seconds:.1f} s"


def _aedat4_parts(data: bytes):
    """(header end, data table position, offset of the data-table field in the file)."""
    start = data.index(b"\n") + 1
    size = struct.unpack_from("<i", data, start)[0]
    header = data[start + 4:start + 4 + size]
    end = start + 4 + size
    # the IOHeader's int64 dataTablePosition: the one value in it pointing past the packets' start
    # the IOHeader's int64 dataTablePosition: the largest value in it pointing between packets and file end
    found = [(struct.unpack_from("<q", header, i)[0], i) for i in range(0, len(header) - 8)]
    value, i = max((v, i) for v, i in found if end < v < len(data))
    return end, value, start + 4 + i


def test_aedat4_cut_at_a_packet_boundary_is_reported(sample_data, tmp_path):
    data = (sample_data / "events" / "sample.aedat4").read_bytes()
    end, table, _ = _aedat4_parts(data)
    # walk the packets to find a boundary in the middle
    pos, boundaries = end, []
    while pos < table:
        size = struct.unpack_from("<i", data, pos + 4)[0]
        pos += 8 + size
        boundaries.append(pos)
    path = tmp_path / "at_table.aedat4"
    path.write_bytes(data[:table])  # every packet, but not the table
    with pytest.raises(ValueError, match=f"ends at byte {table}, where its header puts the data table"):
        ev.read_events(path)
    cut = boundaries[len(boundaries) // 2]
    path = tmp_path / "cut.aedat4"
    path.write_bytes(data[:cut])
    for read in (lambda: ev.read_events(path), lambda: list(ev.iter_events(path, chunk_bytes=4096))):
        with pytest.raises(ValueError, match=f"file truncated: it ends at byte {cut}, before the data table") as info:
            read()
        assert str(path) in str(info.value)


def test_aedat4_with_a_damaged_data_table_position_is_reported(sample_data, tmp_path):
    data = bytearray((sample_data / "events" / "sample.aedat4").read_bytes())
    end, table, field = _aedat4_parts(bytes(data))
    first_packet = end
    second_packet = end + 8 + struct.unpack_from("<i", data, end + 4)[0]
    path = tmp_path / "damaged.aedat4"
    for wrong, message in ((second_packet, "no data table"), (second_packet + 5, "inside the packet"),
                           (len(data) + 100, "packet size .* outside"), (3, "inside the header")):
        struct.pack_into("<q", data, field, wrong)
        path.write_bytes(bytes(data))
        with pytest.raises(ValueError, match=message):
            ev.read_events(path)
    assert first_packet < table


def test_aedat4_with_a_damaged_stream_type_is_reported(sample_data, tmp_path):
    data = (sample_data / "events" / "sample.aedat4").read_bytes()
    assert data.count(b">EVTS<") == 1
    path = tmp_path / "xvts.aedat4"
    path.write_bytes(data.replace(b">EVTS<", b">XVTS<"))
    with pytest.raises(ValueError, match=r"declares no event stream .*0: XVTS"):
        ev.read_events(path)


def test_the_engine_maps_budget_and_memory_failures_to_memory_error():
    with pytest.raises(MemoryError, match="<bytes>: byte offset"):
        _engine.decode_events(_evt3_vectors(10), "evt3", "<bytes>", 5)
