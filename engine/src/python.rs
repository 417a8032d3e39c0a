//! The PyO3 boundary: converts and validates arguments, releases the GIL
//! around the kernels, and maps [`EngineError`] to ValueError / TypeError.
//! No kernel logic lives here.

use crate::bits::row_bytes;
use crate::error::EngineError;
use crate::izhikevich::{self, Izhikevich};
use crate::multistep::{
    self, BackwardInputs, BackwardOutputs, FiringSpec, ForwardInputs, ForwardOutputs, Neuron,
};
use crate::pool::{self, Words};
use crate::real::Real;
use crate::surrogate::Surrogate;
use numpy::ndarray::{ArrayView, IxDyn};
use numpy::{
    dtype, Element, PyArray1, PyArrayDescrMethods, PyArrayDyn, PyArrayMethods, PyReadonlyArrayDyn,
    PyUntypedArray, PyUntypedArrayMethods,
};
use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::PyTuple;
use std::marker::PhantomData;

/// Owns a pooled buffer on behalf of the numpy arrays viewing it; when the
/// last of them dies, the buffer goes back to the pool.
#[pyclass(frozen)]
struct PooledBuffer {
    words: Words,
}

impl Drop for PooledBuffer {
    fn drop(&mut self) {
        pool::give(std::mem::take(&mut self.words));
    }
}

/// An output being filled by a kernel, then handed to Python as an ndarray.
struct Output<T> {
    words: Words,
    shape: Vec<usize>,
    _elem: PhantomData<T>,
}

impl<T: Element> Output<T> {
    fn new(shape: &[usize]) -> Self {
        let len: usize = shape.iter().product();
        Output {
            words: pool::take(len * std::mem::size_of::<T>()),
            shape: shape.to_vec(),
            _elem: PhantomData,
        }
    }

    fn slice_mut(&mut self) -> &mut [T] {
        let len: usize = self.shape.iter().product();
        // Words are 8-byte aligned and hold at least len * size_of::<T>() bytes;
        // T is a plain number type for which every bit pattern is valid.
        unsafe { std::slice::from_raw_parts_mut(self.words.as_mut_ptr().cast::<T>(), len) }
    }

    fn into_array(self, py: Python<'_>) -> PyResult<Bound<'_, PyAny>> {
        let ptr = self.words.as_ptr().cast::<T>();
        let view = unsafe { ArrayView::from_shape_ptr(IxDyn(&self.shape), ptr) };
        // Moving the Vec into the owner does not move its heap buffer.
        let owner = Bound::new(py, PooledBuffer { words: self.words })?;
        Ok(unsafe { PyArrayDyn::<T>::borrow_from_array(&view, owner.into_any()) }.into_any())
    }
}

fn optional_array<T: Element>(
    py: Python<'_>,
    output: Option<Output<T>>,
) -> PyResult<Bound<'_, PyAny>> {
    match output {
        Some(a) => a.into_array(py),
        None => Ok(py.None().into_bound(py)),
    }
}

fn to_py(e: EngineError) -> PyErr {
    if e.is_type_error() {
        PyTypeError::new_err(e.to_string())
    } else {
        PyValueError::new_err(e.to_string())
    }
}

fn untyped<'py>(ob: &Bound<'py, PyAny>, arg: &'static str) -> PyResult<Bound<'py, PyUntypedArray>> {
    ob.cast::<PyUntypedArray>().cloned().map_err(|_| {
        let got = ob
            .get_type()
            .name()
            .map(|n| n.to_string())
            .unwrap_or_else(|_| "?".into());
        PyTypeError::new_err(format!("{arg}: expected a numpy.ndarray, got {got}"))
    })
}

fn dtype_name(a: &Bound<'_, PyUntypedArray>) -> String {
    a.dtype()
        .str()
        .map(|s| s.to_string())
        .unwrap_or_else(|_| "?".into())
}

