//! Event-camera file readers and frame integration (docs/semantics.md#events,
//! docs/semantics.md#event-formats, docs/semantics.md#frames).
//!
//! Every reader turns bytes into 16-byte event records: `x` (i16) at byte 0,
//! `y` (i16) at 2, `t` (i64, µs) at 4 and `p` (0 or 1, one byte) at 12, three
//! bytes of padding: `snnrs.events.EVENT_DTYPE` in Python, tonic's field names,
//! order and packed layout (`x, y, t, p`) with a signed polarity. Readers
//! never index out of bounds, never allocate more than the input backs (and a
//! fixed cap for decompression), and report the byte offset of what they reject.
//!
//! Reading is streaming: a [`StreamDecoder`] takes the file in chunks and keeps
//! only an unfinished record (or packet) between them.

mod aedat2;
mod aedat3;
mod aedat4;
mod atis;
mod dat;
mod evt2;
mod evt3;
pub mod file_frames;
mod flatbuf;
pub mod frames;
mod header;
mod parallel;

use std::fmt;

/// Bytes per event record.
pub const RECORD_BYTES: usize = 16;

/// Longest text header a reader accepts before calling the file corrupt.
pub const MAX_HEADER_BYTES: usize = 16 << 20;

/// The decoded events, as packed records (see the module documentation).
///
/// Growth is fallible and bounded: past `limit` events, or when the allocator
/// refuses more memory, further events are dropped and the reason is kept;
/// decoders call [`Events::check`] after each pass, which turns it into a
/// [`DecodeError`] of kind [`ErrorKind::Memory`] (a `MemoryError` in Python).
#[derive(Debug, Clone)]
pub struct Events {
    pub bytes: Vec<u8>,
    limit: usize,
    exhausted: Option<String>,
}

impl Default for Events {
    fn default() -> Self {
        Events::with_limit(usize::MAX / RECORD_BYTES)
    }
}

impl Events {
    /// No events yet; at most `limit` of them.
    pub fn with_limit(limit: usize) -> Self {
        Events {
            bytes: Vec::new(),
            limit,
            exhausted: None,
        }
    }

    /// Events already decoded into `bytes` (whole records), under `limit`.
    pub fn from_bytes(bytes: Vec<u8>, limit: usize) -> Self {
        Events {
            bytes,
            limit,
            exhausted: None,
        }
    }

    pub fn limit(&self) -> usize {
        self.limit
    }

    /// Appends one event; past the limit or memory it is dropped and [`Events::check`] reports it.
    /// (The capacity is only ever reserved up to the limit, so one capacity test covers both.)
    #[inline(always)]
    pub fn push(&mut self, t: i64, x: i16, y: i16, p: u8) {
        if self.bytes.capacity() - self.bytes.len() < RECORD_BYTES && !self.grow(1) {
            return;
        }
        self.bytes.extend_from_slice(&pack(t, x, y, p));
    }

    /// Makes room for `records` more events (a hint before a run of pushes):
    /// never past the limit, and a refused allocation is left for `push` to report.
    pub fn reserve(&mut self, records: usize) {
        let free = (self.bytes.capacity() - self.bytes.len()) / RECORD_BYTES;
        if records <= free || self.exhausted.is_some() {
            return;
        }
        // at least doubling (called once per packet, an exact reserve would copy everything each time),
        // never past the limit
        let len = self.len();
        let room = records.max(len).min(self.limit.saturating_sub(len));
        if room > 0 {
            let _ = self.bytes.try_reserve_exact(room * RECORD_BYTES);
        }
    }

    /// Room for at least `records` more events, doubling as a `Vec` would.
    #[cold]
    #[inline(never)]
    fn grow(&mut self, records: usize) -> bool {
        if self.exhausted.is_some() {
            return false;
        }
        let len = self.len();
        if len + records > self.limit {
            self.exhausted = Some(format!(
                "more than max_events={} events; pass a larger max_events= or read the file in pieces \
                 with iter_events",
                self.limit
            ));
            return false;
        }
        // exact, so the capacity never passes the limit (push relies on it); doubling keeps it amortised
        let wanted = len.max(4096).min(self.limit - len).max(records);
        // refused: a quarter as much, still geometric (one record at a time would copy quadratically)
        if self.bytes.try_reserve_exact(wanted * RECORD_BYTES).is_ok()
            || self
                .bytes
                .try_reserve_exact((wanted / 4).max(records) * RECORD_BYTES)
                .is_ok()
        {
            return true;
        }
        self.exhausted = Some(format!(
            "out of memory: {} bytes for {} events could not be allocated; read the file in pieces with \
             iter_events",
            (len + records) * RECORD_BYTES,
            len + records
        ));
        false
    }

