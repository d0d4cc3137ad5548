//! The one place where a Rust [`Error`] becomes a Python exception.
//!
//! The classes are plain Python classes in `wa_groups/_errors.py` (so that
//! `InvalidInputError` can also be a `ValueError`, and so that they pickle);
//! this module picks the class by [`ErrorKind`] and fills in its
//! attributes.

use pyo3::exceptions::PyUnicodeEncodeError;
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyDict, PyModule, PyString};
use wa_groups::{Error, ErrorKind, Field, InvalidInput};

static ERRORS: PyOnceLock<Py<PyModule>> = PyOnceLock::new();

fn class<'py>(py: Python<'py>, name: &str) -> PyResult<Bound<'py, PyAny>> {
    ERRORS
        .get_or_try_init(py, || py.import("wa_groups._errors").map(Bound::unbind))?
        .bind(py)
        .getattr(name)
}

/// A `str` argument's UTF-8 text. A `str` holding a lone surrogate has no
/// UTF-8 form; pyo3 would raise `UnicodeEncodeError`, which names no
/// argument, so it is an `InvalidInputError` naming `field` (at `index`, for
/// one item of a list) instead.
pub(crate) fn utf8(
    py: Python<'_>,
    s: &Bound<'_, PyString>,
    field: Field,
    index: Option<usize>,
) -> PyResult<String> {
    match s.to_cow() {
        Ok(s) => Ok(s.into_owned()),
        Err(e) if e.is_instance_of::<PyUnicodeEncodeError>(py) => {
            let mut e = InvalidInput::new(
                field,
                "must be well-formed Unicode (it holds a lone surrogate)",
            );
            if let Some(i) = index {
                e = e.at(i);
            }
            Err(to_py_err(py, e.into()))
        }
        Err(e) => Err(e),
    }
}

/// The Python class name for each error kind.
fn class_name(kind: ErrorKind) -> &'static str {
    match kind {
        ErrorKind::InvalidInput => "InvalidInputError",
        ErrorKind::Auth => "AuthError",
        ErrorKind::RateLimited => "RateLimitedError",
        ErrorKind::NotFound => "NotFoundError",
        ErrorKind::Api => "ApiError",
        ErrorKind::Transport => "TransportError",
        ErrorKind::Timeout => "RequestTimeoutError",
        ErrorKind::Decode => "DecodeError",
        // A kind added to the protocol crate before a class is added here.
        _ => "WaGroupsError",
    }
}

/// The Python exception for `err`, with the Graph fields (or the field,
/// status, excerpt...) as attributes and, for a transport failure with an
/// underlying cause, that cause as `__cause__`. The texts come from the
/// Rust error, which never holds the access token.
pub(crate) fn to_py_err(py: Python<'_>, err: Error) -> PyErr {
    match build(py, &err) {
        Ok(e) => e,
        Err(e) => e,
    }
}

fn build(py: Python<'_>, err: &Error) -> PyResult<PyErr> {
    let kw = PyDict::new(py);
    let mut cause = None;
    match err {
        Error::InvalidInput(e) => {
            kw.set_item("field", e.field().as_str())?;
            kw.set_item("index", e.index())?;
            kw.set_item("reason", e.reason())?;
        }
        Error::Transport(e) => {
            kw.set_item("transport_kind", e.kind().as_str())?;
            cause = transport_cause(py, e);
        }
        Error::Timeout(d) => {
            kw.set_item("timeout", d.as_secs_f64())?;
        }
        Error::Decode(e) => {
            kw.set_item("status", e.status())?;
            kw.set_item("reason", e.reason())?;
            kw.set_item("excerpt", e.excerpt())?;
        }
        _ => {}
    }
    if let Some(api) = err.api_error() {
        kw.set_item("status", api.status)?;
        kw.set_item("code", api.code)?;
        kw.set_item("subcode", api.subcode)?;
        kw.set_item("type", api.error_type.as_deref())?;
        kw.set_item("title", api.title.as_deref())?;
        kw.set_item("message", api.message.as_str())?;
        kw.set_item("details", api.details.as_deref())?;
        kw.set_item("fbtrace_id", api.fbtrace_id.as_deref())?;
        kw.set_item("is_transient", api.is_transient)?;
        if err.kind() == ErrorKind::RateLimited {
            kw.set_item("retry_after", api.retry_after.map(|d| d.as_secs_f64()))?;
        }
    }
    let exc = class(py, class_name(err.kind()))?.call((err.to_string(),), Some(&kw))?;
    let exc = PyErr::from_value(exc);
    if let Some(cause) = cause {
        exc.set_cause(py, Some(cause));
    }
    Ok(exc)
}

