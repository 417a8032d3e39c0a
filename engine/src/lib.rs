//! snnrs engine: fused multi-step spiking-neuron kernels.
//!
//! The kernels in this crate know nothing of Python: `cargo test` exercises them
//! directly. The optional `python` feature adds the PyO3 boundary
//! (`python/`), which only validates arguments, releases the GIL and maps
//! [`EngineError`] onto Python exceptions.
//!
//! A single-state neuron is a charge rule (`charge`) named in the registry
//! (`neuron`), fired and reset by `firing`, and run by the time loops of
//! `multistep` over the arrays of `io`; `izhikevich` and `resonate` add a second
//! state to the same pieces. `surrogate` holds the surrogate derivatives backward uses; `synapse` the
//! spike-sparse convolution and weight gradient.

#[macro_use]
mod cpu_features;

pub mod alloc;
pub mod bits;
pub mod charge;
pub mod columns;
pub mod error;
pub mod events;
pub mod firing;
pub mod io;
pub mod izhikevich;
pub mod multistep;
pub mod neuron;
pub mod parallel;
pub mod pool;
pub mod real;
pub mod resonate;
pub mod storage;
pub mod surrogate;
pub mod synapse;

#[cfg(feature = "python")]
mod python;

pub use error::EngineError;
