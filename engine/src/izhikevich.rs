//! The Izhikevich neuron (SPEC §1): two states, the membrane V and the
//! recovery variable W, which spikes kick by `b`.
//!
//! ```text
//! H = V + (X + a0·(V - v_rest)·(V - v_c) - W) / tau
//! W ← W + (a·(H - v_rest) - W) / tau_w          (with V = H)
//! S = Θ(H - V_th);  V = reset(H, S);  W ← W + b·S
//! ```
//!
//! Saved for backward: H and the spike bit, as for one-state neurons. W is not
//! needed: H and W[t] are linear in W[t-1], so the adjoint of W carries
//! backward on constants alone, and V[t-1] is rebuilt from H[t-1] and S[t-1].

use crate::bits::{pack_row, row_bytes, unpack_row};
use crate::columns::{blocks, blocks_mut};
use crate::error::{parameter_names, require_finite, EngineError};
use crate::firing::Firing;
use crate::multistep::{block_len, FiringSpec};
use crate::real::Real;
use crate::surrogate::{DerivativeVisitor, Surrogate};
use rayon::prelude::*;

/// Parameter names, in the order [`Izhikevich::from_params`] takes them.
pub const PARAMETERS: &[(&str, &[&str])] = &[(
    "izhikevich",
    &["tau", "v_c", "a0", "v_rest", "w_rest", "tau_w", "a", "b"],
)];

#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Izhikevich {
    pub tau: f64,
    pub v_c: f64,
    pub a0: f64,
    pub v_rest: f64,
    pub w_rest: f64,
    pub tau_w: f64,
    pub a: f64,
    pub b: f64,
}

impl Izhikevich {
    pub fn from_params(params: &[f64]) -> Result<Self, EngineError> {
        let names = parameter_names(PARAMETERS, "neuron", "params", "izhikevich", params)?;
        for (&value, &arg) in params.iter().zip(names.iter()) {
            require_finite(arg, value)?;
        }
        for (arg, value) in [("tau", params[0]), ("tau_w", params[5])] {
            if value <= 0.0 {
                return Err(EngineError::param(
                    arg,
                    format!("expected a positive time constant, got {value}"),
                ));
            }
        }
        Ok(Izhikevich {
            tau: params[0],
            v_c: params[1],
            a0: params[2],
            v_rest: params[3],
            w_rest: params[4],
            tau_w: params[5],
            a: params[6],
            b: params[7],
        })
    }

    fn typed<T: Real>(self) -> Constants<T> {
        Constants {
            tau: T::of(self.tau),
            v_c: T::of(self.v_c),
            a0: T::of(self.a0),
            v_rest: T::of(self.v_rest),
            w_rest: T::of(self.w_rest),
            tau_w: T::of(self.tau_w),
            a: T::of(self.a),
            b: T::of(self.b),
        }
    }
}

#[derive(Clone, Copy)]
struct Constants<T> {
    tau: T,
    v_c: T,
    a0: T,
    v_rest: T,
    w_rest: T,
    tau_w: T,
    a: T,
    b: T,
}

impl<T: Real> Constants<T> {
    /// Written as SPEC §1 and the reference, so float64 agrees bit for bit.
    #[inline(always)]
    fn charge(&self, v: T, w: T, x: T) -> T {
        v + (x + self.a0 * (v - self.v_rest) * (v - self.v_c) - w) / self.tau
    }

    #[inline(always)]
    fn relax(&self, w: T, h: T) -> T {
        w + (self.a * (h - self.v_rest) - w) / self.tau_w
    }

    #[inline(always)]
    fn dh_dv(&self, v: T) -> T {
        T::one() + self.a0 * ((v - self.v_rest) + (v - self.v_c)) / self.tau
    }
}

pub struct ForwardInputs<'a, T> {
    pub steps: usize,
    pub neurons: usize,
    /// `[steps, neurons]`
    pub x: &'a [T],
    /// `[neurons]`; None: V starts at rest (`v_reset`, or 0 for soft reset).
    pub v_init: Option<&'a [T]>,
    /// `[neurons]`; None: W starts at `w_rest`.
    pub w_init: Option<&'a [T]>,
}

