//! Surrogate derivatives `sg'(x)` (docs/semantics.md#surrogates). Forward is
//! always `Θ(x)`; only the backward pass needs these. One enum, shared by every kernel; each kernel is
//! monomorphised over the derivative through [`Surrogate::dispatch`] so the
//! per-element loop carries no `match`.

use crate::error::{parameter_names, require_finite, EngineError};
use crate::real::Real;
use std::f64::consts::PI;

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Surrogate {
    Sigmoid { alpha: f64 },
    ATan { alpha: f64 },
    PiecewiseQuadratic { alpha: f64 },
    PiecewiseExp { alpha: f64 },
    SoftSign { alpha: f64 },
    SuperSpike { alpha: f64 },
    Erf { alpha: f64 },
    PiecewiseLeakyReLU { w: f64, c: f64 },
    Rect { alpha: f64 },
    QPseudoSpike { alpha: f64 },
    S2NN { alpha: f64, beta: f64 },
    LeakyKReLU { leak: f64, k: f64 },
    FakeNumericalGradient { alpha: f64 },
    LogTailedReLU { alpha: f64 },
    NonzeroSignLogAbs { alpha: f64 },
    SquarewaveFourierSeries { n: u32, t_period: f64 },
}

/// Receives the derivative as a concrete closure type, so the caller's loop is
/// compiled once per surrogate.
pub trait DerivativeVisitor<T: Real> {
    type Output;
    fn visit<G: Fn(T) -> T + Sync + Send + Copy>(self, derivative: G) -> Self::Output;
}

/// The surrogate table: names accepted by [`Surrogate::from_name`], with
/// their parameter names. Python reads it as `snnrs._engine.SURROGATES`, in
/// this order.
///
/// A surrogate's position in this table is its numeric id, which the WGSL
/// shaders use (Sigmoid = 0, ATan = 1, ...; Python generates the WGSL
/// constants from `SURROGATES`). Append new surrogates; never reorder or
/// remove one.
pub const SURROGATE_PARAMETERS: &[(&str, &[&str])] = &[
    ("Sigmoid", &["alpha"]),
    ("ATan", &["alpha"]),
    ("PiecewiseQuadratic", &["alpha"]),
    ("PiecewiseExp", &["alpha"]),
    ("SoftSign", &["alpha"]),
    ("SuperSpike", &["alpha"]),
    ("Erf", &["alpha"]),
    ("PiecewiseLeakyReLU", &["w", "c"]),
    ("Rect", &["alpha"]),
    ("QPseudoSpike", &["alpha"]),
    ("S2NN", &["alpha", "beta"]),
    ("LeakyKReLU", &["leak", "k"]),
    ("FakeNumericalGradient", &["alpha"]),
    ("LogTailedReLU", &["alpha"]),
    ("NonzeroSignLogAbs", &["alpha"]),
    ("SquarewaveFourierSeries", &["n", "T_period"]),
];

fn positive(arg: &'static str, value: f64) -> Result<f64, EngineError> {
    if value > 0.0 {
        Ok(value)
    } else {
        Err(EngineError::param(
            arg,
            format!("expected a positive number, got {value}"),
        ))
    }
}

