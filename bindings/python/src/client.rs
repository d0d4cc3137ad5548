//! `Client` and `AsyncClient`: the transport's [`wa_groups::Client`] with
//! Python arguments in and Python results out. Nothing here validates,
//! retries or knows the wire: the builder and the client do.

use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};

use futures_util::{Stream, StreamExt as _};
use pyo3::exceptions::{PyRuntimeError, PyStopAsyncIteration, PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::PyString;
use wa_groups::{ClientBuilder, ListOptions};

use crate::errors::to_py_err;
use crate::runtime::{Done, block_on, ready, spawn_for_asyncio};
use crate::types::{ApproveOutcome, JoinRequest, JoinRequestPage, RejectOutcome, Repr};

/// A Python int as a Rust count: out-of-range values saturate, so that the
/// builder's own check refuses them with its message (a negative count
/// becomes 0, which no count setting accepts).
/// Python ints are unbounded; out-of-range ones saturate, and the builder
/// refuses them naming the field.
fn saturate(v: i128) -> i64 {
    i64::try_from(v).unwrap_or(if v < 0 { i64::MIN } else { i64::MAX })
}

/// The same for a page size: out of range maps to 0 or `u32::MAX`, both refused.
fn saturate_u32(v: i128) -> u32 {
    u32::try_from(v).unwrap_or(if v < 0 { 0 } else { u32::MAX })
}

/// The transport client and what it takes to make it again in a forked
/// child (whose copy of the parent's connection pool is unusable).
struct Shared {
    builder: ClientBuilder,
    current: Mutex<Option<(u32, wa_groups::Client)>>,
    /// For `repr`: the settings as built (never the token).
    repr: String,
    user_agent: String,
}

impl Shared {
    #[allow(
        clippy::too_many_arguments,
        reason = "the Python constructor's keyword arguments, passed through"
    )]
    fn new(
        py: Python<'_>,
        class: &str,
        access_token: String,
        api_version: Option<String>,
        base_url: Option<String>,
        user_agent: Option<String>,
        timeout: f64,
        max_retries: i128,
        max_ids_per_request: Option<i128>,
        max_concurrency: Option<i128>,
    ) -> PyResult<Self> {
        let version = py.version_info();
        let mut builder = wa_groups::Client::builder()
            .access_token(access_token)
            .runtime(
                "python",
                format!("{}.{}.{}", version.major, version.minor, version.patch),
            )
            .timeout_secs(timeout);
        builder = builder.max_retries(saturate(max_retries));
        if let Some(v) = api_version {
            builder = builder.api_version(v);
        }
        if let Some(v) = base_url {
            builder = builder.base_url(v);
        }
        if let Some(v) = user_agent {
            builder = builder.user_agent(v);
        }
        if let Some(n) = max_ids_per_request {
            builder = builder.max_ids_per_request(saturate(n));
        }
        if let Some(n) = max_concurrency {
            builder = builder.max_concurrency(saturate(n));
        }
        let client = builder.clone().build().map_err(|e| to_py_err(py, e))?;
        let endpoint = client.endpoint();
        let user_agent = endpoint.user_agent().as_str().to_owned();
        let repr = Repr::new(class)
            .str("base_url", Some(endpoint.base_url().as_str()))
            .str("api_version", Some(endpoint.api_version().as_str()))
            .str("user_agent", Some(&user_agent))
            .finish();
        Ok(Self {
            builder,
            current: Mutex::new(Some((std::process::id(), client))),
            repr,
            user_agent,
        })
    }

    /// The client of this process; made again after a fork.
    fn client(&self, py: Python<'_>) -> PyResult<wa_groups::Client> {
        let pid = std::process::id();
        let mut current = self.current.lock().unwrap_or_else(PoisonError::into_inner);
        match &*current {
            None => Err(PyRuntimeError::new_err("the client is closed")),
            Some((owner, client)) if *owner == pid => Ok(client.clone()),
            Some(_) => {
                let client = self.builder.clone().build().map_err(|e| to_py_err(py, e))?;
                *current = Some((pid, client.clone()));
                Ok(client)
            }
        }
    }

    fn close(&self) {
        let old = self
            .current
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        drop(old);
    }
}