/// A read-only view of `ob` as an array of `T` with `shape` (checked), contiguous.
fn array_arg<'py, T: Element + Real>(
    ob: &Bound<'py, PyAny>,
    arg: &'static str,
    shape: &[usize],
) -> PyResult<PyReadonlyArrayDyn<'py, T>> {
    let a = untyped(ob, arg)?;
    let py = ob.py();
    if !a.dtype().is_equiv_to(&dtype::<T>(py)) {
        let expected = dtype::<T>(py)
            .str()
            .map(|s| s.to_string())
            .unwrap_or_default();
        return Err(to_py(EngineError::DType {
            arg,
            expected: format!("{expected} (same as x)"),
            got: dtype_name(&a),
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
    Ok(a.cast::<PyArrayDyn<T>>()?.readonly())
}

fn optional_array_arg<'py, T: Element + Real>(
    ob: Option<&Bound<'py, PyAny>>,
    arg: &'static str,
    shape: &[usize],
) -> PyResult<Option<PyReadonlyArrayDyn<'py, T>>> {
    match ob {
        Some(o) if !o.is_none() => Ok(Some(array_arg(o, arg, shape)?)),
        _ => Ok(None),
    }
}

/// `x` must be a 2-D `[T, N]` float32/float64 array; returns (T, N, is_f64).
fn leading_array(x: &Bound<'_, PyAny>, arg: &'static str) -> PyResult<(usize, usize, bool)> {
    let a = untyped(x, arg)?;
    let py = x.py();
    let is_f64 = if a.dtype().is_equiv_to(&dtype::<f64>(py)) {
        true
    } else if a.dtype().is_equiv_to(&dtype::<f32>(py)) {
        false
    } else {
        return Err(to_py(EngineError::DType {
            arg,
            expected: "float32 or float64".into(),
            got: dtype_name(&a),
        }));
    };
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
    Ok((a.shape()[0], a.shape()[1], is_f64))
}

fn firing_spec(v_threshold: f64, v_reset: Option<f64>, detach_reset: bool) -> PyResult<FiringSpec> {
    let spec = FiringSpec {
        v_threshold,
        v_reset,
        detach_reset,
    };
    spec.validate().map_err(to_py)?;
    Ok(spec)
}

/// Multi-step forward (`save_for_backward=False`: inference, h_seq and bits are None).
/// `x` is `[T, N]`, `v_init` is `[N]` (same dtype) or None
/// for neurons starting at rest (`v_reset`, or 0 for soft reset). `params` are the
/// neuron's own (`NEURONS`): lif [tau], plif [k = sigmoid(w)], qif [tau, v_c, a0, v_rest],
/// eif [tau, delta_T, theta_rh, v_rest].
/// Returns `(spikes, v_last, h_seq, bits, v_seq or None)`.
#[pyfunction]
#[pyo3(signature = (x, v_init=None, *, neuron, params=vec![], decay_input=true, v_threshold=1.0, v_reset=Some(0.0), store_v_seq=false, save_for_backward=true))]
#[allow(clippy::too_many_arguments)]
fn neuron_forward<'py>(
    x: &Bound<'py, PyAny>,
    v_init: Option<&Bound<'py, PyAny>>,
    neuron: &str,
    params: Vec<f64>,
    decay_input: bool,
    v_threshold: f64,
    v_reset: Option<f64>,
    store_v_seq: bool,
    save_for_backward: bool,
) -> PyResult<Bound<'py, PyTuple>> {
    let (steps, n, is_f64) = leading_array(x, "x")?;
    let neuron = Neuron::from_name(neuron, &params, decay_input).map_err(to_py)?;
    let firing = firing_spec(v_threshold, v_reset, false)?;
    if is_f64 {
        forward_typed::<f64>(
            x,
            v_init,
            steps,
            n,
            neuron,
            firing,
            store_v_seq,
            save_for_backward,
        )
    } else {
        forward_typed::<f32>(
            x,
            v_init,
            steps,
            n,
            neuron,
            firing,
            store_v_seq,
            save_for_backward,
        )
    }
}