impl Surrogate {
    /// Builds a surrogate from its SpikingJelly class name and parameters.
    pub fn from_name(name: &str, params: &[f64]) -> Result<Self, EngineError> {
        parameter_names(
            SURROGATE_PARAMETERS,
            "surrogate",
            "surrogate_params",
            name,
            params,
        )?;
        for &p in params {
            require_finite("surrogate_params", p)?;
        }
        let a = params[0];
        Ok(match name {
            "Sigmoid" => Surrogate::Sigmoid {
                alpha: positive("alpha", a)?,
            },
            "ATan" => Surrogate::ATan {
                alpha: positive("alpha", a)?,
            },
            "PiecewiseQuadratic" => Surrogate::PiecewiseQuadratic {
                alpha: positive("alpha", a)?,
            },
            "PiecewiseExp" => Surrogate::PiecewiseExp {
                alpha: positive("alpha", a)?,
            },
            "SoftSign" => Surrogate::SoftSign {
                alpha: positive("alpha", a)?,
            },
            "SuperSpike" => Surrogate::SuperSpike { alpha: a },
            "Erf" => Surrogate::Erf { alpha: a },
            "PiecewiseLeakyReLU" => Surrogate::PiecewiseLeakyReLU {
                w: positive("w", a)?,
                c: params[1],
            },
            "Rect" => Surrogate::Rect {
                alpha: positive("alpha", a)?,
            },
            "QPseudoSpike" => {
                if a <= 1.0 {
                    return Err(EngineError::param(
                        "alpha",
                        format!("QPseudoSpike needs alpha > 1, got {a}"),
                    ));
                }
                Surrogate::QPseudoSpike { alpha: a }
            }
            "S2NN" => Surrogate::S2NN {
                alpha: a,
                beta: params[1],
            },
            "LeakyKReLU" => Surrogate::LeakyKReLU {
                leak: a,
                k: params[1],
            },
            "FakeNumericalGradient" => Surrogate::FakeNumericalGradient { alpha: a },
            "LogTailedReLU" => Surrogate::LogTailedReLU { alpha: a },
            "NonzeroSignLogAbs" => Surrogate::NonzeroSignLogAbs {
                alpha: positive("alpha", a)?,
            },
            "SquarewaveFourierSeries" => {
                if a < 1.0 || a.fract() != 0.0 || a > 1e6 {
                    return Err(EngineError::param(
                        "n",
                        format!("expected an integer >= 1, got {a}"),
                    ));
                }
                Surrogate::SquarewaveFourierSeries {
                    n: a as u32,
                    t_period: positive("T_period", params[1])?,
                }
            }
            _ => unreachable!("name checked against SURROGATE_PARAMETERS"),
        })
    }

