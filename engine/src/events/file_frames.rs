//! Event files straight into frames (docs/semantics.md#frames-from-files): the
//! file is read in blocks and each event is counted into the frames whose window
//! holds it, with neither the file nor the events held in memory whole.
//!
//! Formats whose body decodes in parallel ([`Chunked`]: ATIS, EVT 2.0, EVT 3.0, AEDAT 2,
//! `.dat`) take two passes over the file, both on every core, block by block:
//! the scan counts each block's events and chains the decoder state across
//! blocks (as reading does); the caller's [`Plan`] then chooses the windows from
//! the event count and the first and last timestamps; the second pass decodes
//! contiguous runs of blocks ("pieces") and counts their events in place. Other
//! formats decode twice, sequentially, in blocks.
//!
//! Windows are sorted (their starts and their ends never decrease), so while a
//! piece's events advance, the frames holding them form a range that advances
//! too. Pieces run at once on shared frames, so a frame two pieces can touch is
//! counted privately: a frame shared with the piece before holds this piece's
//! first event (windows are intervals, and the pieces' events are in order), so
//! the frames holding a piece's first event are counted into its own buffer and
//! added in afterwards; every other frame the piece reaches is its alone. When
//! time windows meet events out of order, which this argument needs, the
//! result is an error, never frames. Counts are integers until the end
//! (relaxed atomic loads and stores: plain moves, and no data race).

use super::frames::{counts_to_floats, FrameSpec};
use super::parallel::Chunked;
use super::{DecodeError, Events, Format, HeaderParse, StreamDecoder, MAX_HEADER_BYTES};
use rayon::prelude::*;
use std::sync::atomic::{AtomicU32, Ordering::Relaxed};

/// Bytes read at a time (per thread): a block and its decoding stay in cache.
const BLOCK_BYTES: usize = 1 << 20;

/// Timestamps compare with float window bounds exactly below this magnitude.
const EXACT_TIME: i64 = 1 << 53;

/// Which events each frame counts.
#[derive(Debug, Clone)]
pub enum Windows {
    /// Frame `i` counts the events whose index (from 0, in file order) is in `lo[i]..hi[i]`.
    Index { lo: Vec<u64>, hi: Vec<u64> },
    /// Frame `i` counts the events with `lo[i] <= t < hi[i]` (`t` compared as f64,
    /// as NumPy compares int64 times with float bounds); events must be sorted by `t`.
    Time { lo: Vec<f64>, hi: Vec<f64> },
}

