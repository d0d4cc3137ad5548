//! Running a Rust future as a JavaScript Promise, cancellable by an
//! `AbortSignal`.
//!
//! [`Call::start`] reads the `signal` of a call's options: when it has
//! already fired the call rejects at once; otherwise a listener for its
//! `abort` event is added. [`Call::spawn`] runs the future on napi's tokio
//! runtime under an [`AbortHandle`]: when the signal fires, the listener
//! aborts it, which drops the future (and with it the HTTP exchange in
//! flight) and rejects the Promise with an `AbortError` (`code`
//! `ABORT_ERR`, `cause` the signal's `reason`). When the call settles, the
//! listener is removed, so a long-lived signal shared by many calls does
//! not collect listeners.
//!
//! Settling: napi-rs's own future-to-Promise bridge makes a threadsafe
//! function (a libuv handle, cleanup hooks, locks) for every Promise and
//! wakes the JavaScript thread once per call. Here a call's Promise is a
//! plain deferred kept on the JavaScript thread (in [`Hub`]); a finished
//! call queues its result, and one threadsafe function per thread wakes
//! the JavaScript thread once for every batch of results, which settles
//! them all. That threadsafe function holds the event loop open only while
//! calls are pending, as a per-call one would.
//!
//! Polling: a call's future runs as a task on napi's tokio runtime, or,
//! for one that mostly waits on another thread ([`Runner::Here`]: a
//! webhook delivery waiting for the store's writer thread to commit it), on
//! the JavaScript thread itself, inside the runtime's context. Its waker
//! queues it for the same wake-up as the finished calls, so the writer's
//! commit wakes the JavaScript thread directly: the webhook's
//! acknowledgement waits for two thread hops (there and back) instead of
//! four (through a runtime thread each way), as many as the engine's own
//! listener's.

use std::any::Any;
use std::cell::RefCell;
use std::collections::HashMap;
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll, Waker};

use futures_util::FutureExt as _;
use futures_util::future::{AbortHandle, AbortRegistration, Abortable, Either};
use napi::bindgen_prelude::JsObjectValue as _;
use napi::bindgen_prelude::{
    FnArgs, Function, FunctionRef, Object, ObjectRef, PromiseRaw, ToNapiValue, Unknown,
};
use napi::threadsafe_function::{
    ThreadsafeCallContext, ThreadsafeFunction, ThreadsafeFunctionCallMode,
};
use napi::{Env, JsValue, Status, ValueType, sys};
use wa_groups::CallDriver;

use crate::error::Failure;

type Listener = FunctionRef<(), ()>;
type EventMethod<'env> =
    Function<'env, FnArgs<(&'static str, Function<'env, (), ()>)>, Unknown<'env>>;

/// The signal a call watches, and its listener.
struct Watch {
    registration: Option<AbortRegistration>,
    signal: ObjectRef<false>,
    listener: Listener,
}

/// A call about to start: its signal, if it has one.
pub(crate) struct Call {
    watch: Option<Watch>,
    /// The signal had fired before the call started.
    aborted: Option<ObjectRef<false>>,
}

/// A `TypeError` for an argument that is not of a usable type and is not
/// one of the fields docs/design.md validates (the options bag, the signal).
pub(crate) fn type_error(env: &Env, message: &str) -> napi::Error {
    let result = (|| -> napi::Result<Unknown<'_>> {
        let ctor: Function<'_, String, Unknown<'_>> =
            env.get_global()?.get_named_property("TypeError")?;
        let error = ctor.new_instance(message.to_owned())?;
        let mut obj = Object::from_unknown(error)?;
        obj.set("code", "ERR_INVALID_ARG_TYPE")?;
        Ok(obj.to_unknown())
    })();
    match result {
        Ok(error) => napi::Error::from(error),
        Err(e) => napi::Error::new(Status::InvalidArg, format!("{message} ({})", e.reason)),
    }
}

/// Runs the synchronous part of a binding entry point, turning a panic
/// into an `ERR_WA_INTERNAL` error: a panic unwinding into napi's C
/// callback would abort the Node process.
pub(crate) fn guard<T>(env: &Env, body: impl FnOnce() -> napi::Result<T>) -> napi::Result<T> {
    std::panic::catch_unwind(AssertUnwindSafe(body))
        .unwrap_or_else(|p| Err(Failure::panicked(&*p).into_napi(env, None)))
}

