//! Spikes saved for backward as packed bits: bit `i % 8` of byte `i / 8` of a
//! time step's row is the spike of neuron `i`. A row of N neurons takes
//! `ceil(N / 8)` bytes, so one neuron-step costs 1/8 byte instead of a float.

/// Bytes in one packed row of `neurons` spikes.
#[inline]
pub fn row_bytes(neurons: usize) -> usize {
    neurons.div_ceil(8)
}

/// Packs `spikes` (0 or 1 values, any non-zero counts as a spike) into `out`.
#[inline(always)]
pub fn pack_row<T: crate::real::Real>(spikes: &[T], out: &mut [u8]) {
    debug_assert_eq!(out.len(), row_bytes(spikes.len()));
    let full = spikes.len() / 8;
    // Fixed groups of eight: the compiler makes each a vector compare + mask.
    for (byte, group) in out.iter_mut().zip(spikes.chunks_exact(8)) {
        let mut b = 0u8;
        for (j, &s) in group.iter().enumerate() {
            b |= ((s != T::zero()) as u8) << j;
        }
        *byte = b;
    }
    if full < out.len() {
        let mut b = 0u8;
        for (j, &s) in spikes[full * 8..].iter().enumerate() {
            b |= ((s != T::zero()) as u8) << j;
        }
        out[full] = b;
    }
}

/// Unpacks a row into 0/1 values (`out.len()` neurons).
#[inline(always)]
pub fn unpack_row<T: crate::real::Real>(row: &[u8], out: &mut [T]) {
    let (zero, one) = (T::zero(), T::one());
    let full = out.len() / 8;
    for (group, &byte) in out.chunks_exact_mut(8).zip(row) {
        for (j, s) in group.iter_mut().enumerate() {
            *s = if (byte >> j) & 1 == 1 { one } else { zero };
        }
    }
    for (j, s) in out[full * 8..].iter_mut().enumerate() {
        *s = if (row[full] >> j) & 1 == 1 { one } else { zero };
    }
}

/// Reads the spike of neuron `i` from a packed row.
#[inline(always)]
pub fn spike_at(row: &[u8], i: usize) -> bool {
    (row[i >> 3] >> (i & 7)) & 1 == 1
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pack_then_read_round_trips_every_pattern() {
        let spikes: Vec<f32> = (0..21)
            .map(|i| ((i * 7 + 3) % 5 < 2) as u8 as f32)
            .collect();
        let mut row = vec![0u8; row_bytes(spikes.len())];
        pack_row(&spikes, &mut row);
        assert_eq!(row.len(), 3);
        for (i, &s) in spikes.iter().enumerate() {
            assert_eq!(spike_at(&row, i), s == 1.0, "neuron {i}");
        }
    }
}
