//! Frame integration: counts the events of each window into a frame
//! `[channels, height, width]` (docs/semantics.md#frames). Which events form
//! each window is decided by the caller (`reference/events.py` defines every mode); here
//! frame `i` counts records `starts[i]..ends[i]`. Frames are independent, so
//! they fill in parallel.

use super::{record, RECORD_BYTES};
use crate::error::EngineError;
use rayon::prelude::*;

/// Geometry and options of the frames.
#[derive(Clone, Copy, Debug)]
pub struct FrameSpec {
    pub width: usize,
    pub height: usize,
    /// 2: channel 0 counts OFF events (`p <= 0`), channel 1 ON (`p > 0`); 1: all in one channel.
    pub channels: usize,
    /// Frames hold 1 where any event fell, instead of counts.
    pub binarize: bool,
}

/// Event coordinates are 16-bit: no sensor side beyond this.
pub const MAX_SENSOR_SIDE: usize = 1 << 15;

impl FrameSpec {
    pub fn frame_len(&self) -> usize {
        self.channels * self.height * self.width
    }

    pub fn validate(&self) -> Result<(), EngineError> {
        if !(self.channels == 1 || self.channels == 2) {
            return Err(EngineError::param(
                "sensor_size",
                format!("expected 1 or 2 polarity channels, got {}", self.channels),
            ));
        }
        for (arg, side) in [("width", self.width), ("height", self.height)] {
            if side == 0 || side > MAX_SENSOR_SIDE {
                return Err(EngineError::param(
                    arg,
                    format!(
                        "expected 1..={MAX_SENSOR_SIDE} (16-bit event coordinates), got {side}"
                    ),
                ));
            }
        }
        Ok(())
    }
}

/// Fills `frames` (`[starts.len(), channels, height, width]`, row-major).
pub fn accumulate(
    records: &[u8],
    starts: &[u64],
    ends: &[u64],
    spec: FrameSpec,
    frames: &mut [f32],
) -> Result<(), EngineError> {
    if records.len() % RECORD_BYTES != 0 {
        return Err(EngineError::param(
            "events",
            format!(
                "expected whole {RECORD_BYTES}-byte records, got {} bytes",
                records.len()
            ),
        ));
    }
    spec.validate()?;
    let n = (records.len() / RECORD_BYTES) as u64;
    if starts.len() != ends.len() {
        return Err(EngineError::param(
            "ends",
            "expected as many window ends as starts",
        ));
    }
    for (i, (&s, &e)) in starts.iter().zip(ends).enumerate() {
        if s > e || e > n {
            return Err(EngineError::param(
                "windows",
                format!("window {i} = [{s}, {e}) is not inside the {n} events"),
            ));
        }
    }
    let frame_len = spec.frame_len();
    if Some(frames.len()) != starts.len().checked_mul(frame_len) {
        return Err(EngineError::param(
            "frames",
            "expected [windows, channels, height, width]",
        ));
    }
    if frame_len == 0 {
        return Ok(());
    }
    // Every frame is filled and the smallest bad index kept: the frames finish in
    // no fixed order, and the error must name the file's first event outside the
    // sensor (as read_frames does), not whichever frame failed first.
    let first_outside = frames
        .par_chunks_mut(frame_len)
        .zip(starts.par_iter().zip(ends.par_iter()))
        .filter_map(|(frame, (&s, &e))| fill(records, s as usize, e as usize, spec, frame).err())
        .min();
    match first_outside {
        None => Ok(()),
        Some(i) => {
            let (_, x, y, _) = record(&records[i * RECORD_BYTES..(i + 1) * RECORD_BYTES]);
            Err(EngineError::param(
                "events",
                format!(
                    "event {i} at (x={x}, y={y}) lies outside the sensor (width {}, height {})",
                    spec.width, spec.height
                ),
            ))
        }
    }
}

/// Counts records `start..end` into `frame`; `Err(i)`: record `i` lies outside the sensor.
fn fill(
    records: &[u8],
    start: usize,
    end: usize,
    spec: FrameSpec,
    frame: &mut [f32],
) -> Result<(), usize> {
    frame.fill(0.0);
    let (w, h) = (spec.width, spec.height);
    let plane = if spec.channels == 2 { w * h } else { 0 };
    for (k, r) in records[start * RECORD_BYTES..end * RECORD_BYTES]
        .chunks_exact(RECORD_BYTES)
        .enumerate()
    {
        // x and y in one load; negative x or y become large as u16, so one compare each.
        let v = u32::from_le_bytes([r[0], r[1], r[2], r[3]]);
        let (x, y, p) = (v as u16 as usize, (v >> 16) as u16 as usize, r[12]);
        if x >= w || y >= h {
            return Err(start + k);
        }
        // ON: p > 0 as a signed byte (tonic's -1/+1 polarity: -1 is OFF, as in snnrs.events.as_events)
        let channel = if (p as i8) > 0 { plane } else { 0 };
        // counted as integers in the float's bits (a float stops counting at 2^24), converted below
        let v = &mut frame[channel + y * w + x];
        *v = f32::from_bits(v.to_bits().wrapping_add(1));
    }
    counts_to_floats(frame, spec.binarize);
    Ok(())
}

/// Turns counts held as integer bits into float counts (or 1/0 with `binarize`).
pub fn counts_to_floats(frame: &mut [f32], binarize: bool) {
    for v in frame.iter_mut() {
        let count = v.to_bits();
        *v = if binarize {
            (count > 0) as u32 as f32
        } else {
            count as f32
        };
    }
}

#[cfg(test)]
mod tests {
    use super::super::Events;
    use super::*;

    #[test]
    fn windows_count_per_polarity_and_reject_outsiders() {
        let mut e = Events::default();
        e.push(0, 1, 0, 0);
        e.push(1, 1, 0, 0);
        e.push(2, 0, 1, 1);
        let spec = FrameSpec {
            width: 2,
            height: 2,
            channels: 2,
            binarize: false,
        };
        let mut frames = vec![9.0f32; 3 * 8];
        accumulate(&e.bytes, &[0, 1, 3], &[3, 1, 3], spec, &mut frames).unwrap();
        assert_eq!(&frames[..8], &[0., 2., 0., 0., 0., 0., 1., 0.]);
        assert!(frames[8..].iter().all(|&v| v == 0.0));
        let spec = FrameSpec { width: 1, ..spec };
        assert!(accumulate(&e.bytes, &[0], &[3], spec, &mut frames[..4]).is_err());
        assert!(accumulate(&e.bytes, &[2], &[4], spec, &mut frames[..4]).is_err());
    }

    #[test]
    fn the_first_event_outside_is_named_whichever_frame_fails_first() {
        // 64 one-event windows in reverse file order, every event outside the
        // sensor: the frames fail in no fixed order (and a sequential pass would
        // meet event 63 first), yet the error must name event 0
        let n = 64u64;
        let mut e = Events::default();
        for i in 0..n {
            e.push(i as i64, 5 + i as i16, 0, 1);
        }
        let spec = FrameSpec {
            width: 2,
            height: 1,
            channels: 2,
            binarize: false,
        };
        let starts: Vec<u64> = (0..n).rev().collect();
        let ends: Vec<u64> = starts.iter().map(|s| s + 1).collect();
        let mut frames = vec![0f32; n as usize * spec.frame_len()];
        for _ in 0..5 {
            let err = accumulate(&e.bytes, &starts, &ends, spec, &mut frames).unwrap_err();
            let text = format!("{err:?}");
            assert!(text.contains("event 0 at (x=5, y=0)"), "{text}");
        }
    }
}
