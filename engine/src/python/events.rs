//! The PyO3 boundary of the event readers and frame integration.

use crate::events::file_frames::{self, FramesError, Layout, Overview, Windows};
use crate::events::frames::{self, FrameSpec};
use crate::events::{self, DecodeError, ErrorKind, Events, Format, StreamDecoder, FORMAT_NAMES};
use numpy::{PyArray1, PyArrayDyn, PyArrayMethods, PyReadonlyArray1, PyUntypedArrayMethods};
use pyo3::exceptions::{PyMemoryError, PyOSError, PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::PyBytes;
use std::sync::Mutex;

fn format_arg(name: &str) -> PyResult<Format> {
    Format::from_name(name).ok_or_else(|| {
        let names: Vec<&str> = FORMAT_NAMES.iter().map(|(n, _)| *n).collect();
        PyValueError::new_err(format!("format: expected one of {names:?}, got {name:?}"))
    })
}

fn decode_error(source: &str, e: DecodeError) -> PyErr {
    let message = format!("{source}: byte offset {}: {}", e.offset, e.reason);
    match e.kind {
        ErrorKind::Corrupt => PyValueError::new_err(message),
        ErrorKind::Memory => PyMemoryError::new_err(message),
    }
}

fn records<'py>(py: Python<'py>, events: Events) -> Bound<'py, PyArray1<u8>> {
    PyArray1::from_vec(py, events.bytes)
}

type Decoded<'py> = (Bound<'py, PyArray1<u8>>, Option<(u32, u32)>);

/// Decodes a whole file's bytes. Returns `(records uint8 [16·n], (width, height) or None)`;
/// view the records as `snnrs.events.EVENT_DTYPE`. Errors name `source` and the byte offset:
/// ValueError for corrupt bytes, MemoryError past `max_events` events or the memory available.
/// `data` is `bytes` or a 1-D uint8 array (e.g. the file read into memory).
#[pyfunction]
#[pyo3(signature = (data, format, source="<bytes>", max_events=None))]
fn decode_events<'py>(
    py: Python<'py>,
    data: &Bound<'py, PyAny>,
    format: &str,
    source: &str,
    max_events: Option<usize>,
) -> PyResult<Decoded<'py>> {
    let format = format_arg(format)?;
    let limit = max_events.unwrap_or(usize::MAX / events::RECORD_BYTES);
    let decode = |bytes: &[u8]| {
        py.detach(|| events::decode_all_limited(format, bytes, limit))
            .map_err(|e| decode_error(source, e))
    };
    let (events, sensor) = if let Ok(b) = data.cast::<PyBytes>() {
        decode(b.as_bytes())?
    } else if let Ok(a) = data.cast::<PyArray1<u8>>() {
        let a = a.readonly();
        decode(
            a.as_slice()
                .map_err(|_| PyValueError::new_err("data: expected a C-contiguous uint8 array"))?,
        )?
    } else {
        return Err(PyTypeError::new_err(
            "data: expected bytes or a 1-D uint8 numpy array",
        ));
    };
    Ok((records(py, events), sensor))
}

/// Streaming decoder: `feed(chunk)` returns the records completed so far, `finish()` the rest.
#[pyclass(frozen)]
struct EventStream {
    inner: Mutex<StreamDecoder>,
    source: String,
}

#[pymethods]
impl EventStream {
    #[new]
    #[pyo3(signature = (format, source="<stream>"))]
    fn new(format: &str, source: &str) -> PyResult<Self> {
        Ok(EventStream {
            inner: Mutex::new(StreamDecoder::new(format_arg(format)?)),
            source: source.to_string(),
        })
    }

