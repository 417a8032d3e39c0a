//! The element type of the arrays a pass streams through memory — its input
//! `X`, the spikes, the input gradient and the spikes' gradient — as distinct
//! from the type `T` the time loop and the state (V, H, the carried gradient)
//! run in (docs/semantics.md#mixed-precision).
//!
//! `T` itself, or for mixed precision bfloat16 / float16 around an f32 loop:
//! a block's rows are widened into block-local f32 rows (blocks are kept small
//! enough for these to stay in L2) before the f32 loop runs on the block and
//! narrowed after it, so the loops are compiled once, for `T`, and memory sees
//! 2 bytes per element. Widening is exact; narrowing rounds to nearest even;
//! spikes (0 or 1) are exact in either.

use crate::io::{BackwardBlock, ForwardBlock};
use crate::real::Real;
use half::slice::HalfFloatSliceExt;
use half::{bf16, f16};

/// Every [`crate::real::Real`] is its own storage (rows are used in place).
pub trait Storage<T>: Copy + Send + Sync + 'static {
    /// The row `row` as `T`s: itself, or widened into `scratch`.
    fn view<'b>(row: &'b [Self], scratch: &'b mut [T]) -> &'b [T];
    /// Where the element loop writes the row `row`: itself, or `scratch`,
    /// which [`Storage::commit`] then narrows into `row`.
    fn view_mut<'b>(row: &'b mut [Self], scratch: &'b mut [T]) -> &'b mut [T];
    /// Stores what the loop wrote through [`Storage::view_mut`].
    fn commit(row: &mut [Self], scratch: &[T]);
    /// Length of the block-local row a row of `len` neurons needs (0: none).
    fn scratch_len(len: usize) -> usize;
    /// Runs `f` on a block-local buffer of `len` elements (contents
    /// unspecified), reused by the thread from block to block.
    fn with_staging<O>(len: usize, f: impl FnOnce(&mut [T]) -> O) -> O;
}

macro_rules! same_type {
    ($t:ty) => {
        impl Storage<$t> for $t {
            #[inline(always)]
            fn view<'b>(row: &'b [$t], _: &'b mut [$t]) -> &'b [$t] {
                row
            }
            #[inline(always)]
            fn view_mut<'b>(row: &'b mut [$t], _: &'b mut [$t]) -> &'b mut [$t] {
                row
            }
            #[inline(always)]
            fn commit(_: &mut [$t], _: &[$t]) {}
            #[inline(always)]
            fn scratch_len(_: usize) -> usize {
                0
            }
            #[inline(always)]
            fn with_staging<O>(_: usize, f: impl FnOnce(&mut [$t]) -> O) -> O {
                f(&mut [])
            }
        }
    };
}
same_type!(f32);
same_type!(f64);

thread_local! {
    /// The staging rows of the blocks this thread runs (grown, never shrunk).
    static STAGING: std::cell::Cell<Vec<f32>> = const { std::cell::Cell::new(Vec::new()) };
}

/// bfloat16 is the top half of an f32: widening is a shift (vectorises).
#[inline(always)]
fn widen_bf16(row: &[bf16], out: &mut [f32]) {
    for (o, h) in out.iter_mut().zip(row) {
        *o = f32::from_bits(u32::from(h.to_bits()) << 16);
    }
}

/// Rounds to nearest even as `bf16::from_f32` does, a NaN staying a (quiet)
/// NaN; branch-free, so the loop vectorises.
#[inline(always)]
fn narrow_bf16(row: &[f32], out: &mut [bf16]) {
    for (o, &f) in out.iter_mut().zip(row) {
        let bits = f.to_bits();
        let rounded = (bits.wrapping_add(0x7fff + ((bits >> 16) & 1)) >> 16) as u16;
        let nan = ((bits >> 16) as u16) | 0x40;
        *o = bf16::from_bits(if f.is_nan() { nan } else { rounded });
    }
}

/// float16 through `half`'s slice conversions (F16C instructions where the CPU has them).
#[inline(always)]
fn widen_f16(row: &[f16], out: &mut [f32]) {
    row.convert_to_f32_slice(out);
}

#[inline(always)]
fn narrow_f16(row: &[f32], out: &mut [f16]) {
    out.convert_from_f32_slice(row);
}

