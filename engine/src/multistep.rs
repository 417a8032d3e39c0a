//! The one forward and one backward time loop shared by every single-state
//! neuron (the neurons of [`crate::neuron`]).
//!
//! Work is split into blocks of neurons (rayon-parallel); inside a block the
//! time loop runs over contiguous rows so the element loop vectorises and the
//! block's voltages stay in L1. The loops are compiled once per charge rule,
//! reset mode and (backward) surrogate: each arrives as a type, never as a
//! value matched inside the element loop.
//!
//! Saved for backward, per neuron-step: `H` (one float) and the spike as one
//! bit, i.e. `size_of::<T>() + 1/8` bytes (4.125 for f32, 8.125 for f64).
//! ParametricLIF with `decay_input` also re-reads its input `X`, which the
//! caller holds anyway, to get dH/dk exactly.

use crate::bits::{pack_row, unpack_row};
use crate::charge::ChargeRule;
use crate::columns::block_len;
use crate::error::EngineError;
use crate::firing::{Firing, FiringSpec, Reset, ResetRule};
use crate::io::{
    backward_blocks, forward_blocks, BackwardBlock, BackwardInputs, BackwardOutputs, ForwardBlock,
    ForwardInputs, ForwardOutputs,
};
use crate::neuron::{ChargeVisitor, Neuron};
use crate::parallel;
use crate::real::Real;
use crate::storage::{stage_backward, stage_forward, staged_block_len, Storage};
use crate::surrogate::{DerivativeVisitor, Surrogate};

/// Runs `steps` charge-fire-reset steps for every neuron. `E` is the element
/// type of `x` and the spikes (`T`, or 16-bit around an f32 loop).
pub fn forward<T: Real, E: Storage<T>>(
    neuron: Neuron,
    firing: FiringSpec,
    inputs: ForwardInputs<T, E>,
    outputs: ForwardOutputs<T, E>,
) -> Result<(), EngineError> {
    firing.validate()?;
    inputs.check(&outputs)?;
    let rest = firing.rest_voltage::<T>();
    neuron.dispatch(
        rest,
        ForwardJob {
            firing,
            inputs,
            outputs,
        },
    );
    Ok(())
}

struct ForwardJob<'a, T, E> {
    firing: FiringSpec,
    inputs: ForwardInputs<'a, T, E>,
    outputs: ForwardOutputs<'a, T, E>,
}

impl<T: Real, E: Storage<T>> ChargeVisitor<T> for ForwardJob<'_, T, E> {
    type Output = ();
    fn visit<R: ChargeRule<T>>(self, rule: R) {
        let (neurons, steps) = (self.inputs.neurons, self.inputs.steps);
        let block = staged_block_len::<T, E>(block_len::<T>(neurons), steps);
        let firing = self.firing;
        parallel::for_each(forward_blocks(self.inputs, self.outputs, block), |b| {
            stage_forward(b, |b| forward_block(rule, firing, b))
        });
    }
}

/// One block's forward in `T`, for every storage type alike (the element loop
/// is compiled once per charge rule, not again per 16-bit storage).
#[inline(never)]
fn forward_block<T: Real, R: ChargeRule<T>>(rule: R, firing: FiringSpec, b: ForwardBlock<T>) {
    match firing.reset::<T>() {
        Reset::Hard(r) => with_cpu_features!(forward_steps(rule, firing.with(r), b)),
        Reset::Soft(r) => with_cpu_features!(forward_steps(rule, firing.with(r), b)),
    }
}

/// One block's forward steps, compiled for charge rule `R` and reset mode `F`.
#[inline(always)]
fn forward_steps<T: Real, R: ChargeRule<T>, F: ResetRule<T>>(
    rule: R,
    f: Firing<T, F>,
    b: ForwardBlock<T>,
) {
    run_forward_rows(
        f.rest(),
        b,
        #[inline(always)]
        move |v, xs, hs, ss| {
            let (zero, one) = (T::zero(), T::one());
            for (((v, &x), h_out), s_out) in
                v.iter_mut().zip(xs).zip(hs.iter_mut()).zip(ss.iter_mut())
            {
                let h = rule.charge(*v, x);
                let spike = f.fires(h);
                *h_out = h;
                *s_out = if spike { one } else { zero };
                *v = f.reset(h, spike);
            }
        },
    );
}

