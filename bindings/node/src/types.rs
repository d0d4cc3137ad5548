//! Results as plain JavaScript objects in camelCase, and the option bags
//! as TypeScript sees them.

use napi::bindgen_prelude::{Either, ToNapiValue};
use napi::sys;
use napi_derive::napi;

/// Settings of a `Client`, all validated when it is
/// constructed (an invalid one throws an `ERR_WA_INVALID_INPUT` error
/// naming it).
#[napi(object)]
pub struct ClientOptions {
    /// The access token (required), sent as `Authorization: Bearer`. It
    /// never appears in an error's message, properties or stack.
    pub access_token: String,
    /// The Graph API version (default `v23.0`).
    pub api_version: Option<String>,
    /// The API's base URL (default `https://graph.facebook.com`); `http://`
    /// only for a loopback host, such as the emulator.
    pub base_url: Option<String>,
    /// Your own `product/version` (such as `myapp/1.2.3`), appended to the
    /// user agent `wa-groups/<version>;node=<node version>` after one space.
    pub user_agent: Option<String>,
    /// Time allowed for one attempt, in milliseconds (default 30000).
    pub timeout_ms: Option<f64>,
    /// Time allowed for a whole call, in milliseconds (default none): every
    /// attempt, retry wait and chunk (one page, for `joinRequests`).
    /// Reaching it rejects with `ERR_WA_TIMEOUT` (`timeoutMs` is this).
    pub total_timeout_ms: Option<f64>,
    /// Retries after the first attempt (default 3); 0 disables retries.
    pub max_retries: Option<u32>,
    /// Join request IDs per approve or reject request (default 100); longer
    /// lists are split into chunks.
    pub max_ids_per_request: Option<u32>,
    /// Chunks of one approve or reject call in flight at once (default 4).
    pub max_concurrency: Option<u32>,
}

/// Options of every call.
#[napi(object)]
pub struct CallOptions {
    /// Cancels the call: its Promise rejects with an `AbortError` (`code`
    /// `ABORT_ERR`) and the request in flight is dropped.
    #[napi(ts_type = "AbortSignal")]
    pub signal: Option<()>,
}

/// Options of `listJoinRequests`.
#[napi(object)]
pub struct ListOptions {
    /// Page size, 1 to 1000 (the API's default when absent).
    pub limit: Option<u32>,
    /// The page after this cursor (a previous page's `after`).
    pub after: Option<String>,
    /// The page before this cursor (a later page's `before`).
    pub before: Option<String>,
    /// Cancels the call.
    #[napi(ts_type = "AbortSignal")]
    pub signal: Option<()>,
}

/// One pending join request.
#[napi(object, use_nullable = true)]
pub struct JoinRequest {
    /// The ID approve and reject take.
    pub join_request_id: String,
    /// The requester's WhatsApp ID (absent for business-scoped users).
    pub wa_id: Option<String>,
    /// When the request was made, in Unix seconds.
    pub creation_timestamp: i64,
    /// The requester's business-scoped user ID.
    pub user_id: Option<String>,
    /// The business-scoped parent user ID.
    pub parent_user_id: Option<String>,
    /// The requester's username.
    pub username: Option<String>,
}

impl From<wa_groups::JoinRequest> for JoinRequest {
    fn from(r: wa_groups::JoinRequest) -> Self {
        Self {
            join_request_id: r.join_request_id.as_str().to_owned(),
            wa_id: r.wa_id,
            creation_timestamp: r.creation_timestamp,
            user_id: r.user_id,
            parent_user_id: r.parent_user_id,
            username: r.username,
        }
    }
}

/// One page of pending join requests.
#[napi(object, use_nullable = true)]
pub struct JoinRequestPage {
    /// The requests on this page, oldest first.
    pub data: Vec<JoinRequest>,
    /// The cursor of the next page; `null` on the last page.
    pub after: Option<String>,
    /// The cursor of the previous page, when the API gave one.
    pub before: Option<String>,
}

impl From<wa_groups::JoinRequestPage> for JoinRequestPage {
    fn from(p: wa_groups::JoinRequestPage) -> Self {
        Self {
            data: p.data.into_iter().map(JoinRequest::from).collect(),
            after: p.after.map(|c| c.as_str().to_owned()),
            before: p.before.map(|c| c.as_str().to_owned()),
        }
    }
}