    /// Hands `visitor` the derivative of this surrogate as a concrete closure.
    pub fn dispatch<T: Real, V: DerivativeVisitor<T>>(&self, visitor: V) -> V::Output {
        let one = T::one();
        match *self {
            Surrogate::Sigmoid { alpha } => {
                let a = T::of(alpha);
                visitor.visit(move |x: T| {
                    let s = one / (one + (-(a * x)).exp_vec());
                    a * s * (one - s)
                })
            }
            Surrogate::ATan { alpha } => {
                let a = T::of(alpha);
                let half_pi = T::of(PI / 2.0);
                visitor.visit(move |x: T| {
                    let z = half_pi * a * x;
                    a / T::of(2.0) / (one + z * z)
                })
            }
            Surrogate::PiecewiseQuadratic { alpha } => {
                let a = T::of(alpha);
                visitor.visit(move |x: T| {
                    if x.abs() <= one / a {
                        a - a * a * x.abs()
                    } else {
                        T::zero()
                    }
                })
            }
            Surrogate::PiecewiseExp { alpha } => {
                let a = T::of(alpha);
                visitor.visit(move |x: T| a / T::of(2.0) * (-(a * x.abs())).exp_vec())
            }
            Surrogate::SoftSign { alpha } => {
                let a = T::of(alpha);
                visitor.visit(move |x: T| {
                    let d = one / a + x.abs();
                    one / (T::of(2.0) * a * d * d)
                })
            }
            Surrogate::SuperSpike { alpha } => {
                let a = T::of(alpha);
                visitor.visit(move |x: T| {
                    let d = x.abs() + one;
                    a / (d * d)
                })
            }
            Surrogate::Erf { alpha } => {
                let a = T::of(alpha);
                let c = T::of(alpha / PI.sqrt());
                visitor.visit(move |x: T| c * (-((a * x) * (a * x))).exp_vec())
            }
            Surrogate::PiecewiseLeakyReLU { w, c } => {
                let (w, c) = (T::of(w), T::of(c));
                let inside = one / (T::of(2.0) * w);
                visitor.visit(move |x: T| if x.abs() < w { inside } else { c })
            }
            Surrogate::Rect { alpha } => {
                let a = T::of(alpha);
                let half_width = one / (T::of(2.0) * a);
                visitor.visit(move |x: T| if x.abs() < half_width { a } else { T::zero() })
            }
            Surrogate::QPseudoSpike { alpha } => {
                let a = T::of(alpha);
                let scale = T::of(2.0 / (alpha - 1.0));
                visitor.visit(move |x: T| (one + scale * x.abs()).powf(-a))
            }
            Surrogate::S2NN { alpha, beta } => {
                let (a, b) = (T::of(alpha), T::of(beta));
                visitor.visit(move |x: T| {
                    if x < T::zero() {
                        let s = one / (one + (-(a * x)).exp_vec());
                        a * s * (one - s)
                    } else {
                        b / (x + one)
                    }
                })
            }
            Surrogate::LeakyKReLU { leak, k } => {
                let (leak, k) = (T::of(leak), T::of(k));
                visitor.visit(move |x: T| if x >= T::zero() { k } else { leak })
            }
            Surrogate::FakeNumericalGradient { alpha } => {
                let a = T::of(alpha);
                visitor.visit(move |x: T| {
                    let sign = if x >= T::zero() { one } else { -one };
                    (sign / x).min(a)
                })
            }
            Surrogate::LogTailedReLU { alpha } => {
                let a = T::of(alpha);
                visitor.visit(move |x: T| {
                    if x > one {
                        one / x
                    } else if x > T::zero() {
                        one
                    } else {
                        a
                    }
                })
            }
            Surrogate::NonzeroSignLogAbs { alpha } => {
                let inv_a = T::of(1.0 / alpha);
                visitor.visit(move |x: T| one / (inv_a + x.abs()))
            }
            Surrogate::SquarewaveFourierSeries { n, t_period } => {
                // In f64 even for f32 data: the harmonics' arguments (2i-1)·ω·x grow
                // large, and rounding them to f32 costs more than the 1e-4 budget.
                let omega = 2.0 * PI / t_period;
                let scale = 4.0 / t_period;
                visitor.visit(move |x: T| {
                    let x = x.to_f64();
                    let mut sum = 0.0f64;
                    for i in 1..n {
                        sum += ((2 * i - 1) as f64 * omega * x).cos();
                    }
                    T::of(scale * sum)
                })
            }
        }
    }