impl Call {
    /// A call with no signal.
    pub(crate) fn unwatched() -> Self {
        Self {
            watch: None,
            aborted: None,
        }
    }

    /// Reads `options.signal` (absent, `undefined` or `null`: no signal).
    ///
    /// # Errors
    ///
    /// A `TypeError` (`ERR_INVALID_ARG_TYPE`) when `signal` is not an
    /// `AbortSignal`, or `options` not an object.
    pub(crate) fn start(env: &Env, options: Option<&Object<'_>>) -> napi::Result<Self> {
        let Some(options) = options else {
            return Ok(Self::unwatched());
        };
        Self::watch(env, options.get("signal")?)
    }

    /// Watches `signal` (absent, `undefined` or `null`: no signal).
    ///
    /// # Errors
    ///
    /// A `TypeError` (`ERR_INVALID_ARG_TYPE`) when `signal` is not an
    /// `AbortSignal`.
    pub(crate) fn watch(env: &Env, signal: Option<Unknown<'_>>) -> napi::Result<Self> {
        let Some(signal) = signal else {
            return Ok(Self::unwatched());
        };
        match signal.get_type()? {
            ValueType::Undefined | ValueType::Null => return Ok(Self::unwatched()),
            ValueType::Object => {}
            _ => {
                return Err(type_error(
                    env,
                    "The \"signal\" option must be an AbortSignal",
                ));
            }
        }
        let signal = Object::from_unknown(signal)?;
        let add: Option<EventMethod<'_>> = match signal.get::<Unknown<'_>>("addEventListener")? {
            Some(f) if f.get_type()? == ValueType::Function => Some(Function::from_unknown(f)?),
            _ => None,
        };
        // `aborted` is read as any value first: a getter returning a
        // non-boolean must be the `TypeError` below, not napi's own error.
        let aborted = match signal.get::<Unknown<'_>>("aborted")? {
            Some(v) if v.get_type()? == ValueType::Boolean => Some(bool::from_unknown(v)?),
            _ => None,
        };
        let (Some(add), Some(aborted)) = (add, aborted) else {
            return Err(type_error(
                env,
                "The \"signal\" option must be an AbortSignal",
            ));
        };
        if aborted {
            return Ok(Self {
                watch: None,
                aborted: Some(signal.create_ref()?),
            });
        }
        let (handle, registration) = AbortHandle::new_pair();
        let listener = env.create_function_from_closure("onAbort", move |_ctx| {
            handle.abort();
            Ok(())
        })?;
        add.apply(signal, FnArgs::from(("abort", listener)))?;
        Ok(Self {
            watch: Some(Watch {
                registration: Some(registration),
                signal: signal.create_ref()?,
                listener: listener.create_ref()?,
            }),
            aborted: None,
        })
    }

    /// Takes the abort registration out of the call, for a future that
    /// must clean up after an abort (the `joinRequests` iterator drops its
    /// page stream); [`spawn`](Self::spawn) then leaves aborting to it.
    pub(crate) fn take_registration(&mut self) -> Option<AbortRegistration> {
        self.watch.as_mut().and_then(|w| w.registration.take())
    }

    /// Runs `fut` and settles the returned Promise with `convert` of its
    /// value, or with the JavaScript error of its [`Failure`].
    pub(crate) fn spawn<'env, T, V, F, C>(
        self,
        env: &'env Env,
        fut: F,
        convert: C,
    ) -> napi::Result<PromiseRaw<'env, V>>
    where
        T: Send + 'static,
        V: ToNapiValue,
        F: Future<Output = Result<T, Failure>> + Send + 'static,
        C: FnOnce(&Env, T) -> napi::Result<V> + 'static,
    {
        self.run_on(env, Runner::Runtime, fut, convert)
    }

    /// [`spawn`](Self::spawn), with the future polled where `runner`
    /// says.
    pub(crate) fn run_on<'env, T, V, F, C>(
        self,
        env: &'env Env,
        runner: Runner,
        fut: F,
        convert: C,
    ) -> napi::Result<PromiseRaw<'env, V>>
    where
        T: Send + 'static,
        V: ToNapiValue,
        F: Future<Output = Result<T, Failure>> + Send + 'static,
        C: FnOnce(&Env, T) -> napi::Result<V> + 'static,
    {
        let Self { watch, aborted } = self;
        let already_aborted = aborted.is_some();
        let (registration, signal, listener) = match watch {
            Some(w) => (w.registration, Some(w.signal), Some(w.listener)),
            None => (None, aborted, None),
        };
        let settle: Settle = Box::new(move |env, reason, outcome| match outcome {
            Ok(value) => {
                let value = value.downcast::<T>().map_err(|_| {
                    napi::Error::from_reason(
                        "internal error in wa-groups: a result of another type",
                    )
                })?;
                convert(env, *value)?.into_unknown(env).map(Ok)
            }
            Err(failure) => failure.to_js(env, reason).map(|o| Err(o.to_unknown())),
        });
        let (queue, id, promise) = Hub::register(env, signal, listener, settle)?;
        if already_aborted {
            queue.complete(Completion {
                id,
                outcome: Err(Failure::Aborted),
            });
            return Ok(PromiseRaw::new(env.raw(), promise));
        }
        // Combinators, not `async` blocks: a block awaiting a future it
        // captured keeps it twice in its state, and the whole state is
        // copied into the task.
        let fut = match registration {
            Some(reg) => {
                Either::Left(Abortable::new(fut, reg).map(|r| r.unwrap_or(Err(Failure::Aborted))))
            }
            None => Either::Right(fut),
        };
        let fut = fut.map(|r| r.map(|v| Box::new(v) as Box<dyn Any + Send>));
        match runner {
            Runner::Runtime => {
                // A panic in the call rejects with `ERR_WA_INTERNAL` (napi's
                // own catch would reject with an error of no known code).
                let fut = AssertUnwindSafe(fut).catch_unwind();
                napi::bindgen_prelude::spawn(fut.map(move |outcome| {
                    let outcome = outcome.unwrap_or_else(|p| Err(Failure::panicked(&*p)));
                    queue.complete(Completion { id, outcome });
                }));
            }
            Runner::Here => Hub::poll_new(env, &queue, id, Box::pin(fut)),
            Runner::Driver => Hub::drive(&queue, id, fut),
        }
        Ok(PromiseRaw::new(env.raw(), promise))
    }
}

