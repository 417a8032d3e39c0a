//! The arrays of a forward or backward pass, between Python and the kernels'
//! `crate::io` structs; shared by both neuron families, whose second state
//! (Izhikevich's W) is read and returned alongside by its own bindings.

use super::arrays::{
    array_arg, bits_arg, optional_array_arg, optional_streamed_arg, streamed_arg, PassShape,
    Streamed,
};
use super::buffers::{optional_array, Output};
use super::to_py;
use crate::bits::row_bytes;
use crate::error::EngineError;
use crate::firing::FiringSpec;
use crate::io::{BackwardInputs, BackwardOutputs, ForwardInputs, ForwardOutputs};
use crate::real::Real;
use crate::storage::Storage;
use crate::surrogate::Surrogate;
use numpy::{Element, PyReadonlyArrayDyn};
use pyo3::prelude::*;

type View<'py, T> = PyReadonlyArrayDyn<'py, T>;

/// A numpy array (or None) handed back to Python in a result tuple.
pub(super) type Array<'py> = Bound<'py, PyAny>;

/// An optional array argument as Python passed it, checked later against
/// the pass's dtype and shape.
pub(super) type ArrayArg<'a, 'py> = Option<&'a Bound<'py, PyAny>>;

/// A gradient argument: the gradient arriving at one forward output, or
/// None when that output received none (zeros).
pub(super) type GradArg<'a, 'py> = Option<&'a Bound<'py, PyAny>>;

fn slice<'a, T: Element>(a: &'a Option<View<'_, T>>) -> PyResult<Option<&'a [T]>> {
    Ok(a.as_ref().map(|a| a.as_slice()).transpose()?)
}

/// Threshold and reset arguments, checked before any array is.
pub(super) fn firing_spec(
    v_threshold: f64,
    v_reset: Option<f64>,
    detach_reset: bool,
) -> PyResult<FiringSpec> {
    let spec = FiringSpec {
        v_threshold,
        v_reset,
        detach_reset,
    };
    spec.validate().map_err(to_py)?;
    Ok(spec)
}

/// A surrogate's name and parameters, checked.
pub(super) fn surrogate_arg(name: &str, params: &[f64]) -> PyResult<Surrogate> {
    Surrogate::from_name(name, params).map_err(to_py)
}

/// A forward call's checked scalar arguments; `N` is the neuron family's
/// parameters.
pub(super) struct ForwardCall<N> {
    pub neuron: N,
    pub firing: FiringSpec,
    /// False (inference): `h_seq` and `bits` are not made.
    pub save_for_backward: bool,
    pub store_v_seq: bool,
    /// From `x`.
    pub shape: PassShape,
}

/// Forward's input arrays, checked: `x` `[T, N]` (of the streamed type `E`)
/// and `v_init` `[N]` (of the state's `T`) or None.
pub(super) struct ForwardArrays<'py, T: Element, E: Streamed> {
    shape: PassShape,
    x: View<'py, E::Raw>,
    v_init: Option<View<'py, T>>,
}

impl<'py, T: Element + Real, E: Streamed + Storage<T>> ForwardArrays<'py, T, E> {
    pub(super) fn read<N>(
        call: &ForwardCall<N>,
        x: &Bound<'py, PyAny>,
        v_init: ArrayArg<'_, 'py>,
    ) -> PyResult<Self> {
        let PassShape { steps, n, .. } = call.shape;
        Ok(ForwardArrays {
            shape: call.shape,
            x: streamed_arg::<E>(x, "x", &[steps, n])?,
            v_init: optional_array_arg(v_init, "v_init", &[n])?,
        })
    }

    /// Runs `kernel` on these inputs and fresh outputs with the GIL released;
    /// returns `[spikes, v_last, h_seq, bits, v_seq]`, None where not made.
    pub(super) fn run<N>(
        &self,
        py: Python<'py>,
        call: &ForwardCall<N>,
        kernel: impl FnOnce(ForwardInputs<T, E>, ForwardOutputs<T, E>) -> Result<(), EngineError> + Send,
    ) -> PyResult<[Array<'py>; 5]> {
        let PassShape { steps, n, .. } = self.shape;
        let save = call.save_for_backward;
        // From the pool; the kernel writes every element before any read.
        let mut spikes = Output::<E::Raw>::new(&[steps, n])?;
        let mut v_last = Output::<T>::new(&[n])?;
        let mut h_seq = save.then(|| Output::<T>::new(&[steps, n])).transpose()?;
        let mut bits = save
            .then(|| Output::<u8>::new(&[steps, row_bytes(n)]))
            .transpose()?;
        let mut v_seq = call
            .store_v_seq
            .then(|| Output::<T>::new(&[steps, n]))
            .transpose()?;
        let inputs = ForwardInputs {
            steps,
            neurons: n,
            x: E::of_raw(self.x.as_slice()?),
            v_init: slice(&self.v_init)?,
        };
        let outputs = ForwardOutputs {
            spikes: E::of_raw_mut(spikes.slice_mut()),
            v_last: v_last.slice_mut(),
            h_seq: h_seq.as_mut().map(|h| h.slice_mut()),
            bits: bits.as_mut().map(|b| b.slice_mut()),
            v_seq: v_seq.as_mut().map(|v| v.slice_mut()),
        };
        py.detach(|| kernel(inputs, outputs)).map_err(to_py)?;
        Ok([
            spikes.into_array(py)?,
            v_last.into_array(py)?,
            optional_array(py, h_seq)?,
            optional_array(py, bits)?,
            optional_array(py, v_seq)?,
        ])
    }
}

