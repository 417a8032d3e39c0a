"""Event data (docs/semantics.md#event-formats, docs/semantics.md#frames): decoders of the binary
formats and frame integration.

Events are lists of ``(t, x, y, p)`` tuples here; ``snnrs.events`` returns the
same values as a structured array. Every function is a plain loop over the
bytes or the events, written as the formula reads.

Frame integration. A *window* is a set of events; a frame counts its events per
pixel and polarity (channel 0: ``p == 0``, channel 1: ``p != 0``; one channel when
the sensor has one polarity). Windows by mode:

* ``number`` (M frames): ``di = N // M``; frame i holds events ``[i·di, (i+1)·di)``,
  the last frame the rest.
* ``time`` (M frames): ``dt = (t[-1] - t[0]) // M``; frame i holds the events with
  ``t[0] + i·dt <= t < t[0] + (i+1)·dt``, the last frame everything from
  ``t[0] + (M-1)·dt`` on. Empty windows are empty frames.
* ``duration`` D: ``t' = t - min(t)``, ``M = ceil(max(t') / D)`` (at least 1), event
  in frame ``t' // D``, an event at ``t' = M·D`` in the last frame. No events: no frames.
* tonic's ToFrame (half-open windows, remainder dropped): ``time_window`` (with
  ``overlap`` and ``include_incomplete``), ``event_count``, ``n_time_bins``,
  ``n_event_bins`` — see :func:`tonic_windows`. **Our definition** for no events:
  ``n_time_bins`` / ``n_event_bins`` give that many empty frames, the others one.
"""

import math

# ---------------------------------------------------------------- decoders

def _u16le(b, i):
    return b[i] | (b[i + 1] << 8)


def _u32le(b, i):
    return b[i] | (b[i + 1] << 8) | (b[i + 2] << 16) | (b[i + 3] << 24)


def _u32be(b, i):
    return (b[i] << 24) | (b[i + 1] << 16) | (b[i + 2] << 8) | b[i + 3]


class DecodeError(ValueError):
    def __init__(self, offset, reason):
        super().__init__(f"byte offset {offset}: {reason}")
        self.offset = offset


def decode_atis(data):
    """x = b0, y = b1, p = b2 >> 7, t = ((b2 & 0x7F) << 16) | (b3 << 8) | b4; a record with
    y == 240 adds 2^13 µs to every later timestamp (N-MNIST's overflow marker)."""
    if len(data) % 5:
        raise DecodeError(len(data) - len(data) % 5, "trailing bytes do not make a whole record")
    events, overflow = [], 0
    for i in range(0, len(data), 5):
        b0, b1, b2, b3, b4 = data[i:i + 5]
        if b1 == 240:
            overflow += 1 << 13
            continue
        events.append((((b2 & 0x7F) << 16) + (b3 << 8) + b4 + overflow, b0, b1, b2 >> 7))
    return events


def header_end(data, marker):
    """End of the leading lines starting with ``marker`` (b'%' or b'#'); a '% end' line closes it.
    A '%' line must go on with a space or end there ('%' then another byte is data)."""
    pos = 0
    while pos < len(data) and data[pos] == marker:
        if marker == ord("%") and data[pos + 1:pos + 2] not in (b" ", b"\n", b"\r"):
            break
        newline = data.find(b"\n", pos)
        if newline < 0:
            return len(data)
        line = data[pos:newline].rstrip(b"\r ")
        pos = newline + 1
        if line == b"% end":
            break
    return pos


def decode_aedat2(data):
    """DVS128 addresses: x = (addr & 0xFE) >> 1, y = (addr & 0x7F00) >> 8, p = addr & 1."""
    start = header_end(data, ord("#"))
    body = data[start:]
    if len(body) % 8:
        raise DecodeError(start + len(body) - len(body) % 8, "trailing bytes do not make a whole record")
    events = []
    for i in range(0, len(body), 8):
        addr, t = _u32be(body, i), _u32be(body, i + 4)
        events.append((t, (addr & 0xFE) >> 1, (addr & 0x7F00) >> 8, addr & 1))
    return events


def decode_aedat3(data):
    """Packets of a 28-byte header and capacity·eventSize bytes; polarity packets (type 1) hold
    (data, ts): x = (data >> 17) & 0x7FFF, y = (data >> 2) & 0x7FFF, p = (data >> 1) & 1,
    t = ts | tsOverflow << 31; records with a clear valid bit (data & 1) are skipped."""
    end = b"#!END-HEADER\r\n"
    at = data.find(end)
    if at < 0:
        raise DecodeError(len(data), "no #!END-HEADER line")
    pos, events = at + len(end), []
    while len(data) - pos >= 28:
        kind, size = _u16le(data, pos), _u32le(data, pos + 4)
        overflow, capacity = _u32le(data, pos + 12), _u32le(data, pos + 16)
        payload = size * capacity
        if payload > 256 << 20:
            raise DecodeError(pos + 4, f"packet declares {payload} bytes of events")
        if len(data) - pos - 28 < payload:
            break
        if kind == 1:
            if size < 8:
                raise DecodeError(pos + 4, f"polarity packet with eventSize {size}")
            for r in range(pos + 28, pos + 28 + payload, size):
                d = _u32le(data, r)
                if d & 1:
                    events.append((_u32le(data, r + 4) | (overflow << 31), (d >> 17) & 0x7FFF, (d >> 2) & 0x7FFF,
                                   (d >> 1) & 1))
        pos += 28 + payload
    if pos != len(data):
        raise DecodeError(pos, "file truncated inside a packet")
    return events


