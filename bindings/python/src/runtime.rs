//! The tokio runtime the package owns, and the two ways Python waits on it:
//! blocking with the GIL released ([`block_on`]) and asyncio futures
//! ([`spawn_for_asyncio`]).
//!
//! Fork safety: a runtime belongs to the process that made it. After
//! `os.fork()` the child has none of the parent's worker threads, so the
//! runtime is keyed by process generation ([`generation`]) and made again,
//! lazily, in a child; the parent's copy is leaked there (dropping it would
//! wait for threads that do not exist in the child).

use std::collections::HashMap;
use std::future::Future;
use std::io::{Read as _, Write as _};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::RecvTimeoutError;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use futures_util::FutureExt as _;
use pyo3::exceptions::PyRuntimeError;
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::PyCFunction;
use tokio::runtime::Runtime;

use wa_groups::{CallDriver, DrivenCall};

use crate::errors::panic_err;

/// The runtime of this process, made on first use in each process.
static RUNTIME: Mutex<Option<(u64, &'static Runtime)>> = Mutex::new(None);

/// How many `os.fork()`s lie between the first process that loaded the
/// package and this one.
static GENERATION: AtomicU64 = AtomicU64::new(0);

/// The `os.register_at_fork` hook that counts [`GENERATION`] is in place.
static FORK_HOOK: PyOnceLock<()> = PyOnceLock::new();

/// This process's generation: what the runtime, the event loop bridges and
/// the clients' pools are keyed by, so that a forked child makes its own.
///
/// A counter bumped in the child by `os.register_at_fork`, not the process
/// ID: `getpid` is a system call, several per call, and costs more than a
/// microsecond on a virtual machine. It sees every fork made through
/// `os.fork()` (`multiprocessing` included); a child that `exec`s (as
/// `subprocess` does) never runs Python code of ours.
pub(crate) fn generation(py: Python<'_>) -> PyResult<u64> {
    FORK_HOOK.get_or_try_init(py, || -> PyResult<()> {
        let bump = PyCFunction::new_closure(
            py,
            Some(c"_wa_groups_after_fork"),
            None,
            |_args, _kwargs| {
                GENERATION.fetch_add(1, Ordering::AcqRel);
            },
        )?;
        let kwargs = pyo3::types::PyDict::new(py);
        kwargs.set_item("after_in_child", bump)?;
        py.import("os")?
            .getattr("register_at_fork")?
            .call((), Some(&kwargs))?;
        Ok(())
    })?;
    Ok(GENERATION.load(Ordering::Acquire))
}

/// The package's runtime for the current process.
///
/// Called with the GIL held, so that no other Python thread can hold the
/// lock when a thread calls `os.fork()`.
pub(crate) fn runtime() -> PyResult<&'static Runtime> {
    // The GIL is held already: attaching is a thread-local count.
    let pid = Python::attach(generation)?;
    let mut slot = RUNTIME.lock().unwrap_or_else(PoisonError::into_inner);
    if let Some((owner, rt)) = *slot
        && owner == pid
    {
        return Ok(rt);
    }
    let workers = std::thread::available_parallelism().map_or(2, |n| n.get().clamp(1, 4));
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(workers)
        .thread_name("wa-groups-rt")
        .enable_all()
        .build()
        .map_err(|e| PyRuntimeError::new_err(format!("could not start the tokio runtime: {e}")))?;
    // Leaked on purpose: it lives as long as the process, and a parent's
    // runtime seen from a forked child must never be dropped.
    let rt: &'static Runtime = Box::leak(Box::new(rt));
    *slot = Some((pid, rt));
    Ok(rt)
}

