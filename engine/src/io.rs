//! The arrays a forward or backward pass reads and writes, their shape
//! checks, and their split into per-block column pieces.
//!
//! Every neuron shares these: the membrane V, the input X, the spikes and
//! what forward saves for backward (H and the spike bits). A neuron with a
//! second state (Izhikevich's W) passes that state's arrays alongside.

use crate::bits::row_bytes;
use crate::columns::{blocks, blocks_mut, each_or_none};
use crate::error::EngineError;

/// Inputs of the forward pass: `x` is `[steps, neurons]`, `v_init` is `[neurons]`
/// (`None`: every neuron starts at rest, `v_reset` or 0 for soft reset).
///
/// `E` is the element type of the arrays streamed through memory (`x`,
/// `spikes`; in backward `grad_spikes`, `x`, `grad_x`): `T` itself, or a
/// 16-bit float around an f32 loop (see [`crate::storage`]).
pub struct ForwardInputs<'a, T, E = T> {
    pub steps: usize,
    pub neurons: usize,
    pub x: &'a [E],
    pub v_init: Option<&'a [T]>,
}

/// Outputs of the forward pass, allocated by the caller.
pub struct ForwardOutputs<'a, T, E = T> {
    /// `[steps, neurons]`, 0 or 1.
    pub spikes: &'a mut [E],
    /// `[neurons]`: V after the last step.
    pub v_last: &'a mut [T],
    /// `[steps, neurons]`: H, saved for backward.
    /// (None in inference: nothing is saved for backward.)
    pub h_seq: Option<&'a mut [T]>,
    /// `[steps, ceil(neurons/8)]`: spikes as packed bits, saved for backward.
    pub bits: Option<&'a mut [u8]>,
    /// `[steps, neurons]`: post-reset V at every step, when asked for.
    pub v_seq: Option<&'a mut [T]>,
}

/// Gradients arriving at the forward outputs, and what forward saved.
pub struct BackwardInputs<'a, T, E = T> {
    pub steps: usize,
    pub neurons: usize,
    /// `[steps, neurons]`; None when the spikes received no gradient (zeros).
    pub grad_spikes: Option<&'a [E]>,
    /// `[steps, neurons]`, gradient at the post-reset voltage sequence.
    pub grad_v_seq: Option<&'a [T]>,
    /// `[steps, neurons]`, gradient arriving at H itself (e.g. LIAF's analog output).
    pub grad_h_seq: Option<&'a [T]>,
    /// `[neurons]`, gradient at V after the last step.
    pub grad_v_last: Option<&'a [T]>,
    pub h_seq: &'a [T],
    pub bits: &'a [u8],
    pub v_init: Option<&'a [T]>,
    /// `[steps, neurons]`: the forward input; needed only by learnable charge rules.
    pub x: Option<&'a [E]>,
}

pub struct BackwardOutputs<'a, T, E = T> {
    /// `[steps, neurons]`
    pub grad_x: &'a mut [E],
    /// `[neurons]`
    pub grad_v_init: &'a mut [T],
}

/// Checks that an array holds `expected` elements.
fn check_len(arg: &'static str, got: usize, expected: usize) -> Result<(), EngineError> {
    if got == expected {
        Ok(())
    } else {
        Err(EngineError::Shape {
            arg,
            expected: format!("{expected} elements"),
            got: format!("{got} elements"),
        })
    }
}

/// Checks an optional array's length when it is there.
fn check_optional_len<T>(
    arg: &'static str,
    array: Option<&[T]>,
    expected: usize,
) -> Result<(), EngineError> {
    array.map_or(Ok(()), |a| check_len(arg, a.len(), expected))
}

/// A pass needs at least one time step; `arg` names the array that gives T.
fn check_steps(arg: &'static str, steps: usize) -> Result<(), EngineError> {
    if steps == 0 {
        return Err(EngineError::Shape {
            arg,
            expected: "T >= 1 time steps".into(),
            got: "T = 0".into(),
        });
    }
    Ok(())
}

impl<T, E> ForwardInputs<'_, T, E> {
    /// Checks every array against `steps` and `neurons`.
    pub fn check(&self, o: &ForwardOutputs<T, E>) -> Result<(), EngineError> {
        check_steps("x", self.steps)?;
        let (cells, n) = (self.steps * self.neurons, self.neurons);
        check_len("x", self.x.len(), cells)?;
        check_optional_len("v_init", self.v_init, n)?;
        check_len("spikes", o.spikes.len(), cells)?;
        check_len("v_last", o.v_last.len(), n)?;
        check_optional_len("h_seq", o.h_seq.as_deref(), cells)?;
        check_optional_len("bits", o.bits.as_deref(), self.steps * row_bytes(n))?;
        check_optional_len("v_seq", o.v_seq.as_deref(), cells)
    }
}

