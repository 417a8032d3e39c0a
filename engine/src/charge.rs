//! Charge rules `H[t] = f(V[t-1], X[t])` (docs/semantics.md#charge-rules).
//! A neuron contributes only its charge and the partial derivatives the
//! shared time loops need; the fire/reset logic and the surrogate live
//! elsewhere, once.
//!
//! The expressions are written exactly as in docs/semantics.md#charge-rules
//! (and in `reference/`), so float64 results agree bit for bit rather than
//! merely to rounding.

use crate::real::Real;

pub trait ChargeRule<T: Real>: Copy + Send + Sync {
    /// True when the rule has a learnable decay `k` whose gradient backward sums.
    const LEARNABLE_DECAY: bool = false;
    /// True when dH/dV or dH/dX depend on V[t-1] (nonlinear charge); backward
    /// then rebuilds V[t-1] from the saved H[t-1] and spike.
    const STATE_DEPENDENT: bool = false;

    fn charge(&self, v: T, x: T) -> T;
    /// dH[t]/dV[t-1] at V[t-1] = `v_prev`, given the charge's result `h`
    /// (linear rules ignore both).
    fn dh_dv(&self, v_prev: T, h: T) -> T;
    /// dH[t]/dX[t] at V[t-1] = `v_prev`, given `h` (linear rules ignore both)
    fn dh_dx(&self, v_prev: T, h: T) -> T;
    /// dH[t]/dk for learnable rules; unused otherwise.
    #[inline(always)]
    fn dh_dk(&self, _v_prev: T, _x: T, _h: T) -> T {
        T::zero()
    }
}

/// Integrate-and-fire: `H = V + X`.
#[derive(Clone, Copy, Debug)]
pub struct IfCharge;

impl<T: Real> ChargeRule<T> for IfCharge {
    #[inline(always)]
    fn charge(&self, v: T, x: T) -> T {
        v + x
    }
    #[inline(always)]
    fn dh_dv(&self, _v_prev: T, _h: T) -> T {
        T::one()
    }
    #[inline(always)]
    fn dh_dx(&self, _v_prev: T, _h: T) -> T {
        T::one()
    }
}

/// Leaky integrate-and-fire with time constant `tau`.
/// decay_input: `H = V + (X - (V - Vr))/tau`; otherwise `H = V - (V - Vr)/tau + X`.
#[derive(Clone, Copy, Debug)]
pub struct LifCharge<T> {
    pub tau: T,
    pub v_reset: T,
    pub decay_input: bool,
}

impl<T: Real> ChargeRule<T> for LifCharge<T> {
    #[inline(always)]
    fn charge(&self, v: T, x: T) -> T {
        if self.decay_input {
            v + (x - (v - self.v_reset)) / self.tau
        } else {
            v - (v - self.v_reset) / self.tau + x
        }
    }
    #[inline(always)]
    fn dh_dv(&self, _v_prev: T, _h: T) -> T {
        T::one() - T::one() / self.tau
    }
    #[inline(always)]
    fn dh_dx(&self, _v_prev: T, _h: T) -> T {
        if self.decay_input {
            T::one() / self.tau
        } else {
            T::one()
        }
    }
}

/// Parametric LIF: as LIF with `1/tau = k = sigmoid(w)`, `k` learnable.
#[derive(Clone, Copy, Debug)]
pub struct ParametricLifCharge<T> {
    pub k: T,
    pub v_reset: T,
    pub decay_input: bool,
}

impl<T: Real> ChargeRule<T> for ParametricLifCharge<T> {
    const LEARNABLE_DECAY: bool = true;

    #[inline(always)]
    fn charge(&self, v: T, x: T) -> T {
        if self.decay_input {
            v + (x - (v - self.v_reset)) * self.k
        } else {
            v - (v - self.v_reset) * self.k + x
        }
    }
    #[inline(always)]
    fn dh_dv(&self, _v_prev: T, _h: T) -> T {
        T::one() - self.k
    }
    #[inline(always)]
    fn dh_dx(&self, _v_prev: T, _h: T) -> T {
        if self.decay_input {
            self.k
        } else {
            T::one()
        }
    }
    #[inline(always)]
    fn dh_dk(&self, v_prev: T, x: T, _h: T) -> T {
        if self.decay_input {
            x - (v_prev - self.v_reset)
        } else {
            -(v_prev - self.v_reset)
        }
    }
}

