//! AEDAT 4 (DV cameras): the line `#!AER-DAT4.0\r\n`, an i32 header size and an
//! `IOHeader` FlatBuffer (compression, data-table position, XML stream
//! description); then packets `(stream id i32, size i32, payload)` up to the
//! data table. Payloads of event streams (`typeIdentifier` EVTS) are
//! size-prefixed `EventPacket` FlatBuffers, each event a 16-byte struct
//! `(t i64, x i16, y i16, on bool)`, compressed with LZ4 or Zstd frames as the
//! header says. Other streams (frames, IMU, triggers) are skipped.

use super::flatbuf::Table;
use super::{le_u32, BodyDecoder, DecodeError, Events, HeaderParse};
use std::borrow::Cow;
use std::io::Read;

const MAGIC: &[u8] = b"#!AER-DAT4";
/// Packets (as stored, and decompressed) larger than this are refused, so memory stays
/// bounded while streaming and hostile packets cannot inflate without limit.
const MAX_PACKET_BYTES: u64 = 256 << 20;
/// All packets of a file together may decompress to at most this many times the bytes read
/// (event packets compress about 3-10x; LZ4's hard limit is 255x).
const MAX_EXPANSION: u64 = 256;
const EVENT_BYTES: usize = 16;

#[derive(Clone, Copy, Debug, PartialEq)]
enum Compression {
    None,
    Lz4,
    Zstd,
}

pub fn parse_header(data: &[u8], at_end: bool) -> Result<HeaderParse, DecodeError> {
    let need_more = |what: &str| {
        if at_end {
            Err(DecodeError::new(
                data.len() as u64,
                format!("file ends inside the {what}"),
            ))
        } else {
            Ok(HeaderParse::NeedMore)
        }
    };
    let Some(newline) = data.iter().take(64).position(|&b| b == b'\n') else {
        return if data.len() >= 64 {
            Err(DecodeError::new(0, "no #!AER-DAT4 first line"))
        } else {
            need_more("version line")
        };
    };
    if !data.starts_with(MAGIC) {
        return Err(DecodeError::new(
            0,
            "not an AEDAT 4 file (no #!AER-DAT4 first line)",
        ));
    }
    let start = newline + 1;
    let Some(size) = le_u32(data, start) else {
        return need_more("header size");
    };
    let size = size as i32;
    if size < 0 {
        return Err(DecodeError::new(
            start as u64,
            format!("negative header size {size}"),
        ));
    }
    let (begin, end) = (start + 4, start + 4 + size as usize);
    if data.len() < end {
        return need_more("IOHeader");
    }
    let header = &data[begin..end];
    let bad = |reason: String| DecodeError::new(begin as u64, format!("IOHeader: {reason}"));
    let table = Table::root(header, 0).map_err(bad)?;
    let compression = match table.i32_field(0, 0).map_err(bad)? {
        0 => Compression::None,
        1 | 2 => Compression::Lz4,
        3 | 4 => Compression::Zstd,
        other => return Err(bad(format!("unknown compression {other}"))),
    };
    let data_table = table.i64_field(1, -1).map_err(bad)?;
    let xml = table.string(2).map_err(bad)?.unwrap_or(&[]);
    let streams = Streams::from_xml(&String::from_utf8_lossy(xml));
    if streams.event_ids.is_empty() {
        let kinds: Vec<String> = streams
            .declared
            .iter()
            .map(|(id, kind)| format!("{id}: {kind}"))
            .collect();
        return Err(bad(format!(
            "its stream description declares no event stream (typeIdentifier EVTS); streams: [{}]",
            kinds.join(", ")
        )));
    }
    if data_table >= 0 && (data_table as u64) < end as u64 {
        return Err(bad(format!(
            "dataTablePosition {data_table} lies inside the header (which ends at byte {end})"
        )));
    }
    Ok(HeaderParse::Done {
        len: end,
        sensor: streams.sensor,
        body: Box::new(Body {
            compression,
            data_table,
            event_streams: streams.event_ids,
            declared: streams.declared.into_iter().map(|(id, _)| id).collect(),
            read: end as u64,
            inflated: 0,
            table: None,
        }),
    })
}

/// What the XML description says: which stream ids carry events, and the event sensor's size.
struct Streams {
    event_ids: Vec<i32>,
    /// Every declared stream: (id, typeIdentifier).
    declared: Vec<(i32, String)>,
    sensor: Option<(u32, u32)>,
}

fn attribute<'a>(node: &'a str, key: &str) -> Option<&'a str> {
    let at = node.find(&format!("key=\"{key}\""))?;
    let rest = &node[at..];
    let open = rest.find('>')? + 1;
    let close = rest[open..].find('<')?;
    Some(rest[open..open + close].trim())
}