/// The forward time loop around one block's element loop: sets V to its
/// initial value (or `rest`), then per step hands `step(V, X[t], H[t], S[t])`
/// the rows and packs/copies what was asked for. Without backward to feed
/// (inference), H goes to a block-local row that stays in cache.
#[inline(always)]
pub(crate) fn run_forward_rows<T: Real>(
    rest: T,
    mut b: ForwardBlock<T>,
    mut step: impl FnMut(&mut [T], &[T], &mut [T], &mut [T]),
) {
    let v = &mut *b.v;
    match b.v_init {
        Some(v0) => v.copy_from_slice(v0),
        None => v.fill(rest),
    }
    let mut scratch = vec![T::zero(); if b.h_seq.is_none() { v.len() } else { 0 }];
    for t in 0..b.x.len() {
        let ss = &mut *b.spikes[t];
        let hs: &mut [T] = match b.h_seq.as_mut() {
            Some(rows) => &mut *rows[t],
            None => &mut scratch[..],
        };
        step(v, b.x[t], hs, ss);
        if let Some(rows) = b.bits.as_mut() {
            pack_row(ss, rows[t]);
        }
        if let Some(v_seq) = b.v_seq.as_mut() {
            v_seq[t].copy_from_slice(v);
        }
    }
}

/// Exact BPTT through the multi-step forward (docs/semantics.md#bptt). Fills
/// the gradients wrt `x` and `v_init`; returns `Σ_t,n gH·dH/dk` (the gradient
/// wrt a learnable `k`, 0 for other neurons), summed in f64.
pub fn backward<T: Real, E: Storage<T>>(
    neuron: Neuron,
    firing: FiringSpec,
    surrogate: Surrogate,
    inputs: BackwardInputs<T, E>,
    outputs: BackwardOutputs<T, E>,
) -> Result<f64, EngineError> {
    firing.validate()?;
    inputs.check(&outputs)?;
    let rest = firing.rest_voltage::<T>();
    let job = BackwardJob {
        firing,
        surrogate,
        inputs,
        outputs,
    };
    neuron.dispatch(rest, job)
}

struct BackwardJob<'a, T, E> {
    firing: FiringSpec,
    surrogate: Surrogate,
    inputs: BackwardInputs<'a, T, E>,
    outputs: BackwardOutputs<'a, T, E>,
}

impl<T: Real, E: Storage<T>> ChargeVisitor<T> for BackwardJob<'_, T, E> {
    type Output = Result<f64, EngineError>;
    fn visit<R: ChargeRule<T>>(self, rule: R) -> Self::Output {
        if R::LEARNABLE_DECAY && self.inputs.x.is_none() {
            return Err(EngineError::param(
                "x",
                "ParametricLIF and KLIF backward need the forward input x",
            ));
        }
        let surrogate = self.surrogate;
        Ok(surrogate.dispatch(WithRule { rule, job: self }))
    }
}

struct WithRule<'a, T, R, E> {
    rule: R,
    job: BackwardJob<'a, T, E>,
}

impl<T: Real, R: ChargeRule<T>, E: Storage<T>> DerivativeVisitor<T> for WithRule<'_, T, R, E> {
    type Output = f64;
    fn visit<G: Fn(T) -> T + Sync + Send + Copy>(self, sg: G) -> f64 {
        let WithRule { rule, job } = self;
        let firing = job.firing;
        let (neurons, steps) = (job.inputs.neurons, job.inputs.steps);
        let block = staged_block_len::<T, E>(block_len::<T>(neurons), steps);
        parallel::sum(backward_blocks(job.inputs, job.outputs, block), |b| {
            stage_backward(b, |b| backward_block(rule, firing, sg, b))
        })
    }
}

/// One block's backward in `T`, for every storage type alike (see [`forward_block`]).
#[inline(never)]
fn backward_block<T: Real, R: ChargeRule<T>, G: Fn(T) -> T + Copy>(
    rule: R,
    firing: FiringSpec,
    sg: G,
    b: BackwardBlock<T>,
) -> f64 {
    match firing.reset::<T>() {
        Reset::Hard(r) => with_cpu_features!(backward_steps(rule, firing.with(r), sg, b)),
        Reset::Soft(r) => with_cpu_features!(backward_steps(rule, firing.with(r), sg, b)),
    }
}