def decode_evt2(data):
    """u32 words: CD (type 0/1): t = time_high << 6 | w[27:22], x = w[21:11], y = w[10:0], p = type;
    TIME_HIGH (0x8): time_high = w[27:0]; 0xA, 0xE, 0xF carry no event; others are errors."""
    start = header_end(data, ord("%"))
    events, time_high = [], 0
    for i in range(start, len(data) - (len(data) - start) % 4, 4):
        w = _u32le(data, i)
        kind = w >> 28
        if kind in (0, 1):
            events.append(((time_high << 6) | ((w >> 22) & 0x3F), (w >> 11) & 0x7FF, w & 0x7FF, kind))
        elif kind == 0x8:
            time_high = w & 0x0FFFFFFF
        elif kind not in (0xA, 0xE, 0xF):
            raise DecodeError(i, f"EVT 2.0 word of undefined type {kind:#x}")
    if (len(data) - start) % 4:
        raise DecodeError(len(data) - (len(data) - start) % 4, "trailing bytes do not make a whole record")
    return events


def decode_evt3(data):
    """u16 words (see engine/src/events/evt3.rs for the table). Time as expelliarmus decodes it:
    t = high_wraps·2^24 + (time_high + low_wraps)·2^12 + time_low, a wrap being a value below
    the previous one."""
    start = header_end(data, ord("%"))
    events = []
    y = base_x = p = time_low = time_high = low_wraps = high_wraps = 0

    def t():
        return (high_wraps << 24) + ((time_high + low_wraps) << 12) + time_low

    for i in range(start, len(data) - (len(data) - start) % 2, 2):
        w = _u16le(data, i)
        kind = w >> 12
        if kind == 0x0:
            y = w & 0x7FF
        elif kind == 0x2:
            p = (w >> 11) & 1
            events.append((t(), w & 0x7FF, y, p))
        elif kind == 0x3:
            p, base_x = (w >> 11) & 1, w & 0x7FF
        elif kind in (0x4, 0x5):
            bits = 12 if kind == 0x4 else 8
            for k in range(bits):
                if (w >> k) & 1:
                    events.append((t(), base_x + k, y, p))
            base_x += bits
        elif kind == 0x6:
            low_wraps += (w & 0xFFF) < time_low
            time_low = w & 0xFFF
        elif kind == 0x8:
            high_wraps += (w & 0xFFF) < time_high
            time_high = w & 0xFFF
        elif kind not in (0x7, 0xA, 0xE, 0xF):
            raise DecodeError(i, f"EVT 3.0 word of undefined type {kind:#x}")
    if (len(data) - start) % 2:
        raise DecodeError(len(data) - 1, "trailing bytes do not make a whole record")
    return events


def decode_dat(data):
    """Header, then (only after a header) event type and size bytes, then records (8 bytes
    without a header): t = u32, x = d[13:0], y = d[27:14], p = d[28]."""
    start = header_end(data, ord("%"))
    if start == 0:
        size, body_start = 8, 0
    else:
        if len(data) < start + 2:
            raise DecodeError(len(data), "file ends before the event type and size bytes")
        size, body_start = data[start + 1], start + 2
        if size < 8:
            raise DecodeError(start + 1, f"event size {size}")
    body = data[body_start:]
    if len(body) % size:
        raise DecodeError(body_start + len(body) - len(body) % size, "trailing bytes do not make a whole record")
    events = []
    for i in range(0, len(body), size):
        t, d = _u32le(body, i), _u32le(body, i + 4)
        events.append((t, d & 0x3FFF, (d >> 14) & 0x3FFF, (d >> 28) & 1))
    return events


DECODERS = {"atis_bin": decode_atis, "aedat2": decode_aedat2, "aedat3": decode_aedat3, "evt2": decode_evt2,
            "evt3": decode_evt3, "dat": decode_dat}


# ---------------------------------------------------------------- windows

def windows_by_number(n_events, frames_number):
    di = n_events // frames_number
    return [set(range(i * di, (i + 1) * di if i < frames_number - 1 else n_events)) for i in range(frames_number)]


def windows_by_time(t, frames_number):
    if not t:
        return [set() for _ in range(frames_number)]
    dt = (t[-1] - t[0]) // frames_number
    windows = []
    for i in range(frames_number):
        lo = t[0] + i * dt
        last = i == frames_number - 1
        windows.append({k for k, tk in enumerate(t) if lo <= tk and (last or tk < lo + dt)})
    return windows