impl Streams {
    fn from_xml(xml: &str) -> Self {
        let mut by_id: Vec<(i32, String)> = Vec::new();
        for node in xml.split("<node ") {
            let Some(at) = node.find("/outInfo/") else {
                continue;
            };
            let digits: String = node[at + 9..]
                .chars()
                .take_while(|c| c.is_ascii_digit())
                .collect();
            let Ok(id) = digits.parse::<i32>() else {
                continue;
            };
            match by_id.iter_mut().find(|(i, _)| *i == id) {
                Some((_, text)) => text.push_str(node),
                None => by_id.push((id, node.to_string())),
            }
        }
        let mut streams = Streams {
            event_ids: Vec::new(),
            declared: Vec::new(),
            sensor: None,
        };
        for (id, text) in &by_id {
            let kind = attribute(text, "typeIdentifier").unwrap_or("?");
            streams.declared.push((*id, kind.to_string()));
            if kind == "EVTS" {
                streams.event_ids.push(*id);
                let size = |k| attribute(text, k).and_then(|v| v.parse::<u32>().ok());
                if let (Some(w), Some(h), None) = (size("sizeX"), size("sizeY"), streams.sensor) {
                    streams.sensor = Some((w, h));
                }
            }
        }
        streams
    }
}

struct Body {
    compression: Compression,
    /// File offset of the data table (an index after the packets), or -1.
    data_table: i64,
    event_streams: Vec<i32>,
    /// Every stream id the header declares; a packet of another id means damage.
    declared: Vec<i32>,
    /// Bytes of the file seen so far, and bytes decompressed from them.
    read: u64,
    inflated: u64,
    /// The data table's bytes once its position is reached (checked at the end).
    table: Option<Vec<u8>>,
}

/// The packet's FlatBuffer: borrowed when stored uncompressed, else decompressed (at most `limit` bytes).
/// A decompressed size the allocator refuses is an error of kind Memory, not an abort.
fn decompress(
    compression: Compression,
    payload: &[u8],
    limit: u64,
    at: u64,
) -> Result<Cow<'_, [u8]>, DecodeError> {
    if compression == Compression::None {
        return Ok(Cow::Borrowed(payload));
    }
    let cap = limit.min(MAX_PACKET_BYTES);
    let run = || -> Result<Vec<u8>, DecodeError> {
        match compression {
            Compression::None => unreachable!("handled above"),
            Compression::Lz4 => read_capped(
                lz4_flex::frame::FrameDecoder::new(payload),
                cap,
                compression,
                at,
            ),
            Compression::Zstd => {
                let mut source = payload;
                let decoder = ruzstd::decoding::StreamingDecoder::new(&mut source)
                    .map_err(|e| DecodeError::new(at, format!("Zstd frame: {e}")))?;
                read_capped(decoder, cap, compression, at)
            }
        }
    };
    // The decompressors are third-party code: a panic on hostile bytes becomes an error here.
    std::panic::catch_unwind(run)
        .unwrap_or_else(|_| {
            Err(DecodeError::new(
                at,
                format!("{compression:?} decoder failed on corrupt data"),
            ))
        })
        .map(Cow::Owned)
}

/// All of `reader`'s bytes, growing the buffer fallibly; more than `cap` bytes is an error.
fn read_capped(
    mut reader: impl Read,
    cap: u64,
    compression: Compression,
    at: u64,
) -> Result<Vec<u8>, DecodeError> {
    let mut out: Vec<u8> = Vec::new();
    let mut piece = vec![0u8; 64 << 10];
    loop {
        let n = reader
            .read(&mut piece)
            .map_err(|e| DecodeError::new(at, format!("{compression:?} frame: {e}")))?;
        if n == 0 {
            return Ok(out);
        }
        if (out.len() + n) as u64 > cap {
            return Err(DecodeError::new(
                at,
                format!(
                    "packet decompresses to more than {cap} bytes (limits: {MAX_PACKET_BYTES} per packet, \
                     {MAX_EXPANSION}x the bytes read so far)"
                ),
            ));
        }
        if out.try_reserve(n).is_err() {
            return Err(DecodeError::memory(
                at,
                format!(
                    "out of memory: {} bytes for a decompressed packet could not be allocated",
                    out.len() + n
                ),
            ));
        }
        out.extend_from_slice(&piece[..n]);
    }
}

fn decode_events(packet: &[u8], out: &mut Events) -> Result<(), String> {
    if packet.get(8..12) != Some(b"EVTS") {
        return Err("event packet without the EVTS identifier".into());
    }
    let table = Table::root(packet, 4)?;
    let events = table.structs(0, EVENT_BYTES)?;
    out.reserve(events.len() / EVENT_BYTES);
    for e in events.chunks_exact(EVENT_BYTES) {
        let t = i64::from_le_bytes([e[0], e[1], e[2], e[3], e[4], e[5], e[6], e[7]]);
        out.push(
            t,
            i16::from_le_bytes([e[8], e[9]]),
            i16::from_le_bytes([e[10], e[11]]),
            (e[12] != 0) as u8,
        );
    }
    Ok(())
}