/// The membrane stage of current-based LIF: `H = V·v_decay + I`, where the
/// input is the synaptic current `I` (filtered by the caller).
#[derive(Clone, Copy, Debug)]
pub struct DecayCharge<T> {
    pub v_decay: T,
}

impl<T: Real> ChargeRule<T> for DecayCharge<T> {
    #[inline(always)]
    fn charge(&self, v: T, x: T) -> T {
        v * self.v_decay + x
    }
    #[inline(always)]
    fn dh_dv(&self, _v_prev: T, _h: T) -> T {
        self.v_decay
    }
    #[inline(always)]
    fn dh_dx(&self, _v_prev: T, _h: T) -> T {
        T::one()
    }
}

/// Quadratic IF: `H = V + (X + a0·(V - v_rest)·(V - v_c)) / tau`.
#[derive(Clone, Copy, Debug)]
pub struct QifCharge<T> {
    pub tau: T,
    pub v_c: T,
    pub a0: T,
    pub v_rest: T,
}

impl<T: Real> ChargeRule<T> for QifCharge<T> {
    const STATE_DEPENDENT: bool = true;

    #[inline(always)]
    fn charge(&self, v: T, x: T) -> T {
        v + (x + self.a0 * (v - self.v_rest) * (v - self.v_c)) / self.tau
    }
    #[inline(always)]
    fn dh_dv(&self, v: T, _h: T) -> T {
        T::one() + self.a0 * ((v - self.v_rest) + (v - self.v_c)) / self.tau
    }
    #[inline(always)]
    fn dh_dx(&self, _v: T, _h: T) -> T {
        T::one() / self.tau
    }
}

/// Exponential IF: `H = V + (X + v_rest - V + delta_T·exp((V - theta_rh)/delta_T)) / tau`.
#[derive(Clone, Copy, Debug)]
pub struct EifCharge<T> {
    pub tau: T,
    pub delta_t: T,
    pub theta_rh: T,
    pub v_rest: T,
}

impl<T: Real> ChargeRule<T> for EifCharge<T> {
    const STATE_DEPENDENT: bool = true;

    #[inline(always)]
    fn charge(&self, v: T, x: T) -> T {
        v + (x + self.v_rest - v + self.delta_t * ((v - self.theta_rh) / self.delta_t).exp_vec())
            / self.tau
    }
    #[inline(always)]
    fn dh_dv(&self, v: T, _h: T) -> T {
        T::one() + (((v - self.theta_rh) / self.delta_t).exp_vec() - T::one()) / self.tau
    }
    #[inline(always)]
    fn dh_dx(&self, _v: T, _h: T) -> T {
        T::one() / self.tau
    }
}

/// KLIF: the LIF charge scaled by a learnable `k` and rectified,
/// `F = relu(k·L(V, X))` (docs/semantics.md#klif). The "charge" the loops see is `F`: it fires
/// and resets like any `H`. Its partials vanish where `F = 0` (relu'(0) = 0, as
/// torch), which the saved `F` itself tells.
#[derive(Clone, Copy, Debug)]
pub struct KlifCharge<T> {
    pub lif: LifCharge<T>,
    pub k: T,
}

impl<T: Real> KlifCharge<T> {
    #[inline(always)]
    fn open(h: T) -> T {
        if h > T::zero() {
            T::one()
        } else {
            T::zero()
        }
    }
}

impl<T: Real> ChargeRule<T> for KlifCharge<T> {
    const LEARNABLE_DECAY: bool = true;
    const STATE_DEPENDENT: bool = true;

