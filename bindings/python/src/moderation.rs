//! `wa_groups.moderation`: the moderation engine (`wa-groups-moderation`)
//! for Python. Options, "exactly one of policy and decide", building the
//! engine, its start / stop lifecycle, the status JSON and the answer to a
//! webhook request live in the moderation crate's `host` module, shared
//! with the Node binding; this file converts Python values and runs the
//! user's `decide`.
//!
//! Running `decide`: the engine's calls go to the moderator's decide
//! threads (`wa-groups-decide`, as many as the decider's 16 calls at once).
//! A free one waits for a call without the GIL, takes it, and makes that
//! call and every call still waiting when it is free again (the decider
//! asks for up to 16 at once), releasing it as soon as none is left. A plain function
//! runs there to its end; a coroutine function's coroutine is handed to an
//! asyncio event loop the moderator owns, in a daemon thread, and the
//! answer comes back through its future's done-callback. No runtime worker
//! thread ever waits for the GIL, and the server's event loop (uvicorn's)
//! competes for it once per batch instead of once per call on a blocking
//! thread that creates and destroys a Python thread state each time. A
//! plain function that blocks on I/O (the GIL released) ties up only its
//! own thread: the other calls go to the free ones.

use std::sync::{Arc, Condvar, Mutex, PoisonError};

use bytes::Bytes;
use futures_util::future::BoxFuture;
use pyo3::exceptions::PyOSError;
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyBytes, PyCFunction, PyDict, PyList, PyString, PyTuple};
use serde_json::Value;
use tokio::sync::oneshot;
use wa_groups_moderation::host::{
    Host, HostDecide, HostError, HostModerator, HostRequest, HostResponse, ModeratorOptions,
    host_decider,
};

use crate::runtime::{block_on, runtime, spawn_for_asyncio};
use crate::types::Repr;
use crate::webhooks::json_to_py;

/// One join request as `decide` sees it.
#[pyclass(frozen, get_all, module = "wa_groups.moderation")]
pub(crate) struct ModerationRequest {
    /// The group.
    group_id: String,
    /// The join request.
    join_request_id: String,
    /// The requester's WhatsApp ID; `None` for business-scoped users.
    wa_id: Option<String>,
    /// The business-scoped user ID, when there is one.
    user_id: Option<String>,
    /// The business-scoped username, when there is one.
    username: Option<String>,
    /// When the request was made (Unix seconds), when known.
    created_at: Option<i64>,
}

impl From<wa_groups_moderation::ModerationRequest> for ModerationRequest {
    fn from(r: wa_groups_moderation::ModerationRequest) -> Self {
        Self {
            group_id: r.group_id,
            join_request_id: r.join_request_id,
            wa_id: r.wa_id,
            user_id: r.user_id,
            username: r.username,
            created_at: r.created_at,
        }
    }
}

#[pymethods]
impl ModerationRequest {
    fn __repr__(&self) -> String {
        Repr::new("ModerationRequest")
            .str("group_id", Some(&self.group_id))
            .str("join_request_id", Some(&self.join_request_id))
            .str("wa_id", self.wa_id.as_deref())
            .str("user_id", self.user_id.as_deref())
            .str("username", self.username.as_deref())
            .int("created_at", self.created_at)
            .finish()
    }
}

/// A [`HostError`] as a Python exception: `InvalidInputError` naming the
/// argument, or `ModerationError`.
fn host_err(py: Python<'_>, e: HostError) -> PyErr {
    let built = (|| -> PyResult<PyErr> {
        let errors = py.import("wa_groups._errors")?;
        let exc = match &e {
            HostError::InvalidInput { field, reason } => {
                let kw = PyDict::new(py);
                kw.set_item("field", field)?;
                kw.set_item("index", py.None())?;
                kw.set_item("reason", reason)?;
                errors
                    .getattr("InvalidInputError")?
                    .call((e.to_string(),), Some(&kw))?
            }
            _ => py
                .import("wa_groups.moderation")?
                .getattr("ModerationError")?
                .call1((e.to_string(),))?,
        };
        Ok(PyErr::from_value(exc))
    })();
    built.unwrap_or_else(|err| err)
}

