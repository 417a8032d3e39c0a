//! Splits time-major `[T, N]` buffers into blocks of neuron columns.
//!
//! Each block holds, for one range of neurons, its slice of every time step's
//! row. Blocks are disjoint, so rayon can run them in parallel with the time
//! loop inside and no unsafe code.

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
}
