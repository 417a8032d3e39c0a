//! Numpy arguments to checked, contiguous, typed views. Every rejection names
//! the argument and goes through `to_py`, so Python sees TypeError for a
//! wrong dtype and ValueError for a wrong shape or layout.

use super::to_py;
use crate::error::EngineError;
use crate::real::Real;
use numpy::{
    dtype, Element, PyArrayDescr, PyArrayDescrMethods, PyArrayDyn, PyArrayMethods,
    PyReadonlyArrayDyn, PyUntypedArray, PyUntypedArrayMethods,
};
use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;

pub(super) fn untyped<'py>(
    ob: &Bound<'py, PyAny>,
    arg: &'static str,
) -> PyResult<Bound<'py, PyUntypedArray>> {
    ob.cast::<PyUntypedArray>().cloned().map_err(|_| {
        let got = ob
            .get_type()
            .name()
            .map(|n| n.to_string())
            .unwrap_or_else(|_| "?".into());
        PyTypeError::new_err(format!("{arg}: expected a numpy.ndarray, got {got}"))
    })
}

fn dtype_str(d: &Bound<'_, PyArrayDescr>) -> Option<String> {
    d.str().ok().map(|s| s.to_string())
}

/// A read-only view of `ob` as an array of `E` with `shape` (checked),
/// contiguous; `expected` is what a dtype error says was wanted.
fn checked<'py, E: Element>(
    ob: &Bound<'py, PyAny>,
    arg: &'static str,
    shape: &[usize],
    expected: impl FnOnce() -> String,
) -> PyResult<PyReadonlyArrayDyn<'py, E>> {
    let a = untyped(ob, arg)?;
    if !a.dtype().is_equiv_to(&dtype::<E>(ob.py())) {
        return Err(to_py(EngineError::DType {
            arg,
            expected: expected(),
            got: dtype_str(&a.dtype()).unwrap_or_else(|| "?".into()),
        }));
    }
    if a.shape() != shape {
        return Err(to_py(EngineError::Shape {
            arg,
            expected: format!("{shape:?}"),
            got: format!("{:?}", a.shape()),
        }));
    }
    if !a.is_c_contiguous() {
        return Err(to_py(EngineError::NotContiguous { arg }));
    }
    Ok(a.cast::<PyArrayDyn<E>>()?.readonly())
}

/// A float array of the pass's dtype `T` (that of `x` or `h_seq`).
pub(super) fn array_arg<'py, T: Element + Real>(
    ob: &Bound<'py, PyAny>,
    arg: &'static str,
    shape: &[usize],
) -> PyResult<PyReadonlyArrayDyn<'py, T>> {
    checked(ob, arg, shape, || {
        let name = dtype_str(&dtype::<T>(ob.py())).unwrap_or_default();
        format!("{name} (same as x)")
    })
}

/// As [`array_arg`], where None (absent or Python `None`) is allowed.
pub(super) fn optional_array_arg<'py, T: Element + Real>(
    ob: Option<&Bound<'py, PyAny>>,
    arg: &'static str,
    shape: &[usize],
) -> PyResult<Option<PyReadonlyArrayDyn<'py, T>>> {
    match ob {
        Some(o) if !o.is_none() => Ok(Some(array_arg(o, arg, shape)?)),
        _ => Ok(None),
    }
}

/// The packed spike bits saved by forward: uint8 `shape`.
pub(super) fn bits_arg<'py>(
    ob: &Bound<'py, PyAny>,
    shape: &[usize],
) -> PyResult<PyReadonlyArrayDyn<'py, u8>> {
    checked(ob, "bits", shape, || "uint8".into())
}

/// The time steps, neurons and element type of a pass, from its leading array.
#[derive(Clone, Copy, Debug)]
pub(super) struct PassShape {
    pub steps: usize,
    pub n: usize,
    /// float64 (else float32).
    pub is_f64: bool,
}

/// Calls the function `$f`, generic over the element type, for the element
/// type of the pass `$shape` (float64 or float32).
macro_rules! by_dtype {
    ($shape:expr, $f:ident($($arg:expr),* $(,)?)) => {
        if $shape.is_f64 {
            $f::<f64>($($arg),*)
        } else {
            $f::<f32>($($arg),*)
        }
    };
}
pub(super) use by_dtype;

/// True for a float64 array, false for float32; a TypeError naming `arg` otherwise.
pub(super) fn is_float64(a: &Bound<'_, PyUntypedArray>, arg: &'static str) -> PyResult<bool> {
    let py = a.py();
    if a.dtype().is_equiv_to(&dtype::<f64>(py)) {
        Ok(true)
    } else if a.dtype().is_equiv_to(&dtype::<f32>(py)) {
        Ok(false)
    } else {
        Err(to_py(EngineError::DType {
            arg,
            expected: "float32 or float64".into(),
            got: dtype_str(&a.dtype()).unwrap_or_else(|| "?".into()),
        }))
    }
}

/// `x` must be a 2-D `[T, N]` float32/float64 array.
pub(super) fn leading_array(x: &Bound<'_, PyAny>, arg: &'static str) -> PyResult<PassShape> {
    let a = untyped(x, arg)?;
    let is_f64 = is_float64(&a, arg)?;
    if a.ndim() != 2 {
        return Err(to_py(EngineError::Shape {
            arg,
            expected: "a 2-D [T, N] array".into(),
            got: format!("{}-D {:?}", a.ndim(), a.shape()),
        }));
    }
    if a.shape()[0] == 0 {
        return Err(to_py(EngineError::Shape {
            arg,
            expected: "T >= 1 time steps".into(),
            got: "T = 0".into(),
        }));
    }
    Ok(PassShape {
        steps: a.shape()[0],
        n: a.shape()[1],
        is_f64,
    })
}
