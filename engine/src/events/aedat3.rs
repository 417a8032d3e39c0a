//! AEDAT 3.1 (DVS128 Gesture), docs/semantics.md#event-formats: text header
//! up to `#!END-HEADER\r\n`, then packets of a 28-byte header
//! `(eventType u16, source u16, eventSize u32, tsOffset u32, tsOverflow u32,
//! capacity u32, number u32, valid u32)` and `capacity · eventSize` bytes.
//! Polarity packets (type 1) hold `(data u32, ts u32)` records:
//! `x = (data >> 17) & 0x7FFF, y = (data >> 2) & 0x7FFF, p = (data >> 1) & 1`,
//! `t = ts | tsOverflow << 31`. Records whose valid bit (`data & 1`) is clear
//! are skipped; other packet types are skipped whole.

use super::{le_u16, le_u32, BodyDecoder, DecodeError, Events, HeaderParse};

const END: &[u8] = b"#!END-HEADER\r\n";
const PACKET_HEADER: usize = 28;
/// A packet declaring more payload than this is refused (real packets hold kilobytes), so a
/// streaming decoder never waits on, or buffers, an absurd packet.
const MAX_PAYLOAD: u64 = 256 << 20;
const POLARITY: u16 = 1;

pub fn parse_header(data: &[u8], at_end: bool) -> Result<HeaderParse, DecodeError> {
    let Some(pos) = data.windows(END.len()).position(|w| w == END) else {
        return if at_end {
            Err(DecodeError::new(data.len() as u64, "no #!END-HEADER line"))
        } else {
            Ok(HeaderParse::NeedMore)
        };
    };
    let len = pos + END.len();
    let text = String::from_utf8_lossy(&data[..len]).to_ascii_lowercase();
    let sensor = if text.contains("dvs128") {
        Some((128, 128))
    } else if text.contains("davis346") {
        Some((346, 260))
    } else if text.contains("davis240") {
        Some((240, 180))
    } else {
        None
    };
    Ok(HeaderParse::Done {
        len,
        body: Box::new(Body),
        sensor,
    })
}

struct Body;

impl BodyDecoder for Body {
    fn decode(&mut self, data: &[u8], at: u64, out: &mut Events) -> Result<usize, DecodeError> {
        let mut pos = 0usize;
        while data.len() - pos >= PACKET_HEADER {
            let h = &data[pos..pos + PACKET_HEADER];
            let field = |i: usize| le_u32(h, i).unwrap_or(0);
            let event_type = le_u16(h, 0).unwrap_or(0);
            let (size, overflow, capacity) = (field(4) as u64, field(12) as i64, field(16) as u64);
            let payload = size * capacity;
            if payload > MAX_PAYLOAD {
                return Err(DecodeError::new(
                    at + pos as u64 + 4,
                    format!("packet declares {payload} bytes of events (more than {MAX_PAYLOAD})"),
                ));
            }
            if ((data.len() - pos - PACKET_HEADER) as u64) < payload {
                break; // the packet's payload has not all arrived
            }
            if event_type == POLARITY {
                if size < 8 {
                    return Err(DecodeError::new(
                        at + pos as u64 + 4,
                        format!("polarity packet with eventSize {size} (expected >= 8)"),
                    ));
                }
                let body = &data[pos + PACKET_HEADER..pos + PACKET_HEADER + payload as usize];
                for r in body.chunks_exact(size as usize) {
                    let d = le_u32(r, 0).unwrap_or(0);
                    if d & 1 == 0 {
                        continue;
                    }
                    let ts = le_u32(r, 4).unwrap_or(0) as i64;
                    out.push(
                        ts | (overflow << 31),
                        ((d >> 17) & 0x7FFF) as i16,
                        ((d >> 2) & 0x7FFF) as i16,
                        ((d >> 1) & 1) as u8,
                    );
                }
            }
            pos += PACKET_HEADER + payload as usize;
        }
        Ok(pos)
    }

    fn finish(&mut self, rest: &[u8], at: u64) -> Result<(), DecodeError> {
        if rest.is_empty() {
            return Ok(());
        }
        Err(DecodeError::new(
            at,
            format!("file truncated inside a packet ({} bytes left)", rest.len()),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::super::{decode_all, Format};

    fn packet(event_type: u16, size: u32, overflow: u32, records: &[(u32, u32)]) -> Vec<u8> {
        let mut p = Vec::new();
        for v in [
            event_type as u32 | (1 << 16),
            size,
            0,
            overflow,
            records.len() as u32,
            records.len() as u32,
            records.len() as u32,
        ] {
            p.extend_from_slice(&v.to_le_bytes());
        }
        for &(d, t) in records {
            p.extend_from_slice(&d.to_le_bytes());
            p.extend_from_slice(&t.to_le_bytes());
        }
        p
    }

    #[test]
    fn polarity_packets_decode_and_others_are_skipped() {
        let mut file = b"#!AER-DAT3.1\r\n#Source 1: DVS128\r\n#!END-HEADER\r\n".to_vec();
        let valid = (70 << 17) | (12 << 2) | (1 << 1) | 1;
        let invalid = (3 << 17) | (4 << 2);
        file.extend(packet(1, 8, 1, &[(valid, 99), (invalid, 100)]));
        file.extend(packet(2, 8, 0, &[(valid, 5)]));
        let (e, sensor) = decode_all(Format::Aedat3, &file).unwrap();
        assert_eq!(sensor, Some((128, 128)));
        assert_eq!(e.len(), 1);
        assert_eq!(e.get(0), (99 | (1 << 31), 70, 12, 1));
        file.pop();
        let err = decode_all(Format::Aedat3, &file).unwrap_err();
        assert!(err.reason.contains("truncated"));
    }
}
