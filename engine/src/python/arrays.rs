//! Numpy arguments to checked, contiguous, typed views. Every rejection names
//! the argument and goes through `to_py`, so Python sees TypeError for a
//! wrong dtype and ValueError for a wrong shape or layout.

use super::to_py;
use crate::error::EngineError;
use crate::real::Real;
use half::slice::HalfBitsSliceExt;
use half::{bf16, f16};
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
    two_d(&a, arg, is_f64)
}

/// A `[T, N]` pass shape from its leading array, T >= 1.
fn two_d(a: &Bound<'_, PyUntypedArray>, arg: &'static str, is_f64: bool) -> PyResult<PassShape> {
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

/// The element type of the arrays a pass streams (`x`, spikes, `grad_spikes`,
/// `grad_x`) as numpy holds them: float32/float64 as themselves, the 16-bit
/// floats as their bits in a uint16 array (numpy has no bfloat16).
pub(super) trait Streamed: Sized + Copy + Send + Sync {
    type Raw: Element + Copy + Send + Sync;
    /// What a dtype error says was wanted.
    const EXPECTED: &'static str;
    fn of_raw(raw: &[Self::Raw]) -> &[Self];
    fn of_raw_mut(raw: &mut [Self::Raw]) -> &mut [Self];
}

macro_rules! streamed_as_itself {
    ($t:ty, $name:expr) => {
        impl Streamed for $t {
            type Raw = $t;
            const EXPECTED: &'static str = $name;
            fn of_raw(raw: &[$t]) -> &[$t] {
                raw
            }
            fn of_raw_mut(raw: &mut [$t]) -> &mut [$t] {
                raw
            }
        }
    };
}
streamed_as_itself!(f32, "float32 (same as x)");
streamed_as_itself!(f64, "float64 (same as x)");

macro_rules! streamed_as_bits {
    ($t:ty, $name:expr) => {
        impl Streamed for $t {
            type Raw = u16;
            const EXPECTED: &'static str = $name;
            fn of_raw(raw: &[u16]) -> &[$t] {
                raw.reinterpret_cast()
            }
            fn of_raw_mut(raw: &mut [u16]) -> &mut [$t] {
                raw.reinterpret_cast_mut()
            }
        }
    };
}
streamed_as_bits!(bf16, "uint16 (the bits of bfloat16, storage='bfloat16')");
streamed_as_bits!(f16, "uint16 (the bits of float16, storage='float16')");

/// A streamed array of element type `E` with `shape` (checked).
pub(super) fn streamed_arg<'py, E: Streamed>(
    ob: &Bound<'py, PyAny>,
    arg: &'static str,
    shape: &[usize],
) -> PyResult<PyReadonlyArrayDyn<'py, E::Raw>> {
    checked(ob, arg, shape, || E::EXPECTED.into())
}

/// As [`streamed_arg`], where None (absent or Python `None`) is allowed.
pub(super) fn optional_streamed_arg<'py, E: Streamed>(
    ob: Option<&Bound<'py, PyAny>>,
    arg: &'static str,
    shape: &[usize],
) -> PyResult<Option<PyReadonlyArrayDyn<'py, E::Raw>>> {
    match ob {
        Some(o) if !o.is_none() => Ok(Some(streamed_arg::<E>(o, arg, shape)?)),
        _ => Ok(None),
    }
}

/// The 16-bit storage of a mixed-precision pass (`storage=` in Python), or
/// None when the streamed arrays have the state's own dtype.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum HalfStorage {
    BFloat16,
    Float16,
}

impl HalfStorage {
    pub(super) fn from_arg(storage: Option<&str>) -> PyResult<Option<HalfStorage>> {
        match storage {
            None => Ok(None),
            Some("bfloat16") => Ok(Some(HalfStorage::BFloat16)),
            Some("float16") => Ok(Some(HalfStorage::Float16)),
            Some(other) => Err(to_py(EngineError::param(
                "storage",
                format!("expected None, 'bfloat16' or 'float16', got {other:?}"),
            ))),
        }
    }
}

/// Calls `$f::<T, E>` for the pass: `(f32|f64, itself)` by `$shape`'s dtype
/// when `$storage` is None, else `(f32, bf16|f16)`; a 16-bit pass's state
/// arrays must be float32 (`$shape.is_f64` false, checked by the caller).
macro_rules! by_storage {
    ($shape:expr, $storage:expr, $f:ident($($arg:expr),* $(,)?)) => {
        match $storage {
            None if $shape.is_f64 => $f::<f64, f64>($($arg),*),
            None => $f::<f32, f32>($($arg),*),
            Some($crate::python::arrays::HalfStorage::BFloat16) => $f::<f32, half::bf16>($($arg),*),
            Some($crate::python::arrays::HalfStorage::Float16) => $f::<f32, half::f16>($($arg),*),
        }
    };
}
pub(super) use by_storage;

/// The shape of a pass whose leading array `x` holds 16-bit floats as uint16
/// bits: a 2-D `[T, N]` array with T >= 1 (the state it runs in is float32).
pub(super) fn leading_bits(x: &Bound<'_, PyAny>, arg: &'static str) -> PyResult<PassShape> {
    let a = untyped(x, arg)?;
    if !a.dtype().is_equiv_to(&dtype::<u16>(x.py())) {
        return Err(to_py(EngineError::DType {
            arg,
            expected: "uint16 (the bits of a 16-bit float, as storage= says)".into(),
            got: dtype_str(&a.dtype()).unwrap_or_else(|| "?".into()),
        }));
    }
    two_d(&a, arg, false)
}
