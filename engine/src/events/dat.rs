//! Prophesee `.dat` (e.g. N-CARS): `%` header lines, then (only after a header, as
//! Prophesee's reader) one byte event type and one byte event size (>= 8); then records of
//! that size (8 without a header) whose first 8 bytes are little-endian `(t u32, data u32)`:
//! `x = data[13:0], y = data[27:14], p = data[28]`, `t` in µs.

use super::header::{marked_lines_len, prophesee_header_text, prophesee_sensor};
use super::parallel::{decode_records, write_record};
use super::{le_u32, BodyDecoder, DecodeError, Events, HeaderParse, RECORD_BYTES};

#[inline(always)]
fn fields(r: &[u8]) -> (i64, i16, i16, u8) {
    let (t, d) = (le_u32(r, 0).unwrap_or(0), le_u32(r, 4).unwrap_or(0));
    (
        t as i64,
        (d & 0x3FFF) as i16,
        ((d >> 14) & 0x3FFF) as i16,
        ((d >> 28) & 1) as u8,
    )
}

pub fn parse_header(data: &[u8], at_end: bool) -> Result<HeaderParse, DecodeError> {
    let Some(len) = marked_lines_len(data, b'%', at_end) else {
        return Ok(HeaderParse::NeedMore);
    };
    if len == 0 {
        return Ok(HeaderParse::Done {
            len: 0,
            body: Box::new(Body { size: 8 }),
            sensor: None,
        });
    }
    if data.len() < len + 2 {
        return if at_end {
            Err(DecodeError::new(
                data.len() as u64,
                "file ends before the event type and size bytes",
            ))
        } else {
            Ok(HeaderParse::NeedMore)
        };
    }
    let size = data[len + 1] as usize;
    if size < 8 {
        return Err(DecodeError::new(
            len as u64 + 1,
            format!("event size {size} (expected >= 8)"),
        ));
    }
    Ok(HeaderParse::Done {
        len: len + 2,
        body: Box::new(Body { size }),
        sensor: prophesee_sensor(&prophesee_header_text(&data[..len])),
    })
}

struct Body {
    size: usize,
}

impl BodyDecoder for Body {
    fn decode_whole(
        &mut self,
        data: &[u8],
        at: u64,
    ) -> Option<Result<(Events, usize), DecodeError>> {
        let size = self.size;
        let write = |chunk: &[u8], _: (), out: &mut [u8]| {
            for (r, slot) in chunk
                .chunks_exact(size)
                .zip(out.chunks_exact_mut(RECORD_BYTES))
            {
                let (t, x, y, p) = fields(r);
                write_record(slot, t, x, y, p);
            }
        };
        let scan = |chunk: &[u8], _| Ok((chunk.len() / size, ()));
        Some(
            decode_records(data, size, at, (), scan, |_, _| (), write)
                .map(|(e, used, _)| (e, used)),
        )
    }

    fn decode(&mut self, data: &[u8], _at: u64, out: &mut Events) -> Result<usize, DecodeError> {
        let whole = data.len() / self.size * self.size;
        out.bytes.reserve(whole / self.size * super::RECORD_BYTES);
        for r in data[..whole].chunks_exact(self.size) {
            let (t, x, y, p) = fields(r);
            out.push(t, x, y, p);
        }
        Ok(whole)
    }
}

#[cfg(test)]
mod tests {
    use super::super::{decode_all, Format};

    #[test]
    fn records_decode() {
        let mut file = b"% Version 2\n% Width 120\n% Height 100\n\x00\x08".to_vec();
        file.extend_from_slice(&77u32.to_le_bytes());
        file.extend_from_slice(&((3u32 << 28) | (40 << 14) | 25).to_le_bytes());
        let (e, sensor) = decode_all(Format::Dat, &file).unwrap();
        assert_eq!(sensor, Some((120, 100)));
        assert_eq!(e.get(0), (77, 25, 40, 1));
        file[38] = 4;
        assert!(decode_all(Format::Dat, &file).is_err());
    }
}