impl Body {
    /// The data table's bytes arriving (it runs to the end of the file).
    fn take_table(&mut self, data: &[u8], at: u64) -> Result<usize, DecodeError> {
        let table = self.table.get_or_insert_with(Vec::new);
        if (table.len() + data.len()) as u64 > MAX_PACKET_BYTES {
            return Err(DecodeError::new(
                at,
                format!("data table longer than {MAX_PACKET_BYTES} bytes"),
            ));
        }
        if table.try_reserve(data.len()).is_err() {
            return Err(DecodeError::memory(at, "out of memory for the data table"));
        }
        table.extend_from_slice(data);
        Ok(data.len())
    }
}

impl BodyDecoder for Body {
    fn decode(&mut self, data: &[u8], at: u64, out: &mut Events) -> Result<usize, DecodeError> {
        if self.table.is_some() {
            return self.take_table(data, at);
        }
        let mut pos = 0usize;
        loop {
            let offset = at + pos as u64;
            if self.data_table >= 0 && offset >= self.data_table as u64 {
                // packets end exactly where the header puts the data table (checked below)
                return Ok(pos + self.take_table(&data[pos..], offset)?);
            }
            let (Some(stream), Some(size)) = (le_u32(data, pos), le_u32(data, pos + 4)) else {
                return Ok(pos);
            };
            let (stream, size) = (stream as i32, size as i32);
            if size < 0 || size as u64 > MAX_PACKET_BYTES {
                return Err(DecodeError::new(
                    offset + 4,
                    format!("packet size {size} outside 0..={MAX_PACKET_BYTES}"),
                ));
            }
            if !self.declared.contains(&stream) {
                return Err(DecodeError::new(
                    offset,
                    format!(
                        "packet of stream {stream}, which the header does not declare (streams {:?})",
                        self.declared
                    ),
                ));
            }
            let packet_end = offset + 8 + size as u64;
            if self.data_table >= 0 && packet_end > self.data_table as u64 {
                return Err(DecodeError::new(
                    offset,
                    format!(
                        "the header puts the data table at byte {}, inside the packet at bytes \
                         {offset}..{packet_end}",
                        self.data_table
                    ),
                ));
            }
            let Some(end) = pos.checked_add(8 + size as usize) else {
                return Err(DecodeError::new(offset + 4, "packet size overflows"));
            };
            if data.len() < end {
                return Ok(pos);
            }
            self.read += 8 + size as u64;
            if self.event_streams.contains(&stream) {
                let budget = (self.read * MAX_EXPANSION).saturating_sub(self.inflated);
                let packet = decompress(self.compression, &data[pos + 8..end], budget, offset + 8)?;
                self.inflated += packet.len() as u64;
                decode_events(&packet, out).map_err(|r| DecodeError::new(offset + 8, r))?;
            }
            pos = end;
        }
    }

    fn finish(&mut self, rest: &[u8], at: u64) -> Result<(), DecodeError> {
        if let Some(table) = self.table.take() {
            if table.is_empty() {
                return Err(DecodeError::new(
                    at,
                    format!(
                        "file truncated: it ends at byte {at}, where its header puts the data table"
                    ),
                ));
            }
            // What stands at dataTablePosition must be the file's data table (a FlatBuffer
            // identified FTAB), or the position was damaged and packets after it were skipped.
            let position = self.data_table as u64;
            let inflated = decompress(self.compression, &table, MAX_PACKET_BYTES, position)
                .map_err(|e| {
                    DecodeError::new(
                        position,
                        format!(
                    "no data table at dataTablePosition {position} ({}): the position is damaged",
                    e.reason
                ),
                    )
                })?;
            if inflated.get(8..12) != Some(b"FTAB") {
                return Err(DecodeError::new(
                    position,
                    format!(
                        "no data table (FTAB) at dataTablePosition {position}: the position is \
                         damaged and the packets after it would be skipped"
                    ),
                ));
            }
            return Ok(());
        }
        if !rest.is_empty() {
            return Err(DecodeError::new(
                at,
                format!("file truncated inside a packet ({} bytes left)", rest.len()),
            ));
        }
        if self.data_table >= 0 {
            return Err(DecodeError::new(
                at,
                format!(
                    "file truncated: it ends at byte {at}, before the data table its header puts \
                     at byte {} (packets are missing)",
                    self.data_table
                ),
            ));
        }
        Ok(())
    }
}