/// A Python argument as JSON for the options reader, which names the
/// argument in any error. Paths (`os.PathLike`) become strings.
fn to_json(v: &Bound<'_, PyAny>) -> PyResult<Value> {
    if v.is_none() {
        return Ok(Value::Null);
    }
    if let Ok(b) = v.cast::<pyo3::types::PyBool>() {
        return Ok(Value::Bool(b.is_true()));
    }
    if let Ok(i) = v.extract::<i64>() {
        return Ok(i.into());
    }
    if let Ok(f) = v.extract::<f64>()
        && !v.is_instance_of::<PyString>()
    {
        return Ok(serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number));
    }
    if let Ok(s) = v.cast::<PyString>() {
        // A lone surrogate has no UTF-8 form: a string the reader refuses.
        return Ok(s
            .to_cow()
            .map_or(Value::Bool(false), |s| Value::String(s.into_owned())));
    }
    if v.hasattr("__fspath__")? {
        return to_json(&v.py().import("os")?.call_method1("fspath", (v,))?);
    }
    if let Ok(list) = v.cast::<PyList>() {
        return list.iter().map(|i| to_json(&i)).collect::<PyResult<_>>();
    }
    if let Ok(tuple) = v.cast::<PyTuple>() {
        return tuple.iter().map(|i| to_json(&i)).collect::<PyResult<_>>();
    }
    // Anything else is of the wrong type; the reader says which option.
    Ok(Value::Object(serde_json::Map::from_iter([(
        "python_type".to_owned(),
        Value::String(v.get_type().name()?.to_string()),
    )])))
}

/// `"ValueError: boom"`.
fn describe(py: Python<'_>, e: &PyErr) -> String {
    let name = e
        .get_type(py)
        .name()
        .map_or_else(|_| "Exception".to_owned(), |n| n.to_string());
    match e.value(py).str() {
        Ok(s) if !s.to_string_lossy().is_empty() => format!("{name}: {}", s.to_string_lossy()),
        _ => name,
    }
}

static LOGGER: PyOnceLock<Py<PyAny>> = PyOnceLock::new();

/// The `wa_groups.moderation` logger, where a failing `decide` is reported.
fn logger(py: Python<'_>) -> PyResult<&Bound<'_, PyAny>> {
    Ok(LOGGER
        .get_or_try_init(py, || {
            py.import("logging")?
                .call_method1("getLogger", ("wa_groups.moderation",))
                .map(Bound::unbind)
        })?
        .bind(py))
}

/// The answer `decide` returned (or its coroutine's result) as text.
fn answer_of(py: Python<'_>, out: PyResult<Bound<'_, PyAny>>, req: &Ids) -> Result<String, String> {
    let failed = |py: Python<'_>, e: &PyErr| {
        let why = describe(py, e);
        if let Ok(log) = logger(py) {
            let kw = PyDict::new(py);
            let _ = kw.set_item("exc_info", e.value(py));
            let _ = log.call_method(
                "error",
                (
                    "decide raised for group %s, join request %s; the request is held",
                    &req.0,
                    &req.1,
                ),
                Some(&kw),
            );
        }
        why
    };
    match out {
        Err(e) => Err(failed(py, &e)),
        Ok(v) => v.extract::<String>().map_err(|_| {
            let shown = v
                .repr()
                .map_or_else(|_| "?".to_owned(), |r| r.to_string_lossy().into_owned());
            let why =
                format!("decide returned {shown}; expected \"approve\", \"reject\" or \"hold\"");
            if let Ok(log) = logger(py) {
                let _ = log.call_method1("error", ("%s; the request is held", &why));
            }
            why
        }),
    }
}

/// The group and join request IDs of a call, for log lines.
#[derive(Clone)]
struct Ids(String, String);

/// The event loop a moderator owns for coroutine functions, and its thread.
struct EventLoop {
    event_loop: Py<PyAny>,
    thread: Py<PyAny>,
}