impl Windows {
    pub fn len(&self) -> usize {
        match self {
            Windows::Index { lo, .. } => lo.len(),
            Windows::Time { lo, .. } => lo.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn validate(&self, count: u64) -> Result<(), FramesError> {
        fn sorted<T: PartialOrd + Copy>(lo: &[T], hi: &[T]) -> bool {
            lo.len() == hi.len()
                && lo.windows(2).all(|w| w[0] <= w[1])
                && hi.windows(2).all(|w| w[0] <= w[1])
                && lo.iter().zip(hi).all(|(l, h)| l <= h)
        }
        let ok = match self {
            Windows::Index { lo, hi } => sorted(lo, hi) && hi.iter().all(|&h| h <= count),
            Windows::Time { lo, hi } => sorted(lo, hi) && !lo.iter().chain(hi).any(|v| v.is_nan()),
        };
        if ok {
            Ok(())
        } else {
            Err(FramesError::Invalid(
                "windows: expected as many starts as ends, both non-decreasing, each start <= its end \
                 (and index windows within the events)"
                    .into(),
            ))
        }
    }

    /// The bounds as integer thresholds on the event's position (its index, or its
    /// time): for an integer `t` below 2^53, `t as f64 >= b` exactly when `t >= ceil(b)`.
    fn thresholds(&self) -> (Vec<i64>, Vec<i64>) {
        fn ceil(b: f64) -> i64 {
            let c = b.ceil();
            if c <= i64::MIN as f64 {
                i64::MIN
            } else if c >= i64::MAX as f64 {
                i64::MAX
            } else {
                c as i64
            }
        }
        match self {
            Windows::Index { lo, hi } => (
                lo.iter().map(|&v| v.min(i64::MAX as u64) as i64).collect(),
                hi.iter().map(|&v| v.min(i64::MAX as u64) as i64).collect(),
            ),
            Windows::Time { lo, hi } => (
                lo.iter().map(|&b| ceil(b)).collect(),
                hi.iter().map(|&b| ceil(b)).collect(),
            ),
        }
    }
}

/// What the scan found, for the [`Plan`] to choose windows from.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Overview {
    pub count: u64,
    /// Timestamps of the first and the last event in file order.
    pub first_last: Option<(i64, i64)>,
    /// (width, height) when the file's header tells.
    pub sensor: Option<(u32, u32)>,
}

/// The frames to fill: their windows and geometry.
pub struct Layout {
    pub windows: Windows,
    pub spec: FrameSpec,
}

/// Chooses the frames once the events are known (at the Python boundary: a callback).
pub type Plan<'a> = dyn FnMut(&Overview) -> Result<Layout, FramesError> + 'a;

/// Why no frames came out.
#[derive(Debug, Clone)]
pub enum FramesError {
    /// The bytes are not a valid file (or would not fit in memory): as reading them says.
    Decode(DecodeError),
    /// The events do not fit the frames (outside the sensor, unsorted times), or bad windows.
    Invalid(String),
    /// The frames could not be allocated.
    Memory(String),
    /// The file could not be read (or changed size while being read).
    Io(String),
    /// The plan gave up (the caller holds the reason).
    Plan,
}

impl From<DecodeError> for FramesError {
    fn from(e: DecodeError) -> Self {
        FramesError::Decode(e)
    }
}

/// Bytes read by offset: a file (read with positioned reads, from any thread) or memory.
pub trait Source: Sync {
    fn len(&self) -> u64;
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// Bytes read at a time.
    fn block_bytes(&self) -> usize {
        BLOCK_BYTES
    }
    /// Fills `buf` from `offset`; an Io error when the source has fewer bytes there.
    fn read_at(&self, buf: &mut [u8], offset: u64) -> Result<(), FramesError>;
}

/// Bytes held in memory.
pub struct Memory<'a>(pub &'a [u8]);

impl Source for Memory<'_> {
    fn len(&self) -> u64 {
        self.0.len() as u64
    }

    fn read_at(&self, buf: &mut [u8], offset: u64) -> Result<(), FramesError> {
        let start = usize::try_from(offset).ok();
        match start.and_then(|s| self.0.get(s..s.checked_add(buf.len())?)) {
            Some(bytes) => {
                buf.copy_from_slice(bytes);
                Ok(())
            }
            None => Err(FramesError::Io(format!(
                "no {} bytes at offset {offset}",
                buf.len()
            ))),
        }
    }
}

/// A file of a known length (its length when the read began: a file that
/// shrinks while being read is an error, one that grows is read to that length).
pub struct FileSource {
    pub file: std::fs::File,
    pub len: u64,
    /// Bytes read at a time (tests make it small, so that files of a few events
    /// take many blocks and pieces).
    pub block_bytes: usize,
}

impl Source for FileSource {
    fn len(&self) -> u64 {
        self.len
    }

    fn block_bytes(&self) -> usize {
        self.block_bytes.max(1)
    }

    fn read_at(&self, buf: &mut [u8], offset: u64) -> Result<(), FramesError> {
        let wanted = buf.len();
        let shrank = |e: std::io::Error| {
            FramesError::Io(if e.kind() == std::io::ErrorKind::UnexpectedEof {
                format!(
                    "the file shrank below {} bytes while being read (is another process writing or \
                     truncating it?)",
                    offset + wanted as u64
                )
            } else {
                format!("reading {wanted} bytes at offset {offset}: {e}")
            })
        };
        #[cfg(unix)]
        {
            use std::os::unix::fs::FileExt;
            self.file.read_exact_at(buf, offset).map_err(shrank)
        }
        #[cfg(windows)]
        {
            use std::os::windows::fs::FileExt;
            let (mut done, mut buf) = (0u64, buf);
            while !buf.is_empty() {
                match self.file.seek_read(buf, offset + done) {
                    Ok(0) => return Err(shrank(std::io::ErrorKind::UnexpectedEof.into())),
                    Ok(n) => {
                        done += n as u64;
                        buf = &mut buf[n..];
                    }
                    Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                    Err(e) => return Err(shrank(e)),
                }
            }
            Ok(())
        }
    }
}

