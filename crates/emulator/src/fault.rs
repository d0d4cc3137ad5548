//! Faults: misbehaviour injected into the next K matching API calls.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use http::Method;
use serde::Deserialize;

use crate::Error;
use crate::input::{self, whole_opt};
use crate::types::WebhookFaults;

/// The most calls one fault may apply to.
const MAX_FAULT_TIMES: u64 = u32::MAX as u64;
/// The longest `Retry-After` a fault may ask for: a day.
const MAX_RETRY_AFTER: u64 = 86_400;

/// Something to go wrong with a Graph API call (never with `/_emulator/`
/// calls). Injected with [`Controller::inject_fault`](crate::Controller::inject_fault)
/// or `POST /_emulator/faults`.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq)]
pub enum Fault {
    /// Wait this long, then serve the call normally.
    Latency(Duration),
    /// Answer with HTTP `status` (5xx) and a Graph error envelope with `code`
    /// (default: 2 when transient, 1 otherwise) and `is_transient`.
    ServerError {
        /// The HTTP status, 500 to 599.
        status: u16,
        /// The Graph error code; `None` picks 2 (transient) or 1.
        code: Option<i64>,
        /// The envelope's `is_transient`.
        is_transient: bool,
    },
    /// Answer HTTP 429 with Graph error `code` (such as 4, 80007, 130429,
    /// 131056 or 131208) and, when given, a `Retry-After` of that many seconds.
    RateLimited {
        /// The Graph error code.
        code: i64,
        /// The `Retry-After` header, in seconds.
        retry_after: Option<u64>,
    },
    /// Close the connection without answering (HTTP/1.1: the socket is
    /// closed; HTTP/2: the stream is reset).
    ConnectionReset,
    /// Send a 200 whose `Content-Length` promises more bytes than are sent,
    /// then close the connection.
    TruncatedBody,
    /// Send a 200 `application/json` whose body is not valid JSON.
    MalformedJson,
    /// Answer with exactly this status, headers and body (a canned
    /// response): how the Python and Node suites feed the golden response
    /// vectors of `testdata/` through their clients.
    Response {
        /// The HTTP status, 100 to 599.
        status: u16,
        /// Headers to send besides `Content-Type: application/json`.
        headers: Vec<(String, String)>,
        /// The body, sent as is.
        body: bytes::Bytes,
    },
    /// Send a 200 `application/json` body of exactly this many bytes (valid
    /// JSON when it is at least 24 bytes), with a matching `Content-Length`.
    /// It is streamed, so a large one costs no memory.
    OversizeBody {
        /// The body size in bytes.
        bytes: u64,
    },
    /// Not a Graph call fault: drop, duplicate and delay webhook
    /// deliveries (see [`WebhookFaults`]). It replaces any webhook faults
    /// in force; `clear_faults` ends it.
    Webhook(WebhookFaults),
}

/// Which calls a fault applies to, and how many of them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FaultMatch {
    /// Only calls with this method; `None`: any.
    pub method: Option<Method>,
    /// Only calls whose path (without the query) contains this; `None`: any.
    pub path_contains: Option<String>,
    /// How many matching calls get the fault (at least 1).
    pub times: u32,
}

impl Default for FaultMatch {
    fn default() -> Self {
        Self::any()
    }
}

impl FaultMatch {
    /// The next call, whatever it is.
    pub fn any() -> Self {
        Self {
            method: None,
            path_contains: None,
            times: 1,
        }
    }

    /// Only calls with `method`.
    #[must_use]
    pub fn method(mut self, method: Method) -> Self {
        self.method = Some(method);
        self
    }

    /// Only calls whose path contains `part`.
    #[must_use]
    pub fn path_contains(mut self, part: impl Into<String>) -> Self {
        self.path_contains = Some(part.into());
        self
    }

    /// The next `times` matching calls.
    #[must_use]
    pub fn times(mut self, times: u32) -> Self {
        self.times = times;
        self
    }

    pub(crate) fn matches(&self, method: &Method, path: &str) -> bool {
        self.method.as_ref().is_none_or(|m| m == method)
            && self
                .path_contains
                .as_deref()
                .is_none_or(|p| path.contains(p))
    }
}

impl Fault {
    /// A fault and its matcher from the JSON the control API takes (`POST
    /// /_emulator/faults`): `{"kind": "rate_limited", "code": 80007,
    /// "retry_after": 2, "method": "POST", "times": 2}`. The bindings'
    /// `inject_fault` helpers pass their users' dictionaries through here,
    /// so every language knows the same fault kinds.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidInput`] for an unknown kind, a missing field, an
    /// unknown key or a bad method.
    pub fn from_json(bytes: &[u8]) -> Result<(Fault, FaultMatch), Error> {
        let spec: FaultJson =
            serde_json::from_slice(bytes).map_err(|e| Error::invalid(format!("fault: {e}")))?;
        spec.into_fault()
    }

