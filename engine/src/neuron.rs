//! The single-state neurons: their names and parameters (the registry), and
//! the charge rule each one runs (docs/semantics.md#neurons,
//! docs/semantics.md#charge-rules).

use crate::charge::{
    ChargeRule, DecayCharge, EifCharge, IfCharge, KlifCharge, LifCharge, ParametricLifCharge,
    QifCharge,
};
use crate::error::{parameter_names, require_finite, EngineError};
use crate::real::Real;

/// The neuron table: each neuron's name with its parameter names, in the
/// order [`Neuron::from_name`] takes them. Python reads it as
/// `snnrs._engine.NEURONS`, in this order.
///
/// A neuron's position in this table is its numeric id, which the WGSL
/// shaders use (if = 0, lif = 1, plif = 2, ...; Python generates the WGSL
/// constants from `NEURONS`). Append new neurons; never reorder or remove one.
pub const NEURON_PARAMETERS: &[(&str, &[&str])] = &[
    ("if", &[]),
    ("lif", &["tau"]),
    ("plif", &["k"]),
    ("qif", &["tau", "v_c", "a0", "v_rest"]),
    ("eif", &["tau", "delta_T", "theta_rh", "v_rest"]),
    ("cuba", &["v_decay"]),
    ("klif", &["tau", "k"]),
];

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

/// Receives a neuron's charge rule as a concrete type, so the caller's loops
/// are compiled once per rule.
pub trait ChargeVisitor<T: Real> {
    type Output;
    fn visit<R: ChargeRule<T>>(self, rule: R) -> Self::Output;
}

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
            "eif" => {
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
            // A row of NEURON_PARAMETERS without its arm here: an error, never another
            // neuron's charge rule.
            other => {
                return Err(EngineError::param(
                    "neuron",
                    format!("{other:?} has no charge rule in Neuron::from_name"),
                ))
            }
        })
    }

    /// Hands `visitor` this neuron's charge rule in element type `T`; `rest`
    /// is the voltage the leaky rules pull towards (see `FiringSpec::rest_voltage`).
    pub fn dispatch<T: Real, V: ChargeVisitor<T>>(self, rest: T, visitor: V) -> V::Output {
        match self {
            Neuron::If => visitor.visit(IfCharge),
            Neuron::Lif { tau, decay_input } => visitor.visit(LifCharge {
                tau: T::of(tau),
                v_reset: rest,
                decay_input,
            }),
            Neuron::ParametricLif { k, decay_input } => visitor.visit(ParametricLifCharge {
                k: T::of(k),
                v_reset: rest,
                decay_input,
            }),
            Neuron::Klif {
                tau,
                k,
                decay_input,
            } => visitor.visit(KlifCharge {
                lif: LifCharge {
                    tau: T::of(tau),
                    v_reset: rest,
                    decay_input,
                },
                k: T::of(k),
            }),
            Neuron::Cuba { v_decay } => visitor.visit(DecayCharge {
                v_decay: T::of(v_decay),
            }),
            Neuron::Qif {
                tau,
                v_c,
                a0,
                v_rest,
            } => visitor.visit(QifCharge {
                tau: T::of(tau),
                v_c: T::of(v_c),
                a0: T::of(a0),
                v_rest: T::of(v_rest),
            }),
            Neuron::Eif {
                tau,
                delta_t,
                theta_rh,
                v_rest,
            } => visitor.visit(EifCharge {
                tau: T::of(tau),
                delta_t: T::of(delta_t),
                theta_rh: T::of(theta_rh),
                v_rest: T::of(v_rest),
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_positions_are_the_gpu_ids() {
        // The WGSL shaders number neurons by position in NEURON_PARAMETERS.
        let names: Vec<&str> = NEURON_PARAMETERS.iter().map(|(n, _)| *n).collect();
        assert_eq!(&names[..3], ["if", "lif", "plif"]);
    }

    #[test]
    fn every_listed_name_builds_and_bad_parameters_are_errors() {
        for (name, params) in NEURON_PARAMETERS {
            let values: Vec<f64> = params.iter().map(|_| 0.5).collect();
            let values = match *name {
                "lif" | "klif" | "qif" | "eif" => {
                    let mut v = values;
                    v[0] = 2.0;
                    v
                }
                _ => values,
            };
            assert!(Neuron::from_name(name, &values, true).is_ok(), "{name}");
        }
        assert!(Neuron::from_name("lif", &[1.0], true).is_err());
        assert!(Neuron::from_name("plif", &[1.0], true).is_err());
        assert!(Neuron::from_name("eif", &[2.0, 0.0, 0.0, 0.0], true).is_err());
        assert!(Neuron::from_name("cuba", &[f64::NAN], true).is_err());
        assert!(Neuron::from_name("nope", &[], true).is_err());
    }
}
