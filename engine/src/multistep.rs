//! The one forward and one backward time loop shared by every neuron.
//!
//! Work is split into blocks of neurons (rayon-parallel); inside a block the
//! time loop runs over contiguous rows so the element loop vectorises and the
//! block's voltages stay in L1.
//!
//! Saved for backward, per neuron-step: `H` (one float) and the spike as one
//! bit, i.e. `size_of::<T>() + 1/8` bytes (4.125 for f32, 8.125 for f64).
//! ParametricLIF with `decay_input` also re-reads its input `X`, which the
//! caller holds anyway, to get dH/dk exactly.

use crate::bits::{pack_row, row_bytes, unpack_row};
use crate::charge::{
    ChargeRule, DecayCharge, EifCharge, IfCharge, KlifCharge, LifCharge, ParametricLifCharge,
    QifCharge,
};
use crate::columns::{blocks, blocks_mut};
use crate::error::{parameter_names, require_finite, EngineError};
use crate::firing::{Firing, Reset};
use crate::real::Real;
use crate::surrogate::{DerivativeVisitor, Surrogate};
use rayon::prelude::*;

/// Evaluates `$body` with `$rule` bound to the concrete charge rule of `$neuron`
/// (so every kernel is compiled once per rule); `$vr` is the rest voltage.
macro_rules! with_charge_rule {
    ($neuron:expr, $vr:expr, |$rule:ident| $body:expr) => {{
        match $neuron {
            Neuron::If => {
                let $rule = IfCharge;
                $body
            }
            Neuron::Lif { tau, decay_input } => {
                let $rule = LifCharge {
                    tau: T::of(tau),
                    v_reset: $vr,
                    decay_input,
                };
                $body
            }
            Neuron::ParametricLif { k, decay_input } => {
                let $rule = ParametricLifCharge {
                    k: T::of(k),
                    v_reset: $vr,
                    decay_input,
                };
                $body
            }
            Neuron::Klif {
                tau,
                k,
                decay_input,
            } => {
                let $rule = KlifCharge {
                    lif: LifCharge {
                        tau: T::of(tau),
                        v_reset: $vr,
                        decay_input,
                    },
                    k: T::of(k),
                };
                $body
            }
            Neuron::Cuba { v_decay } => {
                let $rule = DecayCharge {
                    v_decay: T::of(v_decay),
                };
                $body
            }
            Neuron::Qif {
                tau,
                v_c,
                a0,
                v_rest,
            } => {
                let $rule = QifCharge {
                    tau: T::of(tau),
                    v_c: T::of(v_c),
                    a0: T::of(a0),
                    v_rest: T::of(v_rest),
                };
                $body
            }
            Neuron::Eif {
                tau,
                delta_t,
                theta_rh,
                v_rest,
            } => {
                let $rule = EifCharge {
                    tau: T::of(tau),
                    delta_t: T::of(delta_t),
                    theta_rh: T::of(theta_rh),
                    v_rest: T::of(v_rest),
                };
                $body
            }
        }
    }};
}

/// Neurons per parallel block. A block's state (V, or the backward carry)
/// stays within 128 KiB so it lives in L2 while its rows stream past; long
/// rows keep the hardware prefetchers busy; at least four blocks per thread
/// balance the load. A multiple of 64, so packed-bit rows split on whole bytes.
pub fn block_len<T>(neurons: usize) -> usize {
    let by_cache = 128 * 1024 / std::mem::size_of::<T>();
    let by_balance = neurons.div_ceil(4 * rayon::current_num_threads().max(1));
    by_cache.min(by_balance).max(512).div_ceil(64) * 64
}

/// Which charge rule, with its parameters.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Neuron {
    If,
    /// Current-based LIF's membrane: the input is the already filtered current.
    Cuba {
        v_decay: f64,
    },
    Lif {
        tau: f64,
        decay_input: bool,
    },
    ParametricLif {
        k: f64,
        decay_input: bool,
    },
    /// KLIF: `F = relu(k·LIF charge)`, `k` learnable (any finite value).
    Klif {
        tau: f64,
        k: f64,
        decay_input: bool,
    },
    Qif {
        tau: f64,
        v_c: f64,
        a0: f64,
        v_rest: f64,
    },
    Eif {
        tau: f64,
        delta_t: f64,
        theta_rh: f64,
        v_rest: f64,
    },
}