impl<T, E> BackwardInputs<'_, T, E> {
    /// Checks every array against `steps` and `neurons`.
    pub fn check(&self, o: &BackwardOutputs<T, E>) -> Result<(), EngineError> {
        check_steps("h_seq", self.steps)?;
        let (cells, n) = (self.steps * self.neurons, self.neurons);
        check_optional_len("grad_spikes", self.grad_spikes, cells)?;
        check_optional_len("grad_h_seq", self.grad_h_seq, cells)?;
        check_optional_len("grad_v_seq", self.grad_v_seq, cells)?;
        check_optional_len("grad_v_last", self.grad_v_last, n)?;
        check_len("h_seq", self.h_seq.len(), cells)?;
        check_len("bits", self.bits.len(), self.steps * row_bytes(n))?;
        check_optional_len("v_init", self.v_init, n)?;
        check_optional_len("x", self.x, cells)?;
        check_len("grad_x", o.grad_x.len(), cells)?;
        check_len("grad_v_init", o.grad_v_init.len(), n)
    }
}

/// One block's pieces of the forward arrays: rows of `block` neurons per
/// time step (`[steps][block]`), and the block's slice of per-neuron arrays.
pub struct ForwardBlock<'a, T, E = T> {
    pub x: Vec<&'a [E]>,
    pub v_init: Option<&'a [T]>,
    pub spikes: Vec<&'a mut [E]>,
    /// V: starts as `v_init` (or rest) and ends as the block's `v_last`.
    pub v: &'a mut [T],
    pub h_seq: Option<Vec<&'a mut [T]>>,
    pub bits: Option<Vec<&'a mut [u8]>>,
    pub v_seq: Option<Vec<&'a mut [T]>>,
}

/// Splits checked forward arrays into blocks of `block` neurons (a multiple of 8).
pub fn forward_blocks<'a, T, E>(
    i: ForwardInputs<'a, T, E>,
    o: ForwardOutputs<'a, T, E>,
    block: usize,
) -> Vec<ForwardBlock<'a, T, E>> {
    let (steps, n) = (i.steps, i.neurons);
    let mut v_init = each_or_none(i.v_init.map(|v| v.chunks(block)));
    let mut h_seq = each_or_none(o.h_seq.map(|h| blocks_mut(h, steps, n, block).into_iter()));
    let mut bits = each_or_none(
        o.bits
            .map(|b| blocks_mut(b, steps, row_bytes(n), block / 8).into_iter()),
    );
    let mut v_seq = each_or_none(o.v_seq.map(|v| blocks_mut(v, steps, n, block).into_iter()));
    blocks(i.x, steps, n, block)
        .into_iter()
        .zip(blocks_mut(o.spikes, steps, n, block))
        .zip(o.v_last.chunks_mut(block))
        .map(|((x, spikes), v)| ForwardBlock {
            x,
            v_init: v_init.next().flatten(),
            spikes,
            v,
            h_seq: h_seq.next().flatten(),
            bits: bits.next().flatten(),
            v_seq: v_seq.next().flatten(),
        })
        .collect()
}

/// One block's pieces of the backward arrays (see [`ForwardBlock`]).
pub struct BackwardBlock<'a, T, E = T> {
    pub grad_spikes: Option<Vec<&'a [E]>>,
    pub grad_v_seq: Option<Vec<&'a [T]>>,
    pub grad_h_seq: Option<Vec<&'a [T]>>,
    pub grad_v_last: Option<&'a [T]>,
    pub h_seq: Vec<&'a [T]>,
    pub bits: Vec<&'a [u8]>,
    pub v_init: Option<&'a [T]>,
    pub x: Option<Vec<&'a [E]>>,
    pub grad_x: Vec<&'a mut [E]>,
    /// dL/dV carried back through time: starts as `grad_v_last` (or 0) and
    /// ends as the block's `grad_v_init`.
    pub carry: &'a mut [T],
}

