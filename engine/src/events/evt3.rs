//! Prophesee EVT 3.0 `.raw`: `%` header lines, then little-endian u16 words,
//! type in the top 4 bits, decoded with a small state (y, base x, polarity, time):
//!
//! | type | word | effect |
//! |---|---|---|
//! | 0x0 EVT_ADDR_Y | `y = w[10:0]` | |
//! | 0x2 EVT_ADDR_X | `p = w[11], x = w[10:0]` | one event (x, y, p, t) |
//! | 0x3 VECT_BASE_X | `p = w[11], base = w[10:0]` | |
//! | 0x4 VECT_12 | `mask = w[11:0]` | events at base + i for set bits i (LSB first); base += 12 |
//! | 0x5 VECT_8 | `mask = w[7:0]` | same, 8 bits; base += 8 |
//! | 0x6 EVT_TIME_LOW | `time_low = w[11:0]` | |
//! | 0x8 EVT_TIME_HIGH | `time_high = w[11:0]` | |
//! | 0x7, 0xA, 0xE, 0xF | continued / trigger / others | no CD event |
//!
//! Time, **our definition**, that of expelliarmus (whose decoding of the sample
//! recording is the reference we are held to): a TIME_LOW below the previous one
//! counts as a wrap of the low 12 bits, a TIME_HIGH below the previous one as a
//! wrap of the 24-bit clock, and
//! `t = high_wraps·2^24 + (time_high + low_wraps)·2^12 + time_low`.
//! An EVT_ADDR_X also sets the polarity later vectors use. Undefined types are errors.

use super::header::{marked_lines_len, prophesee_header_text, prophesee_sensor};
use super::{BodyDecoder, DecodeError, Events, HeaderParse};

pub fn parse_header(data: &[u8], at_end: bool) -> Result<HeaderParse, DecodeError> {
    let Some(len) = marked_lines_len(data, b'%', at_end) else {
        return Ok(HeaderParse::NeedMore);
    };
    Ok(HeaderParse::Done {
        len,
        body: Box::<Body>::default(),
        sensor: prophesee_sensor(&prophesee_header_text(&data[..len])),
    })
}

#[derive(Default)]
struct Body {
    y: i16,
    base_x: i32,
    polarity: u8,
    time_low: i64,
    time_high: i64,
    low_wraps: i64,
    high_wraps: i64,
}

impl Body {
    #[inline(always)]
    fn t(&self) -> i64 {
        (self.high_wraps << 24) + ((self.time_high + self.low_wraps) << 12) + self.time_low
    }

    #[inline(always)]
    fn vector(&mut self, mask: u16, bits: i32, out: &mut Events) {
        let t = self.t();
        let mut m = mask;
        while m != 0 {
            let i = m.trailing_zeros() as i32;
            out.push(t, self.base_x.wrapping_add(i) as i16, self.y, self.polarity);
            m &= m - 1;
        }
        // Wrapping: a hostile run of vectors may push x past 16 bits; values then wrap, never panic.
        self.base_x = self.base_x.wrapping_add(bits);
    }
}

impl BodyDecoder for Body {
    fn decode(&mut self, data: &[u8], at: u64, out: &mut Events) -> Result<usize, DecodeError> {
        let whole = data.len() / 2 * 2;
        out.reserve(whole / 4); // about one event per two words
        for (i, r) in data[..whole].chunks_exact(2).enumerate() {
            let w = u16::from_le_bytes([r[0], r[1]]);
            let low = w & 0x7FF;
            match w >> 12 {
                0x0 => self.y = low as i16,
                0x2 => {
                    self.polarity = ((w >> 11) & 1) as u8;
                    out.push(self.t(), low as i16, self.y, self.polarity);
                }
                0x3 => {
                    self.polarity = ((w >> 11) & 1) as u8;
                    self.base_x = low as i32;
                }
                0x4 => self.vector(w & 0xFFF, 12, out),
                0x5 => self.vector(w & 0xFF, 8, out),
                0x6 => {
                    let low = (w & 0xFFF) as i64;
                    self.low_wraps += (low < self.time_low) as i64;
                    self.time_low = low;
                }
                0x8 => {
                    let high = (w & 0xFFF) as i64;
                    self.high_wraps += (high < self.time_high) as i64;
                    self.time_high = high;
                }
                0x7 | 0xA | 0xE | 0xF => {}
                kind => {
                    return Err(DecodeError::new(
                        at + 2 * i as u64,
                        format!("EVT 3.0 word of undefined type {kind:#x}"),
                    ))
                }
            }
        }
        Ok(whole)
    }
}

#[cfg(test)]
mod tests {
    use super::super::{decode_all, Format};

    fn file(words: &[u16]) -> Vec<u8> {
        let mut f = b"% evt 3.0\n".to_vec();
        for w in words {
            f.extend_from_slice(&w.to_le_bytes());
        }
        f
    }

    #[test]
    fn words_decode_with_vectors_and_wraps() {
        let words = [
            0x8000 | 0xFFF,       // time high 4095
            0x6000 | 7,           // time low 7
            33,                   // y 33 (word type 0x0)
            0x2000 | 0x800 | 100, // event x 100, p 1
            0x3000 | 10,          // base x 10, p 0
            0x4000 | 0b101,       // x 10 and 12
            0x5000 | 0b1,         // x 22
            0x8000 | 1,           // time high wrapped
        ];
        let (e, _) = decode_all(Format::Evt3, &file(&words)).unwrap();
        let t = (4095 << 12) | 7;
        assert_eq!(e.len(), 4);
        assert_eq!(e.get(0), (t, 100, 33, 1));
        assert_eq!(e.get(1), (t, 10, 33, 0));
        assert_eq!(e.get(2), (t, 12, 33, 0));
        assert_eq!(e.get(3), (t, 22, 33, 0));
        let (e, _) =
            decode_all(Format::Evt3, &file(&[0x8000 | 5, 0x8000 | 1, 0x2000 | 3])).unwrap();
        assert_eq!(e.get(0).0, (1 << 24) + (1 << 12));
        let (e, _) =
            decode_all(Format::Evt3, &file(&[0x6000 | 9, 0x6000 | 4, 0x2000 | 3])).unwrap();
        assert_eq!(e.get(0).0, (1 << 12) + 4);
        let err = decode_all(Format::Evt3, &file(&[0x0000, 0x9000])).unwrap_err();
        assert_eq!(err.offset, 12);
    }
}