/// Frames `[windows, channels, height, width]` (row-major) of a whole event file.
pub fn frames_of(
    format: Format,
    src: &dyn Source,
    plan: &mut Plan<'_>,
) -> Result<Vec<f32>, FramesError> {
    let (len, mut body, sensor) = header(format, src)?;
    let mut with_sensor = |o: &Overview| plan(&Overview { sensor, ..*o });
    if let Some(result) = body.frames_whole(src, len as u64, &mut with_sensor) {
        return result;
    }
    streamed_frames(format, src, &mut with_sensor)
}

/// Parses the header from the file's first bytes, reading more while it goes on.
fn header(format: Format, src: &dyn Source) -> Result<super::Header, FramesError> {
    let total = src.len();
    let mut size = total.min(1 << 16);
    loop {
        let mut head = vec![0u8; size as usize];
        src.read_at(&mut head, 0)?;
        let at_end = size == total;
        match super::parse_header(format, &head, at_end)? {
            HeaderParse::Done { len, .. } if len > MAX_HEADER_BYTES => {
                return Err(DecodeError::new(
                    0,
                    format!("no end of header within {MAX_HEADER_BYTES} bytes"),
                )
                .into())
            }
            HeaderParse::Done { len, body, sensor } => return Ok((len, body, sensor)),
            HeaderParse::NeedMore if at_end => {
                return Err(DecodeError::new(total, "file ends inside its header").into())
            }
            HeaderParse::NeedMore if size as usize > MAX_HEADER_BYTES => {
                return Err(DecodeError::new(
                    0,
                    format!("no end of header within {MAX_HEADER_BYTES} bytes"),
                )
                .into())
            }
            HeaderParse::NeedMore => size = total.min(size * 4),
        }
    }
}