impl EventLoop {
    fn start(py: Python<'_>) -> PyResult<Self> {
        let event_loop = py.import("asyncio")?.call_method0("new_event_loop")?;
        let kw = PyDict::new(py);
        kw.set_item("target", event_loop.getattr("run_forever")?)?;
        kw.set_item("name", "wa-groups-moderation-decide")?;
        kw.set_item("daemon", true)?;
        let thread = py
            .import("threading")?
            .getattr("Thread")?
            .call((), Some(&kw))?;
        thread.call_method0("start")?;
        Ok(Self {
            event_loop: event_loop.unbind(),
            thread: thread.unbind(),
        })
    }

    fn close(self, py: Python<'_>) {
        let lp = self.event_loop.bind(py);
        if let Ok(stop) = lp.getattr("stop") {
            let _ = lp.call_method1("call_soon_threadsafe", (stop,));
        }
        let _ = self.thread.bind(py).call_method1("join", (5.0,));
        if !self
            .thread
            .bind(py)
            .call_method0("is_alive")
            .and_then(|a| a.is_truthy())
            .unwrap_or(true)
        {
            let _ = lp.call_method0("close");
        }
    }
}

/// The user's `decide` and the event loop its coroutines run on.
struct Decide {
    func: Py<PyAny>,
    event_loop: Mutex<Option<EventLoop>>,
}

/// How a call of `decide` went, seen from the thread that made it.
enum Started {
    /// A plain function answered (or failed).
    Done(Result<String, String>),
    /// A coroutine runs on the moderator's loop.
    Pending(oneshot::Receiver<Result<String, String>>, Py<PyAny>),
}

impl Decide {
    /// Calls `decide(request)` (with the GIL: the caller holds it).
    fn start(&self, py: Python<'_>, req: wa_groups_moderation::ModerationRequest) -> Started {
        let ids = Ids(req.group_id.clone(), req.join_request_id.clone());
        let out =
            Py::new(py, ModerationRequest::from(req)).and_then(|r| self.func.bind(py).call1((r,)));
        let coroutine = match out {
            Ok(v) if is_coroutine(py, &v) => v,
            other => return Started::Done(answer_of(py, other, &ids)),
        };
        match self.submit(py, &coroutine, ids.clone()) {
            Ok(started) => started,
            Err(e) => Started::Done(answer_of(py, Err(e), &ids)),
        }
    }

    /// Runs `coroutine` on the moderator's loop (started on first use).
    fn submit(&self, py: Python<'_>, coroutine: &Bound<'_, PyAny>, ids: Ids) -> PyResult<Started> {
        // The lock is never held while Python code runs (which could let
        // another thread take the GIL and wait for the lock).
        let lock = || {
            self.event_loop
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
        };
        let existing = lock().as_ref().map(|l| l.event_loop.clone_ref(py));
        let event_loop = match existing {
            Some(l) => l,
            None => {
                let fresh = EventLoop::start(py)?;
                let mut slot = lock();
                match slot.as_ref() {
                    Some(l) => {
                        // Another thread started one meanwhile: keep it.
                        let l = l.event_loop.clone_ref(py);
                        drop(slot);
                        fresh.close(py);
                        l
                    }
                    None => {
                        let l = fresh.event_loop.clone_ref(py);
                        *slot = Some(fresh);
                        l
                    }
                }
            }
        };
        let future = py
            .import("asyncio")?
            .call_method1("run_coroutine_threadsafe", (coroutine, event_loop))?;
        let (tx, rx) = oneshot::channel();
        let tx = Mutex::new(Some(tx));
        let done = PyCFunction::new_closure(py, None, None, move |args, _kwargs| {
            let py = args.py();
            let answer = args
                .get_item(0)
                .and_then(|f| f.call_method0("result"))
                .map_or_else(
                    |e| answer_of(py, Err(e), &ids),
                    |v| answer_of(py, Ok(v), &ids),
                );
            if let Some(tx) = tx.lock().unwrap_or_else(PoisonError::into_inner).take() {
                let _ = tx.send(answer);
            }
        })?;
        future.call_method1("add_done_callback", (done,))?;
        Ok(Started::Pending(rx, future.unbind()))
    }

