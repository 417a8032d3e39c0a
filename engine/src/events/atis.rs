//! N-MNIST / N-Caltech101 ATIS `.bin`: 5 bytes per event, no header
//! (docs/semantics.md#event-formats):
//! `x = b0, y = b1, p = b2 >> 7, t = ((b2 & 0x7F) << 16) | (b3 << 8) | b4` (µs).
//!
//! As the datasets' own loader, a record with `y == 240` is no event but a
//! timestamp overflow marker: it adds 2^13 µs to every later timestamp.

use super::parallel::{decode_records, write_record};
use super::{BodyDecoder, DecodeError, Events, RECORD_BYTES};

const OVERFLOW_Y: u8 = 240;
const OVERFLOW_STEP: i64 = 1 << 13;

#[derive(Default)]
pub struct Body {
    overflow: i64,
}

#[inline(always)]
fn time(r: &[u8]) -> i64 {
    (((r[2] & 0x7F) as i64) << 16) | ((r[3] as i64) << 8) | r[4] as i64
}

impl BodyDecoder for Body {
    fn decode_whole(
        &mut self,
        data: &[u8],
        at: u64,
        limit: usize,
    ) -> Option<Result<(Events, usize), DecodeError>> {
        let scan = |chunk: &[u8], _| {
            let markers = chunk.chunks_exact(5).filter(|r| r[1] == OVERFLOW_Y).count();
            Ok((chunk.len() / 5 - markers, markers as i64))
        };
        let write = |chunk: &[u8], mut overflow: i64, out: &mut [u8]| {
            let mut slots = out.chunks_exact_mut(RECORD_BYTES);
            for r in chunk.chunks_exact(5) {
                if r[1] == OVERFLOW_Y {
                    overflow += OVERFLOW_STEP;
                } else if let Some(slot) = slots.next() {
                    write_record(
                        slot,
                        time(r) + overflow,
                        r[0] as i16,
                        r[1] as i16,
                        r[2] >> 7,
                    );
                }
            }
        };
        let chain = |overflow: i64, markers: &i64| overflow + markers * OVERFLOW_STEP;
        Some(
            decode_records(data, 5, at, limit, self.overflow, scan, chain, write).map(
                |(events, used, overflow)| {
                    self.overflow = overflow;
                    (events, used)
                },
            ),
        )
    }

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
