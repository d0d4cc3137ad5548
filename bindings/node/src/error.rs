//! The one place where a failure becomes a JavaScript error.
//!
//! Every error the package hands to JavaScript is built by [`Failure::into_js`]:
//! a real `Error` object whose `code` comes from the Rust [`ErrorKind`] (never
//! from parsing a message), with the Graph fields as properties. Rejections
//! and the few synchronous throws (the `Client` constructor, the webhook
//! functions) go through here alike.

use napi::bindgen_prelude::{Null, Object, ToNapiValue, Unknown};
use napi::{Env, JsValue, Status};
use wa_groups::{Error, ErrorKind, InvalidInput};

/// The `code` of every error of a wa-groups call, as [`ErrorKind`] names it.
pub(crate) fn code_of(kind: ErrorKind) -> &'static str {
    match kind {
        ErrorKind::InvalidInput => "ERR_WA_INVALID_INPUT",
        ErrorKind::Auth => "ERR_WA_AUTH",
        ErrorKind::RateLimited => "ERR_WA_RATE_LIMITED",
        ErrorKind::NotFound => "ERR_WA_NOT_FOUND",
        ErrorKind::Transport => "ERR_WA_TRANSPORT",
        ErrorKind::Timeout => "ERR_WA_TIMEOUT",
        ErrorKind::Decode => "ERR_WA_DECODE",
        // `ErrorKind` is non-exhaustive: a kind added later is a Graph API
        // error until this binding learns its own code.
        _ => "ERR_WA_API",
    }
}

/// The `code` of a failure of the emulator test helper.
pub(crate) const EMULATOR_CODE: &str = "ERR_WA_EMULATOR";

/// The `code` of a failure of the moderation engine (already running,
/// another engine holds the store, the store failed).
pub(crate) const MODERATION_CODE: &str = "ERR_WA_MODERATION";

/// The `code` of a defect inside wa-groups (a Rust panic), reported as an
/// error instead of aborting the process.
pub(crate) const INTERNAL_CODE: &str = "ERR_WA_INTERNAL";

/// Every `code` a wa-groups error can have: what `isWaGroupsError` accepts
/// and what the `ErrorCode` type of `dts-header.d.ts` lists (a node test
/// checks the two agree).
pub(crate) const CODES: [&str; 11] = [
    "ERR_WA_INVALID_INPUT",
    "ERR_WA_AUTH",
    "ERR_WA_RATE_LIMITED",
    "ERR_WA_NOT_FOUND",
    "ERR_WA_API",
    "ERR_WA_TRANSPORT",
    "ERR_WA_TIMEOUT",
    "ERR_WA_DECODE",
    INTERNAL_CODE,
    EMULATOR_CODE,
    MODERATION_CODE,
];

/// The `code` of a call cancelled through its `AbortSignal`, as Node's own
/// APIs use it.
pub(crate) const ABORT_CODE: &str = "ABORT_ERR";

/// Why a call did not produce its value.
#[derive(Debug)]
pub(crate) enum Failure {
    /// A wa-groups error, from the transport or the protocol crate.
    Wa(Error),
    /// The caller's `AbortSignal` fired.
    Aborted,
    /// The emulator test helper refused (unknown group, bad fault...).
    Emulator(String),
    /// A Rust panic, caught at the binding's boundary: its message.
    Internal(String),
    /// The moderation engine refused an option or failed.
    Moderation(wa_groups_moderation::host::HostError),
}

impl From<Error> for Failure {
    fn from(e: Error) -> Self {
        Self::Wa(e)
    }
}

impl From<InvalidInput> for Failure {
    fn from(e: InvalidInput) -> Self {
        Self::Wa(Error::InvalidInput(e))
    }
}

impl From<wa_groups_emulator::Error> for Failure {
    fn from(e: wa_groups_emulator::Error) -> Self {
        Self::Emulator(e.to_string())
    }
}

/// Sets `key` to `value`, or to `null` when there is none, so that every
/// error of a kind has the same properties.
fn set_or_null<V: ToNapiValue>(
    obj: &mut Object<'_>,
    key: &str,
    value: Option<V>,
) -> napi::Result<()> {
    match value {
        Some(v) => obj.set(key, v),
        None => obj.set(key, Null),
    }
}

/// Whole milliseconds, as JavaScript numbers count time.
fn millis(d: std::time::Duration) -> f64 {
    d.as_millis() as f64
}

impl Failure {
    /// The failure for a caught panic, from its payload.
    pub(crate) fn panicked(payload: &(dyn std::any::Any + Send)) -> Self {
        let text = payload
            .downcast_ref::<&str>()
            .map(|s| (*s).to_owned())
            .or_else(|| payload.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "a panic without a message".to_owned());
        Self::Internal(format!("internal error in wa-groups: {text}"))
    }