thread_local! {
    /// Each thread's block buffer, kept between blocks and calls: reading a
    /// block costs no allocation, page faults or zeroing (at most BLOCK_BYTES a thread).
    static BLOCK: std::cell::RefCell<Vec<u8>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// `f` of the `len` bytes of `src` at `offset`, read into this thread's block buffer.
fn with_block<R>(
    src: &dyn Source,
    &(offset, len): &(u64, usize),
    f: impl FnOnce(&[u8]) -> R,
) -> Result<R, FramesError> {
    BLOCK.with(|cell| {
        let mut fresh = Vec::new();
        let mut held = cell.try_borrow_mut().ok(); // never nested; a fresh buffer if it were
        let buf: &mut Vec<u8> = held.as_deref_mut().unwrap_or(&mut fresh);
        if buf.len() < len {
            buf.try_reserve_exact(len - buf.len()).map_err(|_| {
                FramesError::Memory(format!(
                    "out of memory: {len} bytes to read a block could not be allocated"
                ))
            })?;
            buf.resize(len, 0);
        }
        src.read_at(&mut buf[..len], offset)?;
        Ok(f(&buf[..len]))
    })
}

const UNSORTED: &str =
    "events: time-based windows need events sorted by t (this file's are not; read_events \
                        and np.sort(events, order='t') first)";

/// Frames of a [`Chunked`] body from file offset `at` to the end, decoder state
/// `initial` at its start. A trailing partial unit is an error before any frame
/// is counted, as reading reports it.
pub(crate) fn chunked_frames<C: Chunked>(
    c: &C,
    src: &dyn Source,
    at: u64,
    initial: C::State,
    plan: &mut Plan<'_>,
) -> Result<Vec<f32>, FramesError> {
    let unit = c.unit() as u64;
    let body = src.len() - at;
    let whole = body / unit * unit;
    let block = (src.block_bytes() as u64 / unit).max(1) * unit;
    let blocks: Vec<(u64, usize)> = (0..whole.div_ceil(block))
        .map(|k| (at + k * block, (whole - k * block).min(block) as usize))
        .collect();
    // pass one: each block's events and effect on the state
    let scans: Vec<Result<(usize, C::Summary), FramesError>> = blocks
        .par_iter()
        .map(|b| with_block(src, b, |buf| c.scan(buf, b.0))?.map_err(FramesError::from))
        .collect();
    let (mut counts, mut states, mut firsts) = (Vec::new(), Vec::new(), Vec::new());
    let (mut state, mut count) = (initial, 0u64);
    for result in scans {
        let (n, summary) = result?; // in file order: the first error wins
        counts.push(n);
        states.push(state);
        firsts.push(count);
        state = c.chain(state, &summary);
        count += n as u64;
    }
    if whole < body {
        return Err(super::truncated((body - whole) as usize, at + whole).into());
    }
    let time_of = |i: usize, last: bool| -> Result<i64, FramesError> {
        with_block(src, &blocks[i], |buf| {
            let mut t = 0;
            c.visit(buf, states[i], |time, _, _, _| {
                t = time;
                last
            });
            t
        })
    };
    let first = counts
        .iter()
        .position(|&n| n > 0)
        .map(|i| time_of(i, false))
        .transpose()?;
    let last = counts
        .iter()
        .rposition(|&n| n > 0)
        .map(|i| time_of(i, true))
        .transpose()?;
    let layout = plan(&Overview {
        count,
        first_last: first.zip(last),
        sensor: None,
    })?;
    layout.windows.validate(count)?;
    check_exact_times(&layout, first.zip(last))?;
    let mut frames = allocate(&layout)?;
    // pass two: contiguous runs of blocks, one piece per task
    let tasks = (2 * rayon::current_num_threads()).max(1);
    let per_piece = blocks.len().div_ceil(tasks).max(1);
    let (lo, hi) = layout.windows.thresholds();
    let time = matches!(layout.windows, Windows::Time { .. });
    let results: Vec<Result<Option<Piece>, FramesError>> = {
        let shared = as_counters(&mut frames);
        (0..blocks.len().div_ceil(per_piece))
            .into_par_iter()
            .map(|p| {
                let range = p * per_piece..((p + 1) * per_piece).min(blocks.len());
                let Some(start) = range.clone().find(|&i| counts[i] > 0) else {
                    return Ok(None);
                };
                let first = if time {
                    time_of(start, false)?
                } else {
                    firsts[start] as i64
                };
                let private = Private::new(&lo, &hi, first, layout.spec.frame_len())?;
                let mut bytes = byte_counters(layout.spec.frame_len())?;
                let mut acc =
                    Accumulator::new(&layout, &lo, &hi, shared, &private, firsts[start] as i64);
                for i in start..range.end {
                    if counts[i] == 0 {
                        continue;
                    }
                    with_block(src, &blocks[i], |buf| {
                        let first = firsts[i] as i64;
                        if time {
                            acc.block::<C, true>(c, buf, states[i], first, &mut bytes)
                        } else {
                            acc.block::<C, false>(c, buf, states[i], first, &mut bytes)
                        }
                    })?;
                }
                let piece = acc.finish(&mut bytes);
                Ok(Some(private.into_piece(piece)))
            })
            .collect()
    };
    let mut pieces = Vec::with_capacity(results.len());
    for r in results {
        pieces.extend(r?);
    }
    finish(&layout, &mut frames, pieces)?;
    Ok(frames)
}

/// Events already decoded into records, visited as a [`Chunked`] body (for the
/// formats that decode sequentially).
struct DecodedRecords;

impl Chunked for DecodedRecords {
    type State = ();
    type Summary = ();

    fn unit(&self) -> usize {
        super::RECORD_BYTES
    }

    fn scan(&self, chunk: &[u8], _at: u64) -> Result<(usize, ()), DecodeError> {
        Ok((chunk.len() / super::RECORD_BYTES, ()))
    }

    fn chain(&self, _: (), _: &()) {}

    #[inline(always)]
    fn visit<F: FnMut(i64, i16, i16, u8) -> bool>(&self, chunk: &[u8], _: (), mut event: F) {
        for r in chunk.chunks_exact(super::RECORD_BYTES) {
            let (t, x, y, p) = super::record(r);
            if !event(t, x, y, p) {
                return;
            }
        }
    }
}

/// Frames of a format decoded sequentially: a first pass counts the events and
/// finds the first and last timestamps, a second counts them into the frames;
/// each decodes the file block by block, so memory stays bounded.
fn streamed_frames(
    format: Format,
    src: &dyn Source,
    plan: &mut Plan<'_>,
) -> Result<Vec<f32>, FramesError> {
    let total = src.len();
    let each_block = |visit: &mut dyn FnMut(&Events) -> bool| -> Result<(), FramesError> {
        let mut decoder = StreamDecoder::new(format);
        let mut out = Events::default();
        let block = src.block_bytes().min(total.max(1) as usize);
        let mut buf = Vec::new();
        buf.try_reserve_exact(block).map_err(|_| {
            FramesError::Memory(format!(
                "out of memory: {block} bytes to read a block could not be allocated"
            ))
        })?;
        buf.resize(block, 0);
        let mut offset = 0u64;
        while offset < total {
            let len = (total - offset).min(block as u64) as usize;
            src.read_at(&mut buf[..len], offset)?;
            offset += len as u64;
            decoder.feed(&buf[..len], &mut out)?;
            out.check(decoder.position())?;
            if !visit(&out) {
                return Ok(());
            }
            out.bytes.clear();
        }
        decoder.finish(&mut out)?;
        out.check(decoder.position())?;
        visit(&out);
        Ok(())
    };
    let (mut count, mut first_last) = (0u64, None::<(i64, i64)>);
    each_block(&mut |events| {
        if !events.is_empty() {
            let (first, _, _, _) = events.get(0);
            let (last, _, _, _) = events.get(events.len() - 1);
            first_last = Some((first_last.map_or(first, |(f, _)| f), last));
            count += events.len() as u64;
        }
        true
    })?;
    let layout = plan(&Overview {
        count,
        first_last,
        sensor: None,
    })?;
    layout.windows.validate(count)?;
    let mut frames = allocate(&layout)?;
    let (lo, hi) = layout.windows.thresholds();
    let time = matches!(layout.windows, Windows::Time { .. });
    let piece = {
        let shared = as_counters(&mut frames);
        let first = if time {
            first_last.map_or(0, |(f, _)| f)
        } else {
            0
        };
        let private = Private::new(&lo, &hi, first, layout.spec.frame_len())?;
        let mut bytes = byte_counters(layout.spec.frame_len())?;
        let mut acc = Accumulator::new(&layout, &lo, &hi, shared, &private, 0);
        let mut seen = 0i64; // events before the block
        each_block(&mut |events| {
            let (records, first) = (&events.bytes, seen);
            if time {
                acc.block::<DecodedRecords, true>(&DecodedRecords, records, (), first, &mut bytes)
            } else {
                acc.block::<DecodedRecords, false>(&DecodedRecords, records, (), first, &mut bytes)
            }
            seen += events.len() as i64;
            true
        })?;
        let piece = acc.finish(&mut bytes);
        private.into_piece(piece)
    };
    if time
        && piece.times.is_some_and(|(lo, hi)| {
            lo.unsigned_abs() >= EXACT_TIME as u64 || hi.unsigned_abs() >= EXACT_TIME as u64
        })
    {
        return Err(too_large_times());
    }
    finish(&layout, &mut frames, vec![piece])?;
    Ok(frames)
}

fn too_large_times() -> FramesError {
    FramesError::Invalid(format!(
        "events: timestamps beyond +-2^53 µs cannot be compared with time window bounds exactly; \
         read_events and integrate instead (largest supported: {EXACT_TIME})"
    ))
}

/// Sorted times lie between the first and the last: those two bound them all.
fn check_exact_times(layout: &Layout, first_last: Option<(i64, i64)>) -> Result<(), FramesError> {
    match (&layout.windows, first_last) {
        (Windows::Time { .. }, Some((a, b)))
            if a.unsigned_abs() >= EXACT_TIME as u64 || b.unsigned_abs() >= EXACT_TIME as u64 =>
        {
            Err(too_large_times())
        }
        _ => Ok(()),
    }
}

fn allocate(layout: &Layout) -> Result<Vec<f32>, FramesError> {
    let spec = layout.spec;
    spec.validate()
        .map_err(|e| FramesError::Invalid(e.to_string()))?;
    let windows = layout.windows.len();
    let total = windows
        .checked_mul(spec.frame_len())
        .filter(|&n| n <= (1usize << 31))
        .ok_or_else(|| {
            FramesError::Invalid(
                "frames: windows x channels x pixels exceed 2^31 values (8 GiB); ask for fewer windows".into(),
            )
        })?;
    crate::alloc::try_zeroed::<f32>(total).ok_or_else(|| {
        FramesError::Memory(format!(
            "out of memory: {} bytes for {windows} frames could not be allocated",
            total * 4
        ))
    })
}

// An f32 and an AtomicU32 have the same size and alignment: the frames' memory
// holds integer counts (bit patterns) while counting.
const _: () = assert!(
    std::mem::size_of::<f32>() == std::mem::size_of::<AtomicU32>()
        && std::mem::align_of::<f32>() == std::mem::align_of::<AtomicU32>()
);

fn as_counters(frames: &mut [f32]) -> &[AtomicU32] {
    // SAFETY: same size and alignment (checked above), every bit pattern is a valid
    // u32, and the exclusive borrow of `frames` lasts as long as the returned slice.
    unsafe { std::slice::from_raw_parts(frames.as_mut_ptr().cast::<AtomicU32>(), frames.len()) }
}

/// One piece's outcome.
struct Piece {
    first_index: i64,
    /// First and last timestamps seen (time windows), and whether they came in order.
    times: Option<(i64, i64)>,
    sorted: bool,
    /// Frames `private_from..` counted privately (the frames holding the piece's first event).
    private_from: usize,
    private: Vec<u32>,
    /// (event index, x, y) of an event outside the sensor.
    outside: Option<(i64, i16, i16)>,
}

/// One byte counter per pixel of a frame.
fn byte_counters(frame_len: usize) -> Result<Vec<u8>, FramesError> {
    crate::alloc::try_zeroed::<u8>(frame_len).ok_or_else(|| {
        FramesError::Memory(format!(
            "out of memory: {frame_len} bytes of counters could not be allocated"
        ))
    })
}

/// The frames holding a piece's first event (at position `first`), counted privately.
struct Private {
    from: usize,
    to: usize,
    counts: Vec<AtomicU32>,
}

impl Private {
    fn new(lo: &[i64], hi: &[i64], first: i64, frame_len: usize) -> Result<Self, FramesError> {
        let from = hi.partition_point(|&h| h <= first);
        let to = lo.partition_point(|&l| l <= first).max(from);
        let len = (to - from) * frame_len;
        let counts = crate::alloc::try_zeroed::<u32>(len).ok_or_else(|| {
            FramesError::Memory(format!(
                "out of memory: {} bytes of frames for one piece of the file could not be allocated",
                len * 4
            ))
        })?;
        // A u32 and an AtomicU32 have the same size, alignment and bit validity.
        let mut counts = std::mem::ManuallyDrop::new(counts);
        let (ptr, len, cap) = (counts.as_mut_ptr(), counts.len(), counts.capacity());
        // SAFETY: the allocation is reinterpreted element for element with the same
        // layout (size and alignment of u32 and AtomicU32 agree), and ownership moves.
        let counts = unsafe { Vec::from_raw_parts(ptr.cast::<AtomicU32>(), len, cap) };
        Ok(Private { from, to, counts })
    }

    fn into_piece(self, mut piece: Piece) -> Piece {
        piece.private_from = self.from;
        // back to u32 in place (same layout as above), no second buffer
        let mut counts = std::mem::ManuallyDrop::new(self.counts);
        let (ptr, len, cap) = (counts.as_mut_ptr(), counts.len(), counts.capacity());
        // SAFETY: the reverse of `new`: same allocation, element layout and ownership.
        piece.private = unsafe { Vec::from_raw_parts(ptr.cast::<u32>(), len, cap) };
        piece
    }
}

/// What the per-event loop keeps in registers.
#[derive(Clone, Copy)]
struct Hot {
    last_t: i64,
    sorted: bool,
    /// Below this position exactly one frame holds the events, counted in the
    /// byte counters; at or past it, [`Accumulator::slow`] takes each event.
    fast_below: i64,
    /// The block has an event outside the sensor (found again after it: the
    /// loop keeps no event index).
    outside_seen: bool,
}

/// Counts one piece's events into the frames.
struct Accumulator<'a> {
    lo: &'a [i64],
    hi: &'a [i64],
    shared: &'a [AtomicU32],
    private: &'a Private,
    width: usize,
    height: usize,
    plane: usize,
    frame_len: usize,
    /// Frames `a..b` hold the current position.
    a: usize,
    b: usize,
    /// They stay the same below this position.
    next_change: i64,
    hot: Hot,
    /// The frame the byte counters count for (see [`Accumulator::block`]).
    counting: Option<usize>,
    first_index: i64,
    first_t: Option<i64>,
    outside: Option<(i64, i16, i16)>,
}

