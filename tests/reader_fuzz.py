"""A bounded, seeded fuzz run over every event reader, each case isolated from the harness.

Cases start from real recordings (the sample data) and files written by ``tests/event_writers.py``, and
damage them four ways: truncation at a random byte, bit flips, inflated length fields (a header size, a
packet size or capacity set to a large value) and header corruption (bytes of the header overwritten or
its end marker removed). Each case is read whole (``read_events``) or streamed in random chunk sizes
(``iter_events``).

Cases run in a worker subprocess under an address-space limit (what it uses at start plus
``HEADROOM_BYTES``), fed one at a time; the harness reads one answer line per case. A case the worker
does not answer within ``HANG_SECONDS`` is a hang; a worker that dies (abort, signal) is a crash, charged
to the case it was reading, and a new worker takes the next case. Every answer must be events or a
ValueError / OSError / MemoryError whose message names the file.

``python -m tests.reader_fuzz --seconds 100 --seed 0`` prints the tally; tests/test_reader_fuzz.py runs it.
"""

import argparse
import json
import os
import random
import select
import struct
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HANG_SECONDS = 10.0
HEADROOM_BYTES = 2 << 30
ALLOWED_ERRORS = ("ValueError", "OSError", "MemoryError", "FileNotFoundError", "IsADirectoryError")

WORKER = r"""
import json, resource, sys
with open("/proc/self/status") as f:
    used = next(int(line.split()[1]) * 1024 for line in f if line.startswith("VmSize"))
import numpy as np
import snnrs.events as ev
resource.setrlimit(resource.RLIMIT_AS, (used + int(sys.argv[1]) + (512 << 20), resource.RLIM_INFINITY))
print("ready", flush=True)
for line in sys.stdin:
    case = json.loads(line)
    try:
        if case["chunk"]:
            n = sum(len(part) for part in ev.iter_events(case["path"], case["format"], chunk_bytes=case["chunk"]))
        else:
            n = len(ev.read_events(case["path"], case["format"]))
        answer = {"events": n}
    except (KeyboardInterrupt, SystemExit):
        raise
    except BaseException as e:  # a Rust panic arrives as PanicException (a BaseException): reported, a defect
        answer = {"error": type(e).__name__, "message": str(e)}
    print(json.dumps(answer), flush=True)
"""


def _seed_files(sample_data: Path | None, rng: random.Random) -> list[tuple[str, bytes]]:
    """(format, bytes) of the undamaged starting points."""
    from tests import event_writers as write

    events = write.random_events(__import__("numpy").random.default_rng(rng.randrange(1 << 30)), 600, 128, 128)
    files = [("atis_bin", write.atis_bin([(t % (1 << 23), x % 34, y % 34, p) for t, x, y, p in events])),
             ("aedat2", write.aedat2(events)), ("aedat3", write.aedat3(events)), ("dat", write.dat(events))]
    if sample_data is not None:
        for name, fmt in (("sample_nmnist.bin", "atis_bin"), ("evt2_sample.raw", "evt2"),
                          ("evt3_sample.raw", "evt3"), ("sample.aedat4", "aedat4"), ("sample_ncars.dat", "dat")):
            data = (sample_data / "events" / name).read_bytes()
            files.append((fmt, data[:400_000]) if fmt != "aedat4" else (fmt, data))
    return files


def _header_length(fmt: str, data: bytes) -> int:
    if fmt == "aedat3":
        end = data.find(b"#!END-HEADER\r\n")
        return end + 14 if end >= 0 else 0
    if fmt == "aedat4":
        start = data.index(b"\n") + 1
        return start + 4 + struct.unpack_from("<i", data, start)[0]
    if fmt in ("aedat2", "evt2", "evt3", "dat"):
        pos = 0
        marker = ord("#") if fmt == "aedat2" else ord("%")
        while pos < len(data) and data[pos] == marker:
            pos = data.find(b"\n", pos) + 1 or len(data)
        return pos
    return 0