/// A backward call's checked scalar arguments (see [`ForwardCall`]).
pub(super) struct BackwardCall<N> {
    pub neuron: N,
    pub firing: FiringSpec,
    pub surrogate: Surrogate,
    /// From `h_seq`.
    pub shape: PassShape,
}

/// Backward's array arguments as Python passed them.
pub(super) struct BackwardArgs<'a, 'py> {
    pub grad_spikes: GradArg<'a, 'py>,
    pub h_seq: &'a Bound<'py, PyAny>,
    pub bits: &'a Bound<'py, PyAny>,
    pub v_init: ArrayArg<'a, 'py>,
    pub grad_v_seq: GradArg<'a, 'py>,
    pub grad_v_last: GradArg<'a, 'py>,
    /// Single-state neurons only.
    pub grad_h_seq: GradArg<'a, 'py>,
    /// Single-state neurons only.
    pub x: ArrayArg<'a, 'py>,
}

impl<'a, 'py> BackwardArgs<'a, 'py> {
    /// The arrays both neuron families take (no `grad_h_seq`, no `x`).
    pub(super) fn new(
        grad_spikes: GradArg<'a, 'py>,
        h_seq: &'a Bound<'py, PyAny>,
        bits: &'a Bound<'py, PyAny>,
        v_init: ArrayArg<'a, 'py>,
        grad_v_seq: GradArg<'a, 'py>,
        grad_v_last: GradArg<'a, 'py>,
    ) -> Self {
        BackwardArgs {
            grad_spikes,
            h_seq,
            bits,
            v_init,
            grad_v_seq,
            grad_v_last,
            grad_h_seq: None,
            x: None,
        }
    }

    /// Checks every array against `[T, N]`, in argument order.
    pub(super) fn read<T: Element + Real, E: Streamed, N>(
        &self,
        call: &BackwardCall<N>,
    ) -> PyResult<BackwardArrays<'py, T, E>> {
        let PassShape { steps, n, .. } = call.shape;
        let seq = [steps, n];
        Ok(BackwardArrays {
            shape: call.shape,
            grad_spikes: optional_streamed_arg::<E>(self.grad_spikes, "grad_spikes", &seq)?,
            h_seq: array_arg(self.h_seq, "h_seq", &seq)?,
            bits: bits_arg(self.bits, &[steps, row_bytes(n)])?,
            v_init: optional_array_arg(self.v_init, "v_init", &[n])?,
            grad_v_seq: optional_array_arg(self.grad_v_seq, "grad_v_seq", &seq)?,
            grad_v_last: optional_array_arg(self.grad_v_last, "grad_v_last", &[n])?,
            grad_h_seq: optional_array_arg(self.grad_h_seq, "grad_h_seq", &seq)?,
            x: optional_streamed_arg::<E>(self.x, "x", &seq)?,
        })
    }
}

/// Backward's input arrays, checked.
pub(super) struct BackwardArrays<'py, T: Element, E: Streamed> {
    shape: PassShape,
    grad_spikes: Option<View<'py, E::Raw>>,
    h_seq: View<'py, T>,
    bits: View<'py, u8>,
    v_init: Option<View<'py, T>>,
    grad_v_seq: Option<View<'py, T>>,
    grad_v_last: Option<View<'py, T>>,
    grad_h_seq: Option<View<'py, T>>,
    x: Option<View<'py, E::Raw>>,
}

impl<'py, T: Element + Real, E: Streamed + Storage<T>> BackwardArrays<'py, T, E> {
    /// Runs `kernel` on these inputs and fresh gradients with the GIL released;
    /// returns what the kernel returned and `[grad_x, grad_v_init]`.
    pub(super) fn run<R: Send>(
        &self,
        py: Python<'py>,
        kernel: impl FnOnce(BackwardInputs<T, E>, BackwardOutputs<T, E>) -> Result<R, EngineError>
            + Send,
    ) -> PyResult<(R, [Array<'py>; 2])> {
        let PassShape { steps, n, .. } = self.shape;
        let mut grad_x = Output::<E::Raw>::new(&[steps, n])?;
        let mut grad_v_init = Output::<T>::new(&[n])?;
        let inputs = BackwardInputs {
            steps,
            neurons: n,
            grad_spikes: slice(&self.grad_spikes)?.map(E::of_raw),
            grad_v_seq: slice(&self.grad_v_seq)?,
            grad_v_last: slice(&self.grad_v_last)?,
            grad_h_seq: slice(&self.grad_h_seq)?,
            h_seq: self.h_seq.as_slice()?,
            bits: self.bits.as_slice()?,
            v_init: slice(&self.v_init)?,
            x: slice(&self.x)?.map(E::of_raw),
        };
        let outputs = BackwardOutputs {
            grad_x: E::of_raw_mut(grad_x.slice_mut()),
            grad_v_init: grad_v_init.slice_mut(),
        };
        let result = py.detach(|| kernel(inputs, outputs)).map_err(to_py)?;
        Ok((
            result,
            [grad_x.into_array(py)?, grad_v_init.into_array(py)?],
        ))
    }
}
