"""Event-to-frame integration on the GPU (``shaders/frames.wgsl``, atomic counts). Same
arguments and results as :func:`snnrs.events.integrate_windows`."""

import numpy as np

from snnrs.events.frames import _sensor
from snnrs.events.io import as_events
from snnrs.gpu.device import WORKGROUP_SIZE, dispatch_shape, gpu

# the shader's atomicMin keeps the smallest index outside the sensor; indices stay below this (n * 4 < 2^32)
NONE_OUTSIDE = 0xFFFFFFFF


def integrate_windows(events, starts, ends, sensor_size, binarize: bool = False) -> np.ndarray:
    """Frame i counts events ``starts[i]:ends[i]``; float32 ``[M, P, H, W]``."""
    events = as_events(events)
    width, height, channels = _sensor(sensor_size)
    n = len(events)
    starts = np.clip(np.asarray(starts, dtype=np.int64), 0, n)
    ends = np.maximum(np.clip(np.asarray(ends, dtype=np.int64), 0, n), starts)
    windows = len(starts)
    offsets = np.concatenate([[0], np.cumsum(ends - starts)])
    total = int(offsets[-1])
    frame_values = windows * channels * height * width
    if max(n * 4, frame_values, total) >= 2**32:
        raise ValueError("events: too many events or frame values for the shader's 32-bit indexing")
    if windows == 0:
        return np.zeros((0, channels, height, width), np.float32)
    g = gpu()
    params = np.array([total, windows, width, height, channels, dispatch_shape(total)[0] * WORKGROUP_SIZE, 0, 0],
                      np.uint32)
    records = events.view(np.uint32) if n else np.zeros(4, np.uint32)
    frames = g.buffer(np.zeros(max(frame_values, 1), np.uint32))
    outside = g.buffer(np.full(1, NONE_OUTSIDE, np.uint32))
    buffers = [g.uniform(params), g.buffer(records), g.buffer(starts.astype(np.uint32)),
               g.buffer(offsets.astype(np.uint32)), frames, outside]
    if total:
        g.run("frames", buffers, total, includes=())
    bad = int(g.read(outside, np.uint32, 1)[0])
    if bad != NONE_OUTSIDE:
        e = events[bad]
        raise ValueError(f"events: event {bad} at (x={e['x']}, y={e['y']}) lies outside the sensor "
                         f"(width {width}, height {height})")
    counts = g.read(frames, np.uint32, frame_values).reshape(windows, channels, height, width)
    return (counts > 0).astype(np.float32) if binarize else counts.astype(np.float32)
