//! Prophesee `.dat` (e.g. N-CARS): `%` header lines, then (only after a header, as
//! Prophesee's reader) one byte event type and one byte event size (>= 8); then records of
//! that size (8 without a header) whose first 8 bytes are little-endian `(t u32, data u32)`:
//! `x = data[13:0], y = data[27:14], p = data[28]`, `t` in µs.

use super::header::{marked_lines_len, prophesee_header_text, prophesee_sensor};
use super::parallel::FixedRecords;
use super::{le_u32, DecodeError, HeaderParse};

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
            body: Box::new(FixedRecords { size: 8, fields }),
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
        body: Box::new(FixedRecords { size, fields }),
        sensor: prophesee_sensor(&prophesee_header_text(&data[..len])),
    })
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