    fn feed<'py>(&self, py: Python<'py>, chunk: &[u8]) -> PyResult<Bound<'py, PyArray1<u8>>> {
        let mut out = Events::default();
        py.detach(|| match self.inner.lock() {
            Ok(mut d) => d.feed(chunk, &mut out),
            Err(_) => Err(DecodeError::new(
                0,
                "decoder unusable after an earlier failure",
            )),
        })
        .map_err(|e| decode_error(&self.source, e))?;
        Ok(records(py, out))
    }

    fn finish<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyArray1<u8>>> {
        let mut out = Events::default();
        py.detach(|| match self.inner.lock() {
            Ok(mut d) => d.finish(&mut out),
            Err(_) => Err(DecodeError::new(
                0,
                "decoder unusable after an earlier failure",
            )),
        })
        .map_err(|e| decode_error(&self.source, e))?;
        Ok(records(py, out))
    }

    /// (width, height) once the header is read, when the format tells.
    #[getter]
    fn sensor(&self) -> Option<(u32, u32)> {
        self.inner.lock().ok().and_then(|d| d.sensor())
    }

    /// Bytes decoded so far.
    #[getter]
    fn position(&self) -> u64 {
        self.inner.lock().map(|d| d.position()).unwrap_or(0)
    }
}

/// The format of a file from its first bytes and extension, or None.
#[pyfunction]
fn detect_event_format(head: &[u8], extension: &str) -> Option<&'static str> {
    Format::detect(head, &extension.to_ascii_lowercase()).map(Format::name)
}

/// Counts records `starts[i]..ends[i]` into frame i: returns float32 `[M, channels, height, width]`.
#[pyfunction]
#[pyo3(signature = (records, starts, ends, *, width, height, channels=2, binarize=false))]
#[allow(clippy::too_many_arguments)]
fn accumulate_frames<'py>(
    py: Python<'py>,
    records: &Bound<'py, PyAny>,
    starts: PyReadonlyArray1<'py, u64>,
    ends: PyReadonlyArray1<'py, u64>,
    width: usize,
    height: usize,
    channels: usize,
    binarize: bool,
) -> PyResult<Bound<'py, PyArrayDyn<f32>>> {
    let records = records
        .cast::<PyArray1<u8>>()
        .map_err(|_| PyTypeError::new_err("records: expected a 1-D uint8 numpy array"))?
        .readonly();
    if !records.is_c_contiguous() {
        return Err(PyValueError::new_err(
            "records: expected a C-contiguous array",
        ));
    }
    let spec = FrameSpec {
        width,
        height,
        channels,
        binarize,
    };
    spec.validate()
        .map_err(|e| PyValueError::new_err(e.to_string()))?;
    let windows = starts.len();
    let total = windows
        .checked_mul(spec.frame_len())
        .filter(|&n| n <= (1usize << 31))
        .ok_or_else(|| {
            PyValueError::new_err("frames: windows x channels x pixels exceed 2^31 values (8 GiB); ask for fewer windows")
        })?;
    let mut frames = crate::alloc::try_zeroed::<f32>(total).ok_or_else(|| {
        PyMemoryError::new_err(format!(
            "out of memory: {} bytes for {windows} frames could not be allocated",
            total * 4
        ))
    })?;
    let (r, s, e) = (records.as_slice()?, starts.as_slice()?, ends.as_slice()?);
    py.detach(|| frames::accumulate(r, s, e, spec, &mut frames))
        .map_err(|e| PyValueError::new_err(e.to_string()))?;
    PyArray1::from_vec(py, frames).reshape(vec![windows, channels, height, width])
}

/// The windows and geometry a Python plan returns: `(domain, lo, hi, width, height, channels, binarize)`.
type PlanReply<'py> = (
    String,
    Bound<'py, PyAny>,
    Bound<'py, PyAny>,
    usize,
    usize,
    usize,
    bool,
);

fn layout_of(reply: PlanReply<'_>) -> PyResult<Layout> {
    let (domain, lo, hi, width, height, channels, binarize) = reply;
    let windows = match domain.as_str() {
        "index" => Windows::Index {
            lo: lo.extract::<PyReadonlyArray1<u64>>()?.as_slice()?.to_vec(),
            hi: hi.extract::<PyReadonlyArray1<u64>>()?.as_slice()?.to_vec(),
        },
        "time" => Windows::Time {
            lo: lo.extract::<PyReadonlyArray1<f64>>()?.as_slice()?.to_vec(),
            hi: hi.extract::<PyReadonlyArray1<f64>>()?.as_slice()?.to_vec(),
        },
        other => {
            return Err(PyValueError::new_err(format!(
                "windows: expected domain 'index' or 'time', got {other:?}"
            )))
        }
    };
    Ok(Layout {
        windows,
        spec: FrameSpec {
            width,
            height,
            channels,
            binarize,
        },
    })
}

