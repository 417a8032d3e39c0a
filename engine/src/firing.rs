//! Fire and reset (SPEC §1): `S = Θ(H - V_th)` with `>=`, then hard or soft
//! reset, and the reset's derivative dV[t]/dH[t] used by BPTT (SPEC §1.1).

use crate::real::Real;

#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Reset<T> {
    /// `V = H·(1 - S) + v_reset·S`
    Hard { v_reset: T },
    /// `V = H - V_th·S`
    Soft,
}

#[derive(Clone, Copy, Debug)]
pub struct Firing<T> {
    pub v_threshold: T,
    pub reset: Reset<T>,
    /// The reset path carries no gradient (S treated as a constant there).
    pub detach_reset: bool,
}

impl<T: Real> Firing<T> {
    /// The voltage the charge rules pull towards: `v_reset`, or 0 for soft reset.
    pub fn rest_voltage(&self) -> T {
        match self.reset {
            Reset::Hard { v_reset } => v_reset,
            Reset::Soft => T::zero(),
        }
    }

    #[inline(always)]
    pub fn fires(&self, h: T) -> bool {
        h >= self.v_threshold
    }

    #[inline(always)]
    pub fn reset(&self, h: T, spike: bool) -> T {
        match self.reset {
            Reset::Hard { v_reset } => {
                if spike {
                    v_reset
                } else {
                    h
                }
            }
            Reset::Soft => {
                if spike {
                    h - self.v_threshold
                } else {
                    h
                }
            }
        }
    }

    /// dV[t]/dH[t] given the surrogate derivative `sg` at `H - V_th`.
    #[inline(always)]
    pub fn dv_dh(&self, h: T, spike: bool, sg: T) -> T {
        let one = T::one();
        let s = if spike { one } else { T::zero() };
        let keep = if self.detach_reset { T::zero() } else { one };
        match self.reset {
            Reset::Hard { v_reset } => one - s + (v_reset - h) * sg * keep,
            Reset::Soft => one - self.v_threshold * sg * keep,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn threshold_is_inclusive_and_resets_follow_spec() {
        let hard = Firing {
            v_threshold: 1.0f64,
            reset: Reset::Hard { v_reset: -0.5 },
            detach_reset: false,
        };
        assert!(hard.fires(1.0) && !hard.fires(0.999));
        assert_eq!(hard.reset(1.3, true), -0.5);
        assert_eq!(hard.reset(0.3, false), 0.3);
        let soft = Firing {
            v_threshold: 1.0f64,
            reset: Reset::Soft,
            detach_reset: false,
        };
        assert_eq!(soft.reset(1.25, true), 0.25);
        // dV/dH for hard reset with a spike: 1 - 1 + (Vr - H)·sg.
        assert_eq!(hard.dv_dh(1.5, true, 0.5), -1.0);
        let detached = Firing {
            detach_reset: true,
            ..hard
        };
        assert_eq!(detached.dv_dh(1.5, true, 0.5), 0.0);
        assert_eq!(soft.dv_dh(0.0, false, 0.25), 0.75);
    }
}