macro_rules! half_type {
    ($h:ty, $widen:ident, $narrow:ident) => {
        impl Storage<f32> for $h {
            #[inline(always)]
            fn view<'b>(row: &'b [$h], scratch: &'b mut [f32]) -> &'b [f32] {
                let out = &mut scratch[..row.len()];
                // Compiled for the CPU's vector width: at SSE2's, converting took as long as the kernel.
                with_cpu_features!($widen(row, &mut *out));
                out
            }
            #[inline(always)]
            fn view_mut<'b>(row: &'b mut [$h], scratch: &'b mut [f32]) -> &'b mut [f32] {
                &mut scratch[..row.len()]
            }
            #[inline(always)]
            fn commit(row: &mut [$h], scratch: &[f32]) {
                with_cpu_features!($narrow(&scratch[..row.len()], &mut *row));
            }
            #[inline(always)]
            fn scratch_len(len: usize) -> usize {
                len
            }
            fn with_staging<O>(len: usize, f: impl FnOnce(&mut [f32]) -> O) -> O {
                // Taken out while in use: a nested call (none today) would get its own.
                let mut buf = STAGING.take();
                if buf.len() < len {
                    buf.resize(len, 0.0);
                }
                let out = f(&mut buf[..len]);
                if buf.len() <= STAGING_KEPT {
                    STAGING.set(buf);
                }
                out
            }
        }
    };
}
half_type!(bf16, widen_bf16, narrow_bf16);
half_type!(f16, widen_f16, narrow_f16);

/// Neurons per block of a staged (16-bit) pass: the block's widened rows of
/// x and spikes (in backward: the spikes' gradient, x and grad_x) over all
/// `steps` stay within 192 KiB, in L2 (2048 neurons at T = 8, 128 at T = 128);
/// a multiple of 64 (whole bytes of packed bits), at least 64, so very long
/// sequences stage through memory instead. Same-type passes keep `block`.
pub fn staged_block_len<T, E: Storage<T>>(block: usize, steps: usize) -> usize {
    if E::scratch_len(1) == 0 {
        return block;
    }
    let fits = STAGED_BYTES / (3 * std::mem::size_of::<T>() * steps.max(1));
    block.min((fits / 64 * 64).clamp(64, 2048))
}

const STAGED_BYTES: usize = 192 * 1024;

/// A thread keeps its staging buffer for the next block up to this many
/// floats (4 MiB); a larger one (very long sequences) is freed after use.
const STAGING_KEPT: usize = 1 << 20;

/// Consecutive pieces of `staged`, one per row of `len` neurons (empty
/// pieces when rows are used in place).
fn pieces<T, E: Storage<T>>(staged: &mut [T], len: usize) -> impl Iterator<Item = &mut [T]> {
    let each = E::scratch_len(len);
    let mut rest = staged;
    std::iter::from_fn(move || {
        let whole = std::mem::take(&mut rest);
        let (piece, tail) = whole.split_at_mut(each.min(whole.len()));
        rest = tail;
        Some(piece)
    })
}

/// The block's rows as `T` rows: themselves, or widened into `staged`.
fn widen_rows<'b, T, E: Storage<T>>(
    rows: &[&'b [E]],
    staged: &'b mut [T],
    len: usize,
) -> Vec<&'b [T]> {
    rows.iter()
        .zip(pieces::<T, E>(staged, len))
        .map(|(r, s)| E::view(r, s))
        .collect()
}

/// Where the loop writes the block's output rows: themselves, or pieces of
/// `staged` that [`commit_rows`] narrows into them.
fn output_rows<'b, T, E: Storage<T>>(
    rows: &'b mut [&mut [E]],
    staged: &'b mut [T],
    len: usize,
) -> Vec<&'b mut [T]> {
    rows.iter_mut()
        .zip(pieces::<T, E>(staged, len))
        .map(|(r, s)| E::view_mut(r, s))
        .collect()
}

fn commit_rows<T, E: Storage<T>>(rows: &mut [&mut [E]], staged: &mut [T], len: usize) {
    for (r, s) in rows.iter_mut().zip(pieces::<T, E>(staged, len)) {
        E::commit(r, s);
    }
}