/// Where a call's future is polled.
pub(crate) enum Runner {
    /// On napi's tokio runtime, as a task of its own.
    Runtime,
    /// On napi's tokio runtime, in the one task that polls all of this
    /// JavaScript thread's driven calls (a [`CallDriver`]), as a Rust
    /// program polls its calls in one task: no task to allocate and
    /// schedule per call, and one wake-up of the runtime for all the calls
    /// started meanwhile. For the client's calls, which only wait on the
    /// network; a future that could block its thread (opening a store, say)
    /// would hold up every other call, so those keep a task of their own.
    Driver,
    /// On the calling JavaScript thread (inside napi's tokio runtime
    /// context), at once and again each time it is woken: for a future
    /// that does little work of its own and mostly waits on another thread
    /// (a webhook delivery waiting on the store's writer thread). The
    /// wait's end then wakes the JavaScript thread directly, without a hop
    /// through a runtime thread on the way there and another on the way
    /// back.
    Here,
}

/// A call's future polled on its JavaScript thread (see
/// [`Runner::Here`]). It never leaves that thread; it is `Send` only
/// because every call's future is, whichever thread polls it.
type LocalFuture = Pin<Box<dyn Future<Output = Outcome> + Send>>;

/// A [`LocalFuture`] waiting to be woken, and the waker it was polled with.
struct Local {
    fut: LocalFuture,
    waker: Arc<LocalWaker>,
}

/// Wakes a [`LocalFuture`] from any thread: queues its ID for the
/// JavaScript thread, which polls it in [`Hub::drain`].
struct LocalWaker {
    id: u64,
    queue: Arc<Queue>,
    /// Queued and not yet polled: a second wake meanwhile adds nothing.
    woken: AtomicBool,
}

impl std::task::Wake for LocalWaker {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        if !self.woken.swap(true, Ordering::AcqRel) {
            self.queue
                .woken
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .push(self.id);
            self.queue.arm();
        }
    }
}