    /// Err (kind Memory, at `offset`) when events were dropped for the limit or memory.
    pub fn check(&self, offset: u64) -> Result<(), DecodeError> {
        match &self.exhausted {
            None => Ok(()),
            Some(reason) => Err(DecodeError::memory(offset, reason.clone())),
        }
    }

    pub fn len(&self) -> usize {
        self.bytes.len() / RECORD_BYTES
    }

    pub fn is_empty(&self) -> bool {
        self.bytes.is_empty()
    }

    /// Record `i` as `(t, x, y, p)`.
    pub fn get(&self, i: usize) -> (i64, i16, i16, u8) {
        record(&self.bytes[i * RECORD_BYTES..(i + 1) * RECORD_BYTES])
    }
}

/// One record's bytes, built as one 128-bit value so it is stored in one go:
/// `x` at byte 0, `y` at 2, `t` at 4, `p` at 12 (see the module documentation).
#[inline(always)]
pub fn pack(t: i64, x: i16, y: i16, p: u8) -> [u8; RECORD_BYTES] {
    let xy = (x as u16 as u128) | ((y as u16 as u128) << 16);
    (xy | ((t as u64 as u128) << 32) | ((p as u128) << 96)).to_le_bytes()
}

/// Splits one 16-byte record into its fields.
#[inline(always)]
pub fn record(r: &[u8]) -> (i64, i16, i16, u8) {
    let t = i64::from_le_bytes([r[4], r[5], r[6], r[7], r[8], r[9], r[10], r[11]]);
    (
        t,
        i16::from_le_bytes([r[0], r[1]]),
        i16::from_le_bytes([r[2], r[3]]),
        r[12],
    )
}

/// What kind of failure a [`DecodeError`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// The bytes are not a valid file of the format (ValueError).
    Corrupt,
    /// The events would exceed the event budget or the memory available (MemoryError).
    Memory,
}

/// Why bytes were rejected, and where (offset from the start of the file).
#[derive(Debug, Clone, PartialEq)]
pub struct DecodeError {
    pub offset: u64,
    pub reason: String,
    pub kind: ErrorKind,
}

impl DecodeError {
    pub fn new(offset: u64, reason: impl Into<String>) -> Self {
        DecodeError {
            offset,
            reason: reason.into(),
            kind: ErrorKind::Corrupt,
        }
    }

    pub fn memory(offset: u64, reason: impl Into<String>) -> Self {
        DecodeError {
            offset,
            reason: reason.into(),
            kind: ErrorKind::Memory,
        }
    }
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "byte offset {}: {}", self.offset, self.reason)
    }
}

/// The file formats read here.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// N-MNIST / N-Caltech101 ATIS `.bin`, 5 bytes per event, no header.
    Atis,
    Aedat2,
    Aedat3,
    Aedat4,
    Evt2,
    Evt3,
    /// Prophesee `.dat` (CD events).
    Dat,
}

pub const FORMAT_NAMES: &[(&str, Format)] = &[
    ("atis_bin", Format::Atis),
    ("aedat2", Format::Aedat2),
    ("aedat3", Format::Aedat3),
    ("aedat4", Format::Aedat4),
    ("evt2", Format::Evt2),
    ("evt3", Format::Evt3),
    ("dat", Format::Dat),
];

impl Format {
    pub fn from_name(name: &str) -> Option<Format> {
        FORMAT_NAMES
            .iter()
            .find(|(n, _)| *n == name)
            .map(|&(_, f)| f)
    }

