//! Whole-file decoding of fixed-size records on every core, in two passes.
//!
//! Pass one scans each chunk: how many events it yields and a summary of what
//! it does to the decoder's state (e.g. the last time-high word). The states at
//! chunk starts are then chained in file order, the output is allocated once at
//! its exact size, and pass two writes each chunk's share in parallel. The same
//! two passes feed frames directly (`file_frames`), with no event written out.

use super::{BodyDecoder, DecodeError, Events, RECORD_BYTES};
use rayon::prelude::*;

/// One event record written in place.
#[inline(always)]
pub fn write_record(r: &mut [u8], t: i64, x: i16, y: i16, p: u8) {
    r.copy_from_slice(&super::pack(t, x, y, p));
}

/// A body of fixed-size units that decode in parallel: a chunk's events depend
/// only on its bytes and on a small state at its start (e.g. the last time-high
/// word), and a chunk's effect on that state can be summarised without the state.
pub(crate) trait Chunked: Sync {
    type State: Copy + Send + Sync;
    type Summary: Send;

    /// Bytes per unit (a record or a word).
    fn unit(&self) -> usize;

    /// How many events `chunk` (whole units, file offset `at`) yields and what it
    /// does to the state; Err at the first unit that is not valid.
    fn scan(&self, chunk: &[u8], at: u64) -> Result<(usize, Self::Summary), DecodeError>;

    /// The state after a chunk with `summary`, from `state` before it.
    fn chain(&self, state: Self::State, summary: &Self::Summary) -> Self::State;

    /// Calls `event(t, x, y, p)` for each event of a scanned chunk in order,
    /// starting from `state`, until `event` returns false.
    fn visit<F: FnMut(i64, i16, i16, u8) -> bool>(
        &self,
        chunk: &[u8],
        state: Self::State,
        event: F,
    );
}

/// A chunked body split into pieces of whole units: `pieces` of about the same
/// size (a multiple of `unit`); the last one holds at most `tail_units` units when
/// `tail_units > 0`, so the file's last event is found by decoding little.
pub(crate) fn split(
    data: &[u8],
    unit: usize,
    pieces: usize,
    min_units: usize,
    tail_units: usize,
) -> Vec<&[u8]> {
    let whole = data.len() / unit * unit;
    let units = whole / unit;
    let tail = tail_units.min(units / 2);
    let body_units = units - tail;
    let per_chunk = body_units.div_ceil(pieces.max(1)).max(min_units).max(1);
    let mut chunks: Vec<&[u8]> = data[..body_units * unit].chunks(per_chunk * unit).collect();
    if tail > 0 {
        chunks.push(&data[body_units * unit..whole]);
    }
    chunks
}

/// Counts and summaries of every piece in parallel, then the states at each
/// piece's start in file order; Err: the first invalid unit of the file.
#[allow(clippy::type_complexity)]
pub(crate) fn scan_pieces<C: Chunked>(
    c: &C,
    pieces: &[&[u8]],
    at: u64,
    initial: C::State,
) -> Result<(Vec<usize>, Vec<C::State>, C::State), DecodeError> {
    let mut offsets = Vec::with_capacity(pieces.len());
    let mut offset = at;
    for p in pieces {
        offsets.push(offset);
        offset += p.len() as u64;
    }
    let scans: Vec<Result<(usize, C::Summary), DecodeError>> = pieces
        .par_iter()
        .zip(offsets.par_iter())
        .map(|(piece, &offset)| c.scan(piece, offset))
        .collect();
    let mut counts = Vec::with_capacity(pieces.len());
    let mut states = Vec::with_capacity(pieces.len());
    let mut state = initial;
    for result in scans {
        let (count, summary) = result?; // in file order: the first error wins
        counts.push(count);
        states.push(state);
        state = c.chain(state, &summary);
    }
    Ok((counts, states, state))
}

/// Decodes the whole units of `data` (file offset `at`) on every core: returns
/// the events, the bytes used and the state after them.
pub(crate) fn decode_records<C: Chunked>(
    c: &C,
    data: &[u8],
    at: u64,
    limit: usize,
    initial: C::State,
) -> Result<(Events, usize, C::State), DecodeError> {
    let unit = c.unit();
    let whole = data.len() / unit * unit;
    let chunks = split(
        data,
        unit,
        8 * rayon::current_num_threads().max(1),
        1 << 14,
        0,
    );
    let (counts, states, state) = scan_pieces(c, &chunks, at, initial)?;
    let total: usize = counts.iter().sum();
    if total > limit {
        return Err(DecodeError::memory(
            at,
            format!(
                "{total} events, more than max_events={limit}; pass a larger max_events= or read the \
                 file in pieces with iter_events"
            ),
        ));
    }
    let Some(out_bytes) = total.checked_mul(RECORD_BYTES) else {
        return Err(DecodeError::memory(
            at,
            "too many events for this machine's address space",
        ));
    };
    // Zeroed allocation maps fresh pages lazily, so the writers fault them in in parallel.
    let Some(mut out) = crate::alloc::try_zeroed::<u8>(out_bytes) else {
        return Err(DecodeError::memory(
            at,
            format!("out of memory: {out_bytes} bytes for {total} events could not be allocated"),
        ));
    };
    advise_huge_pages(&mut out);
    let mut slices = Vec::with_capacity(chunks.len());
    let mut rest: &mut [u8] = &mut out;
    for &count in &counts {
        let (head, tail) = rest.split_at_mut(count * RECORD_BYTES);
        slices.push(head);
        rest = tail;
    }
    chunks
        .into_par_iter()
        .zip(states)
        .zip(slices)
        .for_each(|((chunk, s), slice)| {
            let mut slots = slice.chunks_exact_mut(RECORD_BYTES);
            c.visit(chunk, s, |t, x, y, p| match slots.next() {
                Some(slot) => {
                    write_record(slot, t, x, y, p);
                    true
                }
                None => false,
            });
        });
    Ok((Events::from_bytes(out, limit), whole, state))
}

