//! Typed errors; converted once, at the Python boundary, into ValueError/TypeError.

use std::fmt;

#[derive(Debug, Clone, PartialEq)]
pub enum EngineError {
    /// A value has the wrong element type (maps to TypeError).
    DType {
        arg: &'static str,
        expected: String,
        got: String,
    },
    /// A value has the wrong shape or rank (ValueError).
    Shape {
        arg: &'static str,
        expected: String,
        got: String,
    },
    /// An array is not C-contiguous (ValueError).
    NotContiguous { arg: &'static str },
    /// A parameter is out of its domain (ValueError).
    Parameter { arg: &'static str, message: String },
    /// A working buffer the machine cannot hold (MemoryError).
    Memory { what: &'static str, bytes: usize },
}

impl EngineError {
    pub fn param(arg: &'static str, message: impl Into<String>) -> Self {
        EngineError::Parameter {
            arg,
            message: message.into(),
        }
    }

    pub fn is_type_error(&self) -> bool {
        matches!(self, EngineError::DType { .. })
    }

    pub fn is_memory_error(&self) -> bool {
        matches!(self, EngineError::Memory { .. })
    }
}

impl fmt::Display for EngineError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EngineError::DType { arg, expected, got } => {
                write!(f, "{arg}: expected dtype {expected}, got {got}")
            }
            EngineError::Shape { arg, expected, got } => {
                write!(f, "{arg}: expected shape {expected}, got {got}")
            }
            EngineError::NotContiguous { arg } => {
                write!(f, "{arg}: expected a C-contiguous array (call .contiguous() / np.ascontiguousarray first)")
            }
            EngineError::Parameter { arg, message } => write!(f, "{arg}: {message}"),
            EngineError::Memory { what, bytes } => {
                write!(
                    f,
                    "out of memory: {bytes} bytes for {what} could not be allocated"
                )
            }
        }
    }
}

impl std::error::Error for EngineError {}

/// Checks that a scalar parameter is a finite number.
pub fn require_finite(arg: &'static str, value: f64) -> Result<f64, EngineError> {
    if value.is_finite() {
        Ok(value)
    } else {
        Err(EngineError::param(
            arg,
            format!("expected a finite number, got {value}"),
        ))
    }
}

/// Looks `name` up in a table of (name, parameter names) and checks that
/// `params` has one value per name. `kind` names the argument holding `name`
/// (e.g. "neuron"), `params_arg` the one holding the values.
pub fn parameter_names<'t>(
    table: &'t [(&'static str, &'static [&'static str])],
    kind: &'static str,
    params_arg: &'static str,
    name: &str,
    params: &[f64],
) -> Result<&'t [&'static str], EngineError> {
    let Some((_, names)) = table.iter().find(|(n, _)| *n == name) else {
        let known: Vec<&str> = table.iter().map(|(n, _)| *n).collect();
        return Err(EngineError::param(
            kind,
            format!(
                "unknown {kind} {name:?}; expected one of {}",
                known.join(", ")
            ),
        ));
    };
    if params.len() != names.len() {
        return Err(EngineError::param(
            params_arg,
            format!(
                "{name} takes {} parameter(s) [{}], got {}",
                names.len(),
                names.join(", "),
                params.len()
            ),
        ));
    }
    Ok(names)
}
