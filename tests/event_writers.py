"""Writers of the binary event formats, for building small dataset folders in tests.
Written from docs/semantics.md#event-formats independently of the readers, so a reader bug cannot cancel out."""

import numpy as np


def atis_bin(events) -> bytes:
    out = bytearray()
    for t, x, y, p in events:
        assert t < (1 << 23)
        out += bytes([x, y, (p << 7) | (t >> 16), (t >> 8) & 0xFF, t & 0xFF])
    return bytes(out)


def aedat2(events) -> bytes:
    out = bytearray(b"#!AER-DAT2.0\r\n# AEChip: DVS128\r\n")
    for t, x, y, p in events:
        out += ((y << 8) | (x << 1) | p).to_bytes(4, "big") + int(t).to_bytes(4, "big")
    return bytes(out)


def aedat3(events) -> bytes:
    """One polarity packet per 3 events, all valid."""
    out = bytearray(b"#!AER-DAT3.1\r\n#Source 1: DVS128\r\n#!END-HEADER\r\n")
    for k in range(0, len(events), 3):
        part = events[k:k + 3]
        header = np.array([1 | (1 << 16), 8, 0, 0, len(part), len(part), len(part)], "<u4").tobytes()
        body = b"".join(((x << 17) | (y << 2) | (p << 1) | 1).to_bytes(4, "little") + int(t).to_bytes(4, "little")
                        for t, x, y, p in part)
        out += header + body
    return bytes(out)


def dat(events) -> bytes:
    out = bytearray(b"% Data file containing Event2D events.\n% Version 2\n\x00\x08")
    for t, x, y, p in events:
        out += int(t).to_bytes(4, "little") + ((p << 28) | (y << 14) | x).to_bytes(4, "little")
    return bytes(out)


def random_events(rng, n, width, height, span=100_000):
    t = np.sort(rng.integers(0, span, n))
    return [(int(t[i]), int(rng.integers(0, width)), int(rng.integers(0, height)), int(rng.integers(0, 2)))
            for i in range(n)]


def nmnist_folder(root, rng, per_class: int, digits=(1, 7), events: int = 80):
    """A small N-MNIST tree (``Train/`` and ``Test/``, one folder per digit) of random ATIS recordings."""
    for split in ("Train", "Test"):
        for digit in digits:
            for k in range(per_class):
                path = root / split / str(digit) / f"{k:05d}.bin"
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_bytes(atis_bin(random_events(rng, events, 34, 34)))
    return root