/// Runs `fut` to completion on the runtime with the GIL released. Every
/// 100 ms it takes the GIL back to run signal handlers, so Ctrl-C
/// interrupts a blocking call (the call's task is aborted then, which
/// drops the future and cancels the request).
///
/// The future runs as a task of the runtime, and this thread sleeps on a
/// channel until it ends: the whole call (request, connection, response)
/// then runs on one worker, and the thread is woken once, by the result.
/// (Polling it here, in `Runtime::block_on`, handed every request to the
/// connection's task on a worker and back, and armed a timer per call for
/// the signal check.) A panic in the call unwinds here, to the caller's
/// `guard`.
pub(crate) fn block_on<F>(py: Python<'_>, fut: F) -> PyResult<F::Output>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    let rt = runtime()?;
    let (tx, rx) = std::sync::mpsc::sync_channel(1);
    // A combinator, not an `async` block, which would hold `fut` twice.
    let task = rt.spawn(
        std::panic::AssertUnwindSafe(fut)
            .catch_unwind()
            .map(move |out| {
                let _ = tx.send(out);
            }),
    );
    let mut rx = rx;
    loop {
        // The receiver is moved in and back: it is `Send`, not `Sync`.
        let (step, back) = py.detach(move || (rx.recv_timeout(Duration::from_millis(100)), rx));
        rx = back;
        match step {
            Ok(Ok(out)) => return Ok(out),
            Ok(Err(payload)) => std::panic::resume_unwind(payload),
            Err(RecvTimeoutError::Timeout) => {
                if let Err(e) = py.check_signals() {
                    task.abort();
                    return Err(e);
                }
            }
            // The task was dropped unfinished: only a runtime shutting
            // down does that.
            Err(RecvTimeoutError::Disconnected) => {
                return Err(PyRuntimeError::new_err(
                    "the call ended without a result (the runtime is shutting down)",
                ));
            }
        }
    }
}

/// Turns a finished call's output into a Python object (or exception), in
/// the event loop's thread with the GIL held.
type Deliver = Box<dyn FnOnce(Python<'_>) -> PyResult<Py<PyAny>> + Send>;

/// Completions waiting for their event loop.
struct Completion {
    future: Py<PyAny>,
    deliver: Deliver,
}

/// The link between the runtime and one asyncio event loop.
///
/// Finished calls are queued here from the runtime's threads, which never
/// take the GIL; the first one of a batch wakes the loop through a socket
/// pair the loop watches (`loop.add_reader`), and the loop's thread sets
/// every queued result at once. This keeps the GIL in the loop's thread,
/// where asyncio code holds it anyway.
///
/// Cancellation: every pending future of the loop has the same done
/// callback, [`LoopPy::on_cancel`], which aborts the call of a future
/// cancelled in Python (the abort handles are kept here, by the future's
/// address). It is taken off the future before the result is set, so a
/// completion schedules only the awaiting task's wake-up, not a second
/// callback.
pub(crate) struct Bridge {
    queue: Mutex<Vec<Completion>>,
    armed: AtomicBool,
    wake: Waker,
    /// The abort handles of the calls in flight, by their future's address.
    /// A future stays alive while its entry exists (the call in the
    /// loop's driver, or its queued completion, holds it), so an address is
    /// never reused early.
    aborts: Mutex<HashMap<usize, DrivenCall>>,
    /// The loop's futures are `asyncio.Future` itself (see
    /// [`LoopPy::future_type`]): their methods are called through
    /// [`FUTURE_METHODS`].
    exact: bool,
}

/// `asyncio.Future`'s own methods, looked up once and called with the
/// future as their first argument. `future.set_result(v)` looks the name up
/// through the type and makes a bound method object on every call, and the
/// bridge calls three such methods per call; on a future of exactly this
/// type the unbound method is the same function.
struct FutureMethods {
    add_done_callback: Py<PyAny>,
    remove_done_callback: Py<PyAny>,
    set_result: Py<PyAny>,
    set_exception: Py<PyAny>,
}

static FUTURE_METHODS: PyOnceLock<FutureMethods> = PyOnceLock::new();

/// A method of an asyncio future the bridge calls.
#[derive(Clone, Copy)]
enum FutureMethod {
    AddDoneCallback,
    RemoveDoneCallback,
    SetResult,
    SetException,
}

impl FutureMethod {
    fn name(self) -> &'static str {
        match self {
            Self::AddDoneCallback => "add_done_callback",
            Self::RemoveDoneCallback => "remove_done_callback",
            Self::SetResult => "set_result",
            Self::SetException => "set_exception",
        }
    }

    /// `future.<method>(arg)`; through the unbound method when `exact`
    /// (the future's type is `asyncio.Future` itself).
    fn call<'py>(
        self,
        py: Python<'py>,
        exact: bool,
        future: &Bound<'py, PyAny>,
        arg: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyAny>> {
        if !exact {
            let name = match self {
                Self::AddDoneCallback => pyo3::intern!(py, "add_done_callback"),
                Self::RemoveDoneCallback => pyo3::intern!(py, "remove_done_callback"),
                Self::SetResult => pyo3::intern!(py, "set_result"),
                Self::SetException => pyo3::intern!(py, "set_exception"),
            };
            return future.call_method1(name, (arg,));
        }
        let methods = FUTURE_METHODS.get_or_try_init(py, || -> PyResult<FutureMethods> {
            let ty = py.import("asyncio")?.getattr("Future")?;
            let get = |m: Self| ty.getattr(m.name()).map(Bound::unbind);
            Ok(FutureMethods {
                add_done_callback: get(Self::AddDoneCallback)?,
                remove_done_callback: get(Self::RemoveDoneCallback)?,
                set_result: get(Self::SetResult)?,
                set_exception: get(Self::SetException)?,
            })
        })?;
        let method = match self {
            Self::AddDoneCallback => &methods.add_done_callback,
            Self::RemoveDoneCallback => &methods.remove_done_callback,
            Self::SetResult => &methods.set_result,
            Self::SetException => &methods.set_exception,
        };
        method.bind(py).call1((future, arg))
    }
}

