//! Bindings of the spike-sparse convolution (`crate::synapse`): forward and
//! weight gradient for float32/float64 arrays, GIL released.

use super::arrays::{array_arg, is_float64, optional_array_arg, untyped};
use super::buffers::Output;
use super::to_py;
use crate::error::EngineError;
use crate::real::Real;
use crate::synapse::{self, ConvShape};
use numpy::{Element, PyUntypedArrayMethods};
use pyo3::prelude::*;

/// The geometry of a call from `x [N, C, H, W]` and the layer's settings; and
/// whether it runs in float64.
fn conv_shape(
    x: &Bound<'_, PyAny>,
    out_channels: usize,
    kernel_size: (usize, usize),
    stride: (usize, usize),
    padding: (usize, usize),
    dilation: (usize, usize),
    groups: usize,
) -> PyResult<(ConvShape, bool)> {
    let a = untyped(x, "x")?;
    let is_f64 = is_float64(&a, "x")?;
    if a.ndim() != 4 {
        return Err(to_py(EngineError::Shape {
            arg: "x",
            expected: "a 4-D [N, C, H, W] array".into(),
            got: format!("{:?}", a.shape()),
        }));
    }
    let d = a.shape();
    let s = ConvShape {
        batch: d[0],
        in_channels: d[1],
        out_channels,
        groups,
        in_h: d[2],
        in_w: d[3],
        kernel_h: kernel_size.0,
        kernel_w: kernel_size.1,
        stride: [stride.0, stride.1],
        padding: [padding.0, padding.1],
        dilation: [dilation.0, dilation.1],
    };
    s.validate().map_err(to_py)?;
    Ok((s, is_f64))
}

/// `conv(x, weight) + bias` over the nonzero inputs of `x [N, C, H, W]`;
/// `weight [O, C/groups, KH, KW]`, `bias [O]` or None, both of x's dtype.
/// Returns the output channels-last, `[N, OH, OW, O]`.
#[pyfunction]
#[pyo3(signature = (x, weight, bias=None, *, stride=(1, 1), padding=(0, 0), dilation=(1, 1), groups=1))]
pub(super) fn sparse_conv_forward<'py>(
    x: &Bound<'py, PyAny>,
    weight: &Bound<'py, PyAny>,
    bias: Option<&Bound<'py, PyAny>>,
    stride: (usize, usize),
    padding: (usize, usize),
    dilation: (usize, usize),
    groups: usize,
) -> PyResult<Bound<'py, PyAny>> {
    let w = untyped(weight, "weight")?;
    if w.ndim() != 4 {
        return Err(to_py(EngineError::Shape {
            arg: "weight",
            expected: "a 4-D [O, C/groups, KH, KW] array".into(),
            got: format!("{:?}", w.shape()),
        }));
    }
    let wd = w.shape().to_vec();
    let (s, is_f64) = conv_shape(x, wd[0], (wd[2], wd[3]), stride, padding, dilation, groups)?;
    if wd[1] * groups != s.in_channels {
        return Err(to_py(EngineError::Shape {
            arg: "weight",
            expected: format!(
                "{} input channels per group (x has {} channels, groups={groups})",
                s.in_channels / groups,
                s.in_channels
            ),
            got: format!("{:?}", wd),
        }));
    }
    if is_f64 {
        forward_typed::<f64>(&s, x, weight, bias)
    } else {
        forward_typed::<f32>(&s, x, weight, bias)
    }
}

fn forward_typed<'py, T: Element + Real>(
    s: &ConvShape,
    x: &Bound<'py, PyAny>,
    weight: &Bound<'py, PyAny>,
    bias: Option<&Bound<'py, PyAny>>,
) -> PyResult<Bound<'py, PyAny>> {
    let (oh, ow) = s.validate().map_err(to_py)?;
    let xs = array_arg::<T>(x, "x", &[s.batch, s.in_channels, s.in_h, s.in_w])?;
    let ws = array_arg::<T>(
        weight,
        "weight",
        &[
            s.out_channels,
            s.in_channels / s.groups,
            s.kernel_h,
            s.kernel_w,
        ],
    )?;
    let bs = optional_array_arg::<T>(bias, "bias", &[s.out_channels])?;
    let mut out = Output::<T>::new(&[s.batch, oh, ow, s.out_channels])?;
    let py = x.py();
    let (xv, wv) = (xs.as_slice()?, ws.as_slice()?);
    let bv = match &bs {
        Some(b) => Some(b.as_slice()?),
        None => None,
    };
    let dst = out.slice_mut();
    py.detach(|| synapse::sparse_forward(s, xv, wv, bv, dst))
        .map_err(to_py)?;
    out.into_array(py)
}

/// The weight gradient over the nonzero inputs of `x [N, C, H, W]`, from the
/// channels-last output gradient `grad_output [N, OH, OW, O]`, shaped as the
/// weight: `[O, C/groups, KH, KW]`.
#[pyfunction]
#[pyo3(signature = (x, grad_output, *, kernel_size, stride=(1, 1), padding=(0, 0), dilation=(1, 1), groups=1))]
pub(super) fn sparse_conv_weight_grad<'py>(
    x: &Bound<'py, PyAny>,
    grad_output: &Bound<'py, PyAny>,
    kernel_size: (usize, usize),
    stride: (usize, usize),
    padding: (usize, usize),
    dilation: (usize, usize),
    groups: usize,
) -> PyResult<Bound<'py, PyAny>> {
    let g = untyped(grad_output, "grad_output")?;
    if g.ndim() != 4 {
        return Err(to_py(EngineError::Shape {
            arg: "grad_output",
            expected: "a 4-D channels-last [N, OH, OW, O] array".into(),
            got: format!("{:?}", g.shape()),
        }));
    }
    let out_channels = g.shape()[3];
    let (s, is_f64) = conv_shape(
        x,
        out_channels,
        kernel_size,
        stride,
        padding,
        dilation,
        groups,
    )?;
    if is_f64 {
        weight_grad_typed::<f64>(&s, x, grad_output)
    } else {
        weight_grad_typed::<f32>(&s, x, grad_output)
    }
}

fn weight_grad_typed<'py, T: Element + Real>(
    s: &ConvShape,
    x: &Bound<'py, PyAny>,
    grad_output: &Bound<'py, PyAny>,
) -> PyResult<Bound<'py, PyAny>> {
    let (oh, ow) = s.validate().map_err(to_py)?;
    let xs = array_arg::<T>(x, "x", &[s.batch, s.in_channels, s.in_h, s.in_w])?;
    let gs = array_arg::<T>(
        grad_output,
        "grad_output",
        &[s.batch, oh, ow, s.out_channels],
    )?;
    let mut out = Output::<T>::new(&[
        s.out_channels,
        s.in_channels / s.groups,
        s.kernel_h,
        s.kernel_w,
    ])?;
    let py = x.py();
    let (xv, gv) = (xs.as_slice()?, gs.as_slice()?);
    let dst = out.slice_mut();
    py.detach(|| synapse::sparse_weight_grad(s, xv, gv, dst))
        .map_err(to_py)?;
    out.into_array(py)
}

pub(super) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(sparse_conv_forward, m)?)?;
    m.add_function(wrap_pyfunction!(sparse_conv_weight_grad, m)?)?;
    Ok(())
}
