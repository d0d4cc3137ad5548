//! `Client` and `AsyncClient`: the transport's [`wa_groups::Client`] with
//! Python arguments in and Python results out. Nothing here validates,
//! retries or knows the wire: the builder and the client do.

use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use futures_util::{Stream, StreamExt as _};
use pyo3::exceptions::{
    PyOverflowError, PyRuntimeError, PyStopAsyncIteration, PyTypeError, PyValueError,
};
use pyo3::prelude::*;
use pyo3::types::PyString;
use wa_groups::{ClientBuilder, Field, ListOptions};

use crate::errors::{Count, Text, guard, to_py_err, utf8};
use crate::runtime::{Done, block_on, generation, ready, spawn_for_asyncio};
use crate::types::{ApproveOutcome, JoinRequest, JoinRequestPage, RejectOutcome, Repr};

/// A page size: out of range maps to 0 or `u32::MAX`, both refused by the
/// transport naming `limit`.
fn saturate_u32(v: i64) -> u32 {
    u32::try_from(v).unwrap_or(if v < 0 { 0 } else { u32::MAX })
}

/// What every call on a closed client raises (its iterators included).
fn closed_err() -> PyErr {
    PyRuntimeError::new_err("the client is closed")
}

/// The transport client and what it takes to make it again in a forked
/// child (whose copy of the parent's connection pool is unusable).
struct Shared {
    builder: ClientBuilder,
    current: Mutex<Option<(u64, wa_groups::Client)>>,
    /// Set by `close()`; the iterators made before it watch it, because
    /// their page streams hold clients of their own.
    closed: Arc<AtomicBool>,
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
        total_timeout: Option<f64>,
        max_retries: Count,
        max_ids_per_request: Option<Count>,
        max_concurrency: Option<Count>,
    ) -> PyResult<Self> {
        let version = py.version_info();
        let mut builder = wa_groups::Client::builder()
            .access_token(access_token)
            .runtime(
                "python",
                format!("{}.{}.{}", version.major, version.minor, version.patch),
            )
            .timeout_secs(timeout);
        if let Some(secs) = total_timeout {
            builder = builder.total_timeout_secs(secs);
        }
        builder = builder.max_retries(max_retries.0);
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
            builder = builder.max_ids_per_request(n.0);
        }
        if let Some(n) = max_concurrency {
            builder = builder.max_concurrency(n.0);
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
            current: Mutex::new(Some((generation(py)?, client))),
            closed: Arc::new(AtomicBool::new(false)),
            repr,
            user_agent,
        })
    }

    /// The client of this process; made again after a fork.
    fn client(&self, py: Python<'_>) -> PyResult<wa_groups::Client> {
        let pid = generation(py)?;
        let mut current = self.current.lock().unwrap_or_else(PoisonError::into_inner);
        match &*current {
            None => Err(closed_err()),
            Some((owner, client)) if *owner == pid => Ok(client.clone()),
            Some(_) => {
                let client = self.builder.clone().build().map_err(|e| to_py_err(py, e))?;
                *current = Some((pid, client.clone()));
                Ok(client)
            }
        }
    }

    fn close(&self) {
        self.closed.store(true, Ordering::Release);
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
///
/// The length a caller reports is not trusted for allocation: a list
/// longer than the protocol's cap (`range(10**11)`, an endless generator)
/// is an `InvalidInputError` naming `join_request_ids`, found before the
/// reported length is allocated and while the items are read.
fn ids_arg(py: Python<'_>, ids: &Bound<'_, PyAny>) -> PyResult<Vec<String>> {
    use wa_groups::protocol::{MAX_JOIN_REQUEST_IDS, check_id_count};
    if ids.is_instance_of::<PyString>() {
        return Err(PyTypeError::new_err(
            "ids must be an iterable of str (a list, for one), not a str",
        ));
    }
    let too_long = |py| {
        let e = check_id_count(MAX_JOIN_REQUEST_IDS + 1).expect_err("over the cap");
        to_py_err(py, e.into())
    };
    let reported = match ids.len() {
        Ok(n) => n,
        // `len(range(2**64))` overflows: longer than any cap.
        Err(e) if e.is_instance_of::<PyOverflowError>(py) => return Err(too_long(py)),
        // No `__len__` (a generator): counted while reading.
        Err(_) => 0,
    };
    check_id_count(reported).map_err(|e| to_py_err(py, e.into()))?;
    let mut out = Vec::with_capacity(reported);
    for item in ids.try_iter()? {
        if out.len() == MAX_JOIN_REQUEST_IDS {
            return Err(too_long(py));
        }
        let item = item?;
        let item = item.cast_into::<PyString>().map_err(PyErr::from)?;
        out.push(utf8(py, &item, Field::JoinRequestId, Some(out.len()))?);
    }
    Ok(out)
}

fn list_options(
    limit: Option<Count>,
    after: Option<Text<'_>>,
    before: Option<Text<'_>>,
) -> PyResult<ListOptions> {
    Ok(ListOptions {
        limit: limit.map(|n| saturate_u32(n.0)),
        after: Text::opt(after.as_ref(), Field::After)?,
        before: Text::opt(before.as_ref(), Field::Before)?,
    })
}

/// Runs a call to completion with the GIL released and converts its
/// result (a panic inside it unwinds to the caller's [`guard`]).
fn wait<T, P>(
    py: Python<'_>,
    fut: impl std::future::Future<Output = wa_groups::Result<T>> + Send + 'static,
) -> PyResult<P>
where
    T: Send + 'static,
    P: From<T>,
{
    block_on(py, fut)?
        .map(P::from)
        .map_err(|e| to_py_err(py, e))
}

type JoinRequestStream =
    Pin<Box<dyn Stream<Item = wa_groups::Result<wa_groups::JoinRequest>> + Send>>;

/// The synchronous client. Each call runs on the package's tokio runtime
/// with the GIL released.
///
/// `timeout` bounds each attempt (seconds); `total_timeout` (seconds,
/// default none) bounds a whole call: every attempt, retry wait and chunk
/// (one page, for `iter_join_requests`). Reaching either raises
/// `RequestTimeoutError`, whose `timeout` is the limit that ran out.
#[pyclass(frozen, module = "wa_groups")]
pub(crate) struct Client {
    shared: Shared,
}

#[pymethods]
impl Client {
    #[new]
    #[pyo3(signature = (access_token, *, api_version=Text::Default("v23.0"), base_url=None, user_agent=None, timeout=30.0, total_timeout=None, max_retries=Count(3), max_ids_per_request=None, max_concurrency=None), text_signature = "(access_token, *, api_version='v23.0', base_url=None, user_agent=None, timeout=30.0, total_timeout=None, max_retries=3, max_ids_per_request=None, max_concurrency=None)")]
    #[allow(
        clippy::too_many_arguments,
        reason = "the keyword arguments docs/design.md gives"
    )]
    fn new(
        py: Python<'_>,
        access_token: Text<'_>,
        api_version: Text<'_>,
        base_url: Option<Text<'_>>,
        user_agent: Option<Text<'_>>,
        timeout: f64,
        total_timeout: Option<f64>,
        max_retries: Count,
        max_ids_per_request: Option<Count>,
        max_concurrency: Option<Count>,
    ) -> PyResult<Self> {
        guard(py, || {
            Ok(Self {
                shared: Shared::new(
                    py,
                    "Client",
                    access_token.get(Field::AccessToken)?,
                    Some(api_version.get(Field::ApiVersion)?),
                    Text::opt(base_url.as_ref(), Field::BaseUrl)?,
                    Text::opt(user_agent.as_ref(), Field::UserAgent)?,
                    timeout,
                    total_timeout,
                    max_retries,
                    max_ids_per_request,
                    max_concurrency,
                )?,
            })
        })
    }

    /// The `User-Agent` header sent with every request.
    #[getter]
    fn user_agent(&self) -> &str {
        &self.shared.user_agent
    }

    /// One page of `group_id`'s pending join requests (`limit` per page,
    /// the API's default if `None`), from the `after` or `before` cursor.
    #[pyo3(signature = (group_id, *, limit=None, after=None, before=None))]
    fn list_join_requests(
        &self,
        py: Python<'_>,
        group_id: Text<'_>,
        limit: Option<Count>,
        after: Option<Text<'_>>,
        before: Option<Text<'_>>,
    ) -> PyResult<JoinRequestPage> {
        guard(py, || {
            let client = self.shared.client(py)?;
            let group_id = group_id.get(Field::GroupId)?;
            let options = list_options(limit, after, before)?;
            wait(py, async move {
                client.list_join_requests(&group_id, options).await
            })
        })
    }

    /// An iterator over every pending join request of `group_id`, fetching
    /// the pages (`limit` requests each) as it goes.
    #[pyo3(signature = (group_id, *, limit=None))]
    fn iter_join_requests(
        &self,
        py: Python<'_>,
        group_id: Text<'_>,
        limit: Option<Count>,
    ) -> PyResult<JoinRequestIterator> {
        guard(py, || {
            let client = self.shared.client(py)?;
            let group_id = group_id.get(Field::GroupId)?;
            let stream = client.join_requests_with(&group_id, list_options(limit, None, None)?);
            Ok(JoinRequestIterator::new(
                Box::pin(stream),
                Arc::clone(&self.shared.closed),
            ))
        })
    }

    /// Approves the join requests `ids` (any iterable of `str`) of
    /// `group_id`, in batches the API accepts; per-ID failures are in the
    /// outcome's `failed`, not raised.
    fn approve_join_requests(
        &self,
        py: Python<'_>,
        group_id: Text<'_>,
        ids: &Bound<'_, PyAny>,
    ) -> PyResult<ApproveOutcome> {
        guard(py, || {
            let client = self.shared.client(py)?;
            let group_id = group_id.get(Field::GroupId)?;
            let ids = ids_arg(py, ids)?;
            wait(py, async move {
                client.approve_join_requests(&group_id, &ids).await
            })
        })
    }

    /// Rejects the join requests `ids` (any iterable of `str`) of
    /// `group_id`, in batches the API accepts; per-ID failures are in the
    /// outcome's `failed`, not raised.
    fn reject_join_requests(
        &self,
        py: Python<'_>,
        group_id: Text<'_>,
        ids: &Bound<'_, PyAny>,
    ) -> PyResult<RejectOutcome> {
        guard(py, || {
            let client = self.shared.client(py)?;
            let group_id = group_id.get(Field::GroupId)?;
            let ids = ids_arg(py, ids)?;
            wait(py, async move {
                client.reject_join_requests(&group_id, &ids).await
            })
        })
    }

    /// Approves every pending join request of `group_id`, page by page.
    fn approve_all(&self, py: Python<'_>, group_id: Text<'_>) -> PyResult<ApproveOutcome> {
        guard(py, || {
            let client = self.shared.client(py)?;
            let group_id = group_id.get(Field::GroupId)?;
            wait(py, async move { client.approve_all(&group_id).await })
        })
    }

    /// Rejects every pending join request of `group_id`, page by page.
    fn reject_all(&self, py: Python<'_>, group_id: Text<'_>) -> PyResult<RejectOutcome> {
        guard(py, || {
            let client = self.shared.client(py)?;
            let group_id = group_id.get(Field::GroupId)?;
            wait(py, async move { client.reject_all(&group_id).await })
        })
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
    /// The client's `close()` flag: once set, no further page is fetched.
    closed: Arc<AtomicBool>,
}