/// The Python objects of a loop's bridge, kept out of [`Bridge`]: the
/// runtime's tasks hold the bridge, and a Python object they dropped (on
/// their threads, without the GIL) would go through pyo3's lock of pending
/// decrefs, which an `os.fork()` at that moment would leave locked in the
/// child. These are held and dropped with the GIL only.
struct LoopPy {
    /// The shared done callback (it holds the bridge weakly).
    on_cancel: Py<PyAny>,
    /// `asyncio.Future`, when the loop's `create_future` is asyncio's own
    /// (which only calls it): calling the C type skips a Python frame per
    /// call. `None` for a loop with its own `create_future`.
    future_type: Option<Py<PyAny>>,
    /// Polls the loop's calls in one task of the runtime (see
    /// [`spawn_for_asyncio`]). Not Python, but kept here for the same
    /// reason: dropping the last handle wakes the driver's task, which must
    /// not happen in a forked child (see [`bridge_for`]).
    driver: CallDriver,
}

#[cfg(unix)]
struct Waker {
    tx: std::os::unix::net::UnixStream,
    rx: std::os::unix::net::UnixStream,
}

/// Without `add_reader` (Windows' proactor loop), the loop is woken with
/// `call_soon_threadsafe`, from a blocking thread that takes the GIL.
#[cfg(not(unix))]
struct Waker {
    event_loop: Py<PyAny>,
    drain: Py<PyAny>,
}

impl Bridge {
    /// Queues a completion and wakes the loop if it is not woken already.
    fn complete(self: &Arc<Self>, completion: Completion) {
        self.queue
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(completion);
        if !self.armed.swap(true, Ordering::AcqRel) {
            self.wake();
        }
    }

    #[cfg(unix)]
    fn wake(self: &Arc<Self>) {
        // A full socket buffer means a wake-up is pending already.
        let _ = (&self.wake.tx).write(&[1]);
    }

    #[cfg(not(unix))]
    fn wake(self: &Arc<Self>) {
        let this = Arc::clone(self);
        if let Ok(rt) = runtime_no_gil() {
            rt.spawn_blocking(move || {
                Python::attach(|py| {
                    let _ = this.wake.event_loop.bind(py).call_method1(
                        pyo3::intern!(py, "call_soon_threadsafe"),
                        (this.wake.drain.bind(py),),
                    );
                })
            });
        }
    }

    /// In the loop's thread: sets the result of every queued completion.
    fn drain(&self, py: Python<'_>, on_cancel: &Bound<'_, PyAny>) {
        #[cfg(unix)]
        {
            let mut buf = [0u8; 256];
            while matches!((&self.wake.rx).read(&mut buf), Ok(n) if n > 0) {}
        }
        // Disarm before taking the queue: a completion queued after this
        // point wakes the loop again.
        self.armed.store(false, Ordering::Release);
        let batch = std::mem::take(&mut *self.queue.lock().unwrap_or_else(PoisonError::into_inner));
        for Completion { future, deliver } in batch {
            let future = future.bind(py);
            lock(&self.aborts).remove(&(future.as_ptr() as usize));
            // Taking the callback off tells whether the future is still
            // pending: a cancelled one has no callbacks left.
            let pending = FutureMethod::RemoveDoneCallback
                .call(py, self.exact, future, on_cancel)
                .and_then(|n| n.extract::<usize>())
                .is_ok_and(|n| n > 0);
            if !pending {
                continue;
            }
            // A panic while building the result is the call's error, not
            // a `PanicException` out of the event loop's reader callback.
            let delivered = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| deliver(py)))
                .unwrap_or_else(|payload| Err(panic_err(py, &*payload)));
            let outcome = match delivered {
                Ok(value) => FutureMethod::SetResult.call(py, self.exact, future, value.bind(py)),
                Err(err) => FutureMethod::SetException.call(
                    py,
                    self.exact,
                    future,
                    err.into_value(py).bind(py).as_any(),
                ),
            };
            if let Err(e) = outcome {
                e.write_unraisable(py, Some(future));
            }
        }
    }
}