impl<'a> Accumulator<'a> {
    fn new(
        layout: &Layout,
        lo: &'a [i64],
        hi: &'a [i64],
        shared: &'a [AtomicU32],
        private: &'a Private,
        first_index: i64,
    ) -> Self {
        let spec = layout.spec;
        Accumulator {
            lo,
            hi,
            shared,
            private,
            width: spec.width,
            height: spec.height,
            plane: if spec.channels == 2 {
                spec.width * spec.height
            } else {
                0
            },
            frame_len: spec.frame_len(),
            a: 0,
            b: 0,
            next_change: i64::MIN,
            hot: Hot {
                last_t: i64::MIN,
                sorted: true,
                fast_below: i64::MIN,
                outside_seen: false,
            },
            counting: None,
            first_index,
            first_t: None,
            outside: None,
        }
    }

    /// Counts the events of one block (`c` decodes it from `state`), the first of
    /// them event `first_index` of the file. While one frame holds the events, they
    /// are counted in `bytes` (one u8 per pixel of a frame: L1-sized for the usual
    /// sensors, where u32 counts would not be), 256 carried into the frame when
    /// a byte wraps, and the bytes added to the frame when the frame changes.
    /// The loop keeps four values (the order of time, where the fast path ends,
    /// whether an event fell outside the sensor); everything else is off it.
    #[inline(always)]
    fn block<C: Chunked, const TIME: bool>(
        &mut self,
        c: &C,
        block: &[u8],
        state: C::State,
        first_index: i64,
        bytes: &mut [u8],
    ) {
        // the loop's state lives in locals (registers), not behind `self`
        let mut h = self.hot;
        h.outside_seen = false;
        let (width, height, plane) = (self.width, self.height, self.plane);
        let mut index = first_index; // the position of index windows (unused with time windows)
        c.visit(block, state, |t, x, y, p| {
            let v = if TIME {
                h.sorted &= t >= h.last_t;
                h.last_t = t;
                t
            } else {
                index += 1;
                index - 1
            };
            let (xu, yu) = (x as u16 as usize, y as u16 as usize);
            if v >= h.fast_below {
                self.slow(v, t, xu, yu, p, bytes, &mut h);
                return true;
            }
            if xu >= width || yu >= height {
                h.outside_seen = true;
                return true;
            }
            // ON: p > 0 as a signed byte (tonic's -1/+1 polarity: -1 is OFF)
            let pixel = if (p as i8) > 0 { plane } else { 0 } + yu * width + xu;
            if let Some(b) = bytes.get_mut(pixel) {
                *b = b.wrapping_add(1);
                if *b == 0 {
                    self.carry(pixel);
                }
            }
            true
        });
        self.hot = h;
        if h.outside_seen && self.outside.is_none() {
            self.find_outside::<C, TIME>(c, block, state, first_index);
        }
    }

