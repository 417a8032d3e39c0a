//! The floating-point element types the kernels are generic over (f32, f64).

use crate::storage::Storage;
use num_traits::Float;

pub trait Real: Float + Send + Sync + Copy + std::fmt::Debug + Storage<Self> + 'static {
    /// Converts a parameter given in f64 (rounding for f32).
    fn of(value: f64) -> Self;
    fn to_f64(self) -> f64;
    /// `e^x` from arithmetic and bit operations only, so loops calling it
    /// vectorise (libm's `exp` is an opaque call). Within a few ulp of `exp`;
    /// inputs are clamped to the range where the result is a normal number.
    fn exp_vec(self) -> Self;
}

/// Shared by both widths: round-to-nearest via a magic constant, Cody–Waite
/// reduction `x = k·ln2 + r` with |r| <= ln2/2, Taylor polynomial for e^r,
/// then the exponent field of 2^k built from k's bits.
macro_rules! exp_vec_body {
    ($x:expr, $t:ty, $bits:ty, $lo:expr, $hi:expr, $magic:expr, $mant:expr, $bias:expr, $ln2_hi:expr, $ln2_lo:expr, [$($c:expr),*]) => {{
        let x: $t = $x;
        let x = if x.is_nan() { x } else { x.max($lo).min($hi) };
        let t = x * std::f64::consts::LOG2_E as $t + $magic;
        let kf = t - $magic;
        let r = (x - kf * $ln2_hi) - kf * $ln2_lo;
        let mut p: $t = 0.0;
        $( p = p * r + $c; )*
        let k = t.to_bits().wrapping_sub(($magic as $t).to_bits());
        let scale = <$t>::from_bits(k.wrapping_add($bias as $bits) << $mant);
        p * scale
    }};
}

impl Real for f32 {
    #[inline(always)]
    fn of(value: f64) -> Self {
        value as f32
    }
    #[inline(always)]
    fn to_f64(self) -> f64 {
        self as f64
    }
    #[inline(always)]
    fn exp_vec(self) -> Self {
        exp_vec_body!(
            self,
            f32,
            u32,
            -87.0f32,
            88.0f32,
            12582912.0f32,
            23,
            127u32,
            0.693_145_75f32,
            1.428_606_8e-6f32,
            [
                1.0 / 5040.0,
                1.0 / 720.0,
                1.0 / 120.0,
                1.0 / 24.0,
                1.0 / 6.0,
                0.5,
                1.0,
                1.0
            ]
        )
    }
}

impl Real for f64 {
    #[inline(always)]
    fn of(value: f64) -> Self {
        value
    }
    #[inline(always)]
    fn to_f64(self) -> f64 {
        self
    }
    #[inline(always)]
    fn exp_vec(self) -> Self {
        exp_vec_body!(
            self,
            f64,
            u64,
            -708.0f64,
            709.0f64,
            6755399441055744.0f64,
            52,
            1023u64,
            6.931_471_803_691_238e-1f64,
            1.908_214_929_270_587_7e-10f64,
            [
                1.0 / 6227020800.0,
                1.0 / 479001600.0,
                1.0 / 39916800.0,
                1.0 / 3628800.0,
                1.0 / 362880.0,
                1.0 / 40320.0,
                1.0 / 5040.0,
                1.0 / 720.0,
                1.0 / 120.0,
                1.0 / 24.0,
                1.0 / 6.0,
                0.5,
                1.0,
                1.0
            ]
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exp_vec_matches_libm() {
        for i in -70_000..=70_000 {
            let x = i as f64 * 0.01;
            let (got, want) = (x.exp_vec(), x.exp());
            assert!(
                ((got - want) / want).abs() < 1e-15,
                "f64 exp({x}): {got} vs {want}"
            );
        }
        for i in -8_600..=8_700 {
            let x = i as f32 * 0.01;
            let (got, want) = (x.exp_vec(), x.exp());
            assert!(
                ((got - want) / want).abs() < 5e-7,
                "f32 exp({x}): {got} vs {want}"
            );
        }
        assert!(f64::NAN.exp_vec().is_nan());
        assert!(1e6f64.exp_vec() > 1e307 && (-1e6f64).exp_vec() < 1e-307);
    }
}