    fn close_loop(&self, py: Python<'_>) {
        let taken = self
            .event_loop
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        if let Some(l) = taken {
            l.close(py);
        }
    }
}

fn is_coroutine(py: Python<'_>, v: &Bound<'_, PyAny>) -> bool {
    py.import("inspect")
        .and_then(|m| m.call_method1("iscoroutine", (v,)))
        .and_then(|b| b.is_truthy())
        .unwrap_or(false)
}

/// The most calls of `decide` made under one hold of the GIL: the
/// decider's concurrency, so that a round's calls go together while the
/// server's event loop waits for at most one batch.
const DECIDE_BATCH: usize = 16;

/// The decide threads of a moderator: as many as the decider runs calls at
/// once, so that a plain `decide` blocked on I/O (the GIL released) holds
/// up only its own call, as a blocking thread per call did.
const DECIDE_THREADS: usize = 16;

/// One call of `decide` waiting for a decide thread, and where its start
/// goes.
struct Job {
    req: wa_groups_moderation::ModerationRequest,
    reply: oneshot::Sender<Started>,
}

/// The calls waiting for the decide threads, and whether the engine has
/// let go of them (the threads then end).
#[derive(Default)]
struct Jobs {
    queue: Mutex<(std::collections::VecDeque<Job>, bool)>,
    ready: Condvar,
}

impl Jobs {
    fn lock(&self) -> std::sync::MutexGuard<'_, (std::collections::VecDeque<Job>, bool)> {
        self.queue.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The next call, waiting (without the GIL) for one; `None` once the
    /// engine has dropped its [`PyDecide`].
    fn next(&self) -> Option<Job> {
        let mut q = self.lock();
        loop {
            if let Some(job) = q.0.pop_front() {
                return Some(job);
            }
            if q.1 {
                return None;
            }
            q = self.ready.wait(q).unwrap_or_else(PoisonError::into_inner);
        }
    }
}

/// The engine's side of `decide`: calls queued for the moderator's decide
/// threads (see the module documentation). Dropping it (with the engine)
/// ends the threads.
struct PyDecide(Arc<Jobs>);

impl PyDecide {
    /// Starts the decide threads of `decide`.
    fn spawn(decide: Arc<Decide>) -> std::io::Result<Self> {
        let jobs = Arc::new(Jobs::default());
        let this = Self(Arc::clone(&jobs));
        for _ in 0..DECIDE_THREADS {
            let (decide, jobs) = (Arc::clone(&decide), Arc::clone(&jobs));
            // On an error, dropping `this` ends the threads already started.
            std::thread::Builder::new()
                .name("wa-groups-decide".to_owned())
                .spawn(move || decide_thread(&decide, &jobs))?;
        }
        Ok(this)
    }
}

impl Drop for PyDecide {
    fn drop(&mut self) {
        self.0.lock().1 = true;
        self.0.ready.notify_all();
    }
}

/// A decide thread: waits (without the GIL) for a call, takes the GIL, and
/// makes that call and then every call still waiting each time it is free
/// (those that came while it waited for the GIL included), up to
/// [`DECIDE_BATCH`], under that one hold. A call is taken only by a free
/// thread, so none waits behind one that blocks. Ends when the engine drops
/// its [`PyDecide`].
fn decide_thread(decide: &Decide, jobs: &Jobs) {
    while let Some(first) = jobs.next() {
        Python::attach(|py| {
            let mut next = Some(first);
            let mut made = 0;
            while let Some(Job { req, reply }) = next.take() {
                // A call whose answer is no longer awaited (the decider
                // timeout ran out while it waited here) is not made.
                if !reply.is_closed()
                    && let Err(Started::Pending(_, future)) = reply.send(decide.start(py, req))
                {
                    let _ = future.bind(py).call_method0("cancel");
                }
                made += 1;
                if made < DECIDE_BATCH {
                    next = jobs.lock().0.pop_front();
                }
            }
        });
    }
}