pub struct ForwardOutputs<'a, T> {
    pub spikes: &'a mut [T],
    pub v_last: &'a mut [T],
    pub w_last: &'a mut [T],
    /// None in inference.
    pub h_seq: Option<&'a mut [T]>,
    /// None in inference.
    pub bits: Option<&'a mut [u8]>,
    pub v_seq: Option<&'a mut [T]>,
}

pub struct BackwardInputs<'a, T> {
    pub steps: usize,
    pub neurons: usize,
    pub grad_spikes: Option<&'a [T]>,
    pub grad_v_seq: Option<&'a [T]>,
    pub grad_v_last: Option<&'a [T]>,
    pub grad_w_last: Option<&'a [T]>,
    pub h_seq: &'a [T],
    pub bits: &'a [u8],
    pub v_init: Option<&'a [T]>,
}

pub struct BackwardOutputs<'a, T> {
    pub grad_x: &'a mut [T],
    pub grad_v_init: &'a mut [T],
    pub grad_w_init: &'a mut [T],
}

fn check_len(arg: &'static str, got: usize, expected: usize) -> Result<(), EngineError> {
    if got == expected {
        return Ok(());
    }
    Err(EngineError::Shape {
        arg,
        expected: format!("{expected} elements"),
        got: format!("{got} elements"),
    })
}

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

/// Runs `steps` Izhikevich steps for every neuron.
pub fn forward<T: Real>(
    neuron: Izhikevich,
    firing: FiringSpec,
    i: ForwardInputs<T>,
    o: ForwardOutputs<T>,
) -> Result<(), EngineError> {
    firing.validate()?;
    check_steps("x", i.steps)?;
    let (steps, n) = (i.steps, i.neurons);
    check_len("x", i.x.len(), steps * n)?;
    for (arg, v) in [("v_init", i.v_init), ("w_init", i.w_init)] {
        if let Some(v) = v {
            check_len(arg, v.len(), n)?;
        }
    }
    check_len("spikes", o.spikes.len(), steps * n)?;
    check_len("v_last", o.v_last.len(), n)?;
    check_len("w_last", o.w_last.len(), n)?;
    if let Some(h) = &o.h_seq {
        check_len("h_seq", h.len(), steps * n)?;
    }
    if let Some(b) = &o.bits {
        check_len("bits", b.len(), steps * row_bytes(n))?;
    }
    if let Some(v) = &o.v_seq {
        check_len("v_seq", v.len(), steps * n)?;
    }
    let (c, f) = (neuron.typed::<T>(), firing.to::<T>());
    let block = block_len::<T>(n);
    let mut h_seq = o.h_seq.map(|h| blocks_mut(h, steps, n, block).into_iter());
    let mut bits = o
        .bits
        .map(|b| blocks_mut(b, steps, row_bytes(n), block / 8).into_iter());
    let mut v_seq = o.v_seq.map(|v| blocks_mut(v, steps, n, block).into_iter());
    let mut v_init = i.v_init.map(|v| v.chunks(block));
    let mut w_init = i.w_init.map(|v| v.chunks(block));
    let jobs: Vec<ForwardBlock<T>> = blocks(i.x, steps, n, block)
        .into_iter()
        .zip(blocks_mut(o.spikes, steps, n, block))
        .zip(o.v_last.chunks_mut(block).zip(o.w_last.chunks_mut(block)))
        .map(|((x, spikes), (v, w))| ForwardBlock {
            x,
            v_init: v_init.as_mut().and_then(|it| it.next()),
            w_init: w_init.as_mut().and_then(|it| it.next()),
            spikes,
            v,
            w,
            h_seq: h_seq.as_mut().and_then(|it| it.next()),
            bits: bits.as_mut().and_then(|it| it.next()),
            v_seq: v_seq.as_mut().and_then(|it| it.next()),
        })
        .collect();
    jobs.into_par_iter()
        .for_each(|job| with_cpu_features!(forward_block(c, f, job)));
    Ok(())
}

