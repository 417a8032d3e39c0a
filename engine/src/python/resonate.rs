//! Bindings of the resonate-and-fire kernels (`crate::resonate`): the shared pass
//! arrays of `passes`, plus the oscillator state u's own, read after V's and
//! returned after V's.

use super::arrays::{by_dtype, leading_array, optional_array_arg};
use super::buffers::Output;
use super::passes::{
    firing_spec, surrogate_arg, Array, ArrayArg, BackwardArgs, BackwardCall, ForwardArrays,
    ForwardCall, GradArg,
};
use super::to_py;
use crate::real::Real;
use crate::resonate::{self, Oscillation, OscillationGrad, Resonate};
use numpy::Element;
use pyo3::prelude::*;

type ForwardResult<'py> = (
    Array<'py>,
    Array<'py>,
    Array<'py>,
    Array<'py>,
    Array<'py>,
    Array<'py>,
);

/// Resonate-and-fire multi-step forward: `x` `[T, N]`, `v_init`/`u_init` `[N]` or None (rest:
/// `v_reset` or 0, and 0); `params` = [b, omega, dt].
/// Returns `(spikes, v_last, u_last, h_seq, bits, v_seq)`, h_seq and bits None in inference.
#[pyfunction]
#[pyo3(signature = (x, v_init=None, u_init=None, *, params, v_threshold=1.0, v_reset=Some(0.0), store_v_seq=false, save_for_backward=true))]
// Python's arguments, one Rust argument each, laid out one group a line:
// arrays, neuron, firing, surrogate or outputs.
#[allow(clippy::too_many_arguments)]
#[rustfmt::skip]
pub(super) fn resonate_forward<'py>(
    x: &Bound<'py, PyAny>, v_init: ArrayArg<'_, 'py>, u_init: ArrayArg<'_, 'py>,
    params: Vec<f64>,
    v_threshold: f64, v_reset: Option<f64>,
    store_v_seq: bool, save_for_backward: bool,
) -> PyResult<ForwardResult<'py>> {
    let shape = leading_array(x, "x")?;
    let call = ForwardCall {
        neuron: Resonate::from_params(&params).map_err(to_py)?,
        firing: firing_spec(v_threshold, v_reset, false)?,
        save_for_backward,
        store_v_seq,
        shape,
    };
    by_dtype!(shape, forward_typed(&call, x, v_init, u_init))
}

fn forward_typed<'py, T: Element + Real + super::arrays::Streamed>(
    call: &ForwardCall<Resonate>,
    x: &Bound<'py, PyAny>,
    v_init: ArrayArg<'_, 'py>,
    u_init: ArrayArg<'_, 'py>,
) -> PyResult<ForwardResult<'py>> {
    let py = x.py();
    let arrays = ForwardArrays::<T, T>::read(call, x, v_init)?;
    let u_init = optional_array_arg::<T>(u_init, "u_init", &[call.shape.n])?;
    let mut u_last = Output::<T>::new(&[call.shape.n])?;
    let u = Oscillation {
        u_init: u_init.as_ref().map(|w| w.as_slice()).transpose()?,
        u_last: u_last.slice_mut(),
    };
    let [spikes, v_last, h_seq, bits, v_seq] = arrays.run(py, call, |i, o| {
        resonate::forward(call.neuron, call.firing, i, o, u)
    })?;
    let u_last = u_last.into_array(py)?;
    Ok((spikes, v_last, u_last, h_seq, bits, v_seq))
}

/// Resonate-and-fire BPTT. Returns `(grad_x, grad_v_init, grad_u_init)`.
#[pyfunction]
#[pyo3(signature = (grad_spikes, h_seq, bits, v_init=None, *, grad_v_seq=None, grad_v_last=None, grad_u_last=None,
    params, v_threshold=1.0, v_reset=Some(0.0), detach_reset=false, surrogate="Sigmoid", surrogate_params=vec![4.0]))]
// Python's arguments, one Rust argument each, laid out one group a line:
// arrays, neuron, firing, surrogate or outputs.
#[allow(clippy::too_many_arguments)]
#[rustfmt::skip]
pub(super) fn resonate_backward<'py>(
    grad_spikes: GradArg<'_, 'py>, h_seq: &Bound<'py, PyAny>, bits: &Bound<'py, PyAny>,
    v_init: ArrayArg<'_, 'py>, grad_v_seq: GradArg<'_, 'py>, grad_v_last: GradArg<'_, 'py>,
    grad_u_last: GradArg<'_, 'py>,
    params: Vec<f64>,
    v_threshold: f64, v_reset: Option<f64>, detach_reset: bool,
    surrogate: &str, surrogate_params: Vec<f64>,
) -> PyResult<(Array<'py>, Array<'py>, Array<'py>)> {
    let shape = leading_array(h_seq, "h_seq")?;
    let call = BackwardCall {
        neuron: Resonate::from_params(&params).map_err(to_py)?,
        firing: firing_spec(v_threshold, v_reset, detach_reset)?,
        surrogate: surrogate_arg(surrogate, &surrogate_params)?,
        shape,
    };
    // H has no output of its own, and the backward needs no x; v_init is taken (the shared argument
    // list) but unused: the step is linear, so no voltage is rebuilt.
    let args = BackwardArgs::new(grad_spikes, h_seq, bits, v_init, grad_v_seq, grad_v_last);
    by_dtype!(shape, backward_typed(&call, args, grad_u_last))
}

fn backward_typed<'py, T: Element + Real + super::arrays::Streamed>(
    call: &BackwardCall<Resonate>,
    args: BackwardArgs<'_, 'py>,
    grad_u_last: GradArg<'_, 'py>,
) -> PyResult<(Array<'py>, Array<'py>, Array<'py>)> {
    let arrays = args.read::<T, T, _>(call)?;
    let grad_u_last = optional_array_arg::<T>(grad_u_last, "grad_u_last", &[call.shape.n])?;
    let mut grad_u_init = Output::<T>::new(&[call.shape.n])?;
    let u = OscillationGrad {
        grad_u_last: grad_u_last.as_ref().map(|g| g.as_slice()).transpose()?,
        grad_u_init: grad_u_init.slice_mut(),
    };
    let py = args.h_seq.py();
    let ((), [grad_x, grad_v_init]) = arrays.run(py, |i, o| {
        resonate::backward(call.neuron, call.firing, call.surrogate, i, o, u)
    })?;
    Ok((grad_x, grad_v_init, grad_u_init.into_array(py)?))
}