#[allow(clippy::too_many_arguments)]
fn forward_typed<'py, T: Element + Real>(
    x: &Bound<'py, PyAny>,
    v_init: Option<&Bound<'py, PyAny>>,
    steps: usize,
    n: usize,
    neuron: Neuron,
    firing: FiringSpec,
    store_v_seq: bool,
    save_for_backward: bool,
) -> PyResult<Bound<'py, PyTuple>> {
    let py = x.py();
    let x = array_arg::<T>(x, "x", &[steps, n])?;
    let v_init = optional_array_arg::<T>(v_init, "v_init", &[n])?;
    // Outputs come from the pool; the kernel writes every element before any read.
    let mut spikes = Output::<T>::new(&[steps, n]);
    let mut v_last = Output::<T>::new(&[n]);
    let mut h_seq = save_for_backward.then(|| Output::<T>::new(&[steps, n]));
    let mut bits = save_for_backward.then(|| Output::<u8>::new(&[steps, row_bytes(n)]));
    let mut v_seq = store_v_seq.then(|| Output::<T>::new(&[steps, n]));
    {
        let v_init = v_init.as_ref().map(|v| v.as_slice()).transpose()?;
        let inputs = ForwardInputs {
            steps,
            neurons: n,
            x: x.as_slice()?,
            v_init,
        };
        let outputs = ForwardOutputs {
            spikes: spikes.slice_mut(),
            v_last: v_last.slice_mut(),
            h_seq: h_seq.as_mut().map(|h| h.slice_mut()),
            bits: bits.as_mut().map(|b| b.slice_mut()),
            v_seq: v_seq.as_mut().map(|v| v.slice_mut()),
        };
        py.detach(|| multistep::forward(neuron, firing, inputs, outputs))
            .map_err(to_py)?;
    }
    PyTuple::new(
        py,
        [
            spikes.into_array(py)?,
            v_last.into_array(py)?,
            optional_array(py, h_seq)?,
            optional_array(py, bits)?,
            optional_array(py, v_seq)?,
        ],
    )
}

/// Multi-step BPTT. Returns `(grad_x, grad_v_init, grad_k)` where `grad_k` is
/// `Σ gH·dH/dk` (ParametricLIF's gradient wrt k = sigmoid(w); 0 otherwise).
#[pyfunction]
#[pyo3(signature = (grad_spikes, h_seq, bits, v_init=None, *, grad_v_seq=None, grad_v_last=None, grad_h_seq=None, x=None, neuron,
    params=vec![], decay_input=true, v_threshold=1.0, v_reset=Some(0.0), detach_reset=false,
    surrogate="Sigmoid", surrogate_params=vec![4.0]))]
#[allow(clippy::too_many_arguments)]
fn neuron_backward<'py>(
    grad_spikes: Option<&Bound<'py, PyAny>>,
    h_seq: &Bound<'py, PyAny>,
    bits: &Bound<'py, PyAny>,
    v_init: Option<&Bound<'py, PyAny>>,
    grad_v_seq: Option<&Bound<'py, PyAny>>,
    grad_v_last: Option<&Bound<'py, PyAny>>,
    grad_h_seq: Option<&Bound<'py, PyAny>>,
    x: Option<&Bound<'py, PyAny>>,
    neuron: &str,
    params: Vec<f64>,
    decay_input: bool,
    v_threshold: f64,
    v_reset: Option<f64>,
    detach_reset: bool,
    surrogate: &str,
    surrogate_params: Vec<f64>,
) -> PyResult<Bound<'py, PyTuple>> {
    let (steps, n, is_f64) = leading_array(h_seq, "h_seq")?;
    let neuron = Neuron::from_name(neuron, &params, decay_input).map_err(to_py)?;
    let firing = firing_spec(v_threshold, v_reset, detach_reset)?;
    let surrogate = Surrogate::from_name(surrogate, &surrogate_params).map_err(to_py)?;
    let args = BackwardArgs {
        grad_spikes,
        h_seq,
        bits,
        v_init,
        grad_v_seq,
        grad_v_last,
        grad_h_seq,
        x,
    };
    if is_f64 {
        backward_typed::<f64>(args, steps, n, neuron, firing, surrogate)
    } else {
        backward_typed::<f32>(args, steps, n, neuron, firing, surrogate)
    }
}