enum IterState {
    Ready(JoinRequestStream),
    /// A `__next__` is running (in another thread: the GIL is released
    /// while it waits).
    Busy,
    Done,
}

impl JoinRequestIterator {
    fn new(stream: JoinRequestStream, closed: Arc<AtomicBool>) -> Self {
        Self {
            state: Mutex::new(IterState::Ready(stream)),
            closed,
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
        guard(py, || self.next(py))
    }
}

impl JoinRequestIterator {
    fn next(&self, py: Python<'_>) -> PyResult<Option<JoinRequest>> {
        // The page stream holds a client of its own: without this check it
        // would go on sending requests after the client was closed.
        if self.closed.load(Ordering::Acquire) {
            self.set(IterState::Done);
            return Err(closed_err());
        }
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
/// Its settings are `Client`'s, `timeout` and `total_timeout` included.
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
    #[pyo3(signature = (access_token, *, api_version=Text::Default("v23.0"), base_url=None, user_agent=None, timeout=30.0, total_timeout=None, max_retries=Count(3), max_ids_per_request=None, max_concurrency=None), text_signature = "(access_token, *, api_version='v23.0', base_url=None, user_agent=None, timeout=30.0, total_timeout=None, max_retries=3, max_ids_per_request=None, max_concurrency=None)")]
    #[allow(
        clippy::too_many_arguments,
        reason = "the keyword arguments docs/design.md gives"
    )]
    fn new(
        py: Python<'_>,
        access_token: Text<'_>,
        api_version: Text<'_>,
        base_url: Option<Text<'_>>,
        user_agent: Option<Text<'_>>,
        timeout: f64,
        total_timeout: Option<f64>,
        max_retries: Count,
        max_ids_per_request: Option<Count>,
        max_concurrency: Option<Count>,
    ) -> PyResult<Self> {
        guard(py, || {
            Ok(Self {
                shared: Shared::new(
                    py,
                    "AsyncClient",
                    access_token.get(Field::AccessToken)?,
                    Some(api_version.get(Field::ApiVersion)?),
                    Text::opt(base_url.as_ref(), Field::BaseUrl)?,
                    Text::opt(user_agent.as_ref(), Field::UserAgent)?,
                    timeout,
                    total_timeout,
                    max_retries,
                    max_ids_per_request,
                    max_concurrency,
                )?,
            })
        })
    }

