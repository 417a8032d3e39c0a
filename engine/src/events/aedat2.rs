//! AEDAT 2.0 (CIFAR10-DVS): `#` header lines, then big-endian u32 pairs
//! `(address, timestamp)`. Addresses use the DVS128 layout
//! (docs/semantics.md#event-formats):
//! `x = (addr & 0xFE) >> 1, y = (addr & 0x7F00) >> 8, p = addr & 1`, `t` in µs,
//! with no flips (x and y as the sensor addresses them).

use super::header::marked_lines_len;
use super::parallel::FixedRecords;
use super::{DecodeError, HeaderParse};

#[inline(always)]
fn fields(r: &[u8]) -> (i64, i16, i16, u8) {
    let addr = u32::from_be_bytes([r[0], r[1], r[2], r[3]]);
    let t = u32::from_be_bytes([r[4], r[5], r[6], r[7]]);
    (
        t as i64,
        ((addr & 0xFE) >> 1) as i16,
        ((addr & 0x7F00) >> 8) as i16,
        (addr & 1) as u8,
    )
}

pub fn parse_header(data: &[u8], at_end: bool) -> Result<HeaderParse, DecodeError> {
    let Some(len) = marked_lines_len(data, b'#', at_end) else {
        return Ok(HeaderParse::NeedMore);
    };
    let text = String::from_utf8_lossy(&data[..len]).to_ascii_lowercase();
    let sensor = text.contains("dvs128").then_some((128, 128));
    Ok(HeaderParse::Done {
        len,
        body: Box::new(FixedRecords { size: 8, fields }),
        sensor,
    })
}

#[cfg(test)]
mod tests {
    use super::super::{decode_all, Format};

    #[test]
    fn dvs128_addresses_decode() {
        let mut file = b"#!AER-DAT2.0\r\n# AEChip: DVS128\r\n".to_vec();
        let addr: u32 = (5 << 8) | (17 << 1) | 1;
        file.extend_from_slice(&addr.to_be_bytes());
        file.extend_from_slice(&1234u32.to_be_bytes());
        let (e, sensor) = decode_all(Format::Aedat2, &file).unwrap();
        assert_eq!(sensor, Some((128, 128)));
        assert_eq!(e.get(0), (1234, 17, 5, 1));
    }
}
