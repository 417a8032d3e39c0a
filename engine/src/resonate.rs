//! The resonate-and-fire neuron (docs/semantics.md#more-neurons): two states, the membrane V and the
//! oscillator's other coordinate u, rotated and damped every step; the input drives u.
//!
//! ```text
//! H = d·(u·sin + V·cos)            d = e^{b·dt}, the angle ω·dt
//! u ← d·(u·cos - V·sin) + X
//! S = Θ(H - V_th);  V = reset(H, S)   (u is not reset)
//! ```
//!
//! Saved for backward: H and the spike bit, as for one-state neurons. Nothing else: the
//! step is linear in (u, V) before the reset, so the adjoints of u and V carry backward on
//! constants alone.

use crate::bits::unpack_row;
use crate::columns::block_len;
use crate::error::{parameter_names, require_finite, EngineError};
use crate::firing::{Firing, FiringSpec, Reset, ResetRule};
use crate::io::{
    backward_blocks, check_second_state, forward_blocks, with_second_state, BackwardBlock,
    BackwardInputs, BackwardOutputs, ForwardBlock, ForwardInputs, ForwardOutputs,
};
use crate::multistep::run_forward_rows;
use crate::parallel;
use crate::real::Real;
use crate::surrogate::{DerivativeVisitor, Surrogate};

/// Parameter names, in the order [`Resonate::from_params`] takes them.
pub const PARAMETERS: &[(&str, &[&str])] = &[("resonate", &["b", "omega", "dt"])];

#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Resonate {
    pub b: f64,
    pub omega: f64,
    pub dt: f64,
}

impl Resonate {
    pub fn from_params(params: &[f64]) -> Result<Self, EngineError> {
        let names = parameter_names(PARAMETERS, "neuron", "params", "resonate", params)?;
        for (&value, &arg) in params.iter().zip(names.iter()) {
            require_finite(arg, value)?;
        }
        let (b, omega, dt) = (params[0], params[1], params[2]);
        if b >= 0.0 {
            return Err(EngineError::param(
                "b",
                format!("expected a damping < 0, got {b}"),
            ));
        }
        for (arg, value) in [("omega", omega), ("dt", dt)] {
            if value <= 0.0 {
                return Err(EngineError::param(
                    arg,
                    format!("expected > 0, got {value}"),
                ));
            }
        }
        Ok(Resonate { b, omega, dt })
    }

    /// The step's constants, computed in f64 as the torch loop does (then rounded once).
    fn typed<T: Real>(self) -> Constants<T> {
        let angle = self.omega * self.dt;
        Constants {
            decay: T::of((self.b * self.dt).exp()),
            cos: T::of(angle.cos()),
            sin: T::of(angle.sin()),
        }
    }
}

#[derive(Clone, Copy)]
struct Constants<T> {
    decay: T,
    cos: T,
    sin: T,
}

impl<T: Real> Constants<T> {
    /// Written as docs/semantics.md#more-neurons and the torch loop, so float64 agrees bit for bit.
    #[inline(always)]
    fn charge(&self, u: T, v: T) -> T {
        self.decay * (u * self.sin + v * self.cos)
    }

    #[inline(always)]
    fn rotate(&self, u: T, v: T, x: T) -> T {
        self.decay * (u * self.cos - v * self.sin) + x
    }
}

/// The second state u alongside the shared forward arrays: its initial value in, its last out.
pub struct Oscillation<'a, T> {
    /// `[neurons]`; None: u starts at 0.
    pub u_init: Option<&'a [T]>,
    /// `[neurons]`: u after the last step.
    pub u_last: &'a mut [T],
}

/// The gradients of u alongside the shared backward arrays.
pub struct OscillationGrad<'a, T> {
    /// `[neurons]`, gradient at u after the last step; None: zeros.
    pub grad_u_last: Option<&'a [T]>,
    /// `[neurons]`: the gradient wrt `u_init`.
    pub grad_u_init: &'a mut [T],
}