    /// An event at or past the fast path's end: moves to the frames holding it
    /// when they change, then counts it (in the byte counters when exactly one
    /// frame holds it, else into each frame holding it).
    #[cold]
    #[inline(never)]
    #[allow(clippy::too_many_arguments)]
    fn slow(&mut self, v: i64, t: i64, xu: usize, yu: usize, p: u8, bytes: &mut [u8], h: &mut Hot) {
        if v >= self.next_change {
            let single = self.advance(v, t, bytes);
            h.fast_below = if single { self.next_change } else { i64::MIN };
        }
        if self.a >= self.b {
            return; // no frame holds it
        }
        if xu >= self.width || yu >= self.height {
            h.outside_seen = true;
            return;
        }
        let pixel = if (p as i8) > 0 { self.plane } else { 0 } + yu * self.width + xu;
        if self.counting.is_some() {
            if let Some(b) = bytes.get_mut(pixel) {
                *b = b.wrapping_add(1);
                if *b == 0 {
                    self.carry(pixel);
                }
            }
            return;
        }
        for f in self.a..self.b {
            let c = self.frame(f);
            c[pixel].store(c[pixel].load(Relaxed).wrapping_add(1), Relaxed);
        }
    }

    /// The block's first event outside the sensor that a frame holds (the
    /// counting loop saw one): decoded again, with event indices.
    #[cold]
    #[inline(never)]
    fn find_outside<C: Chunked, const TIME: bool>(
        &mut self,
        c: &C,
        block: &[u8],
        state: C::State,
        first_index: i64,
    ) {
        let (lo, hi, width, height) = (self.lo, self.hi, self.width, self.height);
        let mut index = first_index;
        let mut found = None;
        c.visit(block, state, |t, x, y, _| {
            let v = if TIME { t } else { index };
            let held = hi.partition_point(|&e| e <= v) < lo.partition_point(|&s| s <= v);
            if held && (x as u16 as usize >= width || y as u16 as usize >= height) {
                found = Some((index, x, y));
                return false;
            }
            index += 1;
            true
        });
        self.outside = found;
    }

