//! Bindings of the single-state neuron kernels (`crate::multistep`), and the
//! surrogate derivative their backward uses.

use super::arrays::{
    array_arg, by_storage, leading_array, leading_bits, untyped, HalfStorage, Streamed,
};
use super::passes::{
    firing_spec, surrogate_arg, Array, ArrayArg, BackwardArgs, BackwardCall, ForwardArrays,
    ForwardCall, GradArg,
};
use super::to_py;
use crate::multistep;
use crate::neuron::Neuron;
use crate::real::Real;
use crate::storage::Storage;
use crate::surrogate::Surrogate;
use numpy::{Element, PyArray1, PyUntypedArrayMethods};
use pyo3::exceptions::PyMemoryError;
use pyo3::prelude::*;

type ForwardResult<'py> = (Array<'py>, Array<'py>, Array<'py>, Array<'py>, Array<'py>);

/// Multi-step forward (`save_for_backward=False`: inference, h_seq and bits are None).
/// `x` is `[T, N]`, `v_init` is `[N]` (same dtype) or None
/// for neurons starting at rest (`v_reset`, or 0 for soft reset). `params` are the
/// neuron's own (`NEURONS`): lif [tau], plif [k = sigmoid(w)], qif [tau, v_c, a0, v_rest],
/// eif [tau, delta_T, theta_rh, v_rest].
/// Returns `(spikes, v_last, h_seq, bits, v_seq or None)`.
/// Mixed precision (`storage='bfloat16'` or `'float16'`): `x` and the spikes
/// are that 16-bit float, held as uint16 bits; V, H and v_seq are float32.
#[pyfunction]
#[pyo3(signature = (x, v_init=None, *, neuron, params=vec![], decay_input=true, v_threshold=1.0, v_reset=Some(0.0), store_v_seq=false, save_for_backward=true, storage=None))]
// Python's arguments, one Rust argument each, laid out one group a line:
// arrays, neuron, firing, surrogate or outputs.
#[allow(clippy::too_many_arguments)]
#[rustfmt::skip]
pub(super) fn neuron_forward<'py>(
    x: &Bound<'py, PyAny>, v_init: ArrayArg<'_, 'py>,
    neuron: &str, params: Vec<f64>, decay_input: bool,
    v_threshold: f64, v_reset: Option<f64>,
    store_v_seq: bool, save_for_backward: bool, storage: Option<&str>,
) -> PyResult<ForwardResult<'py>> {
    let storage = HalfStorage::from_arg(storage)?;
    let shape = match storage {
        None => leading_array(x, "x")?,
        Some(_) => leading_bits(x, "x")?,
    };
    let call = ForwardCall {
        neuron: Neuron::from_name(neuron, &params, decay_input).map_err(to_py)?,
        firing: firing_spec(v_threshold, v_reset, false)?,
        save_for_backward,
        store_v_seq,
        shape,
    };
    by_storage!(shape, storage, forward_typed(&call, x, v_init))
}

fn forward_typed<'py, T: Element + Real, E: Streamed + Storage<T>>(
    call: &ForwardCall<Neuron>,
    x: &Bound<'py, PyAny>,
    v_init: ArrayArg<'_, 'py>,
) -> PyResult<ForwardResult<'py>> {
    let arrays = ForwardArrays::<T, E>::read(call, x, v_init)?;
    let [spikes, v_last, h_seq, bits, v_seq] = arrays.run(x.py(), call, |i, o| {
        multistep::forward(call.neuron, call.firing, i, o)
    })?;
    Ok((spikes, v_last, h_seq, bits, v_seq))
}

/// Multi-step BPTT. Returns `(grad_x, grad_v_init, grad_k)` where `grad_k` is
/// `Σ gH·dH/dk` (ParametricLIF's gradient wrt k = sigmoid(w); 0 otherwise).
/// With `storage` (see `neuron_forward`), `grad_spikes`, `x` and `grad_x` are
/// 16-bit bits and the other arrays float32.
#[pyfunction]
#[pyo3(signature = (grad_spikes, h_seq, bits, v_init=None, *, grad_v_seq=None, grad_v_last=None, grad_h_seq=None, x=None, neuron,
    params=vec![], decay_input=true, v_threshold=1.0, v_reset=Some(0.0), detach_reset=false,
    surrogate="Sigmoid", surrogate_params=vec![4.0], storage=None))]
