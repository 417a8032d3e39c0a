//! Fire and reset (docs/semantics.md#firing): `S = Θ(H - V_th)` with `>=`,
//! then hard or soft reset, and the reset's derivative dV[t]/dH[t] used by
//! BPTT (docs/semantics.md#bptt). These are the only copies of the formulas;
//! every time loop calls them.
//!
//! The caller's choice arrives as a [`FiringSpec`]; the loops receive a
//! [`Firing`] whose reset mode is a type ([`HardReset`] or [`SoftReset`]), so
//! the mode is matched once per block, outside the element loop, and each
//! loop is compiled (and vectorised) once per mode.

use crate::error::{require_finite, EngineError};
use crate::real::Real;

/// Threshold, reset and detach as given by the caller (f64), checked.
#[derive(Clone, Copy, Debug)]
pub struct FiringSpec {
    pub v_threshold: f64,
    /// `Some(v_reset)`: hard reset; `None`: soft reset.
    pub v_reset: Option<f64>,
    /// The reset path carries no gradient (S treated as a constant there).
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

    /// The voltage neurons start from and the leaky charge rules pull towards.
    pub fn rest_voltage<T: Real>(&self) -> T {
        match self.reset() {
            Reset::Hard(r) => r.rest(),
            Reset::Soft(r) => r.rest(),
        }
    }

    /// The reset mode as a value of one of the two reset types.
    pub fn reset<T: Real>(&self) -> Reset<T> {
        match self.v_reset {
            Some(v) => Reset::Hard(HardReset { v_reset: T::of(v) }),
            None => Reset::Soft(SoftReset {
                v_threshold: T::of(self.v_threshold),
            }),
        }
    }

    /// The typed firing for the reset mode `reset` (from [`FiringSpec::reset`]).
    pub fn with<T: Real, R: ResetRule<T>>(&self, reset: R) -> Firing<T, R> {
        Firing {
            v_threshold: T::of(self.v_threshold),
            reset,
            keep: if self.detach_reset {
                T::zero()
            } else {
                T::one()
            },
        }
    }
}

/// The run-time choice between the reset types; match it outside a loop and
/// hand the arm's value to [`FiringSpec::with`].
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Reset<T> {
    Hard(HardReset<T>),
    Soft(SoftReset<T>),
}

/// How a reset mode sets V from H and the spike, and how V then depends on H.
pub trait ResetRule<T: Real>: Copy + Send + Sync {
    /// The voltage neurons start from: `v_reset`, or 0 for soft reset.
    fn rest(self) -> T;
    /// V[t] from H[t] and whether the neuron fired.
    fn apply(self, h: T, spike: bool) -> T;
    /// dV[t]/dH[t] with the spike `s` (0 or 1) held fixed.
    fn dv_dh_fixed_spike(self, s: T) -> T;
    /// dV[t]/dS[t]: the reset's sensitivity to the spike.
    fn dv_ds(self, h: T) -> T;
}

/// `V = H·(1 - S) + v_reset·S`
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct HardReset<T> {
    pub v_reset: T,
}

impl<T: Real> ResetRule<T> for HardReset<T> {
    fn rest(self) -> T {
        self.v_reset
    }
    /// The reference's arithmetic, not a select: equal for every finite H, and
    /// H = +Inf that fires gives +Inf·0 = NaN there, so it must here too.
    #[inline(always)]
    fn apply(self, h: T, spike: bool) -> T {
        let s = if spike { T::one() } else { T::zero() };
        h * (T::one() - s) + self.v_reset * s
    }
    #[inline(always)]
    fn dv_dh_fixed_spike(self, s: T) -> T {
        T::one() - s
    }
    #[inline(always)]
    fn dv_ds(self, h: T) -> T {
        self.v_reset - h
    }
}

/// `V = H - V_th·S`
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct SoftReset<T> {
    pub v_threshold: T,
}

impl<T: Real> ResetRule<T> for SoftReset<T> {
    fn rest(self) -> T {
        T::zero()
    }
    #[inline(always)]
    fn apply(self, h: T, spike: bool) -> T {
        if spike {
            h - self.v_threshold
        } else {
            h
        }
    }
    #[inline(always)]
    fn dv_dh_fixed_spike(self, _s: T) -> T {
        T::one()
    }
    #[inline(always)]
    fn dv_ds(self, _h: T) -> T {
        -self.v_threshold
    }
}

/// Firing with the reset mode `R` fixed at compile time; small and `Copy`, so
/// the loops take it by value and keep its fields in registers.
#[derive(Clone, Copy, Debug)]
pub struct Firing<T, R> {
    pub v_threshold: T,
    pub reset: R,
    /// 1, or 0 under `detach_reset`: the factor on the reset's gradient path.
    keep: T,
}

impl<T: Real, R: ResetRule<T>> Firing<T, R> {
    pub fn rest(self) -> T {
        self.reset.rest()
    }

    #[inline(always)]
    pub fn fires(self, h: T) -> bool {
        h >= self.v_threshold
    }

    #[inline(always)]
    pub fn reset(self, h: T, spike: bool) -> T {
        self.reset.apply(h, spike)
    }

    /// dV[t]/dH[t] given the spike `s` (0 or 1) and the surrogate derivative
    /// `sg` at `H - V_th` (which stands in for dS/dH).
    #[inline(always)]
    pub fn dv_dh(self, h: T, s: T, sg: T) -> T {
        self.reset.dv_dh_fixed_spike(s) + self.reset.dv_ds(h) * sg * self.keep
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(v_reset: Option<f64>, detach_reset: bool) -> FiringSpec {
        FiringSpec {
            v_threshold: 1.0,
            v_reset,
            detach_reset,
        }
    }

    #[test]
    fn threshold_is_inclusive_and_resets_follow_the_semantics() {
        let hard = spec(Some(-0.5), false);
        let Reset::Hard(mode) = hard.reset::<f64>() else {
            panic!("v_reset given: hard reset")
        };
        let f = hard.with(mode);
        assert!(f.fires(1.0) && !f.fires(0.999));
        assert_eq!(f.reset(1.3, true), -0.5);
        assert_eq!(f.reset(0.3, false), 0.3);
        // dV/dH for hard reset with a spike: 1 - 1 + (Vr - H)·sg.
        assert_eq!(f.dv_dh(1.5, 1.0, 0.5), -1.0);
        assert_eq!(spec(Some(-0.5), true).with(mode).dv_dh(1.5, 1.0, 0.5), 0.0);
        assert_eq!(hard.rest_voltage::<f64>(), -0.5);

        let soft = spec(None, false);
        let Reset::Soft(mode) = soft.reset::<f64>() else {
            panic!("no v_reset: soft reset")
        };
        let f = soft.with(mode);
        assert_eq!(f.reset(1.25, true), 0.25);
        assert_eq!(f.dv_dh(0.0, 0.0, 0.25), 0.75);
        assert_eq!(soft.rest_voltage::<f64>(), 0.0);
    }

    #[test]
    fn non_finite_threshold_or_reset_is_an_error() {
        assert!(spec(Some(f64::NAN), false).validate().is_err());
        let mut s = spec(None, false);
        s.v_threshold = f64::INFINITY;
        assert!(s.validate().is_err());
    }
}