/// A Graph error about one item or a whole call.
#[napi(object, use_nullable = true)]
pub struct ErrorDetail {
    /// The Graph error code, such as 131213 (no such pending request).
    pub code: i64,
    /// A short title.
    pub title: Option<String>,
    /// The message.
    pub message: Option<String>,
    /// Details.
    pub details: Option<String>,
}

impl From<wa_groups::ErrorDetail> for ErrorDetail {
    fn from(e: wa_groups::ErrorDetail) -> Self {
        Self {
            code: e.code,
            title: e.title,
            message: e.message,
            details: e.details,
        }
    }
}

/// A join request that could not be approved or rejected, and why.
#[napi(object)]
pub struct FailedJoinRequest {
    /// The join request ID.
    pub join_request_id: String,
    /// Why it failed.
    pub errors: Vec<ErrorDetail>,
}

impl From<wa_groups::FailedJoinRequest> for FailedJoinRequest {
    fn from(f: wa_groups::FailedJoinRequest) -> Self {
        Self {
            join_request_id: f.join_request_id.as_str().to_owned(),
            errors: f.errors.into_iter().map(ErrorDetail::from).collect(),
        }
    }
}

fn ids(ids: Vec<wa_groups::JoinRequestId>) -> Vec<String> {
    ids.iter().map(|id| id.as_str().to_owned()).collect()
}

/// The outcome of an approve call. Partial failure is a result: each ID
/// given is in `approved` or in `failed`, in input order.
#[napi(object, object_to_js = false)]
pub struct ApproveOutcome {
    /// The IDs approved.
    pub approved: Vec<String>,
    /// The IDs not approved, with their errors.
    pub failed: Vec<FailedJoinRequest>,
    /// Errors about the call as a whole.
    pub errors: Vec<ErrorDetail>,
}

impl From<wa_groups::ApproveOutcome> for ApproveOutcome {
    fn from(o: wa_groups::ApproveOutcome) -> Self {
        Self {
            approved: ids(o.approved),
            failed: o.failed.into_iter().map(FailedJoinRequest::from).collect(),
            errors: o.errors.into_iter().map(ErrorDetail::from).collect(),
        }
    }
}

/// The outcome of a reject call, like `ApproveOutcome`.
#[napi(object, object_to_js = false)]
pub struct RejectOutcome {
    /// The IDs rejected.
    pub rejected: Vec<String>,
    /// The IDs not rejected, with their errors.
    pub failed: Vec<FailedJoinRequest>,
    /// Errors about the call as a whole.
    pub errors: Vec<ErrorDetail>,
}

impl From<wa_groups::RejectOutcome> for RejectOutcome {
    fn from(o: wa_groups::RejectOutcome) -> Self {
        Self {
            rejected: ids(o.rejected),
            failed: o.failed.into_iter().map(FailedJoinRequest::from).collect(),
            errors: o.errors.into_iter().map(ErrorDetail::from).collect(),
        }
    }
}

impl ToNapiValue for ApproveOutcome {
    unsafe fn to_napi_value(env: sys::napi_env, val: Self) -> napi::Result<sys::napi_value> {
        // SAFETY: as the caller's: `env` is the live environment of this
        // thread, in a handle scope.
        unsafe { outcome_object(env, Decision::Approve, val.approved, val.failed, val.errors) }
    }
}

impl ToNapiValue for RejectOutcome {
    unsafe fn to_napi_value(env: sys::napi_env, val: Self) -> napi::Result<sys::napi_value> {
        // SAFETY: as for `ApproveOutcome`.
        unsafe { outcome_object(env, Decision::Reject, val.rejected, val.failed, val.errors) }
    }
}

#[derive(Clone, Copy)]
enum Decision {
    Approve,
    Reject,
}

/// The functions that make the outcome objects, per JavaScript thread:
/// the environment they belong to and a reference to each.
#[derive(Clone, Copy)]
struct OutcomeMakers {
    env: sys::napi_env,
    approve: sys::napi_ref,
    reject: sys::napi_ref,
}