/// The [`BodyDecoder`](super::BodyDecoder) methods of a body whose decoding is
/// [`Chunked`] (`$chunked`) with its decoder state in `self.$state`: whole
/// inputs decode, and files count into frames, on every core, and the state
/// after them is kept for what follows.
macro_rules! on_every_core {
    ($chunked:expr, $state:ident) => {
        fn decode_whole(
            &mut self,
            data: &[u8],
            at: u64,
            limit: usize,
        ) -> Option<Result<(Events, usize), DecodeError>> {
            Some(
                decode_records(&$chunked, data, at, limit, self.$state).map(|(e, used, state)| {
                    self.$state = state;
                    (e, used)
                }),
            )
        }

        fn frames_whole(
            &mut self,
            src: &dyn Source,
            at: u64,
            plan: &mut Plan<'_>,
        ) -> Option<Result<Vec<f32>, FramesError>> {
            Some(chunked_frames(&$chunked, src, at, self.$state, plan))
        }
    };
}
pub(crate) use on_every_core;

/// Asks the kernel to back a large buffer with 2 MiB pages: its first writes
/// then fault 512 times less often (a fault per 4 KiB page costs as much as
/// decoding the events in it). Only a hint; ignored where unsupported.
pub fn advise_huge_pages(buf: &mut [u8]) {
    #[cfg(target_os = "linux")]
    {
        const HUGE: usize = 2 << 20;
        if buf.len() < 2 * HUGE {
            return;
        }
        let start = (buf.as_ptr() as usize).div_ceil(HUGE) * HUGE;
        let end = (buf.as_ptr() as usize + buf.len()) / HUGE * HUGE;
        if end > start {
            // SAFETY: the range lies inside `buf`, which we own mutably; MADV_HUGEPAGE
            // changes only how the kernel backs the pages, never their contents.
            unsafe {
                libc::madvise(start as *mut libc::c_void, end - start, libc::MADV_HUGEPAGE);
            }
        }
    }
    #[cfg(not(target_os = "linux"))]
    let _ = buf;
}

/// A body of fixed-size records that decode independently of each other
/// (`fields` maps one record to `(t, x, y, p)`): sequential when streaming,
/// parallel when the whole file is at hand.
pub struct FixedRecords {
    pub size: usize,
    pub fields: fn(&[u8]) -> (i64, i16, i16, u8),
}

impl Chunked for FixedRecords {
    type State = ();
    type Summary = ();

    fn unit(&self) -> usize {
        self.size
    }

    fn scan(&self, chunk: &[u8], _at: u64) -> Result<(usize, ()), DecodeError> {
        Ok((chunk.len() / self.size, ()))
    }

    fn chain(&self, _: (), _: &()) {}

    #[inline(always)]
    fn visit<F: FnMut(i64, i16, i16, u8) -> bool>(&self, chunk: &[u8], _: (), mut event: F) {
        for r in chunk.chunks_exact(self.size) {
            let (t, x, y, p) = (self.fields)(r);
            if !event(t, x, y, p) {
                return;
            }
        }
    }
}

impl BodyDecoder for FixedRecords {
    fn decode_whole(
        &mut self,
        data: &[u8],
        at: u64,
        limit: usize,
    ) -> Option<Result<(Events, usize), DecodeError>> {
        Some(decode_records(self, data, at, limit, ()).map(|(e, used, _)| (e, used)))
    }

    fn frames_whole(
        &mut self,
        src: &dyn super::file_frames::Source,
        at: u64,
        plan: &mut super::file_frames::Plan<'_>,
    ) -> Option<Result<Vec<f32>, super::file_frames::FramesError>> {
        Some(super::file_frames::chunked_frames(self, src, at, (), plan))
    }

    fn decode(&mut self, data: &[u8], _at: u64, out: &mut Events) -> Result<usize, DecodeError> {
        let whole = data.len() / self.size * self.size;
        out.reserve(whole / self.size);
        for r in data[..whole].chunks_exact(self.size) {
            let (t, x, y, p) = (self.fields)(r);
            out.push(t, x, y, p);
        }
        Ok(whole)
    }
}