    #[inline(always)]
    fn charge(&self, v: T, x: T) -> T {
        let f = self.k * self.lif.charge(v, x);
        // max(f, 0) written so NaN inputs stay NaN, as numpy.maximum
        if f > T::zero() || f.is_nan() {
            f
        } else {
            T::zero()
        }
    }
    #[inline(always)]
    fn dh_dv(&self, v_prev: T, h: T) -> T {
        Self::open(h) * self.k * self.lif.dh_dv(v_prev, h)
    }
    #[inline(always)]
    fn dh_dx(&self, v_prev: T, h: T) -> T {
        Self::open(h) * self.k * self.lif.dh_dx(v_prev, h)
    }
    #[inline(always)]
    fn dh_dk(&self, v_prev: T, x: T, h: T) -> T {
        Self::open(h) * self.lif.charge(v_prev, x)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn numeric<R: ChargeRule<f64>>(rule: R, v: f64, x: f64) -> (f64, f64) {
        // central differences of the charge in V and in X
        let e = 1e-6;
        let dv = (rule.charge(v + e, x) - rule.charge(v - e, x)) / (2.0 * e);
        let dx = (rule.charge(v, x + e) - rule.charge(v, x - e)) / (2.0 * e);
        (dv, dx)
    }

    #[test]
    fn partials_match_finite_differences() {
        for &decay_input in &[true, false] {
            let lif = LifCharge {
                tau: 3.0,
                v_reset: -0.2,
                decay_input,
            };
            let plif = ParametricLifCharge {
                k: 0.3,
                v_reset: 0.1,
                decay_input,
            };
            for &(v, x) in &[(0.3, 1.2), (-0.7, 0.4)] {
                let (dv, dx) = numeric(lif, v, x);
                assert!(
                    (dv - lif.dh_dv(v, 0.0)).abs() < 1e-8 && (dx - lif.dh_dx(v, 0.0)).abs() < 1e-8
                );
                let (dv, dx) = numeric(plif, v, x);
                assert!(
                    (dv - plif.dh_dv(v, 0.0)).abs() < 1e-8
                        && (dx - plif.dh_dx(v, 0.0)).abs() < 1e-8
                );
                let qif = QifCharge {
                    tau: 2.5,
                    v_c: 0.8,
                    a0: 1.2,
                    v_rest: -0.1,
                };
                let (dv, dx) = numeric(qif, v, x);
                assert!(
                    (dv - qif.dh_dv(v, 0.0)).abs() < 1e-7 && (dx - qif.dh_dx(v, 0.0)).abs() < 1e-8
                );
                let eif = EifCharge {
                    tau: 2.0,
                    delta_t: 0.7,
                    theta_rh: 0.8,
                    v_rest: 0.1,
                };
                let (dv, dx) = numeric(eif, v, x);
                assert!(
                    (dv - eif.dh_dv(v, 0.0)).abs() < 1e-7 && (dx - eif.dh_dx(v, 0.0)).abs() < 1e-8
                );
                let e = 1e-6;
                let up = ParametricLifCharge {
                    k: plif.k + e,
                    ..plif
                };
                let down = ParametricLifCharge {
                    k: plif.k - e,
                    ..plif
                };
                let dk = (up.charge(v, x) - down.charge(v, x)) / (2.0 * e);
                assert!((dk - plif.dh_dk(v, x, 0.0)).abs() < 1e-8);
            }
        }
        for &(k, v, x) in &[(1.3, 0.3, 1.2), (0.7, -0.2, 0.9), (-0.5, 0.4, 0.8)] {
            let klif = KlifCharge {
                lif: LifCharge {
                    tau: 2.5,
                    v_reset: 0.0,
                    decay_input: false,
                },
                k,
            };
            let h = klif.charge(v, x);
            let (dv, dx) = numeric(klif, v, x);
            assert!((dv - klif.dh_dv(v, h)).abs() < 1e-8 && (dx - klif.dh_dx(v, h)).abs() < 1e-8);
            let e = 1e-6;
            let dk = (KlifCharge { k: k + e, ..klif }.charge(v, x)
                - KlifCharge { k: k - e, ..klif }.charge(v, x))
                / (2.0 * e);
            assert!((dk - klif.dh_dk(v, x, h)).abs() < 1e-8);
        }
        let (dv, dx) = numeric(IfCharge, 0.5, 0.25);
        assert!((dv - ChargeRule::<f64>::dh_dv(&IfCharge, 0.5, 0.0)).abs() < 1e-8);
        assert!((dx - ChargeRule::<f64>::dh_dx(&IfCharge, 0.5, 0.0)).abs() < 1e-8);
    }
}