/// What a call's future ended with: its value (of the type its
/// [`Settle`] expects) or its failure.
type Outcome = Result<Box<dyn Any + Send>, Failure>;

/// How a finished call's Promise is settled, run on the JavaScript thread
/// with the signal's `reason`: `Ok(Ok(value))` resolves, `Ok(Err(error))`
/// rejects, and `Err` (a conversion that failed) rejects with that error.
/// It stays on the JavaScript thread (a conversion need not be `Send`);
/// only the [`Outcome`] crosses from the runtime.
type Settle = Box<
    dyn for<'env> FnOnce(
        &'env Env,
        Option<Unknown<'env>>,
        Outcome,
    ) -> napi::Result<Result<Unknown<'env>, Unknown<'env>>>,
>;

/// A finished call, queued for the JavaScript thread.
struct Completion {
    id: u64,
    outcome: Outcome,
}

/// The wake-up of one JavaScript thread: a threadsafe function that calls
/// [`Hub::drain`], made weak (it keeps the event loop open only while
/// [`Hub`] refs it).
type Wake = ThreadsafeFunction<(), (), (), Status, false, true>;

/// Finished calls, and woken [`LocalFuture`]s, on their way to one
/// JavaScript thread, shared with the runtime's threads.
struct Queue {
    done: Mutex<Vec<Completion>>,
    /// The IDs of woken [`LocalFuture`]s, to poll.
    woken: Mutex<Vec<u64>>,
    /// A wake-up is on its way: completions queued meanwhile ride with it.
    armed: AtomicBool,
    wake: Wake,
}

impl Queue {
    fn complete(&self, completion: Completion) {
        self.done
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(completion);
        self.arm();
    }

    /// Wakes the JavaScript thread unless a wake-up is already on its way.
    fn arm(&self) {
        if !self.armed.swap(true, Ordering::AcqRel) {
            // Fails only while the environment is torn down, when nothing
            // is left to settle.
            let _ = self.wake.call((), ThreadsafeFunctionCallMode::NonBlocking);
        }
    }
}

/// A pending call's Promise and signal, kept on the JavaScript thread.
struct Pending {
    deferred: sys::napi_deferred,
    signal: Option<ObjectRef<false>>,
    listener: Option<Listener>,
    settle: Settle,
}

/// The calls of one JavaScript thread (the main thread or a worker) that
/// have not settled, and the queue their results come back through.
struct Hub {
    queue: Arc<Queue>,
    pending: HashMap<u64, Pending>,
    /// The pending calls whose futures are polled here, while they wait.
    local: HashMap<u64, Local>,
    /// Polls this thread's [`Runner::Driver`] calls, once the first starts.
    driver: Option<CallDriver>,
    next_id: u64,
}

thread_local! {
    static HUB: RefCell<Option<Hub>> = const { RefCell::new(None) };
}

impl Hub {
    /// A new pending call of this thread: its ID, the queue its result
    /// goes to, and its Promise.
    fn register(
        env: &Env,
        signal: Option<ObjectRef<false>>,
        listener: Option<Listener>,
        settle: Settle,
    ) -> napi::Result<(Arc<Queue>, u64, sys::napi_value)> {
        let queue = match HUB.with(|h| h.borrow().as_ref().map(|h| Arc::clone(&h.queue))) {
            Some(queue) => queue,
            None => {
                let queue = Arc::new(Queue {
                    done: Mutex::new(Vec::new()),
                    woken: Mutex::new(Vec::new()),
                    armed: AtomicBool::new(false),
                    wake: wake_function(env)?,
                });
                HUB.with(|h| {
                    *h.borrow_mut() = Some(Hub {
                        queue: Arc::clone(&queue),
                        pending: HashMap::new(),
                        local: HashMap::new(),
                        driver: None,
                        next_id: 0,
                    });
                });
                queue
            }
        };
        let mut deferred = std::ptr::null_mut();
        let mut promise = std::ptr::null_mut();
        // SAFETY: `env` is this thread's live environment (we are in one of
        // its callbacks), and both out-pointers are valid.
        let status = unsafe { sys::napi_create_promise(env.raw(), &mut deferred, &mut promise) };
        if status != sys::Status::napi_ok {
            return Err(napi::Error::new(
                Status::from(status),
                "could not create a Promise",
            ));
        }
        let (id, first) = HUB.with(|h| {
            let mut h = h.borrow_mut();
            let hub = h.as_mut().expect("the hub was just made");
            let id = hub.next_id;
            hub.next_id += 1;
            hub.pending.insert(
                id,
                Pending {
                    deferred,
                    signal,
                    listener,
                    settle,
                },
            );
            (id, hub.pending.len() == 1)
        });
        if first {
            // Pending calls keep the process alive, as pending I/O does.
            set_ref(env, &queue.wake, true);
        }
        Ok((queue, id, promise))
    }