/// Runs `steps` resonate-and-fire steps for every neuron.
pub fn forward<T: Real>(
    neuron: Resonate,
    firing: FiringSpec,
    i: ForwardInputs<T>,
    o: ForwardOutputs<T>,
    u: Oscillation<T>,
) -> Result<(), EngineError> {
    firing.validate()?;
    i.check(&o)?;
    check_second_state(["u_init", "u_last"], u.u_init, u.u_last, i.neurons)?;
    let c = neuron.typed::<T>();
    let block = block_len::<T>(i.neurons);
    parallel::for_each(
        with_second_state(forward_blocks(i, o, block), u.u_init, u.u_last, block),
        |(b, u_init, u)| match firing.reset::<T>() {
            Reset::Hard(r) => with_cpu_features!(forward_block(c, firing.with(r), b, u_init, u)),
            Reset::Soft(r) => with_cpu_features!(forward_block(c, firing.with(r), b, u_init, u)),
        },
    );
    Ok(())
}

/// One block's forward steps; `u` starts as `u_init` (or 0) and ends as u[T].
#[inline(always)]
fn forward_block<T: Real, F: ResetRule<T>>(
    c: Constants<T>,
    f: Firing<T, F>,
    b: ForwardBlock<T>,
    u_init: Option<&[T]>,
    u: &mut [T],
) {
    match u_init {
        Some(u0) => u.copy_from_slice(u0),
        None => u.fill(T::zero()),
    }
    run_forward_rows(
        f.rest(),
        b,
        #[inline(always)]
        move |v, xs, hs, ss| {
            let (zero, one) = (T::zero(), T::one());
            let lanes = v.iter_mut().zip(u.iter_mut()).zip(xs).zip(hs.iter_mut());
            for ((((v, u), &x), h_out), s_out) in lanes.zip(ss.iter_mut()) {
                let h = c.charge(*u, *v);
                let rotated = c.rotate(*u, *v, x);
                let spike = f.fires(h);
                *h_out = h;
                *s_out = if spike { one } else { zero };
                *v = f.reset(h, spike);
                *u = rotated;
            }
        },
    );
}

/// Exact BPTT through [`forward`]: fills the gradients wrt `x`, `v_init` and `u_init`.
/// `i.grad_h_seq` must be None (H has no output of its own).
pub fn backward<T: Real>(
    neuron: Resonate,
    firing: FiringSpec,
    surrogate: Surrogate,
    i: BackwardInputs<T>,
    o: BackwardOutputs<T>,
    u: OscillationGrad<T>,
) -> Result<(), EngineError> {
    firing.validate()?;
    i.check(&o)?;
    if i.grad_h_seq.is_some() {
        return Err(EngineError::param(
            "grad_h_seq",
            "resonate-and-fire backward takes no gradient at H",
        ));
    }
    let names = ["grad_u_last", "grad_u_init"];
    check_second_state(names, u.grad_u_last, u.grad_u_init, i.neurons)?;
    let job = BackwardJob {
        c: neuron.typed::<T>(),
        firing,
        i,
        o,
        u,
    };
    surrogate.dispatch(job);
    Ok(())
}

struct BackwardJob<'a, T> {
    c: Constants<T>,
    firing: FiringSpec,
    i: BackwardInputs<'a, T>,
    o: BackwardOutputs<'a, T>,
    u: OscillationGrad<'a, T>,
}

impl<T: Real> DerivativeVisitor<T> for BackwardJob<'_, T> {
    type Output = ();
    fn visit<G: Fn(T) -> T + Sync + Send + Copy>(self, sg: G) {
        let BackwardJob { c, firing, i, o, u } = self;
        let block = block_len::<T>(i.neurons);
        let blocks = backward_blocks(i, o, block);
        parallel::for_each(
            with_second_state(blocks, u.grad_u_last, u.grad_u_init, block),
            |(b, g_u, carry_u)| match firing.reset::<T>() {
                Reset::Hard(r) => {
                    with_cpu_features!(backward_block(c, firing.with(r), sg, b, g_u, carry_u))
                }
                Reset::Soft(r) => {
                    with_cpu_features!(backward_block(c, firing.with(r), sg, b, g_u, carry_u))
                }
            },
        );
    }
}