    pub fn name(self) -> &'static str {
        FORMAT_NAMES
            .iter()
            .find(|(_, f)| *f == self)
            .map(|&(n, _)| n)
            .unwrap_or("?")
    }

    /// Guesses the format from the first bytes of a file and its name's
    /// extension (lower case, without the dot). None when neither tells.
    pub fn detect(head: &[u8], extension: &str) -> Option<Format> {
        if head.starts_with(b"#!AER-DAT4") {
            return Some(Format::Aedat4);
        }
        if head.starts_with(b"#!AER-DAT3") {
            return Some(Format::Aedat3);
        }
        if head.starts_with(b"#!AER-DAT2") || (head.starts_with(b"#") && extension == "aedat") {
            return Some(Format::Aedat2);
        }
        if head.starts_with(b"%") {
            let text = header::prophesee_header_text(head);
            if let Some(f) = header::prophesee_evt_version(&text) {
                return Some(f);
            }
            return match extension {
                "raw" => None,
                _ => Some(Format::Dat),
            };
        }
        match extension {
            "bin" => Some(Format::Atis),
            "dat" => Some(Format::Dat),
            "aedat4" => Some(Format::Aedat4),
            _ => None,
        }
    }
}

/// A format's decoder after its header: consumes whole units (records or packets).
pub(crate) trait BodyDecoder: Send {
    /// Decodes the whole units at the start of `data`, whose first byte is at
    /// file offset `at`; returns how many bytes it used.
    fn decode(&mut self, data: &[u8], at: u64, out: &mut Events) -> Result<usize, DecodeError>;

    /// Decodes all of `data` at once, in parallel where the format allows;
    /// None: the format decodes sequentially through [`BodyDecoder::decode`].
    /// At most `limit` events (more is a [`ErrorKind::Memory`] error).
    fn decode_whole(
        &mut self,
        _data: &[u8],
        _at: u64,
        _limit: usize,
    ) -> Option<Result<(Events, usize), DecodeError>> {
        None
    }

    /// Counts the body (file offset `at` to the end of `src`) into frames without
    /// writing events out, in parallel where the format allows (`file_frames`).
    /// None: the format has no such path (`file_frames` then decodes in blocks).
    fn frames_whole(
        &mut self,
        _src: &dyn file_frames::Source,
        _at: u64,
        _plan: &mut file_frames::Plan<'_>,
    ) -> Option<Result<Vec<f32>, file_frames::FramesError>> {
        None
    }

    /// The input ended with `rest` (fewer bytes than a unit) left over.
    fn finish(&mut self, rest: &[u8], at: u64) -> Result<(), DecodeError> {
        if rest.is_empty() {
            Ok(())
        } else {
            Err(truncated(rest.len(), at))
        }
    }
}

pub(crate) enum HeaderParse {
    /// The header goes on past the bytes seen so far.
    NeedMore,
    Done {
        /// Header length in bytes.
        len: usize,
        body: Box<dyn BodyDecoder>,
        /// (width, height) when the header tells.
        sensor: Option<(u32, u32)>,
    },
}

fn parse_header(format: Format, data: &[u8], at_end: bool) -> Result<HeaderParse, DecodeError> {
    match format {
        Format::Atis => Ok(HeaderParse::Done {
            len: 0,
            body: Box::new(atis::Body::default()),
            sensor: None,
        }),
        Format::Aedat2 => aedat2::parse_header(data, at_end),
        Format::Aedat3 => aedat3::parse_header(data, at_end),
        Format::Aedat4 => aedat4::parse_header(data, at_end),
        Format::Evt2 => evt2::parse_header(data, at_end),
        Format::Evt3 => evt3::parse_header(data, at_end),
        Format::Dat => dat::parse_header(data, at_end),
    }
}

/// Decodes a whole file held in memory.
pub fn decode_all(
    format: Format,
    data: &[u8],
) -> Result<(Events, Option<(u32, u32)>), DecodeError> {
    decode_all_limited(format, data, usize::MAX / RECORD_BYTES)
}

/// A parsed header: its length, the body's decoder and the sensor size when the header tells.
pub(crate) type Header = (usize, Box<dyn BodyDecoder>, Option<(u32, u32)>);

/// The header of a whole file held in memory.
pub(crate) fn header_of(format: Format, data: &[u8]) -> Result<Header, DecodeError> {
    match parse_header(format, data, true)? {
        HeaderParse::Done { len, .. } if len > MAX_HEADER_BYTES => Err(DecodeError::new(
            0,
            format!("no end of header within {MAX_HEADER_BYTES} bytes"),
        )),
        HeaderParse::Done { len, body, sensor } => Ok((len, body, sensor)),
        HeaderParse::NeedMore => Err(DecodeError::new(
            data.len() as u64,
            "file ends inside its header",
        )),
    }
}

