//! Splits time-major `[T, N]` buffers into blocks of neuron columns.
//!
//! Each block holds, for one range of neurons, its slice of every time step's
//! row. Blocks are disjoint, so rayon can run them in parallel with the time
//! loop inside and no unsafe code.

/// Neurons per parallel block. A block's state (V, or the backward carry)
/// stays within 128 KiB so it lives in L2 while its rows stream past; long
/// rows keep the hardware prefetchers busy; at least four blocks per thread
/// balance the load. A multiple of 64, so packed-bit rows split on whole bytes.
pub fn block_len<T>(neurons: usize) -> usize {
    let by_cache = 128 * 1024 / std::mem::size_of::<T>();
    let by_balance = neurons.div_ceil(4 * crate::parallel::threads().max(1));
    by_cache.min(by_balance).max(512).div_ceil(64) * 64
}

/// The items of `blocks` wrapped in `Some`, or `None` for ever when there are
/// no blocks: zipped with the required arrays' blocks, an optional array
/// hands every block its piece or nothing.
pub fn each_or_none<I: Iterator>(blocks: Option<I>) -> impl Iterator<Item = Option<I::Item>> {
    blocks
        .into_iter()
        .flatten()
        .map(Some)
        .chain(std::iter::repeat_with(|| None))
}

/// Column blocks of a read-only `[steps, width]` buffer, `block` columns each.
pub fn blocks<T>(data: &[T], steps: usize, width: usize, block: usize) -> Vec<Vec<&[T]>> {
    debug_assert_eq!(data.len(), steps * width);
    let count = width.div_ceil(block.max(1));
    let mut out: Vec<Vec<&[T]>> = (0..count).map(|_| Vec::with_capacity(steps)).collect();
    if width == 0 {
        return out;
    }
    for row in data.chunks(width) {
        for (slot, piece) in out.iter_mut().zip(row.chunks(block)) {
            slot.push(piece);
        }
    }
    out
}

/// Column blocks of a mutable `[steps, width]` buffer.
pub fn blocks_mut<T>(
    data: &mut [T],
    steps: usize,
    width: usize,
    block: usize,
) -> Vec<Vec<&mut [T]>> {
    debug_assert_eq!(data.len(), steps * width);
    let count = width.div_ceil(block.max(1));
    let mut out: Vec<Vec<&mut [T]>> = (0..count).map(|_| Vec::with_capacity(steps)).collect();
    if width == 0 {
        return out;
    }
    for row in data.chunks_mut(width) {
        for (slot, piece) in out.iter_mut().zip(row.chunks_mut(block)) {
            slot.push(piece);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocks_cover_every_element_once() {
        let data: Vec<u32> = (0..3 * 10).collect();
        let b = blocks(&data, 3, 10, 4);
        assert_eq!(b.len(), 3);
        assert_eq!(b[2][1], &[18, 19][..]); // row 1 = 10..20, columns 8..10
        let total: usize = b.iter().flatten().map(|s| s.len()).sum();
        assert_eq!(total, 30);
    }

    #[test]
    fn absent_arrays_give_every_block_none() {
        let present: Vec<_> = each_or_none(Some([1, 2].into_iter())).take(3).collect();
        assert_eq!(present, [Some(1), Some(2), None]);
        let absent: Vec<_> = each_or_none(None::<std::vec::IntoIter<u8>>)
            .take(2)
            .collect();
        assert_eq!(absent, [None, None]);
    }
}