    /// A byte counter wrapped: 256 events into the frame.
    #[cold]
    #[inline(never)]
    fn carry(&mut self, pixel: usize) {
        if let Some(f) = self.counting {
            let c = &self.frame(f)[pixel];
            c.store(c.load(Relaxed).wrapping_add(256), Relaxed);
        }
    }

    /// Adds the byte counters into their frame and clears them.
    fn flush(&mut self, bytes: &mut [u8]) {
        if let Some(f) = self.counting.take() {
            for (c, b) in self.frame(f).iter().zip(bytes.iter_mut()) {
                if *b != 0 {
                    c.store(c.load(Relaxed).wrapping_add(*b as u32), Relaxed);
                    *b = 0;
                }
            }
        }
    }

    /// Frame `f`'s counts: the piece's own for the frames holding its first event.
    fn frame(&self, f: usize) -> &'a [AtomicU32] {
        let private: &'a Private = self.private;
        if (private.from..private.to).contains(&f) {
            let at = (f - private.from) * self.frame_len;
            &private.counts[at..at + self.frame_len]
        } else {
            &self.shared[f * self.frame_len..(f + 1) * self.frame_len]
        }
    }

    /// Moves to the frames holding position `v` and to the next position where
    /// they change; true when exactly one does (then counted in `bytes`).
    #[cold]
    #[inline(never)]
    fn advance(&mut self, v: i64, t: i64, bytes: &mut [u8]) -> bool {
        let m = self.lo.len();
        if self.first_t.is_none() {
            self.first_t = Some(t);
            self.a = self.hi.partition_point(|&h| h <= v);
            self.b = self.lo.partition_point(|&l| l <= v);
        }
        while self.a < m && self.hi[self.a] <= v {
            self.a += 1;
        }
        while self.b < m && self.lo[self.b] <= v {
            self.b += 1;
        }
        let mut next = i64::MAX;
        if self.a < m {
            next = next.min(self.hi[self.a]);
        }
        if self.b < m {
            next = next.min(self.lo[self.b]);
        }
        // next > v: the loops above passed every bound <= v
        let single = self.b == self.a + 1;
        if self.counting != Some(self.a) || !single {
            self.flush(bytes);
            self.counting = single.then_some(self.a);
        }
        self.next_change = next;
        single
    }

    fn finish(mut self, bytes: &mut [u8]) -> Piece {
        self.flush(bytes);
        Piece {
            first_index: self.first_index,
            times: self.first_t.map(|first| (first, self.hot.last_t)),
            sorted: self.hot.sorted,
            private_from: 0,
            private: Vec::new(),
            outside: self.outside,
        }
    }
}