impl Bridge {
    /// Registers the call of `future` (the driver's handle to abort it)
    /// for the loop's `on_cancel` callback.
    fn watch(
        &self,
        py: Python<'_>,
        future: &Bound<'_, PyAny>,
        on_cancel: &Py<PyAny>,
        abort: DrivenCall,
    ) -> PyResult<()> {
        lock(&self.aborts).insert(future.as_ptr() as usize, abort);
        FutureMethod::AddDoneCallback.call(py, self.exact, future, on_cancel.bind(py))?;
        Ok(())
    }
}

/// The loop's done callback: aborts the call of a future cancelled in
/// Python.
fn on_cancel_callback(py: Python<'_>, bridge: &Arc<Bridge>) -> PyResult<Py<PyAny>> {
    let weak = Arc::downgrade(bridge);
    let f = PyCFunction::new_closure(
        py,
        Some(c"_wa_groups_on_cancel"),
        None,
        move |args, _kwargs| -> PyResult<()> {
            let future = args.get_item(0)?;
            if let Some(bridge) = weak.upgrade()
                && future
                    .call_method0(pyo3::intern!(args.py(), "cancelled"))?
                    .is_truthy()?
                && let Some(abort) = lock(&bridge.aborts).remove(&(future.as_ptr() as usize))
            {
                abort.abort();
            }
            Ok(())
        },
    )?;
    Ok(f.into_any().unbind())
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

#[cfg(not(unix))]
fn runtime_no_gil() -> Result<&'static Runtime, ()> {
    let slot = RUNTIME.lock().unwrap_or_else(PoisonError::into_inner);
    slot.map(|(_, rt)| rt).ok_or(())
}

/// One bridge per (process, event loop); loops that closed are dropped.
struct LoopEntry {
    pid: u64,
    event_loop: Py<PyAny>,
    bridge: Arc<Bridge>,
    py_side: Arc<LoopPy>,
}

static BRIDGES: Mutex<Vec<LoopEntry>> = Mutex::new(Vec::new());

/// `asyncio.get_running_loop`, looked up once.
static GET_RUNNING_LOOP: PyOnceLock<Py<PyAny>> = PyOnceLock::new();

