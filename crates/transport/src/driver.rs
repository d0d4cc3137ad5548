//! [`CallDriver`]: many calls polled by one tokio task, for the bindings.
//!
//! A binding starts a call from its host's thread (Python's event loop,
//! Node's JavaScript thread) and gets the outcome back there. Spawning a
//! tokio task per call costs an allocation of the task, its scheduling
//! through the runtime's queues, and the task harness on every wake-up.
//! A Rust program awaiting many calls instead polls them all from one task
//! (`join_all`, `FuturesUnordered`); this driver does the same for a
//! binding: one task owns the calls in flight, takes new ones from a
//! channel, and a wake-up of the task is shared by every call that became
//! ready meanwhile (and by every call sent meanwhile).

use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use std::task::{Context, Poll};

use futures_util::future::{AbortHandle, Abortable};
use futures_util::stream::FuturesUnordered;
use futures_util::{FutureExt as _, Stream as _};
use tokio::sync::mpsc;

/// A call as the driver holds it: its output already handed on.
type Call = Abortable<Pin<Box<dyn Future<Output = ()> + Send>>>;

/// Polls the calls given to [`run`](Self::run) in one task of a tokio
/// runtime, until this handle (and every clone) is dropped and the calls in
/// flight have ended.
///
/// All calls of a driver run on one worker thread at a time (the way a
/// Rust program's calls joined in one task do); the client's connections
/// are tasks of their own and still spread over the runtime's workers.
#[derive(Debug, Clone)]
pub struct CallDriver {
    tx: mpsc::UnboundedSender<Call>,
}

/// A call started by [`CallDriver::run`]: aborting it drops the call's
/// future (so its request is cancelled) and never calls its `done`.
#[derive(Debug, Clone)]
pub struct DrivenCall {
    abort: AbortHandle,
}

/// The driver's task is gone: the runtime it ran on is shutting down.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DriverStopped;

impl std::fmt::Display for DriverStopped {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("the call driver has stopped (its runtime is shutting down)")
    }
}

impl std::error::Error for DriverStopped {}

impl CallDriver {
    /// Starts a driver's task on `runtime`.
    pub fn start(runtime: &tokio::runtime::Handle) -> Self {
        let (tx, rx) = mpsc::unbounded_channel();
        runtime.spawn(Drive {
            rx: Some(rx),
            calls: FuturesUnordered::new(),
        });
        Self { tx }
    }

    /// Runs `call` in the driver's task, then `done` with its output, or
    /// with the panic's payload if polling `call` panicked (a panic never
    /// ends the driver or the other calls).
    ///
    /// `done` runs on a runtime worker, in the driver's task: it should hand
    /// the output on (to a queue, a channel), not block.
    pub fn run<F, D>(&self, call: F, done: D) -> Result<DrivenCall, DriverStopped>
    where
        F: Future + Send + 'static,
        D: FnOnce(std::thread::Result<F::Output>) + Send + 'static,
    {
        let (abort, registration) = AbortHandle::new_pair();
        // Combinators, not an `async` block, which would hold `call` twice.
        let call: Pin<Box<dyn Future<Output = ()> + Send>> =
            Box::pin(AssertUnwindSafe(call).catch_unwind().map(done));
        self.tx
            .send(Abortable::new(call, registration))
            .map_err(|_| DriverStopped)?;
        Ok(DrivenCall { abort })
    }
}

impl CallDriver {
    /// Whether the driver's task is gone (its runtime shut down): a call
    /// given to [`run`](Self::run) now would fail with [`DriverStopped`].
    pub fn is_stopped(&self) -> bool {
        self.tx.is_closed()
    }
}

impl DrivenCall {
    /// Stops the call: its future is dropped at the driver's next poll,
    /// and its `done` is not called. Aborting a finished call does nothing.
    pub fn abort(&self) {
        self.abort.abort();
    }
}

/// The driver's task.
struct Drive {
    /// `None` once every [`CallDriver`] is dropped: the task then ends when
    /// its last call does.
    rx: Option<mpsc::UnboundedReceiver<Call>>,
    calls: FuturesUnordered<Call>,
}

