//! N-MNIST / N-Caltech101 ATIS `.bin`: 5 bytes per event, no header
//! (docs/semantics.md#event-formats):
//! `x = b0, y = b1, p = b2 >> 7, t = ((b2 & 0x7F) << 16) | (b3 << 8) | b4` (µs).
//!
//! As the datasets' own loader, a record with `y == 240` is no event but a
//! timestamp overflow marker: it adds 2^13 µs to every later timestamp.

use super::file_frames::{chunked_frames, FramesError, Plan, Source};
use super::parallel::{decode_records, on_every_core, Chunked};
use super::{BodyDecoder, DecodeError, Events};

const OVERFLOW_Y: u8 = 240;
const OVERFLOW_STEP: i64 = 1 << 13;

/// Records with `y == 240` among the whole records of `chunk`. 64 records (320
/// bytes) at a time, every byte compared and the `y` positions kept by a mask:
/// straight-line byte operations the compiler turns into vector code (the scan
/// before counting frames runs at memory speed).
#[inline(always)]
fn count_markers(chunk: &[u8]) -> usize {
    const GROUP: usize = 320;
    const Y_BYTE: [u8; GROUP] = {
        let mut mask = [0u8; GROUP];
        let mut i = 1;
        while i < GROUP {
            mask[i] = 1;
            i += 5;
        }
        mask
    };
    let whole = chunk.len() / 5 * 5;
    let groups = chunk[..whole].chunks_exact(GROUP);
    let rest = groups.remainder();
    let (mut total, mut lanes, mut pending) = (0usize, [0u8; GROUP], 0u32);
    for g in groups {
        for j in 0..GROUP {
            lanes[j] += (g[j] == OVERFLOW_Y) as u8 & Y_BYTE[j];
        }
        pending += 1;
        if pending == 255 {
            total += lanes.iter().map(|&v| v as usize).sum::<usize>();
            lanes = [0; GROUP];
            pending = 0;
        }
    }
    total += lanes.iter().map(|&v| v as usize).sum::<usize>();
    total + rest.chunks_exact(5).filter(|r| r[1] == OVERFLOW_Y).count()
}

#[derive(Default)]
pub struct Body {
    overflow: i64,
}

#[inline(always)]
fn time(r: &[u8]) -> i64 {
    (((r[2] & 0x7F) as i64) << 16) | ((r[3] as i64) << 8) | r[4] as i64
}

/// The parallel decoding: the state is the time added by the overflow markers so far.
struct Records;

impl Chunked for Records {
    type State = i64;
    type Summary = i64;

    fn unit(&self) -> usize {
        5
    }

    fn scan(&self, chunk: &[u8], _at: u64) -> Result<(usize, i64), DecodeError> {
        // the widest vectors the CPU has: 5 ms instead of 7.4 for 10^7 records on one core here
        let markers = with_cpu_features!(count_markers(chunk)) as i64;
        Ok((chunk.len() / 5 - markers as usize, markers))
    }

    fn chain(&self, overflow: i64, markers: &i64) -> i64 {
        overflow + markers * OVERFLOW_STEP
    }

    #[inline(always)]
    fn visit<F: FnMut(i64, i16, i16, u8) -> bool>(
        &self,
        chunk: &[u8],
        mut overflow: i64,
        mut event: F,
    ) {
        for r in chunk.chunks_exact(5) {
            if r[1] == OVERFLOW_Y {
                overflow += OVERFLOW_STEP;
            } else if !event(time(r) + overflow, r[0] as i16, r[1] as i16, r[2] >> 7) {
                return;
            }
        }
    }
}

impl BodyDecoder for Body {
    on_every_core!(Records, overflow);

    fn decode(&mut self, data: &[u8], _at: u64, out: &mut Events) -> Result<usize, DecodeError> {
        let whole = data.len() / 5 * 5;
        out.reserve(whole / 5);
        for r in data[..whole].chunks_exact(5) {
            if r[1] == OVERFLOW_Y {
                self.overflow += OVERFLOW_STEP;
                continue;
            }
            out.push(time(r) + self.overflow, r[0] as i16, r[1] as i16, r[2] >> 7);
        }
        Ok(whole)
    }
}

#[cfg(test)]
mod tests {
    use super::super::{decode_all, Format};

    #[test]
    fn markers_are_counted_at_the_y_byte_only() {
        // 1000 records (several 64-record groups and a remainder); 240 in other bytes too
        let mut data = vec![240u8; 5 * 1000];
        for (i, r) in data.chunks_exact_mut(5).enumerate() {
            if i % 7 != 0 {
                r[1] = (i % 200) as u8;
            }
        }
        let expected = data.chunks_exact(5).filter(|r| r[1] == 240).count();
        assert_eq!(super::count_markers(&data), expected);
        assert_eq!(
            super::count_markers(&data[..5 * 999 + 3]),
            data[..5 * 999]
                .chunks_exact(5)
                .filter(|r| r[1] == 240)
                .count()
        );
    }

    #[test]
    fn fields_follow_the_spec_formula() {
        let (e, _) = decode_all(
            Format::Atis,
            &[3, 4, 0x81, 0x02, 0x03, 9, 240, 0, 0, 0, 1, 2, 0x00, 0, 5],
        )
        .unwrap();
        assert_eq!(e.len(), 2);
        assert_eq!(e.get(0), (0x010203, 3, 4, 1));
        assert_eq!(e.get(1), (5 + 8192, 1, 2, 0));
        assert!(decode_all(Format::Atis, &[1, 2, 3]).is_err());
    }
}