/// One block's reverse time loop. `b.carry` and `carry_u` hold dL/dV[t] and dL/du[t] (after the
/// step), and end as the gradients at the initial state.
#[inline(always)]
fn backward_block<T: Real, F: ResetRule<T>, G: Fn(T) -> T + Copy>(
    c: Constants<T>,
    f: Firing<T, F>,
    sg: G,
    b: BackwardBlock<T>,
    grad_u_last: Option<&[T]>,
    carry_u: &mut [T],
) {
    let BackwardBlock {
        grad_spikes,
        grad_v_seq,
        grad_v_last,
        h_seq,
        bits,
        mut grad_x,
        carry: carry_v,
        ..
    } = b;
    let zero = T::zero();
    match grad_v_last {
        Some(g) => carry_v.copy_from_slice(g),
        None => carry_v.fill(zero),
    }
    match grad_u_last {
        Some(g) => carry_u.copy_from_slice(g),
        None => carry_u.fill(zero),
    }
    let len = carry_v.len();
    let mut spike_row = vec![zero; len];
    let zero_row = vec![zero; if grad_spikes.is_none() { len } else { 0 }];
    let (d_cos, d_sin) = (c.decay * c.cos, c.decay * c.sin);
    for t in (0..h_seq.len()).rev() {
        let gs: &[T] = grad_spikes.as_ref().map_or(&zero_row[..], |g| g[t]);
        if let Some(gv) = grad_v_seq.as_ref().map(|g| g[t]) {
            for (cv, &g) in carry_v.iter_mut().zip(gv) {
                *cv = g + *cv;
            }
        }
        unpack_row(bits[t], &mut spike_row);
        let hs = h_seq[t];
        let gx = &mut *grad_x[t];
        for i in 0..len {
            let (h, s) = (hs[i], spike_row[i]);
            let g = sg(h - f.v_threshold);
            let gh = gs[i] * g + carry_v[i] * f.dv_dh(h, s, g);
            let gu = carry_u[i];
            // u[t] = d·(u·cos - V·sin) + X[t]: X's gradient is u[t]'s.
            gx[i] = gu;
            carry_v[i] = gh * d_cos - gu * d_sin;
            carry_u[i] = gh * d_sin + gu * d_cos;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params() -> Resonate {
        Resonate::from_params(&[-0.2, 1.3, 0.7]).unwrap()
    }

    #[test]
    fn forward_follows_the_equations() {
        let p = params();
        let (x, v0, u0) = ([0.9f64, 1.4, 0.2, 1.1], [0.3f64], [0.5f64]);
        let (mut s, mut v, mut u) = (vec![0.0; 4], vec![0.0; 1], vec![0.0; 1]);
        let firing = FiringSpec {
            v_threshold: 0.6,
            v_reset: Some(0.0),
            detach_reset: false,
        };
        forward(
            p,
            firing,
            ForwardInputs {
                steps: 4,
                neurons: 1,
                x: &x,
                v_init: Some(&v0),
            },
            ForwardOutputs {
                spikes: &mut s,
                v_last: &mut v,
                h_seq: None,
                bits: None,
                v_seq: None,
            },
            Oscillation {
                u_init: Some(&u0),
                u_last: &mut u,
            },
        )
        .unwrap();
        let d = (p.b * p.dt).exp();
        let (cos, sin) = ((p.omega * p.dt).cos(), (p.omega * p.dt).sin());
        let (mut ev, mut eu) = (v0[0], u0[0]);
        let mut fired = 0.0;
        for (t, &xt) in x.iter().enumerate() {
            let h = d * (eu * sin + ev * cos);
            eu = d * (eu * cos - ev * sin) + xt;
            let spike = h >= 0.6;
            assert_eq!(s[t], if spike { 1.0 } else { 0.0 });
            fired += s[t];
            ev = if spike { 0.0 } else { h };
        }
        assert!(fired > 0.0);
        assert_eq!((v[0], u[0]), (ev, eu));
    }

    #[test]
    fn bad_parameters_are_errors() {
        assert!(Resonate::from_params(&[-0.2]).is_err());
        assert!(Resonate::from_params(&[0.1, 1.0, 1.0]).is_err());
        assert!(Resonate::from_params(&[-0.1, 0.0, 1.0]).is_err());
        assert!(Resonate::from_params(&[-0.1, 1.0, f64::NAN]).is_err());
    }
}