/// Checks the pieces (order of time, sensor, memory), adds the private frames
/// and turns the counts into floats.
fn finish(layout: &Layout, frames: &mut [f32], mut pieces: Vec<Piece>) -> Result<(), FramesError> {
    pieces.sort_by_key(|p| p.first_index);
    if matches!(layout.windows, Windows::Time { .. }) {
        let mut last = i64::MIN;
        for p in &pieces {
            if let Some((first, end)) = p.times {
                if !p.sorted || first < last {
                    return Err(FramesError::Invalid(UNSORTED.into()));
                }
                last = end;
            }
        }
    }
    let spec = layout.spec;
    if let Some((index, x, y)) = pieces.iter().filter_map(|p| p.outside).min_by_key(|o| o.0) {
        return Err(FramesError::Invalid(format!(
            "event {index} at (x={x}, y={y}) lies outside the sensor (width {}, height {})",
            spec.width, spec.height
        )));
    }
    let frame_len = spec.frame_len();
    for p in &pieces {
        let start = p.private_from * frame_len;
        for (v, &c) in frames[start..start + p.private.len()]
            .iter_mut()
            .zip(&p.private)
        {
            *v = f32::from_bits(v.to_bits().wrapping_add(c));
        }
    }
    frames
        .par_chunks_mut(frame_len.max(1))
        .for_each(|frame| counts_to_floats(frame, spec.binarize));
    Ok(())
}