/// Cancels a coroutine whose answer is no longer awaited (the decider
/// timeout ran out, or the engine stopped).
struct CancelOnDrop(Option<Py<PyAny>>);

impl Drop for CancelOnDrop {
    fn drop(&mut self) {
        if let (Some(future), Ok(rt)) = (self.0.take(), tokio::runtime::Handle::try_current()) {
            rt.spawn_blocking(move || {
                Python::attach(|py| {
                    let _ = future.bind(py).call_method0("cancel");
                });
            });
        }
    }
}

impl HostDecide for PyDecide {
    fn call(
        &self,
        req: wa_groups_moderation::ModerationRequest,
    ) -> BoxFuture<'static, Result<String, String>> {
        let (reply, started) = oneshot::channel();
        self.0.lock().0.push_back(Job { req, reply });
        self.0.ready.notify_one();
        Box::pin(async move {
            match started.await {
                Ok(Started::Done(answer)) => answer,
                Ok(Started::Pending(rx, future)) => {
                    let mut guard = CancelOnDrop(Some(future));
                    let answer = rx.await;
                    // Done: nothing to cancel (the future is released by
                    // the next GIL holder).
                    drop(guard.0.take());
                    answer.unwrap_or_else(|_| Err("decide's coroutine was dropped".to_owned()))
                }
                Err(_) => Err("decide did not run".to_owned()),
            }
        })
    }
}

/// The moderation engine's core; use its subclass
/// `wa_groups.moderation.Moderator`, which adds `asgi_app` and `wsgi_app`.
#[pyclass(frozen, subclass, module = "wa_groups.moderation")]
pub(crate) struct ModeratorCore {
    host: Arc<HostModerator>,
    decide: Option<Arc<Decide>>,
}

fn text_headers(py: Python<'_>, headers: &Bound<'_, PyAny>) -> PyResult<Vec<(String, Vec<u8>)>> {
    let mut out = Vec::new();
    for item in headers.try_iter()? {
        let item = item?;
        // A (name, value) tuple, or any two-item sequence (ASGI allows lists).
        let (name, value): (Bound<'_, PyAny>, Bound<'_, PyAny>) = match item.extract() {
            Ok(pair) => pair,
            Err(e) => match item.extract::<Vec<Bound<'_, PyAny>>>() {
                Ok(v) if v.len() == 2 => {
                    let mut v = v.into_iter();
                    (
                        v.next().unwrap_or_else(|| py.None().into_bound(py)),
                        v.next().unwrap_or_else(|| py.None().into_bound(py)),
                    )
                }
                _ => return Err(e),
            },
        };
        let bytes_of = |v: &Bound<'_, PyAny>| -> PyResult<Vec<u8>> {
            match v.cast::<PyBytes>() {
                Ok(b) => Ok(b.as_bytes().to_vec()),
                Err(_) => Ok(v.extract::<String>()?.into_bytes()),
            }
        };
        out.push((
            String::from_utf8_lossy(&bytes_of(&name)?).into_owned(),
            bytes_of(&value)?,
        ));
    }
    Ok(out)
}

fn response_to_py(py: Python<'_>, r: HostResponse) -> PyResult<Py<PyAny>> {
    let headers = PyList::empty(py);
    for (k, v) in &r.headers {
        headers.append((PyBytes::new(py, k.as_bytes()), PyBytes::new(py, v)))?;
    }
    Ok((r.status, r.reason, headers, PyBytes::new(py, &r.body))
        .into_pyobject(py)?
        .into_any()
        .unbind())
}

impl ModeratorCore {
    fn request(
        py: Python<'_>,
        method: String,
        target: String,
        headers: &Bound<'_, PyAny>,
        body: &Bound<'_, PyBytes>,
    ) -> PyResult<HostRequest> {
        Ok(HostRequest {
            method,
            target,
            headers: text_headers(py, headers)?,
            body: Bytes::copy_from_slice(body.as_bytes()),
        })
    }
}