struct ForwardBlock<'a, T> {
    x: Vec<&'a [T]>,
    v_init: Option<&'a [T]>,
    w_init: Option<&'a [T]>,
    spikes: Vec<&'a mut [T]>,
    v: &'a mut [T],
    w: &'a mut [T],
    h_seq: Option<Vec<&'a mut [T]>>,
    bits: Option<Vec<&'a mut [u8]>>,
    v_seq: Option<Vec<&'a mut [T]>>,
}

#[inline(always)]
fn forward_block<T: Real>(c: Constants<T>, f: Firing<T>, mut b: ForwardBlock<T>) {
    match b.v_init {
        Some(v0) => b.v.copy_from_slice(v0),
        None => b.v.fill(f.rest_voltage()),
    }
    match b.w_init {
        Some(w0) => b.w.copy_from_slice(w0),
        None => b.w.fill(c.w_rest),
    }
    let (zero, one) = (T::zero(), T::one());
    let mut scratch = if b.h_seq.is_none() {
        vec![zero; b.v.len()]
    } else {
        Vec::new()
    };
    for t in 0..b.x.len() {
        let (xs, ss) = (b.x[t], &mut *b.spikes[t]);
        let hs: &mut [T] = match b.h_seq.as_mut() {
            Some(rows) => &mut *rows[t],
            None => &mut scratch[..],
        };
        let lanes =
            b.v.iter_mut()
                .zip(b.w.iter_mut())
                .zip(xs)
                .zip(hs.iter_mut());
        for ((((v, w), &x), h_out), s_out) in lanes.zip(ss.iter_mut()) {
            let h = c.charge(*v, *w, x);
            let relaxed = c.relax(*w, h);
            let spike = f.fires(h);
            let s = if spike { one } else { zero };
            *h_out = h;
            *s_out = s;
            *v = f.reset(h, spike);
            *w = relaxed + c.b * s;
        }
        if let Some(rows) = b.bits.as_mut() {
            pack_row(ss, rows[t]);
        }
        if let Some(v_seq) = b.v_seq.as_mut() {
            v_seq[t].copy_from_slice(b.v);
        }
    }
}

/// Exact BPTT through [`forward`]: fills the gradients wrt `x`, `v_init` and `w_init`.
pub fn backward<T: Real>(
    neuron: Izhikevich,
    firing: FiringSpec,
    surrogate: Surrogate,
    i: BackwardInputs<T>,
    o: BackwardOutputs<T>,
) -> Result<(), EngineError> {
    firing.validate()?;
    check_steps("h_seq", i.steps)?;
    let (steps, n) = (i.steps, i.neurons);
    for (arg, g) in [("grad_spikes", i.grad_spikes), ("grad_v_seq", i.grad_v_seq)] {
        if let Some(g) = g {
            check_len(arg, g.len(), steps * n)?;
        }
    }
    for (arg, g) in [
        ("grad_v_last", i.grad_v_last),
        ("grad_w_last", i.grad_w_last),
        ("v_init", i.v_init),
    ] {
        if let Some(g) = g {
            check_len(arg, g.len(), n)?;
        }
    }
    check_len("h_seq", i.h_seq.len(), steps * n)?;
    check_len("bits", i.bits.len(), steps * row_bytes(n))?;
    check_len("grad_x", o.grad_x.len(), steps * n)?;
    check_len("grad_v_init", o.grad_v_init.len(), n)?;
    check_len("grad_w_init", o.grad_w_init.len(), n)?;
    let job = BackwardJob {
        c: neuron.typed::<T>(),
        f: firing.to::<T>(),
        i,
        o,
    };
    surrogate.dispatch(job);
    Ok(())
}