/// Parameter names of each neuron, in the order `Neuron::from_name` takes them.
pub const NEURON_PARAMETERS: &[(&str, &[&str])] = &[
    ("if", &[]),
    ("lif", &["tau"]),
    ("plif", &["k"]),
    ("qif", &["tau", "v_c", "a0", "v_rest"]),
    ("eif", &["tau", "delta_T", "theta_rh", "v_rest"]),
    ("cuba", &["v_decay"]),
    ("klif", &["tau", "k"]),
];

fn tau_above_one(tau: f64) -> Result<f64, EngineError> {
    if tau > 1.0 {
        Ok(tau)
    } else {
        Err(EngineError::param(
            "tau",
            format!("expected tau > 1, got {tau}"),
        ))
    }
}

impl Neuron {
    /// Builds a neuron from its name and parameters (see [`NEURON_PARAMETERS`]).
    pub fn from_name(name: &str, params: &[f64], decay_input: bool) -> Result<Self, EngineError> {
        let names = parameter_names(NEURON_PARAMETERS, "neuron", "params", name, params)?;
        for (&value, &arg) in params.iter().zip(names.iter()) {
            let arg: &'static str = arg;
            require_finite(arg, value)?;
        }
        Ok(match name {
            "if" => Neuron::If,
            "lif" => Neuron::Lif {
                tau: tau_above_one(params[0])?,
                decay_input,
            },
            "plif" => {
                let k = params[0];
                if !(k > 0.0 && k < 1.0) {
                    return Err(EngineError::param(
                        "k",
                        format!("expected 0 < k = 1/tau < 1, got {k}"),
                    ));
                }
                Neuron::ParametricLif { k, decay_input }
            }
            "cuba" => Neuron::Cuba { v_decay: params[0] },
            "klif" => Neuron::Klif {
                tau: tau_above_one(params[0])?,
                k: params[1],
                decay_input,
            },
            "qif" => Neuron::Qif {
                tau: tau_above_one(params[0])?,
                v_c: params[1],
                a0: params[2],
                v_rest: params[3],
            },
            _ => {
                if params[1] <= 0.0 {
                    return Err(EngineError::param(
                        "delta_T",
                        format!("expected delta_T > 0, got {}", params[1]),
                    ));
                }
                Neuron::Eif {
                    tau: tau_above_one(params[0])?,
                    delta_t: params[1],
                    theta_rh: params[2],
                    v_rest: params[3],
                }
            }
        })
    }
}

/// Threshold, reset and detach as given by the caller (f64), checked.
#[derive(Clone, Copy, Debug)]
pub struct FiringSpec {
    pub v_threshold: f64,
    pub v_reset: Option<f64>,
    pub detach_reset: bool,
}

impl FiringSpec {
    pub fn validate(&self) -> Result<(), EngineError> {
        require_finite("v_threshold", self.v_threshold)?;
        if let Some(v) = self.v_reset {
            require_finite("v_reset", v)?;
        }
        Ok(())
    }

    pub(crate) fn to<T: Real>(self) -> Firing<T> {
        Firing {
            v_threshold: T::of(self.v_threshold),
            reset: match self.v_reset {
                Some(v) => Reset::Hard { v_reset: T::of(v) },
                None => Reset::Soft,
            },
            detach_reset: self.detach_reset,
        }
    }
}

/// Inputs of the forward pass: `x` is `[steps, neurons]`, `v_init` is `[neurons]`
/// (`None`: every neuron starts at rest, `v_reset` or 0 for soft reset).
pub struct ForwardInputs<'a, T> {
    pub steps: usize,
    pub neurons: usize,
    pub x: &'a [T],
    pub v_init: Option<&'a [T]>,
}

/// Outputs of the forward pass, allocated by the caller.
pub struct ForwardOutputs<'a, T> {
    /// `[steps, neurons]`, 0 or 1.
    pub spikes: &'a mut [T],
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
pub struct BackwardInputs<'a, T> {
    pub steps: usize,
    pub neurons: usize,
    /// `[steps, neurons]`; None when the spikes received no gradient (zeros).
    pub grad_spikes: Option<&'a [T]>,
    /// `[steps, neurons]`, gradient at the post-reset voltage sequence.
    pub grad_v_seq: Option<&'a [T]>,
    /// `[steps, neurons]`, gradient arriving at H itself (e.g. LIAF's analog output).
    pub grad_h_seq: Option<&'a [T]>,
    /// `[neurons]`, gradient at V after the last step.
    pub grad_v_last: Option<&'a [T]>,
    pub h_seq: &'a [T],
    pub bits: &'a [u8],
    pub v_init: Option<&'a [T]>,
    /// `[steps, neurons]`: the forward input; needed only by ParametricLIF.
    pub x: Option<&'a [T]>,
}

