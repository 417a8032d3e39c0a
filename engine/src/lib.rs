//! snnrs engine: fused multi-step spiking-neuron kernels.
//!
//! The kernels in this crate know nothing of Python: `cargo test` exercises them
//! directly. The optional `python` feature adds the PyO3 boundary
//! (`python.rs`), which only validates arguments, releases the GIL and maps
//! [`EngineError`] onto Python exceptions.

#[macro_use]
mod cpu_features;

pub mod bits;
pub mod charge;
pub mod columns;
pub mod error;
pub mod events;
pub mod firing;
pub mod izhikevich;
pub mod multistep;
pub mod pool;
pub mod real;
pub mod surrogate;

#[cfg(feature = "python")]
mod python;
#[cfg(feature = "python")]
mod python_events;

pub use error::EngineError;