/// Runs `run` on the block with its `E` rows as `T` rows: the same rows when
/// `E` is `T`, else widened copies (x) and staged outputs (spikes), narrowed
/// into the block's rows after `run`.
pub fn stage_forward<T: Real, E: Storage<T>, O>(
    b: ForwardBlock<'_, T, E>,
    run: impl FnOnce(ForwardBlock<'_, T>) -> O,
) -> O {
    let ForwardBlock {
        x,
        v_init,
        mut spikes,
        v,
        h_seq,
        bits,
        v_seq,
    } = b;
    let (steps, len) = (x.len(), v.len());
    let rows = steps * E::scratch_len(len);
    E::with_staging(2 * rows, |staged| {
        let (x_rows, spike_rows) = staged.split_at_mut(rows);
        let out = run(ForwardBlock {
            x: widen_rows(&x, x_rows, len),
            v_init,
            spikes: output_rows(&mut spikes, spike_rows, len),
            v,
            h_seq,
            bits,
            v_seq,
        });
        commit_rows(&mut spikes, spike_rows, len);
        out
    })
}

/// [`stage_forward`] for a backward block: the spikes' gradient and x are
/// widened, grad_x is narrowed after `run`.
pub fn stage_backward<T: Real, E: Storage<T>, O>(
    b: BackwardBlock<'_, T, E>,
    run: impl FnOnce(BackwardBlock<'_, T>) -> O,
) -> O {
    let BackwardBlock {
        grad_spikes,
        grad_v_seq,
        grad_h_seq,
        grad_v_last,
        h_seq,
        bits,
        v_init,
        x,
        mut grad_x,
        carry,
    } = b;
    let (steps, len) = (h_seq.len(), carry.len());
    let rows = steps * E::scratch_len(len);
    let rows_if = |present: bool| if present { rows } else { 0 };
    let (gs_len, x_len) = (rows_if(grad_spikes.is_some()), rows_if(x.is_some()));
    E::with_staging(gs_len + x_len + rows, |staged| {
        let (gs_rows, rest) = staged.split_at_mut(gs_len);
        let (x_rows, gx_rows) = rest.split_at_mut(x_len);
        let out = run(BackwardBlock {
            grad_spikes: grad_spikes.as_ref().map(|g| widen_rows(g, gs_rows, len)),
            grad_v_seq,
            grad_h_seq,
            grad_v_last,
            h_seq,
            bits,
            v_init,
            x: x.as_ref().map(|x| widen_rows(x, x_rows, len)),
            grad_x: output_rows(&mut grad_x, gx_rows, len),
            carry,
        });
        commit_rows(&mut grad_x, gx_rows, len);
        out
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn half_rows_widen_exactly_and_narrow_to_nearest_even() {
        let row = [bf16::from_f32(1.5), bf16::from_f32(-0.0078125), bf16::ONE];
        let mut scratch = [0f32; 4];
        assert_eq!(
            <bf16 as Storage<f32>>::view(&row, &mut scratch),
            &[1.5, -0.0078125, 1.0]
        );
        let mut out = [f16::ZERO; 2];
        let mut scratch = [0f32; 4];
        {
            let w = <f16 as Storage<f32>>::view_mut(&mut out, &mut scratch);
            // 1 + 2^-11 is halfway between two float16s: ties go to the even one (1.0).
            w.copy_from_slice(&[1.0 + 2f32.powi(-11), 3.0]);
        }
        <f16 as Storage<f32>>::commit(&mut out, &scratch);
        assert_eq!(out, [f16::ONE, f16::from_f32(3.0)]);
    }

    #[test]
    fn bf16_narrowing_is_halfs_rounding() {
        let specials = [
            0.0f32,
            -0.0,
            f32::INFINITY,
            f32::NEG_INFINITY,
            f32::MAX,
            f32::MIN_POSITIVE,
        ];
        // Every pattern of the 16 bits that rounding looks at, under a few high halves.
        let values: Vec<f32> = (0u32..1 << 17)
            .map(|i| f32::from_bits(i.wrapping_mul(0x9e37_79b9) ^ (i << 15)))
            .chain(specials)
            .collect();
        let mut ours = vec![bf16::ZERO; values.len()];
        narrow_bf16(&values, &mut ours);
        for (v, o) in values.iter().zip(&ours) {
            let want = bf16::from_f32(*v);
            if v.is_nan() {
                assert!(o.is_nan(), "{v}");
            } else {
                assert_eq!(o.to_bits(), want.to_bits(), "{v:e}");
            }
        }
    }

    #[test]
    fn staged_blocks_run_on_widened_rows_and_narrow_their_outputs() {
        let (steps, len) = (3, 5);
        let x: Vec<bf16> = (0..steps * len)
            .map(|i| bf16::from_f32(i as f32 + 0.5))
            .collect();
        let mut spikes = vec![bf16::ZERO; steps * len];
        let mut v = vec![0f32; len];
        let block = ForwardBlock {
            x: x.chunks(len).collect(),
            v_init: None,
            spikes: spikes.chunks_mut(len).collect(),
            v: &mut v,
            h_seq: None,
            bits: None,
            v_seq: None,
        };
        stage_forward(block, |mut b| {
            for (t, (xs, ss)) in b.x.iter().zip(b.spikes.iter_mut()).enumerate() {
                assert_eq!(xs[0], (t * len) as f32 + 0.5);
                for (s, &x) in ss.iter_mut().zip(xs.iter()) {
                    *s = x * 2.0;
                }
            }
        });
        let want: Vec<bf16> = x.iter().map(|h| bf16::from_f32(h.to_f32() * 2.0)).collect();
        assert_eq!(spikes, want);
    }

    #[test]
    fn staged_blocks_shrink_as_sequences_grow() {
        assert_eq!(staged_block_len::<f32, bf16>(32768, 8), 2048);
        assert_eq!(staged_block_len::<f32, bf16>(32768, 128), 128);
        assert_eq!(staged_block_len::<f32, f16>(32768, 100_000), 64);
        assert_eq!(staged_block_len::<f32, bf16>(512, 1), 512);
        assert_eq!(staged_block_len::<f32, f32>(32768, 1000), 32768);
    }

    #[test]
    fn same_type_rows_are_not_copied() {
        let row = [1f32, 2.0];
        let view = <f32 as Storage<f32>>::view(&row, &mut []);
        assert!(std::ptr::eq(view, &row[..]));
        assert_eq!(<f32 as Storage<f32>>::scratch_len(64), 0);
    }
}
