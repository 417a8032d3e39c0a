"""Neuromorphic event data: file readers and frame integration (``docs/semantics.md#events``)."""

from snnrs.events.emulator import emulate_dvs
from snnrs.events.file_frames import iter_frames, read_frames
from snnrs.events.frames import (
                                 frame_mode,
                                 integrate_events_by_fixed_duration,
                                 integrate_events_by_fixed_frames_number,
                                 integrate_many,
                                 integrate_windows,
                                 to_frame,
)
from snnrs.events.io import EVENT_DTYPE, FORMATS, as_events, decode_bytes, detect_format, iter_events, read_events

__all__ = ["EVENT_DTYPE", "FORMATS", "as_events", "decode_bytes", "detect_format", "iter_events", "read_events",
           "integrate_windows", "integrate_events_by_fixed_frames_number", "integrate_events_by_fixed_duration",
           "to_frame", "integrate_many", "emulate_dvs", "frame_mode", "read_frames", "iter_frames"]