/// The deepest I/O error under a transport failure, as the matching
/// `OSError` subclass (`ConnectionResetError`, `ConnectionRefusedError`...);
/// otherwise the direct cause's text as a `ConnectionError`.
fn transport_cause(py: Python<'_>, e: &wa_groups::TransportError) -> Option<PyErr> {
    let direct = std::error::Error::source(e)?;
    let mut io = None;
    let mut next: Option<&(dyn std::error::Error + 'static)> = Some(direct);
    while let Some(err) = next {
        if let Some(found) = err.downcast_ref::<std::io::Error>() {
            io = Some(found);
        }
        next = err.source();
    }
    let cause = match io {
        Some(io) => PyErr::from(match io.raw_os_error() {
            Some(code) => std::io::Error::from_raw_os_error(code),
            None => std::io::Error::new(io.kind(), io.to_string()),
        }),
        None => pyo3::exceptions::PyConnectionError::new_err(direct.to_string()),
    };
    // Normalize now, so that `__cause__` is an exception instance.
    let _ = cause.value(py);
    Some(cause)
}

/// Errors of the emulator's Rust API (test helper misuse): builtin classes.
pub(crate) fn emulator_err(err: wa_groups_emulator::Error) -> PyErr {
    use pyo3::exceptions::{PyKeyError, PyOSError, PyRuntimeError, PyValueError};
    use wa_groups_emulator::Error as E;
    let text = err.to_string();
    match err {
        E::UnknownGroup(_) | E::UnknownJoinRequest(_) => PyKeyError::new_err(text),
        E::InvalidInput(_) | E::Seed(_) | E::FaultQueueFull => PyValueError::new_err(text),
        E::Bind(io) => PyOSError::new_err(format!("{text} ({io})")),
        _ => PyRuntimeError::new_err(text),
    }
}

/// The text of a panic's payload (`panic!` with a message gives a `&str`
/// or a `String`).
pub(crate) fn panic_text(payload: &(dyn std::any::Any + Send)) -> String {
    payload
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a panic without a message".to_owned())
}

/// A Rust panic as `wa_groups.InternalError` (a `WaGroupsError`), never
/// pyo3's `PanicException`, which `except Exception` does not catch.
pub(crate) fn panic_err(py: Python<'_>, payload: &(dyn std::any::Any + Send)) -> PyErr {
    let text = format!("internal error in wa-groups: {}", panic_text(payload));
    match class(py, "InternalError").and_then(|c| c.call1((text.clone(),))) {
        Ok(exc) => PyErr::from_value(exc),
        Err(_) => pyo3::exceptions::PyRuntimeError::new_err(text),
    }
}

/// Runs a binding entry point's body, turning a panic into
/// [`panic_err`], so that no input makes Python see a Rust panic.
pub(crate) fn guard<T>(py: Python<'_>, body: impl FnOnce() -> PyResult<T>) -> PyResult<T> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(body))
        .unwrap_or_else(|payload| Err(panic_err(py, &*payload)))
}

/// A Python `int` setting (a count, a page size) as a Rust integer for
/// the builder to judge: out of range values saturate (the builder then
/// refuses them naming the field), so `2**200` is an `InvalidInputError`,
/// not an `OverflowError`. Other types are a `TypeError`, as before.
pub(crate) struct Count(pub(crate) i64);

impl<'a, 'py> FromPyObject<'a, 'py> for Count {
    type Error = PyErr;

    fn extract(obj: pyo3::Borrowed<'a, 'py, PyAny>) -> PyResult<Self> {
        match obj.extract::<i64>() {
            Ok(v) => Ok(Self(v)),
            Err(e) if e.is_instance_of::<pyo3::exceptions::PyOverflowError>(obj.py()) => {
                Ok(Self(if obj.lt(0)? { i64::MIN } else { i64::MAX }))
            }
            Err(e) => Err(e),
        }
    }
}

/// A `str` argument whose UTF-8 conversion waits for its field name, so
/// that a lone surrogate is an `InvalidInputError` naming it (see
/// [`utf8`]). Other types are a `TypeError`, as for `String`.
pub(crate) enum Text<'py> {
    /// The caller's `str`.
    Str(Bound<'py, PyString>),
    /// A default from the signature.
    Default(&'static str),
}

impl<'a, 'py> FromPyObject<'a, 'py> for Text<'py> {
    type Error = PyErr;

    fn extract(obj: pyo3::Borrowed<'a, 'py, PyAny>) -> PyResult<Self> {
        Ok(Self::Str(obj.extract::<Bound<'py, PyString>>()?))
    }
}

impl Text<'_> {
    /// The text, or an `InvalidInputError` naming `field`.
    pub(crate) fn get(&self, field: Field) -> PyResult<String> {
        match self {
            Self::Str(s) => utf8(s.py(), s, field, None),
            Self::Default(s) => Ok((*s).to_owned()),
        }
    }

    /// [`Text::get`] for an optional argument.
    pub(crate) fn opt(this: Option<&Self>, field: Field) -> PyResult<Option<String>> {
        this.map(|t| t.get(field)).transpose()
    }
}
