//! The Izhikevich neuron (docs/semantics.md#izhikevich): two states, the membrane V and the
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

use crate::bits::unpack_row;
use crate::columns::block_len;
use crate::error::{parameter_names, require_finite, EngineError};
use crate::firing::{Firing, FiringSpec, Reset, ResetRule};
use crate::io::{
    backward_blocks, check_second_state, forward_blocks, with_second_state, BackwardBlock,
    BackwardInputs, BackwardOutputs, ForwardBlock, ForwardInputs, ForwardOutputs,
};
use crate::multistep::{rebuild_v_prev, run_forward_rows};
use crate::parallel;
use crate::real::Real;
use crate::surrogate::{DerivativeVisitor, Surrogate};

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
    /// Written as docs/semantics.md#izhikevich and the reference, so float64
    /// agrees bit for bit.
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

/// Izhikevich's second state W alongside the shared forward arrays: its
/// initial value in, its last value out.
pub struct Recovery<'a, T> {
    /// `[neurons]`; None: W starts at `w_rest`.
    pub w_init: Option<&'a [T]>,
    /// `[neurons]`: W after the last step.
    pub w_last: &'a mut [T],
}

/// The gradients of W alongside the shared backward arrays.
pub struct RecoveryGrad<'a, T> {
    /// `[neurons]`, gradient at W after the last step; None: zeros.
    pub grad_w_last: Option<&'a [T]>,
    /// `[neurons]`: the gradient wrt `w_init`.
    pub grad_w_init: &'a mut [T],
}

/// Runs `steps` Izhikevich steps for every neuron.
pub fn forward<T: Real>(
    neuron: Izhikevich,
    firing: FiringSpec,
    i: ForwardInputs<T>,
    o: ForwardOutputs<T>,
    w: Recovery<T>,
) -> Result<(), EngineError> {
    firing.validate()?;
    i.check(&o)?;
    check_second_state(["w_init", "w_last"], w.w_init, w.w_last, i.neurons)?;
    let c = neuron.typed::<T>();
    let block = block_len::<T>(i.neurons);
    parallel::for_each(
        with_second_state(forward_blocks(i, o, block), w.w_init, w.w_last, block),
        |(b, w_init, w)| match firing.reset::<T>() {
            Reset::Hard(r) => with_cpu_features!(forward_block(c, firing.with(r), b, w_init, w)),
            Reset::Soft(r) => with_cpu_features!(forward_block(c, firing.with(r), b, w_init, w)),
        },
    );
    Ok(())
}

/// One block's forward steps; `w` starts as `w_init` (or `w_rest`) and ends as W[T].
#[inline(always)]
fn forward_block<T: Real, F: ResetRule<T>>(
    c: Constants<T>,
    f: Firing<T, F>,
    b: ForwardBlock<T>,
    w_init: Option<&[T]>,
    w: &mut [T],
) {
    match w_init {
        Some(w0) => w.copy_from_slice(w0),
        None => w.fill(c.w_rest),
    }
    run_forward_rows(
        f.rest(),
        b,
        #[inline(always)]
        move |v, xs, hs, ss| {
            let (zero, one) = (T::zero(), T::one());
            let lanes = v.iter_mut().zip(w.iter_mut()).zip(xs).zip(hs.iter_mut());
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
        },
    );
}

/// Exact BPTT through [`forward`]: fills the gradients wrt `x`, `v_init` and `w_init`.
/// `i.x` is not needed; `i.grad_h_seq` must be None (Izhikevich's H has no
/// output of its own).
pub fn backward<T: Real>(
    neuron: Izhikevich,
    firing: FiringSpec,
    surrogate: Surrogate,
    i: BackwardInputs<T>,
    o: BackwardOutputs<T>,
    w: RecoveryGrad<T>,
) -> Result<(), EngineError> {
    firing.validate()?;
    i.check(&o)?;
    if i.grad_h_seq.is_some() {
        return Err(EngineError::param(
            "grad_h_seq",
            "Izhikevich backward takes no gradient at H",
        ));
    }
    let names = ["grad_w_last", "grad_w_init"];
    check_second_state(names, w.grad_w_last, w.grad_w_init, i.neurons)?;
    let job = BackwardJob {
        c: neuron.typed::<T>(),
        firing,
        i,
        o,
        w,
    };
    surrogate.dispatch(job);
    Ok(())
}

struct BackwardJob<'a, T> {
    c: Constants<T>,
    firing: FiringSpec,
    i: BackwardInputs<'a, T>,
    o: BackwardOutputs<'a, T>,
    w: RecoveryGrad<'a, T>,
}

impl<T: Real> DerivativeVisitor<T> for BackwardJob<'_, T> {
    type Output = ();
    fn visit<G: Fn(T) -> T + Sync + Send + Copy>(self, sg: G) {
        let BackwardJob { c, firing, i, o, w } = self;
        let block = block_len::<T>(i.neurons);
        let blocks = backward_blocks(i, o, block);
        parallel::for_each(
            with_second_state(blocks, w.grad_w_last, w.grad_w_init, block),
            |(b, g_w, carry_w)| match firing.reset::<T>() {
                Reset::Hard(r) => {
                    with_cpu_features!(backward_block(c, firing.with(r), sg, b, g_w, carry_w))
                }
                Reset::Soft(r) => {
                    with_cpu_features!(backward_block(c, firing.with(r), sg, b, g_w, carry_w))
                }
            },
        );
    }
}

/// One block's reverse time loop. `b.carry` and `carry_w` hold dL/dV[t] and
/// dL/dW[t] (after the step), and end as the gradients at the initial state.
#[inline(always)]
fn backward_block<T: Real, F: ResetRule<T>, G: Fn(T) -> T + Copy>(
    c: Constants<T>,
    f: Firing<T, F>,
    sg: G,
    b: BackwardBlock<T>,
    grad_w_last: Option<&[T]>,
    carry_w: &mut [T],
) {
    let BackwardBlock {
        grad_spikes,
        grad_v_seq,
        grad_v_last,
        h_seq,
        bits,
        v_init,
        mut grad_x,
        carry: carry_v,
        ..
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
    let (mut spike_row, mut v_prev) = (vec![zero; len], vec![zero; len]);
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
        let before = (t > 0).then(|| (h_seq[t - 1], bits[t - 1]));
        rebuild_v_prev(f, before, v_init, &mut v_prev);
        let hs = h_seq[t];
        let gx = &mut *grad_x[t];
        for i in 0..len {
            let (h, s) = (hs[i], spike_row[i]);
            let g = sg(h - f.v_threshold);
            // W[t] = relaxed + b·S: the spike's gradient gains b·dL/dW[t].
            let g_spike = gs[i] + c.b * carry_w[i];
            let gh = g_spike * g + carry_v[i] * f.dv_dh(h, s, g) + carry_w[i] * dw_dh;
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
            },
            ForwardOutputs {
                spikes: &mut s,
                v_last: &mut v,
                h_seq: None,
                bits: None,
                v_seq: None,
            },
            Recovery {
                w_init: Some(w0),
                w_last: &mut w,
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