/// Join request IDs from any iterable of `str` (a lone `str` is refused:
/// it would be read as its characters).
fn ids_arg(ids: &Bound<'_, PyAny>) -> PyResult<Vec<String>> {
    if ids.is_instance_of::<PyString>() {
        return Err(PyTypeError::new_err(
            "ids must be an iterable of str (a list, for one), not a str",
        ));
    }
    let mut out = Vec::with_capacity(ids.len().unwrap_or(0));
    for item in ids.try_iter()? {
        out.push(item?.extract::<String>()?);
    }
    Ok(out)
}

fn list_options(limit: Option<i128>, after: Option<String>, before: Option<String>) -> ListOptions {
    ListOptions {
        limit: limit.map(saturate_u32),
        after,
        before,
    }
}

type JoinRequestStream =
    Pin<Box<dyn Stream<Item = wa_groups::Result<wa_groups::JoinRequest>> + Send>>;

/// The synchronous client. Each call runs on the package's tokio runtime
/// with the GIL released.
#[pyclass(frozen, module = "wa_groups")]
pub(crate) struct Client {
    shared: Shared,
}

#[pymethods]
impl Client {
    #[new]
    #[pyo3(signature = (access_token, *, api_version="v23.0", base_url=None, user_agent=None, timeout=30.0, max_retries=3, max_ids_per_request=None, max_concurrency=None))]
    #[allow(
        clippy::too_many_arguments,
        reason = "the keyword arguments docs/design.md gives"
    )]
    fn new(
        py: Python<'_>,
        access_token: String,
        api_version: &str,
        base_url: Option<String>,
        user_agent: Option<String>,
        timeout: f64,
        max_retries: i128,
        max_ids_per_request: Option<i128>,
        max_concurrency: Option<i128>,
    ) -> PyResult<Self> {
        Ok(Self {
            shared: Shared::new(
                py,
                "Client",
                access_token,
                Some(api_version.to_owned()),
                base_url,
                user_agent,
                timeout,
                max_retries,
                max_ids_per_request,
                max_concurrency,
            )?,
        })
    }

    /// The `User-Agent` header sent with every request.
    #[getter]
    fn user_agent(&self) -> &str {
        &self.shared.user_agent
    }

    #[pyo3(signature = (group_id, *, limit=None, after=None, before=None))]
    fn list_join_requests(
        &self,
        py: Python<'_>,
        group_id: String,
        limit: Option<i128>,
        after: Option<String>,
        before: Option<String>,
    ) -> PyResult<JoinRequestPage> {
        let client = self.shared.client(py)?;
        let options = list_options(limit, after, before);
        let page = block_on(py, async move {
            client.list_join_requests(&group_id, options).await
        })?;
        page.map(JoinRequestPage::from)
            .map_err(|e| to_py_err(py, e))
    }

    #[pyo3(signature = (group_id, *, limit=None))]
    fn iter_join_requests(
        &self,
        py: Python<'_>,
        group_id: &str,
        limit: Option<i128>,
    ) -> PyResult<JoinRequestIterator> {
        let client = self.shared.client(py)?;
        let stream = client.join_requests_with(group_id, list_options(limit, None, None));
        Ok(JoinRequestIterator::new(Box::pin(stream)))
    }

    fn approve_join_requests(
        &self,
        py: Python<'_>,
        group_id: String,
        ids: &Bound<'_, PyAny>,
    ) -> PyResult<ApproveOutcome> {
        let client = self.shared.client(py)?;
        let ids = ids_arg(ids)?;
        let out = block_on(py, async move {
            client.approve_join_requests(&group_id, &ids).await
        })?;
        out.map(ApproveOutcome::from).map_err(|e| to_py_err(py, e))
    }

    fn reject_join_requests(
        &self,
        py: Python<'_>,
        group_id: String,
        ids: &Bound<'_, PyAny>,
    ) -> PyResult<RejectOutcome> {
        let client = self.shared.client(py)?;
        let ids = ids_arg(ids)?;
        let out = block_on(py, async move {
            client.reject_join_requests(&group_id, &ids).await
        })?;
        out.map(RejectOutcome::from).map_err(|e| to_py_err(py, e))
    }

    fn approve_all(&self, py: Python<'_>, group_id: String) -> PyResult<ApproveOutcome> {
        let client = self.shared.client(py)?;
        let out = block_on(py, async move { client.approve_all(&group_id).await })?;
        out.map(ApproveOutcome::from).map_err(|e| to_py_err(py, e))
    }

    fn reject_all(&self, py: Python<'_>, group_id: String) -> PyResult<RejectOutcome> {
        let client = self.shared.client(py)?;
        let out = block_on(py, async move { client.reject_all(&group_id).await })?;
        out.map(RejectOutcome::from).map_err(|e| to_py_err(py, e))
    }

    /// Closes the connection pool; later calls raise `RuntimeError`.
    fn close(&self) {
        self.shared.close();
    }

    fn __enter__(slf: PyRef<'_, Self>) -> PyRef<'_, Self> {
        slf
    }

    #[pyo3(signature = (*_args))]
    fn __exit__(&self, _args: &Bound<'_, pyo3::types::PyTuple>) {
        self.shared.close();
    }

    fn __repr__(&self) -> &str {
        &self.shared.repr
    }
}

