//! The tokio runtime the package owns, and the two ways Python waits on it:
//! blocking with the GIL released ([`block_on`]) and asyncio futures
//! ([`spawn_for_asyncio`]).
//!
//! Fork safety: a runtime belongs to the process that made it. After
//! `os.fork()` the child has none of the parent's worker threads, so the
//! runtime is keyed by process ID and made again, lazily, in a child; the
//! parent's copy is leaked there (dropping it would wait for threads that do
//! not exist in the child).

use std::future::Future;
use std::io::{Read as _, Write as _};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use futures_util::FutureExt as _;
use pyo3::exceptions::PyRuntimeError;
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::PyCFunction;
use tokio::runtime::Runtime;

use crate::errors::panic_err;

/// The runtime of this process, made on first use in each process.
static RUNTIME: Mutex<Option<(u32, &'static Runtime)>> = Mutex::new(None);

/// The package's runtime for the current process.
///
/// Called with the GIL held, so that no other Python thread can hold the
/// lock when a thread calls `os.fork()`.
pub(crate) fn runtime() -> PyResult<&'static Runtime> {
    let pid = std::process::id();
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
/// interrupts a blocking call (the future is dropped then, which cancels
/// the request).
pub(crate) fn block_on<F>(py: Python<'_>, fut: F) -> PyResult<F::Output>
where
    F: Future + Send,
    F::Output: Send,
{
    let rt = runtime()?;
    let mut fut = std::pin::pin!(fut);
    loop {
        let step = py.detach(|| {
            rt.block_on(async {
                tokio::time::timeout(Duration::from_millis(100), fut.as_mut()).await
            })
        });
        match step {
            Ok(out) => return Ok(out),
            Err(_elapsed) => py.check_signals()?,
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
pub(crate) struct Bridge {
    queue: Mutex<Vec<Completion>>,
    armed: AtomicBool,
    wake: Waker,
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
    fn drain(&self, py: Python<'_>) {
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
            let cancelled = future
                .call_method0(pyo3::intern!(py, "cancelled"))
                .and_then(|c| c.is_truthy())
                .unwrap_or(true);
            if cancelled {
                continue;
            }
            // A panic while building the result is the call's error, not
            // a `PanicException` out of the event loop's reader callback.
            let delivered = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| deliver(py)))
                .unwrap_or_else(|payload| Err(panic_err(py, &*payload)));
            let outcome = match delivered {
                Ok(value) => future.call_method1(pyo3::intern!(py, "set_result"), (value,)),
                Err(err) => {
                    future.call_method1(pyo3::intern!(py, "set_exception"), (err.into_value(py),))
                }
            };
            if let Err(e) = outcome {
                e.write_unraisable(py, Some(future));
            }
        }
    }
}

#[cfg(not(unix))]
fn runtime_no_gil() -> Result<&'static Runtime, ()> {
    let slot = RUNTIME.lock().unwrap_or_else(PoisonError::into_inner);
    slot.map(|(_, rt)| rt).ok_or(())
}

/// One bridge per (process, event loop); loops that closed are dropped.
struct LoopEntry {
    pid: u32,
    event_loop: Py<PyAny>,
    bridge: Arc<Bridge>,
}

static BRIDGES: Mutex<Vec<LoopEntry>> = Mutex::new(Vec::new());

/// `asyncio.get_running_loop`, looked up once.
static GET_RUNNING_LOOP: PyOnceLock<Py<PyAny>> = PyOnceLock::new();

/// The bridge of `event_loop`, made on first use. The registry's lock is
/// never held while Python code runs: another thread could take the GIL
/// then and wait for the lock, and neither would go on.
fn bridge_for(py: Python<'_>, event_loop: &Bound<'_, PyAny>) -> PyResult<Arc<Bridge>> {
    let pid = std::process::id();
    let lookup = |entries: &[LoopEntry]| {
        entries
            .iter()
            .find(|e| e.pid == pid && e.event_loop.bind(py).is(event_loop))
            .map(|e| Arc::clone(&e.bridge))
    };
    if let Some(bridge) = lookup(&BRIDGES.lock().unwrap_or_else(PoisonError::into_inner)) {
        return Ok(bridge);
    }
    // A new loop: first forget the loops that closed, and every loop of a
    // parent process.
    let old = std::mem::take(&mut *BRIDGES.lock().unwrap_or_else(PoisonError::into_inner));
    let live: Vec<LoopEntry> = old
        .into_iter()
        .filter(|e| {
            e.pid == pid
                && !e
                    .event_loop
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
    let bridge = new_bridge(py, event_loop)?;
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
    });
    Ok(bridge)
}

fn drain_callback(py: Python<'_>, bridge: &Arc<Bridge>) -> PyResult<Py<PyAny>> {
    let weak = Arc::downgrade(bridge);
    let f = PyCFunction::new_closure(py, Some(c"_wa_groups_drain"), None, move |args, _kwargs| {
        if let Some(bridge) = weak.upgrade() {
            bridge.drain(args.py());
        }
    })?;
    Ok(f.into_any().unbind())
}

#[cfg(unix)]
fn new_bridge(py: Python<'_>, event_loop: &Bound<'_, PyAny>) -> PyResult<Arc<Bridge>> {
    use std::os::fd::AsRawFd as _;

    let (tx, rx) = std::os::unix::net::UnixStream::pair()?;
    tx.set_nonblocking(true)?;
    rx.set_nonblocking(true)?;
    let fd = rx.as_raw_fd();
    let bridge = Arc::new(Bridge {
        queue: Mutex::new(Vec::new()),
        armed: AtomicBool::new(false),
        wake: Waker { tx, rx },
    });
    let drain = drain_callback(py, &bridge)?;
    event_loop.call_method1(pyo3::intern!(py, "add_reader"), (fd, drain))?;
    Ok(bridge)
}

#[cfg(not(unix))]
fn new_bridge(py: Python<'_>, event_loop: &Bound<'_, PyAny>) -> PyResult<Arc<Bridge>> {
    // The drain callback holds the bridge weakly; the bridge holds the
    // callback. Build the bridge around a placeholder, then swap in place.
    let placeholder = py.None();
    let bridge = Arc::new_cyclic(|weak: &std::sync::Weak<Bridge>| {
        let weak = weak.clone();
        let drain =
            PyCFunction::new_closure(py, Some(c"_wa_groups_drain"), None, move |args, _kwargs| {
                if let Some(bridge) = weak.upgrade() {
                    bridge.drain(args.py());
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
        }
    });
    Ok(bridge)
}

/// A done-callback of the asyncio future: cancelling the future aborts the
/// call on the runtime.
#[pyclass(frozen)]
struct AbortOnCancel {
    handle: tokio::task::AbortHandle,
}

#[pymethods]
impl AbortOnCancel {
    fn __call__(&self, future: &Bound<'_, PyAny>) -> PyResult<()> {
        if future
            .call_method0(pyo3::intern!(future.py(), "cancelled"))?
            .is_truthy()?
        {
            self.handle.abort();
        }
        Ok(())
    }
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
    let bridge = bridge_for(py, &event_loop)?;
    let future = event_loop.call_method0(pyo3::intern!(py, "create_future"))?;
    let rt = runtime()?;
    let target = future.clone().unbind();
    let task = rt.spawn(async move {
        // A panic in the call settles its future with `InternalError`;
        // uncaught, it would end the task and leave the future pending.
        let out = std::panic::AssertUnwindSafe(fut).catch_unwind().await;
        bridge.complete(Completion {
            future: target,
            deliver: Box::new(move |py| match out {
                Ok(out) => convert(py, out),
                Err(payload) => Err(panic_err(py, &*payload)),
            }),
        });
    });
    future.call_method1(
        pyo3::intern!(py, "add_done_callback"),
        (AbortOnCancel {
            handle: task.abort_handle(),
        },),
    )?;
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
