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

use std::future::Future;

use std::panic::AssertUnwindSafe;

use futures_util::FutureExt as _;
use futures_util::future::{AbortHandle, AbortRegistration, Abortable};
use napi::bindgen_prelude::JsObjectValue as _;
use napi::bindgen_prelude::{
    FnArgs, Function, FunctionRef, Object, ObjectRef, PromiseRaw, ToNapiValue, Unknown,
};
use napi::{Env, JsValue, Status, ValueType};

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
        let Self { watch, aborted } = self;
        let already_aborted = aborted.is_some();
        let (registration, signal, listener) = match watch {
            Some(w) => (w.registration, Some(w.signal), Some(w.listener)),
            None => (None, aborted, None),
        };
        let fut = async move {
            if already_aborted {
                return Ok(Err(Failure::Aborted));
            }
            // A panic in the call rejects with `ERR_WA_INTERNAL` (napi's
            // own catch would reject with an error of no known code).
            let fut = AssertUnwindSafe(fut).catch_unwind();
            let outcome = match registration {
                Some(reg) => Abortable::new(fut, reg)
                    .await
                    .unwrap_or(Ok(Err(Failure::Aborted))),
                None => fut.await,
            };
            Ok::<_, napi::Error>(outcome.unwrap_or_else(|p| Err(Failure::panicked(&*p))))
        };
        env.spawn_future_with_callback(fut, move |env, outcome| {
            guard(env, || {
                let reason = settle_signal(env, signal, listener);
                match outcome {
                    Ok(value) => convert(env, value),
                    Err(failure) => Err(failure.into_napi(env, reason?)),
                }
            })
        })
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