    /// [`from_json`](Self::from_json) for an already parsed JSON value.
    ///
    /// # Errors
    ///
    /// As [`from_json`](Self::from_json).
    pub fn from_value(value: serde_json::Value) -> Result<(Fault, FaultMatch), Error> {
        let spec: FaultJson =
            serde_json::from_value(value).map_err(|e| Error::invalid(format!("fault: {e}")))?;
        spec.into_fault()
    }
}

/// The queued faults and their count, kept together: the count lets every
/// Graph call skip the lock when nothing is queued.
pub(crate) struct FaultQueue {
    entries: Mutex<VecDeque<FaultEntry>>,
    /// Mirrors `entries.len()`; written only with the lock held.
    queued: AtomicUsize,
    max: usize,
}

impl FaultQueue {
    pub(crate) fn new(max: usize) -> Self {
        Self {
            entries: Mutex::new(VecDeque::new()),
            queued: AtomicUsize::new(0),
            max,
        }
    }

    fn lock(&self) -> MutexGuard<'_, VecDeque<FaultEntry>> {
        self.entries.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Validates and queues a fault.
    pub(crate) fn push(&self, fault: Fault, matcher: FaultMatch) -> Result<(), Error> {
        validate(&fault, &matcher)?;
        let mut q = self.lock();
        if q.len() >= self.max {
            return Err(Error::FaultQueueFull);
        }
        let remaining = matcher.times;
        q.push_back(FaultEntry {
            fault,
            matcher,
            remaining,
        });
        self.queued.store(q.len(), Ordering::Release);
        Ok(())
    }

    /// The first queued fault matching this call, counted down.
    pub(crate) fn take(&self, method: &Method, path: &str) -> Option<Fault> {
        if self.queued.load(Ordering::Acquire) == 0 {
            return None;
        }
        let mut q = self.lock();
        let i = q.iter().position(|f| f.matcher.matches(method, path))?;
        let entry = &mut q[i];
        entry.remaining -= 1;
        let fault = entry.fault.clone();
        if entry.remaining == 0 {
            q.remove(i);
        }
        self.queued.store(q.len(), Ordering::Release);
        Some(fault)
    }

    /// Drops every fault; returns how many there were.
    pub(crate) fn clear(&self) -> usize {
        let mut q = self.lock();
        let n = q.len();
        q.clear();
        self.queued.store(0, Ordering::Release);
        n
    }

    /// The queue, as `GET /_emulator/faults` shows it.
    pub(crate) fn describe(&self) -> Vec<serde_json::Value> {
        self.lock().iter().map(describe).collect()
    }
}

/// A queued fault with its remaining count.
#[derive(Debug, Clone)]
pub(crate) struct FaultEntry {
    pub(crate) fault: Fault,
    pub(crate) matcher: FaultMatch,
    pub(crate) remaining: u32,
}

/// `POST /_emulator/faults` body.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct FaultJson {
    kind: String,
    #[serde(default, deserialize_with = "whole_opt::<input::Ms, _>")]
    ms: Option<u64>,
    #[serde(default)]
    status: Option<u16>,
    #[serde(default)]
    code: Option<i64>,
    // camelCase aliases: the Node binding passes its users' objects through.
    #[serde(default, alias = "isTransient")]
    is_transient: Option<bool>,
    #[serde(
        default,
        alias = "retryAfter",
        alias = "retryAfterSeconds",
        alias = "retry_after_seconds",
        deserialize_with = "whole_opt::<input::RetryAfter, _>"
    )]
    retry_after: Option<u64>,
    #[serde(default, deserialize_with = "whole_opt::<input::Bytes, _>")]
    bytes: Option<u64>,
    #[serde(default)]
    headers: Option<std::collections::BTreeMap<String, String>>,
    #[serde(default)]
    body: Option<String>,
    #[serde(default)]
    method: Option<String>,
    #[serde(default, alias = "pathContains")]
    path_contains: Option<String>,
    #[serde(default, deserialize_with = "whole_opt::<input::Times, _>")]
    times: Option<u64>,
    #[serde(default)]
    drop: Option<f64>,
    #[serde(default)]
    duplicate: Option<f64>,
    #[serde(default, alias = "delayMs")]
    delay_ms: Option<(f64, f64)>,
    #[serde(default, deserialize_with = "whole_opt::<input::Seed, _>")]
    seed: Option<u64>,
}