pub struct BackwardOutputs<'a, T> {
    /// `[steps, neurons]`
    pub grad_x: &'a mut [T],
    /// `[neurons]`
    pub grad_v_init: &'a mut [T],
}

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

fn check_forward<T>(i: &ForwardInputs<T>, o: &ForwardOutputs<T>) -> Result<(), EngineError> {
    if i.steps == 0 {
        return Err(EngineError::Shape {
            arg: "x",
            expected: "T >= 1 time steps".into(),
            got: "T = 0".into(),
        });
    }
    let cells = i.steps * i.neurons;
    check_len("x", i.x.len(), cells)?;
    if let Some(v) = i.v_init {
        check_len("v_init", v.len(), i.neurons)?;
    }
    check_len("spikes", o.spikes.len(), cells)?;
    check_len("v_last", o.v_last.len(), i.neurons)?;
    if let Some(h) = &o.h_seq {
        check_len("h_seq", h.len(), cells)?;
    }
    if let Some(b) = &o.bits {
        check_len("bits", b.len(), i.steps * row_bytes(i.neurons))?;
    }
    if let Some(v) = &o.v_seq {
        check_len("v_seq", v.len(), cells)?;
    }
    Ok(())
}

/// Runs `steps` charge-fire-reset steps for every neuron.
pub fn forward<T: Real>(
    neuron: Neuron,
    firing: FiringSpec,
    inputs: ForwardInputs<T>,
    outputs: ForwardOutputs<T>,
) -> Result<(), EngineError> {
    firing.validate()?;
    check_forward(&inputs, &outputs)?;
    let f = firing.to::<T>();
    let vr = f.rest_voltage();
    with_charge_rule!(neuron, vr, |rule| forward_with(rule, f, inputs, outputs));
    Ok(())
}

struct ForwardBlock<'a, T> {
    x: Vec<&'a [T]>,
    v_init: Option<&'a [T]>,
    spikes: Vec<&'a mut [T]>,
    v_last: &'a mut [T],
    h_seq: Option<Vec<&'a mut [T]>>,
    bits: Option<Vec<&'a mut [u8]>>,
    v_seq: Option<Vec<&'a mut [T]>>,
}

fn forward_with<T: Real, R: ChargeRule<T>>(
    rule: R,
    f: Firing<T>,
    i: ForwardInputs<T>,
    o: ForwardOutputs<T>,
) {
    let (steps, n) = (i.steps, i.neurons);
    let block = block_len::<T>(n);
    let x = blocks(i.x, steps, n, block);
    let spikes = blocks_mut(o.spikes, steps, n, block);
    let mut h_seq = o.h_seq.map(|h| blocks_mut(h, steps, n, block).into_iter());
    let mut bits = o
        .bits
        .map(|b| blocks_mut(b, steps, row_bytes(n), block / 8).into_iter());
    let mut v_seq = o.v_seq.map(|v| blocks_mut(v, steps, n, block).into_iter());
    let mut v_init = i.v_init.map(|v| v.chunks(block));
    let jobs: Vec<ForwardBlock<T>> = x
        .into_iter()
        .zip(spikes)
        .zip(o.v_last.chunks_mut(block))
        .map(|((x, spikes), v_last)| ForwardBlock {
            x,
            v_init: v_init.as_mut().and_then(|it| it.next()),
            spikes,
            v_last,
            h_seq: h_seq.as_mut().and_then(|it| it.next()),
            bits: bits.as_mut().and_then(|it| it.next()),
            v_seq: v_seq.as_mut().and_then(|it| it.next()),
        })
        .collect();
    jobs.into_par_iter()
        .for_each(|job| forward_block(rule, f, job));
}

fn forward_block<T: Real, R: ChargeRule<T>>(rule: R, f: Firing<T>, b: ForwardBlock<T>) {
    let (vth, rest) = (f.v_threshold, f.rest_voltage());
    match f.reset {
        Reset::Hard { v_reset } => with_cpu_features!(forward_steps(
            rule,
            vth,
            rest,
            move |h: T, s: bool| if s { v_reset } else { h },
            b
        )),
        Reset::Soft => with_cpu_features!(forward_steps(
            rule,
            vth,
            rest,
            move |h: T, s: bool| if s { h - vth } else { h },
            b
        )),
    }
}