thread_local! {
    static OUTCOME_MAKERS: std::cell::Cell<Option<OutcomeMakers>> =
        const { std::cell::Cell::new(None) };
}

/// `{ approved | rejected, failed, errors }`, made by an object literal in
/// a small JavaScript function (compiled once per thread) rather than
/// property by property: `#[napi(object)]`'s conversion defines each
/// property with `napi_define_properties`, which makes the key string from
/// UTF-8 and goes through V8's generic `CreateDataProperty` each time,
/// about 5,500 instructions an outcome (a quarter of what the binding adds
/// to a call at 64 in flight). The literal's object is the same: own,
/// writable, enumerable, configurable data properties, in that order.
unsafe fn outcome_object(
    env: sys::napi_env,
    decision: Decision,
    ids: Vec<String>,
    failed: Vec<FailedJoinRequest>,
    errors: Vec<ErrorDetail>,
) -> napi::Result<sys::napi_value> {
    // SAFETY (every block below): `env` is this thread's live environment,
    // in a handle scope; every out-pointer is valid.
    let args = unsafe {
        [
            Vec::<String>::to_napi_value(env, ids)?,
            Vec::<FailedJoinRequest>::to_napi_value(env, failed)?,
            Vec::<ErrorDetail>::to_napi_value(env, errors)?,
        ]
    };
    let makers = match OUTCOME_MAKERS.with(std::cell::Cell::get) {
        Some(m) if m.env == env => m,
        _ => {
            let m = OutcomeMakers {
                env,
                approve: unsafe { compile_maker(env, "approved")? },
                reject: unsafe { compile_maker(env, "rejected")? },
            };
            OUTCOME_MAKERS.with(|c| c.set(Some(m)));
            m
        }
    };
    let maker_ref = match decision {
        Decision::Approve => makers.approve,
        Decision::Reject => makers.reject,
    };
    let mut maker = std::ptr::null_mut();
    let mut undefined = std::ptr::null_mut();
    let mut out = std::ptr::null_mut();
    unsafe {
        check(sys::napi_get_reference_value(env, maker_ref, &mut maker))?;
        check(sys::napi_get_undefined(env, &mut undefined))?;
        check(sys::napi_call_function(
            env,
            undefined,
            maker,
            args.len(),
            args.as_ptr(),
            &mut out,
        ))?;
    }
    Ok(out)
}

/// Compiles `(ids, failed, errors) => ({ <key>: ids, failed, errors })`
/// and keeps it alive with a reference (for the thread's lifetime).
unsafe fn compile_maker(env: sys::napi_env, key: &str) -> napi::Result<sys::napi_ref> {
    let source =
        format!("(function (ids, failed, errors) {{ return {{ {key}: ids, failed, errors }} }})");
    let mut script = std::ptr::null_mut();
    let mut function = std::ptr::null_mut();
    let mut reference = std::ptr::null_mut();
    // SAFETY: as in `outcome_object`.
    unsafe {
        check(sys::napi_create_string_utf8(
            env,
            source.as_ptr().cast(),
            source.len() as isize,
            &mut script,
        ))?;
        check(sys::napi_run_script(env, script, &mut function))?;
        check(sys::napi_create_reference(env, function, 1, &mut reference))?;
    }
    Ok(reference)
}

fn check(status: sys::napi_status) -> napi::Result<()> {
    if status == sys::Status::napi_ok {
        Ok(())
    } else {
        Err(napi::Error::new(
            napi::Status::from(status),
            "could not build an outcome object",
        ))
    }
}

/// One step of `joinRequests`: the iterator protocol's result,
/// `{ done, value? }`. A map, not a `#[napi(object)]`, because such an
/// object would be declared in `index.d.ts` where `next()` is typed with
/// TypeScript's own `IteratorResult`.
pub type JoinRequestStep = std::collections::HashMap<&'static str, Either<bool, JoinRequest>>;

/// The step for `item`: `{ done: false, value }`, or `{ done: true }`.
pub fn join_request_step(item: Option<wa_groups::JoinRequest>) -> JoinRequestStep {
    let mut step = JoinRequestStep::new();
    step.insert("done", Either::A(item.is_none()));
    if let Some(item) = item {
        step.insert("value", Either::B(JoinRequest::from(item)));
    }
    step
}