struct BackwardArgs<'a, 'py> {
    grad_spikes: Option<&'a Bound<'py, PyAny>>,
    h_seq: &'a Bound<'py, PyAny>,
    bits: &'a Bound<'py, PyAny>,
    v_init: Option<&'a Bound<'py, PyAny>>,
    grad_v_seq: Option<&'a Bound<'py, PyAny>>,
    grad_v_last: Option<&'a Bound<'py, PyAny>>,
    grad_h_seq: Option<&'a Bound<'py, PyAny>>,
    x: Option<&'a Bound<'py, PyAny>>,
}

fn bits_arg<'py>(ob: &Bound<'py, PyAny>, shape: &[usize]) -> PyResult<PyReadonlyArrayDyn<'py, u8>> {
    let a = untyped(ob, "bits")?;
    if !a.dtype().is_equiv_to(&dtype::<u8>(ob.py())) {
        return Err(to_py(EngineError::DType {
            arg: "bits",
            expected: "uint8".into(),
            got: dtype_name(&a),
        }));
    }
    if a.shape() != shape {
        return Err(to_py(EngineError::Shape {
            arg: "bits",
            expected: format!("{shape:?}"),
            got: format!("{:?}", a.shape()),
        }));
    }
    if !a.is_c_contiguous() {
        return Err(to_py(EngineError::NotContiguous { arg: "bits" }));
    }
    Ok(a.cast::<PyArrayDyn<u8>>()?.readonly())
}

fn backward_typed<'py, T: Element + Real>(
    a: BackwardArgs<'_, 'py>,
    steps: usize,
    n: usize,
    neuron: Neuron,
    firing: FiringSpec,
    surrogate: Surrogate,
) -> PyResult<Bound<'py, PyTuple>> {
    let py = a.h_seq.py();
    let seq = [steps, n];
    let grad_spikes = optional_array_arg::<T>(a.grad_spikes, "grad_spikes", &seq)?;
    let h_seq = array_arg::<T>(a.h_seq, "h_seq", &seq)?;
    let bits = bits_arg(a.bits, &[steps, row_bytes(n)])?;
    let v_init = optional_array_arg::<T>(a.v_init, "v_init", &[n])?;
    let grad_v_seq = optional_array_arg::<T>(a.grad_v_seq, "grad_v_seq", &seq)?;
    let grad_v_last = optional_array_arg::<T>(a.grad_v_last, "grad_v_last", &[n])?;
    let grad_h_seq = optional_array_arg::<T>(a.grad_h_seq, "grad_h_seq", &seq)?;
    let x = optional_array_arg::<T>(a.x, "x", &seq)?;
    let mut grad_x = Output::<T>::new(&seq);
    let mut grad_v_init = Output::<T>::new(&[n]);
    let grad_k = {
        let inputs = BackwardInputs {
            steps,
            neurons: n,
            grad_spikes: grad_spikes.as_ref().map(|g| g.as_slice()).transpose()?,
            grad_v_seq: grad_v_seq.as_ref().map(|g| g.as_slice()).transpose()?,
            grad_v_last: grad_v_last.as_ref().map(|g| g.as_slice()).transpose()?,
            grad_h_seq: grad_h_seq.as_ref().map(|g| g.as_slice()).transpose()?,
            h_seq: h_seq.as_slice()?,
            bits: bits.as_slice()?,
            v_init: v_init.as_ref().map(|v| v.as_slice()).transpose()?,
            x: x.as_ref().map(|g| g.as_slice()).transpose()?,
        };
        let outputs = BackwardOutputs {
            grad_x: grad_x.slice_mut(),
            grad_v_init: grad_v_init.slice_mut(),
        };
        py.detach(|| multistep::backward(neuron, firing, surrogate, inputs, outputs))
            .map_err(to_py)?
    };
    PyTuple::new(
        py,
        [
            grad_x.into_array(py)?,
            grad_v_init.into_array(py)?,
            grad_k.into_pyobject(py)?.into_any(),
        ],
    )
}