#[inline(always)]
fn forward_steps<T: Real, R: ChargeRule<T>, F: Fn(T, bool) -> T + Copy>(
    rule: R,
    vth: T,
    rest: T,
    reset: F,
    mut b: ForwardBlock<T>,
) {
    let v = &mut *b.v_last;
    match b.v_init {
        Some(v0) => v.copy_from_slice(v0),
        None => v.fill(rest),
    }
    let (zero, one) = (T::zero(), T::one());
    // Without backward to feed (inference), H goes to a block-local row that stays in cache.
    let mut scratch = if b.h_seq.is_none() {
        vec![zero; v.len()]
    } else {
        Vec::new()
    };
    for t in 0..b.x.len() {
        let (xs, ss) = (b.x[t], &mut *b.spikes[t]);
        let hs: &mut [T] = match b.h_seq.as_mut() {
            Some(rows) => &mut *rows[t],
            None => &mut scratch[..],
        };
        for (((v, &x), h_out), s_out) in v.iter_mut().zip(xs).zip(hs.iter_mut()).zip(ss.iter_mut())
        {
            let h = rule.charge(*v, x);
            let spike = h >= vth;
            *h_out = h;
            *s_out = if spike { one } else { zero };
            *v = reset(h, spike);
        }
        if let Some(rows) = b.bits.as_mut() {
            pack_row(ss, rows[t]);
        }
        if let Some(v_seq) = b.v_seq.as_mut() {
            v_seq[t].copy_from_slice(v);
        }
    }
}

fn check_backward<T>(i: &BackwardInputs<T>, o: &BackwardOutputs<T>) -> Result<(), EngineError> {
    if i.steps == 0 {
        return Err(EngineError::Shape {
            arg: "h_seq",
            expected: "T >= 1 time steps".into(),
            got: "T = 0".into(),
        });
    }
    let cells = i.steps * i.neurons;
    if let Some(g) = i.grad_spikes {
        check_len("grad_spikes", g.len(), cells)?;
    }
    if let Some(g) = i.grad_h_seq {
        check_len("grad_h_seq", g.len(), cells)?;
    }
    if let Some(g) = i.grad_v_seq {
        check_len("grad_v_seq", g.len(), cells)?;
    }
    if let Some(g) = i.grad_v_last {
        check_len("grad_v_last", g.len(), i.neurons)?;
    }
    check_len("h_seq", i.h_seq.len(), cells)?;
    check_len("bits", i.bits.len(), i.steps * row_bytes(i.neurons))?;
    if let Some(v) = i.v_init {
        check_len("v_init", v.len(), i.neurons)?;
    }
    if let Some(x) = i.x {
        check_len("x", x.len(), cells)?;
    }
    check_len("grad_x", o.grad_x.len(), cells)?;
    check_len("grad_v_init", o.grad_v_init.len(), i.neurons)?;
    Ok(())
}

/// Exact BPTT through the multi-step forward (SPEC §1.1). Fills the gradients
/// wrt `x` and `v_init`; returns `Σ_t,n gH·dH/dk` (ParametricLIF's gradient wrt
/// `k`, 0 for other neurons), summed in f64.
pub fn backward<T: Real>(
    neuron: Neuron,
    firing: FiringSpec,
    surrogate: Surrogate,
    inputs: BackwardInputs<T>,
    outputs: BackwardOutputs<T>,
) -> Result<f64, EngineError> {
    firing.validate()?;
    check_backward(&inputs, &outputs)?;
    if matches!(neuron, Neuron::ParametricLif { .. } | Neuron::Klif { .. }) && inputs.x.is_none() {
        return Err(EngineError::param(
            "x",
            "ParametricLIF and KLIF backward need the forward input x",
        ));
    }
    let f = firing.to::<T>();
    let vr = f.rest_voltage();
    let job = BackwardJob { f, inputs, outputs };
    Ok(with_charge_rule!(neuron, vr, |rule| surrogate
        .dispatch(WithRule { rule, job })))
}

struct BackwardJob<'a, T> {
    f: Firing<T>,
    inputs: BackwardInputs<'a, T>,
    outputs: BackwardOutputs<'a, T>,
}

