//! Whole-file decoding of fixed-size records on every core, in two passes.
//!
//! Pass one scans each chunk: how many events it yields and a summary of what
//! it does to the decoder's state (e.g. the last time-high word). The states at
//! chunk starts are then chained in file order, the output is allocated once at
//! its exact size, and pass two writes each chunk's share in parallel.

use super::{BodyDecoder, DecodeError, Events, RECORD_BYTES};
use rayon::prelude::*;

/// One event record written in place.
#[inline(always)]
pub fn write_record(r: &mut [u8], t: i64, x: i16, y: i16, p: u8) {
    r.copy_from_slice(&super::pack(t, x, y, p));
}

/// Decodes the whole `unit`-byte records of `data` (file offset `at`); returns
/// the events and the bytes used. `scan(chunk, offset)` gives (events, summary),
/// `chain(state, summary)` the state after a chunk, and `write(chunk, state, out)`
/// fills exactly the scanned number of records.
#[allow(clippy::too_many_arguments)]
pub fn decode_records<S, M, Scan, Chain, Write>(
    data: &[u8],
    unit: usize,
    at: u64,
    limit: usize,
    initial: S,
    scan: Scan,
    chain: Chain,
    write: Write,
) -> Result<(Events, usize, S), DecodeError>
where
    S: Copy + Send + Sync,
    M: Send,
    Scan: Fn(&[u8], u64) -> Result<(usize, M), DecodeError> + Sync,
    Chain: Fn(S, &M) -> S,
    Write: Fn(&[u8], S, &mut [u8]) + Sync,
{
    let whole = data.len() / unit * unit;
    let units = whole / unit;
    let per_chunk = units
        .div_ceil(8 * rayon::current_num_threads().max(1))
        .max(1 << 14);
    let chunk_bytes = per_chunk * unit;
    let chunks: Vec<&[u8]> = data[..whole].chunks(chunk_bytes).collect();
    let scans: Vec<Result<(usize, M), DecodeError>> = chunks
        .par_iter()
        .enumerate()
        .map(|(i, c)| scan(c, at + (i * chunk_bytes) as u64))
        .collect();
    let mut counts = Vec::with_capacity(chunks.len());
    let mut states = Vec::with_capacity(chunks.len());
    let mut state = initial;
    for result in scans {
        let (count, summary) = result?; // in file order: the first error wins
        counts.push(count);
        states.push(state);
        state = chain(state, &summary);
    }
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
        .for_each(|((chunk, s), slice)| write(chunk, s, slice));
    Ok((Events::from_bytes(out, limit), whole, state))
}

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

impl BodyDecoder for FixedRecords {
    fn decode_whole(
        &mut self,
        data: &[u8],
        at: u64,
        limit: usize,
    ) -> Option<Result<(Events, usize), DecodeError>> {
        let (size, fields) = (self.size, self.fields);
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
            decode_records(data, size, at, limit, (), scan, |_, _| (), write)
                .map(|(e, used, _)| (e, used)),
        )
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