/// The bridge of `event_loop`, made on first use. The registry's lock is
/// never held while Python code runs: another thread could take the GIL
/// then and wait for the lock, and neither would go on.
fn bridge_for(
    py: Python<'_>,
    event_loop: &Bound<'_, PyAny>,
) -> PyResult<(Arc<Bridge>, Arc<LoopPy>)> {
    let pid = generation(py)?;
    let lookup = |entries: &[LoopEntry]| {
        entries
            .iter()
            .find(|e| e.pid == pid && e.event_loop.bind(py).is(event_loop))
            .map(|e| (Arc::clone(&e.bridge), Arc::clone(&e.py_side)))
    };
    if let Some(bridge) = lookup(&BRIDGES.lock().unwrap_or_else(PoisonError::into_inner)) {
        return Ok(bridge);
    }
    // A new loop: first forget the loops that closed, and every loop of a
    // parent process.
    let old = std::mem::take(&mut *BRIDGES.lock().unwrap_or_else(PoisonError::into_inner));
    let (ours, parents): (Vec<LoopEntry>, Vec<LoopEntry>) =
        old.into_iter().partition(|e| e.pid == pid);
    // A parent's call driver is leaked: dropping it would wake its task on
    // the parent's runtime, whose worker threads (one of which may have
    // held the runtime's locks at the fork) do not exist here. The rest of
    // the entry is dropped.
    for entry in parents {
        match Arc::try_unwrap(entry.py_side) {
            Ok(LoopPy { driver, .. }) => std::mem::forget(driver),
            Err(shared) => std::mem::forget(shared),
        }
    }
    // A closed loop's entry is dropped: its driver's task ends once its
    // calls in flight have.
    let live: Vec<LoopEntry> = ours
        .into_iter()
        .filter(|e| {
            !e.event_loop
                .bind(py)
                .call_method0(pyo3::intern!(py, "is_closed"))
                .and_then(|c| c.is_truthy())
                .unwrap_or(true)
        })
        .collect();
    BRIDGES
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .extend(live);
    let (bridge, py_side) = new_bridge(py, event_loop)?;
    let py_side = Arc::new(py_side);
    let mut entries = BRIDGES.lock().unwrap_or_else(PoisonError::into_inner);
    if let Some(existing) = lookup(&entries) {
        // Another thread registered this loop meanwhile (it can only be
        // the loop's own thread, but be safe): keep one bridge.
        drop(entries);
        #[cfg(unix)]
        {
            use std::os::fd::AsRawFd as _;
            let _ = event_loop.call_method1(
                pyo3::intern!(py, "remove_reader"),
                (bridge.wake.rx.as_raw_fd(),),
            );
        }
        return Ok(existing);
    }
    entries.push(LoopEntry {
        pid,
        event_loop: event_loop.clone().unbind(),
        bridge: Arc::clone(&bridge),
        py_side: Arc::clone(&py_side),
    });
    Ok((bridge, py_side))
}

fn drain_callback(
    py: Python<'_>,
    bridge: &Arc<Bridge>,
    on_cancel: Py<PyAny>,
) -> PyResult<Py<PyAny>> {
    let weak = Arc::downgrade(bridge);
    let f = PyCFunction::new_closure(py, Some(c"_wa_groups_drain"), None, move |args, _kwargs| {
        if let Some(bridge) = weak.upgrade() {
            bridge.drain(args.py(), on_cancel.bind(args.py()));
        }
    })?;
    Ok(f.into_any().unbind())
}

#[cfg(unix)]
fn new_bridge(py: Python<'_>, event_loop: &Bound<'_, PyAny>) -> PyResult<(Arc<Bridge>, LoopPy)> {
    use std::os::fd::AsRawFd as _;

    let (tx, rx) = std::os::unix::net::UnixStream::pair()?;
    tx.set_nonblocking(true)?;
    rx.set_nonblocking(true)?;
    let fd = rx.as_raw_fd();
    let future_type = future_type(py, event_loop)?;
    let bridge = Arc::new(Bridge {
        queue: Mutex::new(Vec::new()),
        armed: AtomicBool::new(false),
        wake: Waker { tx, rx },
        aborts: Mutex::new(HashMap::new()),
        exact: future_type.is_some(),
    });
    let on_cancel = on_cancel_callback(py, &bridge)?;
    let drain = drain_callback(py, &bridge, on_cancel.clone_ref(py))?;
    event_loop.call_method1(pyo3::intern!(py, "add_reader"), (fd, drain))?;
    let py_side = LoopPy {
        on_cancel,
        future_type,
        driver: CallDriver::start(runtime()?.handle()),
    };
    Ok((bridge, py_side))
}

#[cfg(not(unix))]
fn new_bridge(py: Python<'_>, event_loop: &Bound<'_, PyAny>) -> PyResult<(Arc<Bridge>, LoopPy)> {
    let future_type = future_type(py, event_loop)?;
    // The drain callback holds the bridge weakly; the bridge holds the
    // callback. Build the bridge around a placeholder, then swap in place.
    let placeholder = py.None();
    let on_cancel: std::sync::Arc<PyOnceLock<Py<PyAny>>> = Arc::new(PyOnceLock::new());
    let drain_on_cancel = Arc::clone(&on_cancel);
    let bridge = Arc::new_cyclic(|weak: &std::sync::Weak<Bridge>| {
        let weak = weak.clone();
        let drain =
            PyCFunction::new_closure(py, Some(c"_wa_groups_drain"), None, move |args, _kwargs| {
                if let Some(bridge) = weak.upgrade()
                    && let Some(cb) = drain_on_cancel.get(args.py())
                {
                    bridge.drain(args.py(), cb.bind(args.py()));
                }
            })
            .map(|f| f.into_any().unbind())
            .unwrap_or(placeholder);
        Bridge {
            queue: Mutex::new(Vec::new()),
            armed: AtomicBool::new(false),
            wake: Waker {
                event_loop: event_loop.clone().unbind(),
                drain,
            },
            aborts: Mutex::new(HashMap::new()),
            exact: future_type.is_some(),
        }
    });
    let cb = on_cancel_callback(py, &bridge)?;
    let _ = on_cancel.set(py, cb.clone_ref(py));
    Ok((
        bridge,
        LoopPy {
            on_cancel: cb,
            future_type,
            driver: CallDriver::start(runtime()?.handle()),
        },
    ))
}