struct WithRule<'a, T, R> {
    rule: R,
    job: BackwardJob<'a, T>,
}

impl<'a, T: Real, R: ChargeRule<T>> DerivativeVisitor<T> for WithRule<'a, T, R> {
    type Output = f64;
    fn visit<G: Fn(T) -> T + Sync + Send + Copy>(self, sg: G) -> f64 {
        backward_with(self.rule, sg, self.job)
    }
}

struct BackwardBlock<'a, T> {
    grad_spikes: Option<Vec<&'a [T]>>,
    grad_v_seq: Option<Vec<&'a [T]>>,
    grad_h_seq: Option<Vec<&'a [T]>>,
    grad_v_last: Option<&'a [T]>,
    h_seq: Vec<&'a [T]>,
    bits: Vec<&'a [u8]>,
    v_init: Option<&'a [T]>,
    x: Option<Vec<&'a [T]>>,
    grad_x: Vec<&'a mut [T]>,
    grad_v_init: &'a mut [T],
}

fn backward_with<T: Real, R: ChargeRule<T>, G: Fn(T) -> T + Sync + Send + Copy>(
    rule: R,
    sg: G,
    job: BackwardJob<T>,
) -> f64 {
    let BackwardJob {
        f,
        inputs: i,
        outputs: o,
    } = job;
    let (steps, n) = (i.steps, i.neurons);
    let block = block_len::<T>(n);
    let mut grad_v_seq = i.grad_v_seq.map(|g| blocks(g, steps, n, block).into_iter());
    let mut grad_h_seq = i.grad_h_seq.map(|g| blocks(g, steps, n, block).into_iter());
    let mut grad_v_last = i.grad_v_last.map(|g| g.chunks(block));
    let mut x = i.x.map(|x| blocks(x, steps, n, block).into_iter());
    let mut v_init = i.v_init.map(|v| v.chunks(block));
    let mut grad_spikes = i
        .grad_spikes
        .map(|g| blocks(g, steps, n, block).into_iter());
    let jobs: Vec<BackwardBlock<T>> = blocks(i.h_seq, steps, n, block)
        .into_iter()
        .zip(blocks(i.bits, steps, row_bytes(n), block / 8))
        .zip(blocks_mut(o.grad_x, steps, n, block))
        .zip(o.grad_v_init.chunks_mut(block))
        .map(|(((h_seq, bits), grad_x), grad_v_init)| BackwardBlock {
            grad_spikes: grad_spikes.as_mut().and_then(|it| it.next()),
            grad_v_seq: grad_v_seq.as_mut().and_then(|it| it.next()),
            grad_h_seq: grad_h_seq.as_mut().and_then(|it| it.next()),
            grad_v_last: grad_v_last.as_mut().and_then(|it| it.next()),
            h_seq,
            bits,
            v_init: v_init.as_mut().and_then(|it| it.next()),
            x: x.as_mut().and_then(|it| it.next()),
            grad_x,
            grad_v_init,
        })
        .collect();
    jobs.into_par_iter()
        .map(|b| backward_block(rule, f, sg, b))
        .sum()
}

fn backward_block<T: Real, R: ChargeRule<T>, G: Fn(T) -> T + Copy>(
    rule: R,
    f: Firing<T>,
    sg: G,
    b: BackwardBlock<T>,
) -> f64 {
    let vth = f.v_threshold;
    let keep = if f.detach_reset { T::zero() } else { T::one() };
    let (zero, one) = (T::zero(), T::one());
    match f.reset {
        Reset::Hard { v_reset } => with_cpu_features!(backward_steps(
            rule,
            f,
            sg,
            move |h: T, s: T, g: T| one - s + (v_reset - h) * g * keep,
            move |h: T, s: T| if s != zero { v_reset } else { h },
            b
        )),
        Reset::Soft => with_cpu_features!(backward_steps(
            rule,
            f,
            sg,
            move |_h: T, _s: T, g: T| one - vth * g * keep,
            move |h: T, s: T| if s != zero { h - vth } else { h },
            b
        )),
    }
}

/// One block's reverse time loop; `dv_dh(H, S, sg')` is the reset's derivative and
/// `reset(H, S)` the reset itself (to rebuild V[t-1] for state-dependent rules).
#[inline(always)]
fn backward_steps<
    T: Real,
    R: ChargeRule<T>,
    G: Fn(T) -> T + Copy,
    D: Fn(T, T, T) -> T + Copy,
    V: Fn(T, T) -> T + Copy,