/// Izhikevich multi-step forward: `x` `[T, N]`, `v_init`/`w_init` `[N]` or None (rest:
/// `v_reset` or 0, and `w_rest`); `params` = [tau, v_c, a0, v_rest, w_rest, tau_w, a, b].
/// Returns `(spikes, v_last, w_last, h_seq, bits, v_seq)`, h_seq and bits None in inference.
#[pyfunction]
#[pyo3(signature = (x, v_init=None, w_init=None, *, params, v_threshold=1.0, v_reset=Some(0.0), store_v_seq=false, save_for_backward=true))]
#[allow(clippy::too_many_arguments)]
fn izhikevich_forward<'py>(
    x: &Bound<'py, PyAny>,
    v_init: Option<&Bound<'py, PyAny>>,
    w_init: Option<&Bound<'py, PyAny>>,
    params: Vec<f64>,
    v_threshold: f64,
    v_reset: Option<f64>,
    store_v_seq: bool,
    save_for_backward: bool,
) -> PyResult<Bound<'py, PyTuple>> {
    let (steps, n, is_f64) = leading_array(x, "x")?;
    let neuron = Izhikevich::from_params(&params).map_err(to_py)?;
    let firing = firing_spec(v_threshold, v_reset, false)?;
    let args = (
        x,
        v_init,
        w_init,
        steps,
        n,
        neuron,
        firing,
        store_v_seq,
        save_for_backward,
    );
    if is_f64 {
        izhikevich_forward_typed::<f64>(args)
    } else {
        izhikevich_forward_typed::<f32>(args)
    }
}

type IzhikevichForwardArgs<'a, 'py> = (
    &'a Bound<'py, PyAny>,
    Option<&'a Bound<'py, PyAny>>,
    Option<&'a Bound<'py, PyAny>>,
    usize,
    usize,
    Izhikevich,
    FiringSpec,
    bool,
    bool,
);

fn izhikevich_forward_typed<'py, T: Element + Real>(
    (x, v_init, w_init, steps, n, neuron, firing, store_v_seq, save): IzhikevichForwardArgs<
        '_,
        'py,
    >,
) -> PyResult<Bound<'py, PyTuple>> {
    let py = x.py();
    let x = array_arg::<T>(x, "x", &[steps, n])?;
    let v_init = optional_array_arg::<T>(v_init, "v_init", &[n])?;
    let w_init = optional_array_arg::<T>(w_init, "w_init", &[n])?;
    let mut spikes = Output::<T>::new(&[steps, n]);
    let mut v_last = Output::<T>::new(&[n]);
    let mut w_last = Output::<T>::new(&[n]);
    let mut h_seq = save.then(|| Output::<T>::new(&[steps, n]));
    let mut bits = save.then(|| Output::<u8>::new(&[steps, row_bytes(n)]));
    let mut v_seq = store_v_seq.then(|| Output::<T>::new(&[steps, n]));
    {
        let inputs = izhikevich::ForwardInputs {
            steps,
            neurons: n,
            x: x.as_slice()?,
            v_init: v_init.as_ref().map(|v| v.as_slice()).transpose()?,
            w_init: w_init.as_ref().map(|v| v.as_slice()).transpose()?,
        };
        let outputs = izhikevich::ForwardOutputs {
            spikes: spikes.slice_mut(),
            v_last: v_last.slice_mut(),
            w_last: w_last.slice_mut(),
            h_seq: h_seq.as_mut().map(|h| h.slice_mut()),
            bits: bits.as_mut().map(|b| b.slice_mut()),
            v_seq: v_seq.as_mut().map(|v| v.slice_mut()),
        };
        py.detach(|| izhikevich::forward(neuron, firing, inputs, outputs))
            .map_err(to_py)?;
    }
    PyTuple::new(
        py,
        [
            spikes.into_array(py)?,
            v_last.into_array(py)?,
            w_last.into_array(py)?,
            optional_array(py, h_seq)?,
            optional_array(py, bits)?,
            optional_array(py, v_seq)?,
        ],
    )
}