/// Splits checked backward arrays into blocks of `block` neurons (a multiple of 8).
pub fn backward_blocks<'a, T, E>(
    i: BackwardInputs<'a, T, E>,
    o: BackwardOutputs<'a, T, E>,
    block: usize,
) -> Vec<BackwardBlock<'a, T, E>> {
    let (steps, n) = (i.steps, i.neurons);
    let seq = |g: &'a [T]| blocks(g, steps, n, block).into_iter();
    let streamed = |g: &'a [E]| blocks(g, steps, n, block).into_iter();
    let mut grad_spikes = each_or_none(i.grad_spikes.map(streamed));
    let mut grad_v_seq = each_or_none(i.grad_v_seq.map(seq));
    let mut grad_h_seq = each_or_none(i.grad_h_seq.map(seq));
    let mut x = each_or_none(i.x.map(streamed));
    let mut grad_v_last = each_or_none(i.grad_v_last.map(|g| g.chunks(block)));
    let mut v_init = each_or_none(i.v_init.map(|v| v.chunks(block)));
    blocks(i.h_seq, steps, n, block)
        .into_iter()
        .zip(blocks(i.bits, steps, row_bytes(n), block / 8))
        .zip(blocks_mut(o.grad_x, steps, n, block))
        .zip(o.grad_v_init.chunks_mut(block))
        .map(|(((h_seq, bits), grad_x), carry)| BackwardBlock {
            grad_spikes: grad_spikes.next().flatten(),
            grad_v_seq: grad_v_seq.next().flatten(),
            grad_h_seq: grad_h_seq.next().flatten(),
            grad_v_last: grad_v_last.next().flatten(),
            h_seq,
            bits,
            v_init: v_init.next().flatten(),
            x: x.next().flatten(),
            grad_x,
            carry,
        })
        .collect()
}

/// Checks a second per-neuron state's arrays (see [`with_second_state`]):
/// `init` (when given) and `out` hold one value per neuron; `names` are theirs.
pub fn check_second_state<T>(
    names: [&'static str; 2],
    init: Option<&[T]>,
    out: &[T],
    neurons: usize,
) -> Result<(), EngineError> {
    check_optional_len(names[0], init, neurons)?;
    check_len(names[1], out.len(), neurons)
}

/// A block with its pieces of a second state: `(block, init, out)`.
pub type WithSecondState<'a, B, T> = (B, Option<&'a [T]>, &'a mut [T]);

/// Pairs each block with its pieces of a second per-neuron state (e.g.
/// Izhikevich's W): of `init` (None when absent) and of `out`, which the
/// block fills.
pub fn with_second_state<'a, B, T>(
    blocks: Vec<B>,
    init: Option<&'a [T]>,
    out: &'a mut [T],
    block: usize,
) -> Vec<WithSecondState<'a, B, T>> {
    let init = each_or_none(init.map(|s| s.chunks(block)));
    let pieces = init.zip(out.chunks_mut(block));
    blocks
        .into_iter()
        .zip(pieces)
        .map(|(b, (i, o))| (b, i, o))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checks_name_the_wrong_array() {
        let (x, mut s, mut v) = ([0f32; 6], [0f32; 6], [0f32; 2]);
        let inputs = ForwardInputs {
            steps: 2,
            neurons: 3,
            x: &x,
            v_init: Some(&x[..2]),
        };
        let outputs = ForwardOutputs {
            spikes: &mut s,
            v_last: &mut v,
            h_seq: None,
            bits: None,
            v_seq: None,
        };
        let err = inputs.check(&outputs).unwrap_err();
        assert_eq!(
            err.to_string(),
            "v_init: expected shape 3 elements, got 2 elements"
        );
    }

    #[test]
    fn blocks_get_their_columns_and_absent_arrays_stay_absent() {
        let (steps, n, block) = (2, 80, 64);
        let x: Vec<f32> = (0..steps * n).map(|i| i as f32).collect();
        let (mut s, mut v) = (vec![0f32; steps * n], vec![0f32; n]);
        let mut bits = vec![0u8; steps * row_bytes(n)];
        let jobs = forward_blocks(
            ForwardInputs {
                steps,
                neurons: n,
                x: &x,
                v_init: None,
            },
            ForwardOutputs {
                spikes: &mut s,
                v_last: &mut v,
                h_seq: None,
                bits: Some(&mut bits),
                v_seq: None,
            },
            block,
        );
        assert_eq!(jobs.len(), 2);
        assert_eq!(jobs[1].x[1][0], (n + block) as f32);
        assert_eq!(jobs[1].v.len(), n - block);
        assert_eq!(jobs[1].bits.as_ref().map(|b| b[0].len()), Some(2));
        assert!(jobs.iter().all(|j| j.v_init.is_none() && j.h_seq.is_none()));
    }
}