    /// The `User-Agent` header sent with every request.
    #[getter]
    fn user_agent(&self) -> &str {
        &self.shared.user_agent
    }

    /// Awaitable: one page of `group_id`'s pending join requests (`limit`
    /// per page, the API's default if `None`), from the `after` or `before`
    /// cursor.
    #[pyo3(signature = (group_id, *, limit=None, after=None, before=None))]
    fn list_join_requests<'py>(
        &self,
        py: Python<'py>,
        group_id: Text<'_>,
        limit: Option<Count>,
        after: Option<Text<'_>>,
        before: Option<Text<'_>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        guard(py, || {
            let client = self.shared.client(py)?;
            let group_id = group_id.get(Field::GroupId)?;
            let options = list_options(limit, after, before)?;
            spawn_for_asyncio(
                py,
                async move { client.list_join_requests(&group_id, options).await },
                deliver::<_, JoinRequestPage>,
            )
        })
    }

    /// An async iterator over every pending join request of `group_id`,
    /// fetching the pages (`limit` requests each) as it goes.
    #[pyo3(signature = (group_id, *, limit=None))]
    fn iter_join_requests(
        &self,
        py: Python<'_>,
        group_id: Text<'_>,
        limit: Option<Count>,
    ) -> PyResult<AsyncJoinRequestIterator> {
        guard(py, || {
            let client = self.shared.client(py)?;
            let group_id = group_id.get(Field::GroupId)?;
            let stream = client.join_requests_with(&group_id, list_options(limit, None, None)?);
            Ok(AsyncJoinRequestIterator {
                stream: Arc::new(tokio::sync::Mutex::new(Box::pin(stream))),
                closed: Arc::clone(&self.shared.closed),
            })
        })
    }

    /// Awaitable: approves the join requests `ids` (any iterable of `str`)
    /// of `group_id`, in batches the API accepts; per-ID failures are in the
    /// outcome's `failed`, not raised.
    fn approve_join_requests<'py>(
        &self,
        py: Python<'py>,
        group_id: Text<'_>,
        ids: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyAny>> {
        guard(py, || {
            let client = self.shared.client(py)?;
            let group_id = group_id.get(Field::GroupId)?;
            let ids = ids_arg(py, ids)?;
            spawn_for_asyncio(
                py,
                async move { client.approve_join_requests(&group_id, &ids).await },
                deliver::<_, ApproveOutcome>,
            )
        })
    }

    /// Awaitable: rejects the join requests `ids` (any iterable of `str`)
    /// of `group_id`, in batches the API accepts; per-ID failures are in the
    /// outcome's `failed`, not raised.
    fn reject_join_requests<'py>(
        &self,
        py: Python<'py>,
        group_id: Text<'_>,
        ids: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyAny>> {
        guard(py, || {
            let client = self.shared.client(py)?;
            let group_id = group_id.get(Field::GroupId)?;
            let ids = ids_arg(py, ids)?;
            spawn_for_asyncio(
                py,
                async move { client.reject_join_requests(&group_id, &ids).await },
                deliver::<_, RejectOutcome>,
            )
        })
    }

    /// Awaitable: approves every pending join request of `group_id`, page
    /// by page.
    fn approve_all<'py>(&self, py: Python<'py>, group_id: Text<'_>) -> PyResult<Bound<'py, PyAny>> {
        guard(py, || {
            let client = self.shared.client(py)?;
            let group_id = group_id.get(Field::GroupId)?;
            spawn_for_asyncio(
                py,
                async move { client.approve_all(&group_id).await },
                deliver::<_, ApproveOutcome>,
            )
        })
    }

    /// Awaitable: rejects every pending join request of `group_id`, page by
    /// page.
    fn reject_all<'py>(&self, py: Python<'py>, group_id: Text<'_>) -> PyResult<Bound<'py, PyAny>> {
        guard(py, || {
            let client = self.shared.client(py)?;
            let group_id = group_id.get(Field::GroupId)?;
            spawn_for_asyncio(
                py,
                async move { client.reject_all(&group_id).await },
                deliver::<_, RejectOutcome>,
            )
        })
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
    /// The client's `close()` flag: once set, no further page is fetched.
    closed: Arc<AtomicBool>,
}

#[pymethods]
impl AsyncJoinRequestIterator {
    fn __aiter__(slf: PyRef<'_, Self>) -> PyRef<'_, Self> {
        slf
    }

    fn __anext__<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        if self.closed.load(Ordering::Acquire) {
            return Err(closed_err());
        }
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