def windows_by_duration(t, duration):
    if not t:
        return []
    t0 = min(t)
    span = max(t) - t0
    count = max(1, math.ceil(span / duration))
    windows = [set() for _ in range(count)]
    for k, tk in enumerate(t):
        windows[min((tk - t0) // duration, count - 1)].add(k)
    return windows


def _half_open(t, starts, ends):
    return [{k for k, tk in enumerate(t) if s <= tk < e} for s, e in zip(starts, ends)]


def tonic_windows(t, *, time_window=None, event_count=None, n_time_bins=None, n_event_bins=None, overlap=0.0,
                  include_incomplete=False):
    """Windows of tonic's ToFrame (its slicers): half-open ``[start, end)``, in time or in event index."""
    n = len(t)
    if time_window is not None:
        stride = time_window - overlap
        if n == 0:
            return [set()]
        span = (t[-1] - t[0]) - time_window
        count = math.ceil(span / stride) + 1 if include_incomplete else math.floor(span / stride) + 1
        count = max(count, 1)
        starts = [t[0] + k * stride for k in range(count)]
        return _half_open(t, starts, [s + time_window for s in starts])
    if event_count is not None:
        count_in = min(event_count, n)
        stride = event_count - overlap
        span = n - count_in
        count = math.ceil(span / stride) + 1 if include_incomplete else math.floor(span / stride) + 1
        return [set(range(k * stride, min(k * stride + count_in, n))) for k in range(count)]
    if n_time_bins is not None:
        if n == 0:
            return [set() for _ in range(n_time_bins)]
        window = (t[-1] - t[0]) // n_time_bins * (1 + overlap)
        stride = window * (1 - overlap)
        starts = [t[0] + k * stride for k in range(n_time_bins)]
        return _half_open(t, starts, [s + window for s in starts])
    spike_count = int(n // n_event_bins * (1 + overlap))
    stride = int(spike_count * (1 - overlap))
    return [set(range(k * stride, min(k * stride + spike_count, n))) for k in range(n_event_bins)]


def integrate(events, windows, width, height, channels=2, binarize=False):
    """Frames [len(windows)][channels][height][width] as nested lists of counts."""
    frames = [[[[0] * width for _ in range(height)] for _ in range(channels)] for _ in windows]
    for i, window in enumerate(windows):
        for k in sorted(window):
            t, x, y, p = events[k]
            c = 1 if (channels == 2 and p != 0) else 0
            frames[i][c][y][x] = 1 if binarize else frames[i][c][y][x] + 1
    return frames


# ---------------------------------------------------------------- DVS emulator

def emulate_dvs(frames, times, threshold_on=0.2, threshold_off=0.2, eps=1e-3):
    """Events a DVS would emit watching ``frames`` (``[T][H][W]`` intensities >= 0) taken at
    ``times`` (µs, increasing). **Our definition**, the idealised pixel:

    * log intensity ``L = log(I + eps)``; each pixel's reference ``R`` starts at ``L`` of frame 0;
    * between frames k-1 and k, with ``D = L_k - R``: if ``D >= C_on`` the pixel emits
      ``n = floor(D / C_on)`` ON events (p = 1) and ``R += n·C_on``; if ``D <= -C_off``,
      ``n = floor(-D / C_off)`` OFF events (p = 0) and ``R -= n·C_off``;
    * the i-th of them (i = 1..n) is stamped where the linear interpolation of L crosses it:
      ``t = floor(t_{k-1} + (t_k - t_{k-1}) · (i·C) / |D|)``;
    * events come out sorted by t; ties keep the emission order (frame, then row y, column x, then i).

    ``threshold_on`` / ``threshold_off`` are scalars or ``[H][W]`` per-pixel thresholds.
    """
    height, width = len(frames[0]), len(frames[0][0])

    def per_pixel(c, y, x):
        return c[y][x] if hasattr(c, "__len__") else c

    ref = [[math.log(frames[0][y][x] + eps) for x in range(width)] for y in range(height)]
    emitted = []
    for k in range(1, len(frames)):
        t0, dt = times[k - 1], times[k] - times[k - 1]
        for y in range(height):
            for x in range(width):
                d = math.log(frames[k][y][x] + eps) - ref[y][x]
                c_on, c_off = per_pixel(threshold_on, y, x), per_pixel(threshold_off, y, x)
                if d >= c_on:
                    n, c, p = math.floor(d / c_on), c_on, 1
                elif d <= -c_off:
                    n, c, p = math.floor(-d / c_off), c_off, 0
                else:
                    continue
                for i in range(1, n + 1):
                    emitted.append((math.floor(t0 + dt * (i * c) / abs(d)), x, y, p))
                ref[y][x] += n * c if p else -n * c
    return sorted(emitted, key=lambda e: e[0])  # sorted() is stable