/// `Client.iter_join_requests`: every pending join request, fetching page
/// after page as it goes.
#[pyclass(frozen, module = "wa_groups")]
pub(crate) struct JoinRequestIterator {
    state: Mutex<IterState>,
}

enum IterState {
    Ready(JoinRequestStream),
    /// A `__next__` is running (in another thread: the GIL is released
    /// while it waits).
    Busy,
    Done,
}

impl JoinRequestIterator {
    fn new(stream: JoinRequestStream) -> Self {
        Self {
            state: Mutex::new(IterState::Ready(stream)),
        }
    }

    fn set(&self, state: IterState) {
        *self.state.lock().unwrap_or_else(PoisonError::into_inner) = state;
    }
}

#[pymethods]
impl JoinRequestIterator {
    fn __iter__(slf: PyRef<'_, Self>) -> PyRef<'_, Self> {
        slf
    }

    fn __next__(&self, py: Python<'_>) -> PyResult<Option<JoinRequest>> {
        let taken = std::mem::replace(
            &mut *self.state.lock().unwrap_or_else(PoisonError::into_inner),
            IterState::Busy,
        );
        let mut stream = match taken {
            IterState::Ready(stream) => stream,
            IterState::Busy => {
                return Err(PyValueError::new_err("iterator already executing"));
            }
            IterState::Done => {
                self.set(IterState::Done);
                return Ok(None);
            }
        };
        let step = block_on(py, async move {
            let item = stream.next().await;
            (item, stream)
        });
        match step {
            Ok((Some(Ok(r)), stream)) => {
                self.set(IterState::Ready(stream));
                Ok(Some(JoinRequest::from(r)))
            }
            Ok((Some(Err(e)), _)) => {
                self.set(IterState::Done);
                Err(to_py_err(py, e))
            }
            Ok((None, _)) => {
                self.set(IterState::Done);
                Ok(None)
            }
            // Interrupted (Ctrl-C): the stream was dropped; the iterator ends.
            Err(e) => {
                self.set(IterState::Done);
                Err(e)
            }
        }
    }
}

/// The asyncio client: every method returns an awaitable; the calls run on
/// the package's tokio runtime and complete in the caller's event loop.
#[pyclass(frozen, module = "wa_groups")]
pub(crate) struct AsyncClient {
    shared: Shared,
}

fn deliver<T, P>(py: Python<'_>, out: wa_groups::Result<T>) -> PyResult<Py<PyAny>>
where
    P: From<T> + for<'py> IntoPyObject<'py>,
{
    use pyo3::IntoPyObjectExt as _;
    match out {
        Ok(v) => P::from(v).into_py_any(py),
        Err(e) => Err(to_py_err(py, e)),
    }
}

#[pymethods]
impl AsyncClient {
    #[new]
    #[pyo3(signature = (access_token, *, api_version="v23.0", base_url=None, user_agent=None, timeout=30.0, max_retries=3, max_ids_per_request=None, max_concurrency=None))]
    #[allow(
        clippy::too_many_arguments,
        reason = "the keyword arguments docs/design.md gives"
    )]
    fn new(
        py: Python<'_>,
        access_token: String,
        api_version: &str,
        base_url: Option<String>,
        user_agent: Option<String>,
        timeout: f64,
        max_retries: i128,
        max_ids_per_request: Option<i128>,
        max_concurrency: Option<i128>,
    ) -> PyResult<Self> {
        Ok(Self {
            shared: Shared::new(
                py,
                "AsyncClient",
                access_token,
                Some(api_version.to_owned()),
                base_url,
                user_agent,
                timeout,
                max_retries,
                max_ids_per_request,
                max_concurrency,
            )?,
        })
    }