    /// On the JavaScript thread: polls the woken [`LocalFuture`]s and
    /// settles every finished call.
    fn drain(env: &Env) {
        let Some(queue) = HUB.with(|h| h.borrow().as_ref().map(|h| Arc::clone(&h.queue))) else {
            return;
        };
        // Disarm before taking the queues: a completion or a wake queued
        // after this point wakes the thread again.
        queue.armed.store(false, Ordering::Release);
        let woken =
            std::mem::take(&mut *queue.woken.lock().unwrap_or_else(PoisonError::into_inner));
        for id in woken {
            // Gone when it finished after this wake was queued.
            if let Some(local) =
                HUB.with(|h| h.borrow_mut().as_mut().and_then(|h| h.local.remove(&id)))
            {
                Self::poll(env, id, local);
            }
        }
        let batch = std::mem::take(&mut *queue.done.lock().unwrap_or_else(PoisonError::into_inner));
        for Completion { id, outcome } in batch {
            Self::settle(env, id, outcome);
        }
        Self::unref_when_idle(env, &queue);
    }

    /// Hands call `id`'s future to this thread's driver (started on napi's
    /// runtime, again if that runtime was shut down and made anew); its
    /// outcome comes back through `queue`.
    fn drive<F>(queue: &Arc<Queue>, id: u64, fut: F)
    where
        F: Future<Output = Outcome> + Send + 'static,
    {
        let done = {
            let queue = Arc::clone(queue);
            move |outcome: std::thread::Result<Outcome>| {
                // A panic in the call rejects with `ERR_WA_INTERNAL`.
                let outcome = outcome.unwrap_or_else(|p| Err(Failure::panicked(&*p)));
                queue.complete(Completion { id, outcome });
            }
        };
        let sent = HUB.with(|h| {
            let mut h = h.borrow_mut();
            let hub = h.as_mut()?;
            if hub.driver.as_ref().is_none_or(CallDriver::is_stopped) {
                let runtime = napi::bindgen_prelude::within_runtime_if_available(
                    napi::tokio::runtime::Handle::try_current,
                )
                .ok()?;
                hub.driver = Some(CallDriver::start(&runtime));
            }
            hub.driver.as_ref().map(|d| d.run(fut, done).is_ok())
        });
        if sent != Some(true) {
            // Only while the runtime shuts down (the environment is going).
            queue.complete(Completion {
                id,
                outcome: Err(Failure::Internal(
                    "the tokio runtime is shutting down".into(),
                )),
            });
        }
    }

    /// Polls the new call `id`'s future for the first time, here, now.
    fn poll_new(env: &Env, queue: &Arc<Queue>, id: u64, fut: LocalFuture) {
        let waker = Arc::new(LocalWaker {
            id,
            queue: Arc::clone(queue),
            woken: AtomicBool::new(false),
        });
        Self::poll(env, id, Local { fut, waker });
        Self::unref_when_idle(env, queue);
    }

    /// Polls call `id`'s future: it waits in the hub until woken, or its
    /// Promise is settled.
    fn poll(env: &Env, id: u64, mut local: Local) {
        // Cleared first: a wake while it is polled polls it again.
        local.waker.woken.store(false, Ordering::Release);
        let waker = Waker::from(Arc::clone(&local.waker));
        let mut cx = Context::from_waker(&waker);
        // Inside the runtime's context: the future may start timers and
        // tasks (the PostgreSQL store's commit) as it would on a runtime
        // thread. A panic, here or in napi's runtime lookup, rejects with
        // `ERR_WA_INTERNAL` rather than unwinding into Node.
        let polled = std::panic::catch_unwind(AssertUnwindSafe(|| {
            napi::bindgen_prelude::within_runtime_if_available(|| local.fut.as_mut().poll(&mut cx))
        }));
        match polled {
            Ok(Poll::Pending) => HUB.with(|h| {
                if let Some(hub) = h.borrow_mut().as_mut() {
                    hub.local.insert(id, local);
                }
            }),
            Ok(Poll::Ready(outcome)) => Self::settle(env, id, outcome),
            Err(p) => Self::settle(env, id, Err(Failure::panicked(&*p))),
        }
    }