/// Izhikevich BPTT. Returns `(grad_x, grad_v_init, grad_w_init)`.
#[pyfunction]
#[pyo3(signature = (grad_spikes, h_seq, bits, v_init=None, *, grad_v_seq=None, grad_v_last=None, grad_w_last=None,
    params, v_threshold=1.0, v_reset=Some(0.0), detach_reset=false, surrogate="Sigmoid", surrogate_params=vec![4.0]))]
#[allow(clippy::too_many_arguments)]
fn izhikevich_backward<'py>(
    grad_spikes: Option<&Bound<'py, PyAny>>,
    h_seq: &Bound<'py, PyAny>,
    bits: &Bound<'py, PyAny>,
    v_init: Option<&Bound<'py, PyAny>>,
    grad_v_seq: Option<&Bound<'py, PyAny>>,
    grad_v_last: Option<&Bound<'py, PyAny>>,
    grad_w_last: Option<&Bound<'py, PyAny>>,
    params: Vec<f64>,
    v_threshold: f64,
    v_reset: Option<f64>,
    detach_reset: bool,
    surrogate: &str,
    surrogate_params: Vec<f64>,
) -> PyResult<Bound<'py, PyTuple>> {
    let (steps, n, is_f64) = leading_array(h_seq, "h_seq")?;
    let neuron = Izhikevich::from_params(&params).map_err(to_py)?;
    let firing = firing_spec(v_threshold, v_reset, detach_reset)?;
    let surrogate = Surrogate::from_name(surrogate, &surrogate_params).map_err(to_py)?;
    let args = IzhikevichBackwardArgs {
        grad_spikes,
        h_seq,
        bits,
        v_init,
        grad_v_seq,
        grad_v_last,
        grad_w_last,
    };
    if is_f64 {
        izhikevich_backward_typed::<f64>(args, steps, n, neuron, firing, surrogate)
    } else {
        izhikevich_backward_typed::<f32>(args, steps, n, neuron, firing, surrogate)
    }
}

struct IzhikevichBackwardArgs<'a, 'py> {
    grad_spikes: Option<&'a Bound<'py, PyAny>>,
    h_seq: &'a Bound<'py, PyAny>,
    bits: &'a Bound<'py, PyAny>,
    v_init: Option<&'a Bound<'py, PyAny>>,
    grad_v_seq: Option<&'a Bound<'py, PyAny>>,
    grad_v_last: Option<&'a Bound<'py, PyAny>>,
    grad_w_last: Option<&'a Bound<'py, PyAny>>,
}