    /// `sg'(x)` for one value; the kernels use [`Surrogate::dispatch`] instead.
    pub fn derivative<T: Real>(&self, x: T) -> T {
        struct At<T>(T);
        impl<T: Real> DerivativeVisitor<T> for At<T> {
            type Output = T;
            fn visit<G: Fn(T) -> T + Sync + Send + Copy>(self, derivative: G) -> T {
                derivative(self.0)
            }
        }
        self.dispatch(At(x))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all_defaults() -> Vec<Surrogate> {
        let defaults: &[(&str, &[f64])] = &[
            ("Sigmoid", &[4.0]),
            ("ATan", &[2.0]),
            ("PiecewiseQuadratic", &[1.0]),
            ("PiecewiseExp", &[1.0]),
            ("SoftSign", &[2.0]),
            ("SuperSpike", &[1.0]),
            ("Erf", &[2.0]),
            ("PiecewiseLeakyReLU", &[1.0, 0.01]),
            ("Rect", &[1.0]),
            ("QPseudoSpike", &[2.0]),
            ("S2NN", &[4.0, 1.0]),
            ("LeakyKReLU", &[0.0, 1.0]),
            ("FakeNumericalGradient", &[0.3]),
            ("LogTailedReLU", &[0.0]),
            ("NonzeroSignLogAbs", &[1.0]),
            ("SquarewaveFourierSeries", &[2.0, 8.0]),
        ];
        defaults
            .iter()
            .map(|(n, p)| Surrogate::from_name(n, p).unwrap())
            .collect()
    }

    #[test]
    fn table_positions_are_the_gpu_ids() {
        // The WGSL shaders number surrogates by position in SURROGATE_PARAMETERS.
        let names: Vec<&str> = SURROGATE_PARAMETERS.iter().map(|(n, _)| *n).collect();
        let gpu_ids = [
            "Sigmoid",
            "ATan",
            "PiecewiseQuadratic",
            "PiecewiseExp",
            "SoftSign",
            "SuperSpike",
            "Erf",
            "PiecewiseLeakyReLU",
            "Rect",
            "QPseudoSpike",
            "S2NN",
            "LeakyKReLU",
            "FakeNumericalGradient",
            "LogTailedReLU",
            "NonzeroSignLogAbs",
            "SquarewaveFourierSeries",
        ];
        assert_eq!(&names[..gpu_ids.len()], gpu_ids);
    }

    #[test]
    fn every_listed_name_builds() {
        assert_eq!(all_defaults().len(), SURROGATE_PARAMETERS.len());
    }

    #[test]
    fn derivatives_match_closed_forms_at_known_points() {
        // Values worked out by hand from docs/semantics.md#surrogates.
        let sig = Surrogate::Sigmoid { alpha: 4.0 };
        assert!((sig.derivative(0.0f64) - 1.0).abs() < 1e-15); // 4 * 1/2 * 1/2
        let atan = Surrogate::ATan { alpha: 2.0 };
        assert!((atan.derivative(0.0f64) - 1.0).abs() < 1e-15);
        let rect = Surrogate::Rect { alpha: 1.0 };
        assert_eq!(rect.derivative(0.49f64), 1.0);
        assert_eq!(rect.derivative(0.5f64), 0.0);
        let pq = Surrogate::PiecewiseQuadratic { alpha: 1.0 };
        assert!((pq.derivative(0.25f64) - 0.75).abs() < 1e-15);
        let erf = Surrogate::Erf { alpha: 2.0 };
        assert!((erf.derivative(0.0f64) - 2.0 / PI.sqrt()).abs() < 1e-15);
        let fng = Surrogate::FakeNumericalGradient { alpha: 0.3 };
        assert!((fng.derivative(-10.0f64) - 0.1).abs() < 1e-15);
        assert!((fng.derivative(0.0f64) - 0.3).abs() < 1e-15);
        let sq = Surrogate::SquarewaveFourierSeries {
            n: 2,
            t_period: 8.0,
        };
        assert!((sq.derivative(0.0f64) - 0.5).abs() < 1e-15);
    }

    #[test]
    fn f32_and_f64_agree() {
        for s in all_defaults() {
            for i in -40..=40 {
                let x = i as f64 * 0.073;
                let d64 = s.derivative(x);
                let d32 = s.derivative(x as f32) as f64;
                assert!(
                    (d64 - d32).abs() <= 1e-5 * (1.0 + d64.abs()),
                    "{s:?} at {x}: {d64} vs {d32}"
                );
            }
        }
    }

    #[test]
    fn bad_parameters_are_errors_not_panics() {
        assert!(Surrogate::from_name("Nope", &[1.0]).is_err());
        assert!(Surrogate::from_name("Sigmoid", &[]).is_err());
        assert!(Surrogate::from_name("Sigmoid", &[f64::NAN]).is_err());
        assert!(Surrogate::from_name("ATan", &[-1.0]).is_err());
        assert!(Surrogate::from_name("QPseudoSpike", &[1.0]).is_err());
        assert!(Surrogate::from_name("SquarewaveFourierSeries", &[1.5, 8.0]).is_err());
    }
}
