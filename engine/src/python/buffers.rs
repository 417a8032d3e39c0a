//! Kernel outputs handed to Python as numpy arrays over pooled memory (see
//! `crate::pool`), and the pool's Python controls.

use crate::pool::{self, Words};
use numpy::ndarray::{ArrayView, IxDyn};
use numpy::{Element, PyArrayDyn};
use pyo3::exceptions::PyMemoryError;
use pyo3::prelude::*;
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
/// Its contents start unspecified: the kernels write every element before
/// any read.
pub(super) struct Output<T> {
    words: Words,
    shape: Vec<usize>,
    _elem: PhantomData<T>,
}

impl<T: Element> Output<T> {
    /// A MemoryError naming the size when the machine cannot hold the output.
    pub(super) fn new(shape: &[usize]) -> PyResult<Self> {
        let bytes = shape
            .iter()
            .try_fold(std::mem::size_of::<T>(), |acc, &d| acc.checked_mul(d));
        let words = bytes.and_then(pool::take).ok_or_else(|| {
            PyMemoryError::new_err(format!(
                "out of memory: an output of shape {shape:?} ({} bytes) could not be allocated",
                bytes.map_or_else(|| "more than 2^64".to_string(), |b| b.to_string())
            ))
        })?;
        Ok(Output {
            words,
            shape: shape.to_vec(),
            _elem: PhantomData,
        })
    }

    pub(super) fn slice_mut(&mut self) -> &mut [T] {
        let len: usize = self.shape.iter().product();
        // Words are 8-byte aligned and hold at least len * size_of::<T>() bytes;
        // T is a plain number type for which every bit pattern is valid.
        unsafe { std::slice::from_raw_parts_mut(self.words.as_mut_ptr().cast::<T>(), len) }
    }

    pub(super) fn into_array(self, py: Python<'_>) -> PyResult<Bound<'_, PyAny>> {
        let ptr = self.words.as_ptr().cast::<T>();
        let view = unsafe { ArrayView::from_shape_ptr(IxDyn(&self.shape), ptr) };
        // Moving the Vec into the owner does not move its heap buffer.
        let owner = Bound::new(py, PooledBuffer { words: self.words })?;
        Ok(unsafe { PyArrayDyn::<T>::borrow_from_array(&view, owner.into_any()) }.into_any())
    }
}

/// An output that may not have been asked for: its array, or None.
pub(super) fn optional_array<T: Element>(
    py: Python<'_>,
    output: Option<Output<T>>,
) -> PyResult<Bound<'_, PyAny>> {
    match output {
        Some(a) => a.into_array(py),
        None => Ok(py.None().into_bound(py)),
    }
}

/// Sets the most bytes of released output buffers kept for reuse (0: none).
#[pyfunction]
pub(super) fn set_buffer_pool_limit(bytes: usize) {
    pool::set_limit(bytes);
}

/// `(bytes cached now, byte limit)` of the output-buffer pool.
#[pyfunction]
pub(super) fn buffer_pool_stats() -> (usize, usize) {
    pool::stats()
}