fn running_loop(py: Python<'_>) -> PyResult<Bound<'_, PyAny>> {
    GET_RUNNING_LOOP
        .get_or_try_init(py, || {
            py.import("asyncio")?
                .getattr("get_running_loop")
                .map(Bound::unbind)
        })?
        .bind(py)
        .call0()
}

/// `asyncio.Future` if `event_loop`'s `create_future` is asyncio's own.
fn future_type(py: Python<'_>, event_loop: &Bound<'_, PyAny>) -> PyResult<Option<Py<PyAny>>> {
    let asyncio = py.import("asyncio")?;
    let base = asyncio.getattr("BaseEventLoop")?.getattr("create_future")?;
    let own = event_loop.get_type().getattr("create_future")?;
    Ok(if own.is(&base) {
        Some(asyncio.getattr("Future")?.unbind())
    } else {
        None
    })
}

/// An asyncio future of the running loop, already done with `value`.
pub(crate) fn ready<'py>(py: Python<'py>, value: Bound<'py, PyAny>) -> PyResult<Bound<'py, PyAny>> {
    let future = running_loop(py)?.call_method0(pyo3::intern!(py, "create_future"))?;
    future.call_method1(pyo3::intern!(py, "set_result"), (value,))?;
    Ok(future)
}

/// Starts `fut` on the runtime and returns an asyncio future of the running
/// loop that completes with `convert` of its output. Must be called from a
/// coroutine (or a callback) of a running event loop.
pub(crate) fn spawn_for_asyncio<F, T, C>(
    py: Python<'_>,
    fut: F,
    convert: C,
) -> PyResult<Bound<'_, PyAny>>
where
    F: Future<Output = T> + Send + 'static,
    T: Send + 'static,
    C: FnOnce(Python<'_>, T) -> PyResult<Py<PyAny>> + Send + 'static,
{
    let event_loop = running_loop(py)?;
    let (bridge, py_side) = bridge_for(py, &event_loop)?;
    let future = match &py_side.future_type {
        // Without `loop=`, the C type takes the running loop, which is
        // `event_loop` (we are in its thread): no keyword dict per call.
        Some(future_type) => future_type.bind(py).call0()?,
        None => event_loop.call_method0(pyo3::intern!(py, "create_future"))?,
    };
    let target = future.clone().unbind();
    let watcher = Arc::clone(&bridge);
    // The loop's calls are polled together in its driver's task, as a Rust
    // program polls the calls it awaits together: no tokio task per call.
    // A panic in the call settles its future with `InternalError`.
    let call = py_side
        .driver
        .run(fut, move |out| {
            bridge.complete(Completion {
                future: target,
                deliver: Box::new(move |py| match out {
                    Ok(out) => convert(py, out),
                    Err(payload) => Err(panic_err(py, &*payload)),
                }),
            });
        })
        .map_err(|e| PyRuntimeError::new_err(e.to_string()))?;
    watcher.watch(py, &future, &py_side.on_cancel, call)?;
    Ok(future)
}

/// An already finished awaitable, for `AsyncClient.close()`: awaiting it
/// returns `None` at once, and not awaiting it is fine too.
#[pyclass(frozen, module = "wa_groups")]
pub(crate) struct Done;

#[pymethods]
impl Done {
    fn __await__(slf: PyRef<'_, Self>) -> PyRef<'_, Self> {
        slf
    }

    fn __iter__(slf: PyRef<'_, Self>) -> PyRef<'_, Self> {
        slf
    }

    fn __next__(&self) -> Option<Py<PyAny>> {
        None
    }

    fn __repr__(&self) -> &'static str {
        "<wa_groups closed>"
    }
}