    /// The JavaScript `Error` for this failure. `abort_reason` is the
    /// signal's `reason`, kept as the `cause` of an abort.
    pub(crate) fn to_js<'env>(
        &self,
        env: &'env Env,
        abort_reason: Option<Unknown<'env>>,
    ) -> napi::Result<Object<'env>> {
        match self {
            Self::Wa(e) => wa_error(env, e),
            Self::Aborted => {
                let mut obj = env.create_error(napi::Error::new(
                    Status::Cancelled,
                    "The operation was aborted",
                ))?;
                obj.set("code", ABORT_CODE)?;
                obj.set("name", "AbortError")?;
                if let Some(reason) = abort_reason {
                    obj.set("cause", reason)?;
                }
                Ok(obj)
            }
            Self::Emulator(message) => {
                let mut obj =
                    env.create_error(napi::Error::new(Status::GenericFailure, message.clone()))?;
                obj.set("code", EMULATOR_CODE)?;
                Ok(obj)
            }
            Self::Internal(message) => {
                let mut obj =
                    env.create_error(napi::Error::new(Status::GenericFailure, message.clone()))?;
                obj.set("code", INTERNAL_CODE)?;
                Ok(obj)
            }
            Self::Moderation(e) => moderation_error(env, e),
        }
    }

    /// The failure as a `napi::Error` that carries the JavaScript error
    /// object, so that napi throws or rejects with that very object.
    pub(crate) fn into_napi(self, env: &Env, abort_reason: Option<Unknown<'_>>) -> napi::Error {
        match self.to_js(env, abort_reason) {
            Ok(obj) => napi::Error::from(obj.to_unknown()),
            Err(e) => e,
        }
    }
}

/// A wa-groups error as a JavaScript `Error`: `code` from the kind; the
/// Graph fields (`status`, `graphCode`, `subcode`, `type`, `title`,
/// `details`, `fbtraceId`, `isTransient`, `retryAfterMs`) on every error,
/// `null` where the kind has none; `field`, `index` and `reason` for
/// invalid input; `transportKind` for transport errors; `timeoutMs` for
/// timeouts; `excerpt` for decode errors.
///
/// The access token is in none of them: the transport scrubs it from every
/// error before it gets here, and invalid input never quotes a secret.
fn wa_error<'env>(env: &'env Env, e: &Error) -> napi::Result<Object<'env>> {
    let message = match e {
        // The Node API names fields in camelCase, so its message does too.
        Error::InvalidInput(invalid) => {
            let field = invalid.field().camel_case();
            match invalid.index() {
                Some(i) => format!("invalid {field}[{i}]: {}", invalid.reason()),
                None => format!("invalid {field}: {}", invalid.reason()),
            }
        }
        other => other.to_string(),
    };
    let mut obj = env.create_error(napi::Error::new(Status::GenericFailure, message))?;
    obj.set("code", code_of(e.kind()))?;
    let api = e.api_error();
    set_or_null(&mut obj, "status", e.status().map(u32::from))?;
    set_or_null(&mut obj, "graphCode", api.map(|a| a.code))?;
    set_or_null(&mut obj, "subcode", api.and_then(|a| a.subcode))?;
    set_or_null(&mut obj, "type", api.and_then(|a| a.error_type.clone()))?;
    set_or_null(&mut obj, "title", api.and_then(|a| a.title.clone()))?;
    set_or_null(&mut obj, "details", api.and_then(|a| a.details.clone()))?;
    set_or_null(
        &mut obj,
        "fbtraceId",
        api.and_then(|a| a.fbtrace_id.clone()),
    )?;
    obj.set("isTransient", api.is_some_and(|a| a.is_transient))?;
    set_or_null(
        &mut obj,
        "retryAfterMs",
        api.and_then(|a| a.retry_after).map(millis),
    )?;
    match e {
        Error::InvalidInput(invalid) => {
            obj.set("field", invalid.field().camel_case())?;
            set_or_null(&mut obj, "index", invalid.index().map(|i| i as u32))?;
            obj.set("reason", invalid.reason())?;
        }
        Error::Transport(t) => {
            obj.set("transportKind", t.kind().as_str())?;
        }
        Error::Timeout(d) => obj.set("timeoutMs", millis(*d))?,
        Error::Decode(d) => obj.set("excerpt", d.excerpt())?,
        _ => {}
    }
    Ok(obj)
}

/// A moderation engine error: bad options are `ERR_WA_INVALID_INPUT`
/// shaped as [`wa_error`] shapes them (the field as the options object
/// spells it); an engine failure is `ERR_WA_MODERATION`.
fn moderation_error<'env>(
    env: &'env Env,
    e: &wa_groups_moderation::host::HostError,
) -> napi::Result<Object<'env>> {
    use wa_groups_moderation::host::HostError;
    let mut obj = env.create_error(napi::Error::new(Status::GenericFailure, e.to_string()))?;
    match e {
        HostError::InvalidInput { field, reason } => {
            obj.set("code", code_of(ErrorKind::InvalidInput))?;
            for key in ["status", "graphCode", "subcode", "type", "title", "details"] {
                obj.set(key, Null)?;
            }
            obj.set("fbtraceId", Null)?;
            obj.set("isTransient", false)?;
            obj.set("retryAfterMs", Null)?;
            obj.set("field", field.as_str())?;
            obj.set("index", Null)?;
            obj.set("reason", reason.as_str())?;
        }
        _ => obj.set("code", MODERATION_CODE)?,
    }
    Ok(obj)
}