impl FaultJson {
    pub(crate) fn into_fault(self) -> Result<(Fault, FaultMatch), Error> {
        let need = |v: Option<u64>, name: &str| {
            v.ok_or_else(|| Error::invalid(format!("fault kind {:?} needs {name:?}", self.kind)))
        };
        let fault = match self.kind.as_str() {
            "latency" => Fault::Latency(Duration::from_millis(need(self.ms, "ms")?)),
            "server_error" => Fault::ServerError {
                status: self.status.unwrap_or(500),
                code: self.code,
                is_transient: self.is_transient.unwrap_or(false),
            },
            "rate_limited" => Fault::RateLimited {
                code: self
                    .code
                    .unwrap_or(wa_groups_protocol::codes::JOIN_REQUEST_RATE_LIMIT),
                retry_after: self.retry_after,
            },
            "connection_reset" => Fault::ConnectionReset,
            "truncated_body" => Fault::TruncatedBody,
            "malformed_json" => Fault::MalformedJson,
            "response" => Fault::Response {
                status: self
                    .status
                    .ok_or_else(|| Error::invalid("fault kind \"response\" needs \"status\""))?,
                headers: self.headers.unwrap_or_default().into_iter().collect(),
                body: bytes::Bytes::from(self.body.unwrap_or_default()),
            },
            "oversize_body" => Fault::OversizeBody {
                bytes: need(self.bytes, "bytes")?,
            },
            "webhook" => Fault::Webhook(WebhookFaults {
                drop: self.drop.unwrap_or(0.0),
                duplicate: self.duplicate.unwrap_or(0.0),
                delay_ms: match self.delay_ms {
                    None => (0, 0),
                    Some((lo, hi)) => (delay_ms(lo)?, delay_ms(hi)?),
                },
                seed: self.seed,
                deliveries: self.times,
            }),
            other => {
                return Err(Error::invalid(format!(
                    "unknown fault kind {other:?}; expected latency, server_error, rate_limited, \
                     connection_reset, truncated_body, malformed_json, oversize_body, response or webhook"
                )));
            }
        };
        let method = self
            .method
            .map(|m| {
                Method::from_bytes(m.to_ascii_uppercase().as_bytes())
                    .map_err(|_| Error::invalid(format!("bad method {m:?}")))
            })
            .transpose()?;
        let matcher = FaultMatch {
            method,
            path_contains: self.path_contains,
            times: u32::try_from(input::at_most(
                self.times.unwrap_or(1),
                MAX_FAULT_TIMES,
                "times",
            )?)
            .unwrap_or(u32::MAX),
        };
        Ok((fault, matcher))
    }
}

/// One end of a `delay_ms` range: a whole number of milliseconds, at most a minute.
fn delay_ms(v: f64) -> Result<u64, Error> {
    let v = input::in_range(v, 0.0, 60_000.0, "delay_ms")?;
    if v.fract() != 0.0 {
        return Err(Error::invalid("delay_ms must hold whole milliseconds"));
    }
    #[allow(
        clippy::cast_possible_truncation,
        clippy::cast_sign_loss,
        reason = "checked: whole, from 0 to 60 000"
    )]
    Ok(v as u64)
}

pub(crate) fn validate(fault: &Fault, matcher: &FaultMatch) -> Result<(), Error> {
    if matcher.times == 0 {
        return Err(Error::invalid("times must be at least 1"));
    }
    match fault {
        Fault::ServerError { status, .. } if !(500..=599).contains(status) => {
            Err(Error::invalid("server_error status must be 500 to 599"))
        }
        Fault::Response {
            status, headers, ..
        } => {
            if !(100..=599).contains(status) {
                return Err(Error::invalid("response status must be 100 to 599"));
            }
            for (name, value) in headers {
                if http::HeaderName::from_bytes(name.as_bytes()).is_err()
                    || http::HeaderValue::from_str(value).is_err()
                {
                    return Err(Error::invalid(format!("bad response header {name:?}")));
                }
            }
            Ok(())
        }
        Fault::Latency(d) if *d > Duration::from_secs(600) => Err(Error::invalid(
            "ms must be at most 600000 (latency of 600 s)",
        )),
        Fault::RateLimited {
            retry_after: Some(s),
            ..
        } if *s > MAX_RETRY_AFTER => Err(Error::invalid(format!(
            "retry_after must be at most {MAX_RETRY_AFTER} seconds"
        ))),
        _ => Ok(()),
    }
}

fn describe(e: &FaultEntry) -> serde_json::Value {
    let mut v = match &e.fault {
        Fault::Latency(d) => serde_json::json!({"kind": "latency", "ms": d.as_millis() as u64}),
        Fault::ServerError {
            status,
            code,
            is_transient,
        } => {
            serde_json::json!({"kind": "server_error", "status": status, "code": code, "is_transient": is_transient})
        }
        Fault::RateLimited { code, retry_after } => {
            serde_json::json!({"kind": "rate_limited", "code": code, "retry_after": retry_after})
        }
        Fault::ConnectionReset => serde_json::json!({"kind": "connection_reset"}),
        Fault::TruncatedBody => serde_json::json!({"kind": "truncated_body"}),
        Fault::MalformedJson => serde_json::json!({"kind": "malformed_json"}),
        Fault::OversizeBody { bytes } => {
            serde_json::json!({"kind": "oversize_body", "bytes": bytes})
        }
        Fault::Response { status, body, .. } => {
            serde_json::json!({"kind": "response", "status": status, "body_bytes": body.len()})
        }
        Fault::Webhook(w) => w.describe(),
    };
    v["method"] = e.matcher.method.as_ref().map(Method::as_str).into();
    v["path_contains"] = e.matcher.path_contains.clone().into();
    v["remaining"] = e.remaining.into();
    v
}
