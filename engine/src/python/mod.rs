//! The PyO3 boundary: converts and validates arguments, releases the GIL
//! around the kernels, and maps [`EngineError`] to ValueError / TypeError.
//! No kernel logic lives here.
//!
//! `arrays` turns numpy arguments into checked slices, `buffers` hands
//! outputs back as numpy arrays over pooled memory, `passes` builds the
//! shared forward/backward arrays of both neuron families from those, and
//! `neuron`, `izhikevich`, `resonate`, `synapse` and `events` hold the functions Python calls.

mod arrays;
mod buffers;
mod events;
mod izhikevich;
mod neuron;
mod passes;
mod resonate;
mod synapse;

use crate::error::EngineError;
use pyo3::exceptions::{PyMemoryError, PyTypeError, PyValueError};
use pyo3::prelude::*;

/// The one mapping of kernel errors onto Python exceptions.
fn to_py(e: EngineError) -> PyErr {
    if e.is_type_error() {
        PyTypeError::new_err(e.to_string())
    } else if e.is_memory_error() {
        PyMemoryError::new_err(e.to_string())
    } else {
        PyValueError::new_err(e.to_string())
    }
}

/// Names of a registry table, in table order (the order is the numeric id the
/// GPU shaders use; see `crate::neuron::NEURON_PARAMETERS`).
fn table_names(table: &[(&'static str, &'static [&'static str])]) -> Vec<&'static str> {
    table.iter().map(|(n, _)| *n).collect()
}

// The module `snnrs._engine` (a `//` comment: a doc comment would become the
// module's `__doc__`). Registration order is the order of its `__all__`, kept
// as it was when everything lived in one file.
#[pymodule]
fn _engine(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(neuron::neuron_forward, m)?)?;
    m.add_function(wrap_pyfunction!(neuron::neuron_backward, m)?)?;
    m.add_function(wrap_pyfunction!(izhikevich::izhikevich_forward, m)?)?;
    m.add_function(wrap_pyfunction!(izhikevich::izhikevich_backward, m)?)?;
    m.add_function(wrap_pyfunction!(resonate::resonate_forward, m)?)?;
    m.add_function(wrap_pyfunction!(resonate::resonate_backward, m)?)?;
    m.add_function(wrap_pyfunction!(neuron::surrogate_derivative, m)?)?;
    m.add_function(wrap_pyfunction!(neuron::saved_bytes_per_neuron_step, m)?)?;
    m.add_function(wrap_pyfunction!(buffers::set_buffer_pool_limit, m)?)?;
    m.add_function(wrap_pyfunction!(buffers::buffer_pool_stats, m)?)?;
    m.add(
        "SURROGATES",
        table_names(crate::surrogate::SURROGATE_PARAMETERS),
    )?;
    // A list of (name, [parameter names]) pairs, in table order.
    let neurons: Vec<(&str, Vec<&str>)> = crate::neuron::NEURON_PARAMETERS
        .iter()
        .map(|(n, p)| (*n, p.to_vec()))
        .collect();
    m.add("NEURONS", neurons)?;
    events::register(m)?;
    synapse::register(m)?;
    let (_, izhikevich_params) = crate::izhikevich::PARAMETERS[0];
    m.add("IZHIKEVICH_PARAMETERS", izhikevich_params.to_vec())?;
    let (_, resonate_params) = crate::resonate::PARAMETERS[0];
    m.add("RESONATE_PARAMETERS", resonate_params.to_vec())?;
    Ok(())
}