/// Counts the events of the file at `path` into frames, reading it in blocks,
/// without holding the file or its events in memory. Once the events are counted,
/// `plan(count, (first t, last t) or None, (width, height) or None)` returns
/// `(domain, lo, hi, width, height, channels, binarize)`: frame i counts the
/// events with index (domain 'index', uint64 bounds) or time (domain 'time',
/// float64 bounds, events sorted by t) in `[lo[i], hi[i])`. Returns float32
/// `[windows, channels, height, width]`. Errors name the path: ValueError for
/// corrupt bytes (with the byte offset), events outside the sensor or out of
/// order; MemoryError when the frames do not fit; OSError when the file cannot
/// be read or shrinks while being read. `block_bytes`: bytes read at a time
/// (default 1 MiB).
#[pyfunction]
#[pyo3(signature = (path, format, plan, block_bytes=None))]
fn frames_from_file<'py>(
    py: Python<'py>,
    path: &str,
    format: &str,
    plan: &Bound<'py, PyAny>,
    block_bytes: Option<usize>,
) -> PyResult<Bound<'py, PyArrayDyn<f32>>> {
    let format = format_arg(format)?;
    let os_error = |e: std::io::Error| PyOSError::new_err(format!("{path}: {e}"));
    let file = std::fs::File::open(path).map_err(os_error)?;
    let len = file.metadata().map_err(os_error)?.len();
    let source = file_frames::FileSource {
        file,
        len,
        block_bytes: block_bytes.unwrap_or(1 << 20),
    };
    let plan = plan.clone().unbind();
    let mut plan_error: Option<PyErr> = None;
    let mut shape = (0usize, 0usize, 0usize, 0usize);
    let result = py.detach(|| {
        let mut ask = |o: &Overview| -> Result<Layout, FramesError> {
            Python::attach(|py| {
                let reply = plan
                    .bind(py)
                    .call1((o.count, o.first_last, o.sensor))
                    .and_then(|r| r.extract::<PlanReply<'_>>())
                    .and_then(layout_of);
                match reply {
                    Ok(layout) => {
                        let spec = layout.spec;
                        shape = (layout.windows.len(), spec.channels, spec.height, spec.width);
                        Ok(layout)
                    }
                    Err(e) => {
                        plan_error = Some(e);
                        Err(FramesError::Plan)
                    }
                }
            })
        };
        file_frames::frames_of(format, &source, &mut ask)
    });
    let frames = match result {
        Ok(frames) => frames,
        Err(FramesError::Plan) => {
            return Err(plan_error.unwrap_or_else(|| PyValueError::new_err("plan: gave no windows")))
        }
        Err(FramesError::Decode(e)) => return Err(decode_error(path, e)),
        Err(FramesError::Invalid(m)) => return Err(PyValueError::new_err(format!("{path}: {m}"))),
        Err(FramesError::Memory(m)) => return Err(PyMemoryError::new_err(format!("{path}: {m}"))),
        Err(FramesError::Io(m)) => return Err(PyOSError::new_err(format!("{path}: {m}"))),
    };
    let (m, c, h, w) = shape;
    PyArray1::from_vec(py, frames).reshape(vec![m, c, h, w])
}

pub(super) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(frames_from_file, m)?)?;
    m.add_function(wrap_pyfunction!(decode_events, m)?)?;
    m.add_function(wrap_pyfunction!(detect_event_format, m)?)?;
    m.add_function(wrap_pyfunction!(accumulate_frames, m)?)?;
    m.add_class::<EventStream>()?;
    let names: Vec<&str> = FORMAT_NAMES.iter().map(|(n, _)| *n).collect();
    m.add("EVENT_FORMATS", names)?;
    m.add("EVENT_RECORD_BYTES", events::RECORD_BYTES)?;
    Ok(())
}