/// One block's reverse time loop; returns the block's dL/dk.
#[inline(always)]
fn backward_steps<T: Real, R: ChargeRule<T>, F: ResetRule<T>, G: Fn(T) -> T + Copy>(
    rule: R,
    f: Firing<T, F>,
    sg: G,
    b: BackwardBlock<T>,
) -> f64 {
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
    let zero = T::zero();
    // Constant for linear rules; the slow path below re-evaluates them per neuron otherwise.
    let (dh_dv, dh_dx) = (rule.dh_dv(zero, zero), rule.dh_dx(zero, zero));
    // carry = gH[t+1]·dH[t+1]/dV[t], plus the gradient at V after the last step.
    match grad_v_last {
        Some(g) => carry.copy_from_slice(g),
        None => carry.fill(zero),
    }
    let len = carry.len();
    let slow = R::LEARNABLE_DECAY || R::STATE_DEPENDENT;
    let slow_row = || vec![zero; if slow { len } else { 0 }];
    // dL/dk, summed over time per lane (so the loop vectorises), then over lanes in f64.
    let mut grad_k_lanes = vec![zero; if R::LEARNABLE_DECAY { len } else { 0 }];
    // The step's spikes as 0/1 values, unpacked once so the main loop is plain lanes.
    let mut spike_row = vec![zero; len];
    let (mut extra_row, mut v_prev) = (slow_row(), slow_row());
    // Stands in for the spikes' gradient when they received none.
    let zero_row = vec![zero; if grad_spikes.is_none() { len } else { 0 }];
    for t in (0..h_seq.len()).rev() {
        let gs: &[T] = grad_spikes.as_ref().map_or(&zero_row[..], |g| g[t]);
        let hs = h_seq[t];
        let gx = &mut *grad_x[t];
        if let Some(gv) = grad_v_seq.as_ref().map(|g| g[t]) {
            for (c, &g) in carry.iter_mut().zip(gv) {
                *c = g + *c;
            }
        }
        unpack_row(bits[t], &mut spike_row);
        if slow {
            let before = (t > 0).then(|| (h_seq[t - 1], bits[t - 1]));
            rebuild_v_prev(f, before, v_init, &mut v_prev);
            // Learnable rules are only called with x (checked by `backward`).
            let x_t: &[T] = x.as_ref().map_or(&zero_row[..0], |x| x[t]);
            // A gradient arriving at H itself adds to gH (a row of zeros when there
            // is none, so the loop below stays branch-free).
            match grad_h_seq.as_ref().map(|g| g[t]) {
                Some(gh_in) => extra_row.copy_from_slice(gh_in),
                None => extra_row.fill(zero),
            }
            for i in 0..len {
                let (h, s, vp) = (hs[i], spike_row[i], v_prev[i]);
                let g = sg(h - f.v_threshold);
                let gh = gs[i] * g + carry[i] * f.dv_dh(h, s, g) + extra_row[i];
                gx[i] = gh * rule.dh_dx(vp, h);
                carry[i] = gh * rule.dh_dv(vp, h);
                if R::LEARNABLE_DECAY {
                    grad_k_lanes[i] = grad_k_lanes[i] + gh * rule.dh_dk(vp, x_t[i], h);
                }
            }
        } else {
            let lanes = hs
                .iter()
                .zip(gs)
                .zip(gx.iter_mut())
                .zip(carry.iter_mut())
                .zip(&spike_row);
            for ((((&h, &g_s), g_x), c), &s) in lanes {
                let g = sg(h - f.v_threshold);
                let gh = g_s * g + *c * f.dv_dh(h, s, g);
                *g_x = gh * dh_dx;
                *c = gh * dh_dv;
            }
            // A gradient arriving at H directly flows on linearly (constant partials here).
            if let Some(gh_in) = grad_h_seq.as_ref().map(|g| g[t]) {
                for ((g_x, c), &g) in gx.iter_mut().zip(carry.iter_mut()).zip(gh_in) {
                    *g_x = *g_x + g * dh_dx;
                    *c = *c + g * dh_dv;
                }
            }
        }
    }
    grad_k_lanes.iter().map(|&g| Real::to_f64(g)).sum()
}

/// V[t-1] for backward, rebuilt from what forward saved: the reset of H[t-1]
/// by S[t-1] (`before`, packed), or for t = 0 the initial V (`v_init`, or rest).
#[inline(always)]
pub(crate) fn rebuild_v_prev<T: Real, F: ResetRule<T>>(
    f: Firing<T, F>,
    before: Option<(&[T], &[u8])>,
    v_init: Option<&[T]>,
    v_prev: &mut [T],
) {
    match (before, v_init) {
        (Some((h, bits)), _) => {
            // Unpacked into `v_prev` first, so the reset below is a plain lane loop.
            unpack_row(bits, v_prev);
            for (v, &h) in v_prev.iter_mut().zip(h) {
                *v = f.reset(h, *v != T::zero());
            }
        }
        (None, Some(v0)) => v_prev.copy_from_slice(v0),
        (None, None) => v_prev.fill(f.rest()),
    }
}