impl Future for Drive {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = &mut *self;
        if let Some(rx) = &mut this.rx {
            loop {
                match rx.poll_recv(cx) {
                    Poll::Ready(Some(call)) => this.calls.push(call),
                    Poll::Ready(None) => {
                        this.rx = None;
                        break;
                    }
                    // Nothing more, or tokio's budget for this poll is
                    // spent (it wakes the task again then).
                    Poll::Pending => break,
                }
            }
        }
        loop {
            // `FuturesUnordered` releases a call whose poll panics; the
            // others stay, and so does this task. (A call's own panic is
            // caught inside it, for its `done`: this is for `done`'s.)
            match std::panic::catch_unwind(AssertUnwindSafe(|| {
                Pin::new(&mut this.calls).poll_next(cx)
            })) {
                Ok(Poll::Ready(Some(_))) | Err(_) => {}
                Ok(Poll::Ready(None)) if this.rx.is_none() => return Poll::Ready(()),
                // Empty, waiting for the channel; or calls pending (or the
                // set yielded to the runtime, and woke this task again).
                Ok(Poll::Ready(None) | Poll::Pending) => return Poll::Pending,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::Duration;

    use super::*;

    fn runtime() -> tokio::runtime::Runtime {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("runtime")
    }

    /// Counts its drops: tells whether an aborted call's future was dropped.
    struct Dropped(Arc<AtomicUsize>);

    impl Drop for Dropped {
        fn drop(&mut self) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }

    #[test]
    fn runs_many_calls_and_hands_on_each_output() {
        let rt = runtime();
        let driver = CallDriver::start(rt.handle());
        let (tx, rx) = std::sync::mpsc::channel();
        for i in 0..1000u64 {
            let tx = tx.clone();
            driver
                .run(
                    async move {
                        tokio::time::sleep(Duration::from_micros(i % 7)).await;
                        i * 2
                    },
                    move |out| tx.send(out.expect("no panic")).expect("send"),
                )
                .expect("running");
        }
        let mut got: Vec<u64> = (0..1000)
            .map(|_| rx.recv_timeout(Duration::from_secs(10)).expect("output"))
            .collect();
        got.sort_unstable();
        assert_eq!(got, (0..1000).map(|i| i * 2).collect::<Vec<_>>());
    }

    #[test]
    fn abort_drops_the_call_and_skips_done() {
        let rt = runtime();
        let driver = CallDriver::start(rt.handle());
        let drops = Arc::new(AtomicUsize::new(0));
        let dones = Arc::new(AtomicUsize::new(0));
        let guard = Dropped(Arc::clone(&drops));
        let counted = Arc::clone(&dones);
        let call = driver
            .run(
                async move {
                    let _guard = guard;
                    std::future::pending::<()>().await;
                },
                move |_| {
                    counted.fetch_add(1, Ordering::SeqCst);
                },
            )
            .expect("running");
        // A second call still completes after the first is aborted.
        let (tx, rx) = std::sync::mpsc::channel();
        call.abort();
        driver
            .run(async { 7 }, move |out| {
                tx.send(out.expect("no panic")).expect("send")
            })
            .expect("running");
        assert_eq!(rx.recv_timeout(Duration::from_secs(10)), Ok(7));
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while drops.load(Ordering::SeqCst) == 0 && std::time::Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(1));
        }
        assert_eq!(
            drops.load(Ordering::SeqCst),
            1,
            "the aborted call's future was dropped"
        );
        assert_eq!(
            dones.load(Ordering::SeqCst),
            0,
            "an aborted call has no outcome"
        );
    }

    #[test]
    fn a_panic_reaches_its_done_and_spares_the_others() {
        let rt = runtime();
        let driver = CallDriver::start(rt.handle());
        let (tx, rx) = std::sync::mpsc::channel();
        let panicking = tx.clone();
        driver
            .run(
                async {
                    if true {
                        panic!("in the call");
                    }
                },
                move |out: std::thread::Result<()>| {
                    panicking.send(out.is_err()).expect("send");
                },
            )
            .expect("running");
        // A panic in `done` itself: the driver goes on.
        driver
            .run(async {}, |_| panic!("in done"))
            .expect("running");
        driver
            .run(async {}, move |out| tx.send(out.is_err()).expect("send"))
            .expect("running");
        let mut got = [
            rx.recv_timeout(Duration::from_secs(10)).expect("first"),
            rx.recv_timeout(Duration::from_secs(10)).expect("second"),
        ];
        got.sort_unstable();
        assert_eq!(got, [false, true]);
    }

    #[test]
    fn the_task_ends_after_the_driver_is_dropped_and_its_calls_end() {
        let rt = runtime();
        let driver = CallDriver::start(rt.handle());
        let (tx, rx) = std::sync::mpsc::channel();
        driver
            .run(
                async { tokio::time::sleep(Duration::from_millis(50)).await },
                move |_| {
                    tx.send(()).expect("send");
                },
            )
            .expect("running");
        drop(driver);
        // The call still finishes after its driver handle is gone.
        assert_eq!(rx.recv_timeout(Duration::from_secs(10)), Ok(()));
        // And the task then ends: nothing of it is left on the runtime.
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while rt.metrics().num_alive_tasks() > 0 && std::time::Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(1));
        }
        assert_eq!(rt.metrics().num_alive_tasks(), 0);
    }

    #[test]
    fn a_driver_whose_runtime_is_gone_says_so() {
        let rt = runtime();
        let driver = CallDriver::start(rt.handle());
        rt.shutdown_timeout(Duration::from_secs(5));
        let err = driver.run(async {}, |_| {}).expect_err("stopped");
        assert_eq!(err, DriverStopped);
    }
}
