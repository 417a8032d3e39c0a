//! Bindings of the Izhikevich kernels (`crate::izhikevich`): the shared pass
//! arrays of `passes`, plus the recovery state W's own, read after V's and
//! returned after V's.

use super::arrays::{by_dtype, leading_array, optional_array_arg};
use super::buffers::Output;
use super::passes::{
    firing_spec, surrogate_arg, Array, ArrayArg, BackwardArgs, BackwardCall, ForwardArrays,
    ForwardCall, GradArg,
};
use super::to_py;
use crate::izhikevich::{self, Izhikevich, Recovery, RecoveryGrad};
use crate::real::Real;
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

/// Izhikevich multi-step forward: `x` `[T, N]`, `v_init`/`w_init` `[N]` or None (rest:
/// `v_reset` or 0, and `w_rest`); `params` = [tau, v_c, a0, v_rest, w_rest, tau_w, a, b].
/// Returns `(spikes, v_last, w_last, h_seq, bits, v_seq)`, h_seq and bits None in inference.
#[pyfunction]
#[pyo3(signature = (x, v_init=None, w_init=None, *, params, v_threshold=1.0, v_reset=Some(0.0), store_v_seq=false, save_for_backward=true))]
// Python's arguments, one Rust argument each, laid out one group a line:
// arrays, neuron, firing, surrogate or outputs.
#[allow(clippy::too_many_arguments)]
#[rustfmt::skip]
pub(super) fn izhikevich_forward<'py>(
    x: &Bound<'py, PyAny>, v_init: ArrayArg<'_, 'py>, w_init: ArrayArg<'_, 'py>,
    params: Vec<f64>,
    v_threshold: f64, v_reset: Option<f64>,
    store_v_seq: bool, save_for_backward: bool,
) -> PyResult<ForwardResult<'py>> {
    let shape = leading_array(x, "x")?;
    let call = ForwardCall {
        neuron: Izhikevich::from_params(&params).map_err(to_py)?,
        firing: firing_spec(v_threshold, v_reset, false)?,
        save_for_backward,
        store_v_seq,
        shape,
    };
    by_dtype!(shape, forward_typed(&call, x, v_init, w_init))
}

fn forward_typed<'py, T: Element + Real + super::arrays::Streamed>(
    call: &ForwardCall<Izhikevich>,
    x: &Bound<'py, PyAny>,
    v_init: ArrayArg<'_, 'py>,
    w_init: ArrayArg<'_, 'py>,
) -> PyResult<ForwardResult<'py>> {
    let py = x.py();
    let arrays = ForwardArrays::<T, T>::read(call, x, v_init)?;
    let w_init = optional_array_arg::<T>(w_init, "w_init", &[call.shape.n])?;
    let mut w_last = Output::<T>::new(&[call.shape.n])?;
    let w = Recovery {
        w_init: w_init.as_ref().map(|w| w.as_slice()).transpose()?,
        w_last: w_last.slice_mut(),
    };
    let [spikes, v_last, h_seq, bits, v_seq] = arrays.run(py, call, |i, o| {
        izhikevich::forward(call.neuron, call.firing, i, o, w)
    })?;
    let w_last = w_last.into_array(py)?;
    Ok((spikes, v_last, w_last, h_seq, bits, v_seq))
}

/// Izhikevich BPTT. Returns `(grad_x, grad_v_init, grad_w_init)`.
#[pyfunction]
#[pyo3(signature = (grad_spikes, h_seq, bits, v_init=None, *, grad_v_seq=None, grad_v_last=None, grad_w_last=None,
    params, v_threshold=1.0, v_reset=Some(0.0), detach_reset=false, surrogate="Sigmoid", surrogate_params=vec![4.0]))]
// Python's arguments, one Rust argument each, laid out one group a line:
// arrays, neuron, firing, surrogate or outputs.
#[allow(clippy::too_many_arguments)]
#[rustfmt::skip]
pub(super) fn izhikevich_backward<'py>(
    grad_spikes: GradArg<'_, 'py>, h_seq: &Bound<'py, PyAny>, bits: &Bound<'py, PyAny>,
    v_init: ArrayArg<'_, 'py>, grad_v_seq: GradArg<'_, 'py>, grad_v_last: GradArg<'_, 'py>,
    grad_w_last: GradArg<'_, 'py>,
    params: Vec<f64>,
    v_threshold: f64, v_reset: Option<f64>, detach_reset: bool,
    surrogate: &str, surrogate_params: Vec<f64>,
) -> PyResult<(Array<'py>, Array<'py>, Array<'py>)> {
    let shape = leading_array(h_seq, "h_seq")?;
    let call = BackwardCall {
        neuron: Izhikevich::from_params(&params).map_err(to_py)?,
        firing: firing_spec(v_threshold, v_reset, detach_reset)?,
        surrogate: surrogate_arg(surrogate, &surrogate_params)?,
        shape,
    };
    // Izhikevich's H has no output of its own, and its backward needs no x.
    let args = BackwardArgs::new(grad_spikes, h_seq, bits, v_init, grad_v_seq, grad_v_last);
    by_dtype!(shape, backward_typed(&call, args, grad_w_last))
}

fn backward_typed<'py, T: Element + Real + super::arrays::Streamed>(
    call: &BackwardCall<Izhikevich>,
    args: BackwardArgs<'_, 'py>,
    grad_w_last: GradArg<'_, 'py>,
) -> PyResult<(Array<'py>, Array<'py>, Array<'py>)> {
    let arrays = args.read::<T, T, _>(call)?;
    let grad_w_last = optional_array_arg::<T>(grad_w_last, "grad_w_last", &[call.shape.n])?;
    let mut grad_w_init = Output::<T>::new(&[call.shape.n])?;
    let w = RecoveryGrad {
        grad_w_last: grad_w_last.as_ref().map(|g| g.as_slice()).transpose()?,
        grad_w_init: grad_w_init.slice_mut(),
    };
    let py = args.h_seq.py();
    let ((), [grad_x, grad_v_init]) = arrays.run(py, |i, o| {
        izhikevich::backward(call.neuron, call.firing, call.surrogate, i, o, w)
    })?;
    Ok((grad_x, grad_v_init, grad_w_init.into_array(py)?))
}