fn izhikevich_backward_typed<'py, T: Element + Real>(
    a: IzhikevichBackwardArgs<'_, 'py>,
    steps: usize,
    n: usize,
    neuron: Izhikevich,
    firing: FiringSpec,
    surrogate: Surrogate,
) -> PyResult<Bound<'py, PyTuple>> {
    let py = a.h_seq.py();
    let seq = [steps, n];
    let grad_spikes = optional_array_arg::<T>(a.grad_spikes, "grad_spikes", &seq)?;
    let h_seq = array_arg::<T>(a.h_seq, "h_seq", &seq)?;
    let bits = bits_arg(a.bits, &[steps, row_bytes(n)])?;
    let v_init = optional_array_arg::<T>(a.v_init, "v_init", &[n])?;
    let grad_v_seq = optional_array_arg::<T>(a.grad_v_seq, "grad_v_seq", &seq)?;
    let grad_v_last = optional_array_arg::<T>(a.grad_v_last, "grad_v_last", &[n])?;
    let grad_w_last = optional_array_arg::<T>(a.grad_w_last, "grad_w_last", &[n])?;
    let mut grad_x = Output::<T>::new(&seq);
    let mut grad_v_init = Output::<T>::new(&[n]);
    let mut grad_w_init = Output::<T>::new(&[n]);
    {
        let inputs = izhikevich::BackwardInputs {
            steps,
            neurons: n,
            grad_spikes: grad_spikes.as_ref().map(|g| g.as_slice()).transpose()?,
            grad_v_seq: grad_v_seq.as_ref().map(|g| g.as_slice()).transpose()?,
            grad_v_last: grad_v_last.as_ref().map(|g| g.as_slice()).transpose()?,
            grad_w_last: grad_w_last.as_ref().map(|g| g.as_slice()).transpose()?,
            h_seq: h_seq.as_slice()?,
            bits: bits.as_slice()?,
            v_init: v_init.as_ref().map(|v| v.as_slice()).transpose()?,
        };
        let outputs = izhikevich::BackwardOutputs {
            grad_x: grad_x.slice_mut(),
            grad_v_init: grad_v_init.slice_mut(),
            grad_w_init: grad_w_init.slice_mut(),
        };
        py.detach(|| izhikevich::backward(neuron, firing, surrogate, inputs, outputs))
            .map_err(to_py)?;
    }
    PyTuple::new(
        py,
        [
            grad_x.into_array(py)?,
            grad_v_init.into_array(py)?,
            grad_w_init.into_array(py)?,
        ],
    )
}

/// `sg'(x)` of a surrogate for a 1-D float64 array (used by conformance tests).
#[pyfunction]
fn surrogate_derivative<'py>(
    name: &str,
    params: Vec<f64>,
    x: &Bound<'py, PyAny>,
) -> PyResult<Bound<'py, PyArray1<f64>>> {
    let s = Surrogate::from_name(name, &params).map_err(to_py)?;
    let n = untyped(x, "x")?.len();
    let x = array_arg::<f64>(x, "x", &[n])?;
    let out: Vec<f64> = x.as_slice()?.iter().map(|&v| s.derivative(v)).collect();
    Ok(PyArray1::from_vec(x.py(), out))
}

/// Bytes saved between forward and backward per neuron-step for a dtype size.
#[pyfunction]
fn saved_bytes_per_neuron_step(itemsize: usize) -> f64 {
    itemsize as f64 + 1.0 / 8.0
}

/// Sets the most bytes of released output buffers kept for reuse (0: none).
#[pyfunction]
fn set_buffer_pool_limit(bytes: usize) {
    pool::set_limit(bytes);
}

/// `(bytes cached now, byte limit)` of the output-buffer pool.
#[pyfunction]
fn buffer_pool_stats() -> (usize, usize) {
    pool::stats()
}

#[pymodule]
fn _engine(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(neuron_forward, m)?)?;
    m.add_function(wrap_pyfunction!(neuron_backward, m)?)?;
    m.add_function(wrap_pyfunction!(izhikevich_forward, m)?)?;
    m.add_function(wrap_pyfunction!(izhikevich_backward, m)?)?;
    m.add_function(wrap_pyfunction!(surrogate_derivative, m)?)?;
    m.add_function(wrap_pyfunction!(saved_bytes_per_neuron_step, m)?)?;
    m.add_function(wrap_pyfunction!(set_buffer_pool_limit, m)?)?;
    m.add_function(wrap_pyfunction!(buffer_pool_stats, m)?)?;
    let names: Vec<&str> = crate::surrogate::SURROGATE_PARAMETERS
        .iter()
        .map(|(n, _)| *n)
        .collect();
    m.add("SURROGATES", names)?;
    let neurons: Vec<(&str, Vec<&str>)> = multistep::NEURON_PARAMETERS
        .iter()
        .map(|(n, p)| (*n, p.to_vec()))
        .collect();
    m.add("NEURONS", neurons)?;
    crate::python_events::register(m)?;
    let (_, izhikevich_params) = izhikevich::PARAMETERS[0];
    m.add("IZHIKEVICH_PARAMETERS", izhikevich_params.to_vec())?;
    Ok(())
}