>(
    rule: R,
    f: Firing<T>,
    sg: G,
    dv_dh: D,
    reset: V,
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
        grad_v_init,
    } = b;
    let zero = T::zero();
    // Constant for linear rules; the slow path below re-evaluates them per neuron otherwise.
    let (dh_dv, dh_dx) = (rule.dh_dv(zero, zero), rule.dh_dx(zero, zero));
    // carry = gH[t+1]·dH[t+1]/dV[t], plus the gradient at V after the last step.
    let carry = grad_v_init;
    match grad_v_last {
        Some(g) => carry.copy_from_slice(g),
        None => carry.fill(zero),
    }
    // dL/dk, summed over time per lane (so the loop vectorises), then over lanes in f64.
    let mut grad_k_lanes = if R::LEARNABLE_DECAY {
        vec![zero; carry.len()]
    } else {
        Vec::new()
    };
    // The step's spikes as 0/1 values, unpacked once so the main loop is plain lanes.
    let mut spike_row = vec![zero; carry.len()];
    let slow = R::LEARNABLE_DECAY || R::STATE_DEPENDENT;
    let mut prev_spike_row = if slow {
        vec![zero; carry.len()]
    } else {
        Vec::new()
    };
    let mut extra_row = if slow {
        vec![zero; carry.len()]
    } else {
        Vec::new()
    };
    let mut v_prev = if slow {
        vec![zero; carry.len()]
    } else {
        Vec::new()
    };
    // Stands in for the spikes' gradient when they received none.
    let zero_row = if grad_spikes.is_none() {
        vec![zero; carry.len()]
    } else {
        Vec::new()
    };
    for t in (0..h_seq.len()).rev() {
        let gs: &[T] = grad_spikes.as_ref().map_or(&zero_row[..], |g| g[t]);
        let (hs, row_bits) = (h_seq[t], bits[t]);
        let gx = &mut *grad_x[t];
        if let Some(gv) = grad_v_seq.as_ref().map(|g| g[t]) {
            for (c, &g) in carry.iter_mut().zip(gv) {
                *c = g + *c;
            }
        }
        if R::LEARNABLE_DECAY || R::STATE_DEPENDENT {
            // V[t-1] is rebuilt from what forward saved: H[t-1] and S[t-1] (or v_init).
            unpack_row(row_bits, &mut spike_row);
            if t == 0 {
                match v_init {
                    Some(v0) => v_prev.copy_from_slice(v0),
                    None => v_prev.fill(f.rest_voltage()),
                }
            } else {
                unpack_row(bits[t - 1], &mut prev_spike_row);
                for ((v, &h), &s) in v_prev.iter_mut().zip(h_seq[t - 1]).zip(&prev_spike_row) {
                    *v = reset(h, s);
                }
            }
            // Learnable rules are only called with x (checked by `backward`).
            let x_t: &[T] = x.as_ref().map_or(&zero_row[..0], |x| x[t]);
            if let Some(gh_in) = grad_h_seq.as_ref().map(|g| g[t]) {
                // A gradient arriving at H itself adds to gH (a row of zeros when there
                // is none, so the loop below stays branch-free).
                extra_row.copy_from_slice(gh_in);
            } else {
                extra_row.fill(zero);
            }
            for i in 0..hs.len() {
                let (h, s, vp) = (hs[i], spike_row[i], v_prev[i]);
                let g = sg(h - f.v_threshold);
                let gh = gs[i] * g + carry[i] * dv_dh(h, s, g) + extra_row[i];
                gx[i] = gh * rule.dh_dx(vp, h);
                carry[i] = gh * rule.dh_dv(vp, h);
                if R::LEARNABLE_DECAY {
                    grad_k_lanes[i] = grad_k_lanes[i] + gh * rule.dh_dk(vp, x_t[i], h);
                }
            }
        } else {
            unpack_row(row_bits, &mut spike_row);
            let lanes = hs
                .iter()
                .zip(gs)
                .zip(gx.iter_mut())
                .zip(carry.iter_mut())
                .zip(&spike_row);
            for ((((&h, &g_s), g_x), c), &s) in lanes {
                let g = sg(h - f.v_threshold);
                let gh = g_s * g + *c * dv_dh(h, s, g);
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