    /// The `User-Agent` header sent with every request.
    #[getter]
    fn user_agent(&self) -> &str {
        &self.shared.user_agent
    }

    #[pyo3(signature = (group_id, *, limit=None, after=None, before=None))]
    fn list_join_requests<'py>(
        &self,
        py: Python<'py>,
        group_id: String,
        limit: Option<i128>,
        after: Option<String>,
        before: Option<String>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let client = self.shared.client(py)?;
        let options = list_options(limit, after, before);
        spawn_for_asyncio(
            py,
            async move { client.list_join_requests(&group_id, options).await },
            deliver::<_, JoinRequestPage>,
        )
    }

    #[pyo3(signature = (group_id, *, limit=None))]
    fn iter_join_requests(
        &self,
        py: Python<'_>,
        group_id: &str,
        limit: Option<i128>,
    ) -> PyResult<AsyncJoinRequestIterator> {
        let client = self.shared.client(py)?;
        let stream = client.join_requests_with(group_id, list_options(limit, None, None));
        Ok(AsyncJoinRequestIterator {
            stream: Arc::new(tokio::sync::Mutex::new(Box::pin(stream))),
        })
    }

    fn approve_join_requests<'py>(
        &self,
        py: Python<'py>,
        group_id: String,
        ids: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let client = self.shared.client(py)?;
        let ids = ids_arg(ids)?;
        spawn_for_asyncio(
            py,
            async move { client.approve_join_requests(&group_id, &ids).await },
            deliver::<_, ApproveOutcome>,
        )
    }

    fn reject_join_requests<'py>(
        &self,
        py: Python<'py>,
        group_id: String,
        ids: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let client = self.shared.client(py)?;
        let ids = ids_arg(ids)?;
        spawn_for_asyncio(
            py,
            async move { client.reject_join_requests(&group_id, &ids).await },
            deliver::<_, RejectOutcome>,
        )
    }

    fn approve_all<'py>(&self, py: Python<'py>, group_id: String) -> PyResult<Bound<'py, PyAny>> {
        let client = self.shared.client(py)?;
        spawn_for_asyncio(
            py,
            async move { client.approve_all(&group_id).await },
            deliver::<_, ApproveOutcome>,
        )
    }

    fn reject_all<'py>(&self, py: Python<'py>, group_id: String) -> PyResult<Bound<'py, PyAny>> {
        let client = self.shared.client(py)?;
        spawn_for_asyncio(
            py,
            async move { client.reject_all(&group_id).await },
            deliver::<_, RejectOutcome>,
        )
    }

    /// Closes the connection pool; later calls raise `RuntimeError`. Takes
    /// effect at once; the returned object may be awaited (or not).
    fn close(&self) -> Done {
        self.shared.close();
        Done
    }

    fn __aenter__<'py>(slf: &Bound<'py, Self>) -> PyResult<Bound<'py, PyAny>> {
        ready(slf.py(), slf.clone().into_any())
    }

    #[pyo3(signature = (*_args))]
    fn __aexit__<'py>(
        &self,
        py: Python<'py>,
        _args: &Bound<'py, pyo3::types::PyTuple>,
    ) -> PyResult<Bound<'py, PyAny>> {
        self.shared.close();
        ready(py, py.None().into_bound(py))
    }

    fn __repr__(&self) -> &str {
        &self.shared.repr
    }
}

/// `AsyncClient.iter_join_requests`: an async iterator over every pending
/// join request, fetching page after page as it goes.
#[pyclass(frozen, module = "wa_groups")]
pub(crate) struct AsyncJoinRequestIterator {
    stream: Arc<tokio::sync::Mutex<JoinRequestStream>>,
}

#[pymethods]
impl AsyncJoinRequestIterator {
    fn __aiter__(slf: PyRef<'_, Self>) -> PyRef<'_, Self> {
        slf
    }

    fn __anext__<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let stream = Arc::clone(&self.stream);
        spawn_for_asyncio(
            py,
            async move { stream.lock().await.next().await },
            |py, item| match item {
                Some(Ok(r)) => Ok(Py::new(py, JoinRequest::from(r))?.into_any()),
                Some(Err(e)) => Err(to_py_err(py, e)),
                None => Err(PyStopAsyncIteration::new_err(())),
            },
        )
    }
}