    /// Settles call `id`'s Promise with `outcome`.
    fn settle(env: &Env, id: u64, outcome: Outcome) {
        // The borrow ends before any JavaScript runs: settling can run
        // code that starts another call.
        let pending = HUB.with(|h| h.borrow_mut().as_mut().and_then(|h| h.pending.remove(&id)));
        let Some(Pending {
            deferred,
            signal,
            listener,
            settle,
        }) = pending
        else {
            return;
        };
        let outcome = guard(env, || {
            let reason = settle_signal(env, signal, listener)?;
            settle(env, reason, outcome)
        });
        let (resolve, value) = match outcome {
            Ok(Ok(value)) => (true, value.raw()),
            Ok(Err(error)) => (false, error.raw()),
            Err(error) => match error.into_unknown(env) {
                Ok(error) => (false, error.raw()),
                Err(_) => return,
            },
        };
        // SAFETY: `deferred` came from `napi_create_promise` on this
        // thread's environment and is settled exactly once (it left the
        // pending map above); `value` is a live value of this scope.
        unsafe {
            if resolve {
                sys::napi_resolve_deferred(env.raw(), deferred, value);
            } else {
                sys::napi_reject_deferred(env.raw(), deferred, value);
            }
        }
    }

    /// Lets the event loop end once no call is pending.
    fn unref_when_idle(env: &Env, queue: &Queue) {
        if HUB.with(|h| h.borrow().as_ref().is_some_and(|h| h.pending.is_empty())) {
            set_ref(env, &queue.wake, false);
        }
    }
}

/// The threadsafe function that runs [`Hub::drain`] on this thread.
fn wake_function(env: &Env) -> napi::Result<Wake> {
    let noop: Function<'_, (), ()> =
        env.create_function_from_closure("waGroupsSettle", |_ctx| Ok(()))?;
    noop.build_threadsafe_function::<()>()
        .callee_handled::<false>()
        .weak::<true>()
        .build_callback(|ctx: ThreadsafeCallContext<()>| {
            Hub::drain(&ctx.env);
            Ok(())
        })
}

/// Makes the wake-up hold the event loop open (`on`), or not.
fn set_ref(env: &Env, wake: &Wake, on: bool) {
    // After the environment's teardown the function is gone.
    if wake.aborted() {
        return;
    }
    // SAFETY: on this thread, the function's own, which is alive (not
    // aborted; only this thread's teardown aborts it).
    unsafe {
        if on {
            sys::napi_ref_threadsafe_function(env.raw(), wake.raw());
        } else {
            sys::napi_unref_threadsafe_function(env.raw(), wake.raw());
        }
    }
}

/// Removes the call's listener from its signal and reads the signal's
/// `reason` (for the `cause` of an abort).
fn settle_signal<'env>(
    env: &'env Env,
    signal: Option<ObjectRef<false>>,
    listener: Option<Listener>,
) -> napi::Result<Option<Unknown<'env>>> {
    let Some(signal_ref) = signal else {
        return Ok(None);
    };
    let signal = signal_ref.get_value(env)?;
    if let Some(listener) = listener {
        let remove: Option<Unknown<'_>> = signal.get("removeEventListener")?;
        if let Some(remove) = remove.filter(|f| f.get_type().ok() == Some(ValueType::Function)) {
            let remove: EventMethod<'_> = Function::from_unknown(remove)?;
            remove.apply(signal, FnArgs::from(("abort", listener.borrow_back(env)?)))?;
        }
    }
    let reason: Option<Unknown<'_>> = signal.get("reason")?;
    signal_ref.unref(env)?;
    Ok(reason)
}

use napi::bindgen_prelude::FromNapiValue as _;