/// The error for `rest` bytes at offset `at` that do not make a whole unit.
pub(crate) fn truncated(rest: usize, at: u64) -> DecodeError {
    DecodeError::new(
        at,
        format!("file truncated: {rest} trailing bytes do not make a whole record"),
    )
}

/// Decodes a whole file held in memory into at most `max_events` events;
/// more, or more than memory holds, is an error of kind [`ErrorKind::Memory`].
pub fn decode_all_limited(
    format: Format,
    data: &[u8],
    max_events: usize,
) -> Result<(Events, Option<(u32, u32)>), DecodeError> {
    let mut out = Events::with_limit(max_events);
    let (len, mut body, sensor) = header_of(format, data)?;
    let rest = &data[len..];
    let used = match body.decode_whole(rest, len as u64, max_events) {
        Some(result) => {
            let (events, used) = result?;
            out = events;
            used
        }
        None => {
            let decoded = body.decode(rest, len as u64, &mut out);
            out.check(len as u64)?; // dropped events make any later error meaningless
            decoded?
        }
    };
    body.finish(&rest[used..], (len + used) as u64)?;
    Ok((out, sensor))
}

/// Decodes a file fed in chunks of any size; holds only the unfinished tail.
pub struct StreamDecoder {
    format: Format,
    pending: Vec<u8>,
    /// File offset of `pending[0]`.
    offset: u64,
    body: Option<Box<dyn BodyDecoder>>,
    sensor: Option<(u32, u32)>,
    failed: Option<DecodeError>,
    finished: bool,
    /// The header is parsed again only once `pending` reaches this length: each
    /// failed attempt doubles it, so small chunks cost linear time, not quadratic.
    header_retry_at: usize,
}

impl StreamDecoder {
    pub fn new(format: Format) -> Self {
        StreamDecoder {
            format,
            pending: Vec::new(),
            offset: 0,
            body: None,
            sensor: None,
            failed: None,
            finished: false,
            header_retry_at: 0,
        }
    }

    pub fn format(&self) -> Format {
        self.format
    }

    /// (width, height), once the header is read and when it tells.
    pub fn sensor(&self) -> Option<(u32, u32)> {
        self.sensor
    }

    /// Bytes consumed so far (the offset of the next undecoded byte).
    pub fn position(&self) -> u64 {
        self.offset
    }

    fn check_usable(&self) -> Result<(), DecodeError> {
        if let Some(e) = &self.failed {
            return Err(e.clone());
        }
        if self.finished {
            return Err(DecodeError::new(self.offset, "decoder already finished"));
        }
        Ok(())
    }

    fn step(&mut self, at_end: bool, out: &mut Events) -> Result<(), DecodeError> {
        if self.body.is_none() {
            if !at_end && self.pending.len() < self.header_retry_at {
                return Ok(());
            }
            match parse_header(self.format, &self.pending, at_end)? {
                HeaderParse::NeedMore => {
                    if at_end {
                        return Err(DecodeError::new(
                            self.offset + self.pending.len() as u64,
                            "file ends inside its header",
                        ));
                    }
                    if self.pending.len() > MAX_HEADER_BYTES {
                        return Err(DecodeError::new(
                            0,
                            format!("no end of header within {MAX_HEADER_BYTES} bytes"),
                        ));
                    }
                    self.header_retry_at =
                        (self.pending.len() * 2).clamp(256, MAX_HEADER_BYTES + 1);
                    return Ok(());
                }
                HeaderParse::Done { len, .. } if len > MAX_HEADER_BYTES => {
                    return Err(DecodeError::new(
                        0,
                        format!("no end of header within {MAX_HEADER_BYTES} bytes"),
                    ));
                }
                HeaderParse::Done { len, body, sensor } => {
                    self.pending.drain(..len);
                    self.offset += len as u64;
                    self.body = Some(body);
                    self.sensor = sensor;
                }
            }
        }
        if let Some(body) = self.body.as_mut() {
            let decoded = body.decode(&self.pending, self.offset, out);
            out.check(self.offset)?;
            let used = decoded?;
            self.pending.drain(..used);
            self.offset += used as u64;
            if at_end {
                body.finish(&self.pending, self.offset)?;
            }
        }
        Ok(())
    }

