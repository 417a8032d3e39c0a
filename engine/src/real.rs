//! The floating-point element types the kernels are generic over (f32, f64).

use num_traits::Float;

pub trait Real: Float + Send + Sync + Copy + std::fmt::Debug + 'static {
    /// Converts a parameter given in f64 (rounding for f32).
    fn of(value: f64) -> Self;
    fn to_f64(self) -> f64;
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
}