def damage(fmt: str, data: bytes, kind: str, rng: random.Random) -> bytes:
    """``data`` damaged one of four ways (see the module's docstring)."""
    out = bytearray(data)
    header = _header_length(fmt, data)
    if kind == "truncate":
        return bytes(out[:rng.randrange(len(out) + 1)])
    if kind == "flip":
        for _ in range(rng.randint(1, 8)):
            i = rng.randrange(len(out))
            out[i] ^= 1 << rng.randrange(8)
        return bytes(out)
    if kind == "inflate":  # a length field set large: where the formats keep them, else any u32
        big = rng.choice([0x7FFFFFFF, 0xFFFFFFFF, 1 << 28, 1 << 20, len(out) * 3])
        if fmt == "aedat4":
            start = data.index(b"\n") + 1
            at = rng.choice([start, header + 4])  # the header size or the first packet's size
        elif fmt == "aedat3":
            at = header + rng.choice([4, 16, 20])  # eventSize, eventCapacity, eventNumber
        else:
            at = rng.randrange(max(1, len(out) - 4))
        if at + 4 <= len(out):
            out[at:at + 4] = struct.pack("<I", big & 0xFFFFFFFF)
        return bytes(out)
    # header corruption: overwrite bytes of the header, or cut its end marker away
    if header and rng.random() < 0.5:
        for _ in range(rng.randint(1, 16)):
            out[rng.randrange(header)] = rng.randrange(256)
        return bytes(out)
    end = data.find(b"#!END-HEADER") if fmt == "aedat3" else data.find(b"% end")
    if end >= 0:
        return bytes(out[:end] + out[end + 5:])
    return bytes(out[:max(1, header // 2)] + out[header:])


class Worker:
    def __init__(self):
        root = str(Path(__file__).resolve().parents[1])
        self.process = subprocess.Popen([sys.executable, "-c", WORKER, str(HEADROOM_BYTES)], stdin=subprocess.PIPE,
                                        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, cwd=root)
        if self._line(60.0) != "ready":  # (None: silent for a minute; "": died starting)
            raise RuntimeError("fuzz worker did not start")

    def _line(self, timeout: float) -> str | None:
        """The worker's next line; None after ``timeout`` seconds of silence; "" at end of output."""
        ready, _, _ = select.select([self.process.stdout], [], [], timeout)
        if not ready:
            return None
        return self.process.stdout.readline().strip()

    def ask(self, case: dict) -> tuple[str, dict | int | None]:
        """("answer", dict) | ("hang", None) | ("died", returncode)."""
        try:
            self.process.stdin.write(json.dumps(case) + "\n")
            self.process.stdin.flush()
        except BrokenPipeError:
            return "died", self.process.wait()
        line = self._line(HANG_SECONDS)
        if line == "":  # its output closed: it died (wait: it may not have been reaped yet)
            return "died", self.process.wait(timeout=HANG_SECONDS)
        if line is None:
            self.process.kill()
            self.process.wait()
            return "hang", None
        return "answer", json.loads(line)

    def close(self):
        if self.process.poll() is None:
            self.process.stdin.close()
            self.process.wait(timeout=30)


def run(seconds: float, seed: int, sample_data: Path | None) -> dict:
    rng = random.Random(seed)
    seeds = _seed_files(sample_data, rng)
    tally = {"cases": 0, "events": 0, "errors": {}, "crashes": [], "hangs": [], "bad_errors": []}
    started = time.monotonic()
    kinds = ("truncate", "flip", "inflate", "header")
    with tempfile.TemporaryDirectory(prefix="snnrs-fuzz-") as folder:
        worker = Worker()
        try:
            while time.monotonic() - started < seconds:
                fmt, data = seeds[tally["cases"] % len(seeds)]
                kind = kinds[(tally["cases"] // len(seeds)) % len(kinds)]
                path = os.path.join(folder, f"case{tally['cases']}.{fmt}")
                with open(path, "wb") as f:
                    f.write(damage(fmt, data, kind, rng))
                chunk = rng.choice([0, 0, 1, 7, 64, 4096, 1 << 16])
                if chunk < 4096 and len(data) > 50_000:  # a Python call per chunk: keep each case well under a second
                    chunk = rng.choice([0, 4096, 1 << 16])
                case = {"path": path, "format": fmt, "chunk": chunk, "kind": kind}
                tally["cases"] += 1
                outcome, answer = worker.ask(case)
                if outcome != "answer":
                    tally["crashes" if outcome == "died" else "hangs"].append({**case, "returncode": answer})
                    with open(path, "rb") as f:  # keep the bytes that did it, for the report
                        case["bytes"] = len(f.read())
                    worker = Worker()
                elif "events" in answer:
                    tally["events"] += 1
                else:
                    name = answer["error"]
                    tally["errors"][name] = tally["errors"].get(name, 0) + 1
                    if name not in ALLOWED_ERRORS or path not in answer["message"]:
                        tally["bad_errors"].append({**case, **answer})
                os.remove(path)
        finally:
            worker.close()
    tally["seconds"] = round(time.monotonic() - started, 1)
    return tally


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--seconds", type=float, default=100.0)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--sample-data", type=Path, default=None)
    args = p.parse_args(argv)
    tally = run(args.seconds, args.seed, args.sample_data)
    print(json.dumps(tally, indent=1))
    return 0 if not (tally["crashes"] or tally["hangs"] or tally["bad_errors"]) else 1


if __name__ == "__main__":
    sys.exit(main())