    /// Decodes what it can of the bytes so far plus `chunk`.
    pub fn feed(&mut self, chunk: &[u8], out: &mut Events) -> Result<(), DecodeError> {
        self.check_usable()?;
        if self.pending.try_reserve(chunk.len()).is_err() {
            let e = DecodeError::memory(
                self.offset,
                format!(
                    "out of memory: {} bytes for the unfinished input could not be allocated",
                    self.pending.len() + chunk.len()
                ),
            );
            self.failed = Some(e.clone());
            return Err(e);
        }
        self.pending.extend_from_slice(chunk);
        let result = self.step(false, out);
        if let Err(e) = &result {
            self.failed = Some(e.clone());
        }
        result
    }

    /// The input has ended: decodes the rest, or says why it cannot.
    pub fn finish(&mut self, out: &mut Events) -> Result<(), DecodeError> {
        self.check_usable()?;
        let result = self.step(true, out);
        self.finished = true;
        if let Err(e) = &result {
            self.failed = Some(e.clone());
        }
        result
    }
}

/// Little-endian readers that report a short input instead of panicking.
pub(crate) fn le_u16(data: &[u8], pos: usize) -> Option<u16> {
    let b = data.get(pos..pos.checked_add(2)?)?;
    Some(u16::from_le_bytes([b[0], b[1]]))
}

pub(crate) fn le_u32(data: &[u8], pos: usize) -> Option<u32> {
    let b = data.get(pos..pos.checked_add(4)?)?;
    Some(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
}

pub(crate) fn le_i64(data: &[u8], pos: usize) -> Option<i64> {
    let b = data.get(pos..pos.checked_add(8)?)?;
    Some(i64::from_le_bytes([
        b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7],
    ]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_round_trip() {
        let mut e = Events::default();
        e.push(-5, 300, -2, 1);
        e.push(1 << 40, 0, 7, 0);
        assert_eq!(e.len(), 2);
        assert_eq!(e.get(0), (-5, 300, -2, 1));
        assert_eq!(e.get(1), (1 << 40, 0, 7, 0));
    }

    #[test]
    fn chunked_decoding_equals_whole_decoding() {
        // ATIS records: 5 bytes, fed in chunks that cut records apart.
        let data: Vec<u8> = (0..5 * 40).map(|i| (i * 37 % 251) as u8).collect();
        let (whole, _) = decode_all(Format::Atis, &data).unwrap();
        for chunk in [1usize, 3, 7, 64] {
            let mut d = StreamDecoder::new(Format::Atis);
            let mut out = Events::default();
            for c in data.chunks(chunk) {
                d.feed(c, &mut out).unwrap();
            }
            d.finish(&mut out).unwrap();
            assert_eq!(out.bytes, whole.bytes, "chunk {chunk}");
        }
    }

    #[test]
    fn detection_reads_magic_and_extension() {
        assert_eq!(
            Format::detect(b"#!AER-DAT4.0\r\n", ""),
            Some(Format::Aedat4)
        );
        assert_eq!(
            Format::detect(b"#!AER-DAT3.1\r\n", ""),
            Some(Format::Aedat3)
        );
        assert_eq!(
            Format::detect(b"#!AER-DAT2.0\r\n", ""),
            Some(Format::Aedat2)
        );
        assert_eq!(Format::detect(b"% evt 3.0\n", "raw"), Some(Format::Evt3));
        assert_eq!(
            Format::detect(b"% format EVT21;height=720\n% evt 2.1\n", "raw"),
            None
        );
        assert_eq!(
            Format::detect(b"% format EVT2;height=480\n", "raw"),
            Some(Format::Evt2)
        );
        assert_eq!(Format::detect(b"% Version 2\n", "dat"), Some(Format::Dat));
        assert_eq!(Format::detect(&[1, 2, 3], "bin"), Some(Format::Atis));
        assert_eq!(Format::detect(&[1, 2, 3], "xyz"), None);
    }
}