struct BackwardJob<'a, T> {
    c: Constants<T>,
    f: Firing<T>,
    i: BackwardInputs<'a, T>,
    o: BackwardOutputs<'a, T>,
}

struct BackwardBlock<'a, T> {
    grad_spikes: Option<Vec<&'a [T]>>,
    grad_v_seq: Option<Vec<&'a [T]>>,
    grad_v_last: Option<&'a [T]>,
    grad_w_last: Option<&'a [T]>,
    h_seq: Vec<&'a [T]>,
    bits: Vec<&'a [u8]>,
    v_init: Option<&'a [T]>,
    grad_x: Vec<&'a mut [T]>,
    carry_v: &'a mut [T],
    carry_w: &'a mut [T],
}

impl<'a, T: Real> DerivativeVisitor<T> for BackwardJob<'a, T> {
    type Output = ();
    fn visit<G: Fn(T) -> T + Sync + Send + Copy>(self, sg: G) {
        let BackwardJob { c, f, i, o } = self;
        let (steps, n) = (i.steps, i.neurons);
        let block = block_len::<T>(n);
        let mut grad_spikes = i
            .grad_spikes
            .map(|g| blocks(g, steps, n, block).into_iter());
        let mut grad_v_seq = i.grad_v_seq.map(|g| blocks(g, steps, n, block).into_iter());
        let mut grad_v_last = i.grad_v_last.map(|g| g.chunks(block));
        let mut grad_w_last = i.grad_w_last.map(|g| g.chunks(block));
        let mut v_init = i.v_init.map(|v| v.chunks(block));
        let jobs: Vec<BackwardBlock<T>> = blocks(i.h_seq, steps, n, block)
            .into_iter()
            .zip(blocks(i.bits, steps, row_bytes(n), block / 8))
            .zip(blocks_mut(o.grad_x, steps, n, block))
            .zip(
                o.grad_v_init
                    .chunks_mut(block)
                    .zip(o.grad_w_init.chunks_mut(block)),
            )
            .map(
                |(((h_seq, bits), grad_x), (carry_v, carry_w))| BackwardBlock {
                    grad_spikes: grad_spikes.as_mut().and_then(|it| it.next()),
                    grad_v_seq: grad_v_seq.as_mut().and_then(|it| it.next()),
                    grad_v_last: grad_v_last.as_mut().and_then(|it| it.next()),
                    grad_w_last: grad_w_last.as_mut().and_then(|it| it.next()),
                    h_seq,
                    bits,
                    v_init: v_init.as_mut().and_then(|it| it.next()),
                    grad_x,
                    carry_v,
                    carry_w,
                },
            )
            .collect();
        jobs.into_par_iter()
            .for_each(|b| with_cpu_features!(backward_block(c, f, sg, b)));
    }
}