#[pymethods]
impl ModeratorCore {
    /// The largest webhook body accepted (1 MiB); larger ones are answered
    /// 413.
    #[classattr]
    const MAX_BODY_BYTES: usize = wa_groups_moderation::MAX_BODY_BYTES;

    #[new]
    #[pyo3(signature = (access_token, *, app_secret, verify_token, store=None, policy=None, decide=None, base_url=None, batch_window=None, reconcile_every=None, decider_timeout=None, groups=None, dry_run=None, webhook_path=None))]
    #[allow(
        clippy::too_many_arguments,
        reason = "the keyword arguments of the Python constructor"
    )]
    fn new(
        py: Python<'_>,
        access_token: &Bound<'_, PyAny>,
        app_secret: &Bound<'_, PyAny>,
        verify_token: &Bound<'_, PyAny>,
        store: Option<&Bound<'_, PyAny>>,
        policy: Option<&Bound<'_, PyAny>>,
        decide: Option<&Bound<'_, PyAny>>,
        base_url: Option<&Bound<'_, PyAny>>,
        batch_window: Option<&Bound<'_, PyAny>>,
        reconcile_every: Option<&Bound<'_, PyAny>>,
        decider_timeout: Option<&Bound<'_, PyAny>>,
        groups: Option<&Bound<'_, PyAny>>,
        dry_run: Option<&Bound<'_, PyAny>>,
        webhook_path: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Self> {
        let opt = |v: Option<&Bound<'_, PyAny>>| v.map_or(Ok(Value::Null), to_json);
        let mut map = serde_json::Map::new();
        for (k, v) in [
            ("access_token", Some(access_token)),
            ("app_secret", Some(app_secret)),
            ("verify_token", Some(verify_token)),
            ("store", store),
            ("policy", policy),
            ("base_url", base_url),
            ("batch_window", batch_window),
            ("reconcile_every", reconcile_every),
            ("decider_timeout", decider_timeout),
            ("groups", groups),
            ("dry_run", dry_run),
            ("webhook_path", webhook_path),
        ] {
            map.insert(k.to_owned(), opt(v)?);
        }
        let options = ModeratorOptions::from_value(Value::Object(map), Host::Python)
            .map_err(|e| host_err(py, e))?;
        let decide = match decide {
            None => None,
            Some(f) if f.is_none() => None,
            Some(f) if f.is_callable() => Some(Arc::new(Decide {
                func: f.clone().unbind(),
                event_loop: Mutex::new(None),
            })),
            Some(_) => {
                return Err(host_err(
                    py,
                    HostError::invalid_argument(
                        Host::Python,
                        "decide",
                        "must be a function or a coroutine function",
                    ),
                ));
            }
        };
        let decider = match &decide {
            None => None,
            Some(d) => Some(host_decider(
                PyDecide::spawn(Arc::clone(d)).map_err(|e| PyOSError::new_err(e.to_string()))?,
            )),
        };
        let host = block_on(py, async move {
            // Building opens the store: on the package's runtime.
            options.build(decider).await
        })?
        .map_err(|e| host_err(py, e))?;
        Ok(Self {
            host: Arc::new(host),
            decide,
        })
    }

    /// Runs the engine in the background: the workers, and with `listen`
    /// (`"host:port"`; port 0 picks a free one) an HTTP server answering
    /// the webhook path, `/healthz` and `/metrics`. Returns the bound
    /// `"host:port"` (also `address`), or `None` with `listen=None`
    /// (workers only, for `asgi_app` and `wsgi_app`). Raises
    /// `ModerationError` when it is already running, the address is taken,
    /// or another engine holds the store.
    #[pyo3(signature = (listen="127.0.0.1:0"))]
    fn start(&self, py: Python<'_>, listen: Option<&str>) -> PyResult<Option<String>> {
        let host = Arc::clone(&self.host);
        let listen = listen.map(str::to_owned);
        let started = block_on(py, async move { host.start(listen.as_deref()).await })?;
        match started {
            Ok(addr) => Ok(addr.map(|a| a.to_string())),
            Err(HostError::Engine(m)) if m.starts_with("cannot listen") => {
                Err(PyOSError::new_err(m))
            }
            Err(e) => Err(host_err(py, e)),
        }
    }

    /// Serves `listen` and runs the workers until Ctrl-C (or `stop()` from
    /// another thread); then stops taking deliveries, lets the calls in
    /// flight finish, and returns.
    #[pyo3(signature = (listen="127.0.0.1:8080"))]
    fn serve(&self, py: Python<'_>, listen: &str) -> PyResult<()> {
        self.start(py, Some(listen))?;
        let waited = block_on(py, self.host.wait());
        let stopped = self.stop(py);
        match waited {
            // Ctrl-C (KeyboardInterrupt) is the way out of a blocking serve.
            Err(e) if e.is_instance_of::<pyo3::exceptions::PyKeyboardInterrupt>(py) => stopped,
            Err(e) => Err(e),
            Ok(()) => stopped,
        }
    }

    /// Stops the engine: no new deliveries, the calls in flight finish and
    /// are recorded, the store and the port are released. Does nothing
    /// when it is not running.
    fn stop(&self, py: Python<'_>) -> PyResult<()> {
        let host = Arc::clone(&self.host);
        let stopped = block_on(py, async move { host.stop().await })?;
        if let Some(d) = &self.decide {
            d.close_loop(py);
        }
        stopped.map_err(|e| host_err(py, e))
    }

    /// The bound `"host:port"` while the server runs, else `None`.
    #[getter]
    fn address(&self) -> Option<String> {
        self.host.address().map(|a| a.to_string())
    }

    /// Whether the engine runs (after `start`, before `stop`).
    #[getter]
    fn running(&self) -> bool {
        self.host.is_running()
    }

    /// Counts by state, in total and per group, and every record: the dict
    /// `wa-groups moderate status --json` prints (`total`, `groups`,
    /// `requests`; every state present, zeros included).
    fn status(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        let host = Arc::clone(&self.host);
        let status = block_on(py, async move { host.status().await })?;
        json_to_py(py, &status.map_err(|e| host_err(py, e))?)
    }

    /// Answers one webhook request (blocking; the GIL is released):
    /// `method`, `target` (path and query), `headers` (name, value pairs of
    /// `bytes` or `str`) and the raw `body`. Returns `(status, reason,
    /// headers, body)` with the headers as `bytes` pairs.
    fn handle(
        &self,
        py: Python<'_>,
        method: String,
        target: String,
        headers: &Bound<'_, PyAny>,
        body: &Bound<'_, PyBytes>,
    ) -> PyResult<Py<PyAny>> {
        let req = Self::request(py, method, target, headers, body)?;
        let host = Arc::clone(&self.host);
        let r = block_on(py, async move { host.handle(req).await })?;
        response_to_py(py, r)
    }

    /// `handle` as an awaitable of the running asyncio loop.
    fn handle_async<'py>(
        &self,
        py: Python<'py>,
        method: String,
        target: String,
        headers: &Bound<'py, PyAny>,
        body: &Bound<'py, PyBytes>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let req = Self::request(py, method, target, headers, body)?;
        let host = Arc::clone(&self.host);
        let _ = runtime()?;
        spawn_for_asyncio(py, async move { host.handle(req).await }, response_to_py)
    }

    fn __enter__(slf: PyRef<'_, Self>) -> PyRef<'_, Self> {
        slf
    }

    #[pyo3(signature = (*_args))]
    fn __exit__(&self, py: Python<'_>, _args: &Bound<'_, PyTuple>) -> PyResult<()> {
        self.stop(py)
    }

    fn __repr__(&self) -> String {
        Repr::new("Moderator")
            .str("address", self.address().as_deref())
            .raw("running", if self.running() { "True" } else { "False" })
            .finish()
    }
}