// Python's arguments, one Rust argument each, laid out one group a line:
// arrays, neuron, firing, surrogate or outputs.
#[allow(clippy::too_many_arguments)]
#[rustfmt::skip]
pub(super) fn neuron_backward<'py>(
    grad_spikes: GradArg<'_, 'py>, h_seq: &Bound<'py, PyAny>, bits: &Bound<'py, PyAny>,
    v_init: ArrayArg<'_, 'py>, grad_v_seq: GradArg<'_, 'py>, grad_v_last: GradArg<'_, 'py>,
    grad_h_seq: GradArg<'_, 'py>, x: ArrayArg<'_, 'py>,
    neuron: &str, params: Vec<f64>, decay_input: bool,
    v_threshold: f64, v_reset: Option<f64>, detach_reset: bool,
    surrogate: &str, surrogate_params: Vec<f64>, storage: Option<&str>,
) -> PyResult<(Array<'py>, Array<'py>, f64)> {
    let storage = HalfStorage::from_arg(storage)?;
    let shape = leading_array(h_seq, "h_seq")?;
    if storage.is_some() && shape.is_f64 {
        return Err(pyo3::exceptions::PyTypeError::new_err(
            "h_seq: expected float32 (the state of a 16-bit storage pass), got float64",
        ));
    }
    let call = BackwardCall {
        neuron: Neuron::from_name(neuron, &params, decay_input).map_err(to_py)?,
        firing: firing_spec(v_threshold, v_reset, detach_reset)?,
        surrogate: surrogate_arg(surrogate, &surrogate_params)?,
        shape,
    };
    let args = BackwardArgs {
        grad_h_seq,
        x,
        ..BackwardArgs::new(grad_spikes, h_seq, bits, v_init, grad_v_seq, grad_v_last)
    };
    by_storage!(shape, storage, backward_typed(&call, args))
}

fn backward_typed<'py, T: Element + Real, E: Streamed + Storage<T>>(
    call: &BackwardCall<Neuron>,
    args: BackwardArgs<'_, 'py>,
) -> PyResult<(Array<'py>, Array<'py>, f64)> {
    let arrays = args.read::<T, E, _>(call)?;
    let (grad_k, [grad_x, grad_v_init]) = arrays.run(args.h_seq.py(), |i, o| {
        multistep::backward(call.neuron, call.firing, call.surrogate, i, o)
    })?;
    Ok((grad_x, grad_v_init, grad_k))
}

/// `sg'(x)` of a surrogate for a 1-D float64 array (used by conformance tests).
#[pyfunction]
pub(super) fn surrogate_derivative<'py>(
    name: &str,
    params: Vec<f64>,
    x: &Bound<'py, PyAny>,
) -> PyResult<Bound<'py, PyArray1<f64>>> {
    let s = Surrogate::from_name(name, &params).map_err(to_py)?;
    let n = untyped(x, "x")?.len();
    let x = array_arg::<f64>(x, "x", &[n])?;
    let py = x.py();
    let x = x.as_slice()?;
    let mut out = crate::alloc::try_zeroed::<f64>(x.len()).ok_or_else(|| {
        PyMemoryError::new_err(format!(
            "out of memory: {} bytes for the derivatives could not be allocated",
            x.len() * 8
        ))
    })?;
    for (o, &v) in out.iter_mut().zip(x) {
        *o = s.derivative(v);
    }
    Ok(PyArray1::from_vec(py, out))
}

/// Bytes saved between forward and backward per neuron-step for a dtype size.
#[pyfunction]
pub(super) fn saved_bytes_per_neuron_step(itemsize: usize) -> f64 {
    itemsize as f64 + 1.0 / 8.0
}