/// One block's reverse time loop. `carry_v` and `carry_w` hold dL/dV[t] and
/// dL/dW[t] (after the step), and end as the gradients at the initial state.
#[inline(always)]
fn backward_block<T: Real, G: Fn(T) -> T + Copy>(
    c: Constants<T>,
    f: Firing<T>,
    sg: G,
    b: BackwardBlock<T>,
) {
    let BackwardBlock {
        grad_spikes,
        grad_v_seq,
        grad_v_last,
        grad_w_last,
        h_seq,
        bits,
        v_init,
        mut grad_x,
        carry_v,
        carry_w,
    } = b;
    let (zero, one) = (T::zero(), T::one());
    match grad_v_last {
        Some(g) => carry_v.copy_from_slice(g),
        None => carry_v.fill(zero),
    }
    match grad_w_last {
        Some(g) => carry_w.copy_from_slice(g),
        None => carry_w.fill(zero),
    }
    let len = carry_v.len();
    let (mut spike_row, mut prev_spike_row, mut v_prev) =
        (vec![zero; len], vec![zero; len], vec![zero; len]);
    let zero_row = vec![zero; if grad_spikes.is_none() { len } else { 0 }];
    let (w_keep, dw_dh, inv_tau) = (one - one / c.tau_w, c.a / c.tau_w, one / c.tau);
    for t in (0..h_seq.len()).rev() {
        let gs: &[T] = grad_spikes.as_ref().map_or(&zero_row[..], |g| g[t]);
        if let Some(gv) = grad_v_seq.as_ref().map(|g| g[t]) {
            for (cv, &g) in carry_v.iter_mut().zip(gv) {
                *cv = g + *cv;
            }
        }
        unpack_row(bits[t], &mut spike_row);
        if t == 0 {
            match v_init {
                Some(v0) => v_prev.copy_from_slice(v0),
                None => v_prev.fill(f.rest_voltage()),
            }
        } else {
            unpack_row(bits[t - 1], &mut prev_spike_row);
            for ((v, &h), &s) in v_prev.iter_mut().zip(h_seq[t - 1]).zip(&prev_spike_row) {
                *v = f.reset(h, s != zero);
            }
        }
        let hs = h_seq[t];
        let gx = &mut *grad_x[t];
        for i in 0..len {
            let (h, s) = (hs[i], spike_row[i]);
            let g = sg(h - f.v_threshold);
            // W[t] = relaxed + b·S: the spike's gradient gains b·dL/dW[t].
            let g_spike = gs[i] + c.b * carry_w[i];
            let gh = g_spike * g + carry_v[i] * f.dv_dh(h, s != zero, g) + carry_w[i] * dw_dh;
            gx[i] = gh * inv_tau;
            carry_w[i] = carry_w[i] * w_keep - gh * inv_tau;
            carry_v[i] = gh * c.dh_dv(v_prev[i]);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params() -> Izhikevich {
        Izhikevich::from_params(&[2.0, 0.8, 1.0, -0.1, 0.05, 3.0, 0.3, 0.2]).unwrap()
    }

    fn run(x: &[f64], v0: &[f64], w0: &[f64], steps: usize) -> (Vec<f64>, Vec<f64>, Vec<f64>) {
        let n = v0.len();
        let (mut s, mut v, mut w) = (vec![0.0; steps * n], vec![0.0; n], vec![0.0; n]);
        let firing = FiringSpec {
            v_threshold: 1.0,
            v_reset: Some(0.0),
            detach_reset: false,
        };
        forward(
            params(),
            firing,
            ForwardInputs {
                steps,
                neurons: n,
                x,
                v_init: Some(v0),
                w_init: Some(w0),
            },
            ForwardOutputs {
                spikes: &mut s,
                v_last: &mut v,
                w_last: &mut w,
                h_seq: None,
                bits: None,
                v_seq: None,
            },
        )
        .unwrap();
        (s, v, w)
    }

    #[test]
    fn forward_follows_the_equations() {
        let p = params();
        let (x, v0, w0) = ([0.9, 1.4, 0.2], [0.3], [0.1]);
        let (s, v, w) = run(&x, &v0, &w0, 3);
        let (mut ev, mut ew) = (v0[0], w0[0]);
        for (t, &xt) in x.iter().enumerate() {
            let h = ev + (xt + p.a0 * (ev - p.v_rest) * (ev - p.v_c) - ew) / p.tau;
            ew += (p.a * (h - p.v_rest) - ew) / p.tau_w;
            let spike = h >= 1.0;
            assert_eq!(s[t], if spike { 1.0 } else { 0.0 });
            ev = if spike { 0.0 } else { h };
            ew += if spike { p.b } else { 0.0 };
        }
        assert_eq!((v[0], w[0]), (ev, ew));
    }

    #[test]
    fn bad_parameters_are_errors() {
        assert!(Izhikevich::from_params(&[2.0]).is_err());
        let mut p = [2.0, 0.8, 1.0, -0.1, 0.0, 2.0, 0.0, 0.0];
        p[5] = 0.0;
        assert!(Izhikevich::from_params(&p).is_err());
        p[5] = f64::NAN;
        assert!(Izhikevich::from_params(&p).is_err());
    }
}
