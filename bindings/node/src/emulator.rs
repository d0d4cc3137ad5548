//! `Emulator`: the Rust emulator (`wa-groups-emulator`) in process, on
//! napi's tokio runtime, for tests of code that uses `Client`.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use napi::bindgen_prelude::{FromNapiValue as _, Object, PromiseRaw, Unknown};
use napi::{Env, ValueType};
use napi_derive::napi;
use wa_groups_emulator::{EmulatorHandle, Fault, GroupOptions, RateLimit, RateLimitScope};

use crate::call::Call;
use crate::error::Failure;
use crate::types::JoinRequest;

/// Settings of an `Emulator`.
#[napi(object)]
pub struct EmulatorOptions {
    /// The token the Graph endpoints accept (default
    /// `wa-groups-emulator-token`).
    pub access_token: Option<String>,
    /// The port on 127.0.0.1 (default: a free one).
    pub port: Option<u32>,
    /// Page size of list calls without `limit` (default 25).
    pub page_size: Option<u32>,
    /// Participant cap of new groups (default 8).
    pub participant_cap: Option<u32>,
    /// Fixes the emulator clock at these Unix seconds: deterministic
    /// creation timestamps.
    pub fixed_clock: Option<i64>,
}

/// Options of `Emulator.createGroup`.
#[napi(object)]
pub struct GroupSettings {
    /// Participants the group holds, the business not counted (default 8).
    pub participant_cap: Option<u32>,
    /// The group's subject.
    pub subject: Option<String>,
    /// The group's description.
    pub description: Option<String>,
}

/// Options of `Emulator.addJoinRequests`.
#[napi(object)]
pub struct AddJoinRequestsOptions {
    /// Requesters known by business-scoped user ID (`userId`,
    /// `username`) instead of `waId`.
    pub business_scoped: Option<bool>,
}

/// A token-bucket rate limit on the Graph API calls; a call over it gets
/// Graph error 131208 with HTTP 429 and a `Retry-After`.
#[napi(object)]
pub struct EmulatorRateLimit {
    /// Calls allowed per second, sustained.
    pub per_second: f64,
    /// Calls allowed at once (default `perSecond`, at least 1).
    pub burst: Option<f64>,
    /// One bucket per group (the default) or one for the phone number.
    #[napi(ts_type = "'group' | 'phone'")]
    pub scope: Option<String>,
}

/// Per-endpoint request counts.
#[napi(object)]
pub struct EmulatorEndpointCounts {
    /// List calls.
    pub list: i64,
    /// Approve calls.
    pub approve: i64,
    /// Reject calls.
    pub reject: i64,
    /// Group info calls.
    pub group_info: i64,
    /// Requests that did not parse.
    pub invalid: i64,
    /// Control calls.
    pub control: i64,
}

/// The emulator's counters.
#[napi(object)]
pub struct EmulatorStats {
    /// Graph API requests received, faulted ones included.
    pub requests: i64,
    /// Per-endpoint counts of requests past faults and the token check.
    pub endpoints: EmulatorEndpointCounts,
    /// Requests refused with code 190.
    pub auth_failures: i64,
    /// Requests answered 131041.
    pub unknown_group: i64,
    /// Requests refused by the rate limit.
    pub rate_limited: i64,
    /// Injected faults applied.
    pub faults_applied: i64,
    /// Join requests approved.
    pub join_requests_approved: i64,
    /// Join requests rejected.
    pub join_requests_rejected: i64,
    /// Per-item failures inside 200 responses.
    pub failed_items: i64,
    /// TCP connections accepted.
    pub connections: i64,
}

fn count(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

impl From<wa_groups_emulator::Stats> for EmulatorStats {
    fn from(s: wa_groups_emulator::Stats) -> Self {
        Self {
            requests: count(s.requests),
            endpoints: EmulatorEndpointCounts {
                list: count(s.endpoints.list),
                approve: count(s.endpoints.approve),
                reject: count(s.endpoints.reject),
                group_info: count(s.endpoints.group_info),
                invalid: count(s.endpoints.invalid),
                control: count(s.endpoints.control),
            },
            auth_failures: count(s.auth_failures),
            unknown_group: count(s.unknown_group),
            rate_limited: count(s.rate_limited),
            faults_applied: count(s.faults_applied),
            join_requests_approved: count(s.join_requests_approved),
            join_requests_rejected: count(s.join_requests_rejected),
            failed_items: count(s.failed_items),
            connections: count(s.connections),
        }
    }
}

fn emulator_failure(message: impl Into<String>) -> Failure {
    Failure::Emulator(message.into())
}

/// A JavaScript value read from an options object, typed.
struct Reader<'a, 'env> {
    obj: Option<&'a Object<'env>>,
}

impl<'env> Reader<'_, 'env> {
    fn value(&self, key: &str) -> Result<Option<Unknown<'env>>, Failure> {
        let Some(obj) = self.obj else { return Ok(None) };
        let v: Option<Unknown<'env>> = obj.get(key).map_err(|e| emulator_failure(e.reason))?;
        match v {
            Some(v) if !matches!(v.get_type(), Ok(ValueType::Undefined | ValueType::Null)) => {
                Ok(Some(v))
            }
            _ => Ok(None),
        }
    }

    fn string(&self, key: &str) -> Result<Option<String>, Failure> {
        self.value(key)?
            .map(|v| {
                String::from_unknown(v)
                    .map_err(|_| emulator_failure(format!("{key} must be a string")))
            })
            .transpose()
    }

    fn number(&self, key: &str) -> Result<Option<f64>, Failure> {
        self.value(key)?
            .map(|v| {
                f64::from_unknown(v)
                    .map_err(|_| emulator_failure(format!("{key} must be a number")))
            })
            .transpose()
    }

    fn whole(&self, key: &str) -> Result<Option<u64>, Failure> {
        match self.number(key)? {
            None => Ok(None),
            Some(n) if n.is_finite() && n >= 0.0 && n.fract() == 0.0 && n <= u64::MAX as f64 => {
                Ok(Some(n as u64))
            }
            Some(_) => Err(emulator_failure(format!(
                "{key} must be a whole number, not negative"
            ))),
        }
    }

    fn bool(&self, key: &str) -> Result<Option<bool>, Failure> {
        self.value(key)?
            .map(|v| {
                bool::from_unknown(v)
                    .map_err(|_| emulator_failure(format!("{key} must be a boolean")))
            })
            .transpose()
    }
}

fn object_arg<'env>(
    value: Option<Unknown<'env>>,
    what: &str,
) -> Result<Option<Object<'env>>, Failure> {
    match value {
        None => Ok(None),
        Some(v) => match v.get_type().map_err(|e| emulator_failure(e.reason))? {
            ValueType::Undefined | ValueType::Null => Ok(None),
            ValueType::Object => Object::from_unknown(v)
                .map(Some)
                .map_err(|e| emulator_failure(e.reason)),
            _ => Err(emulator_failure(format!("{what} must be an object"))),
        },
    }
}

fn small(n: u64, key: &str) -> Result<u32, Failure> {
    u32::try_from(n).map_err(|_| emulator_failure(format!("{key} is too large")))
}

type Slot = Arc<Mutex<Option<EmulatorHandle>>>;

/// The Graph API emulator, in process: a local stand-in for the join
/// request endpoints, for your own tests.
///
/// ```js
/// const emu = await Emulator.start()
/// const client = new Client({ accessToken: emu.accessToken, baseUrl: emu.baseUrl })
/// const group = await emu.createGroup()
/// await emu.addJoinRequests(group, 3)
/// await client.approveAll(group)
/// await emu.stop()
/// ```
///
/// Every method returns a Promise; a failure rejects with an `Error` whose
/// `code` is `ERR_WA_EMULATOR`.
#[napi]
pub struct Emulator {
    options: Option<EmulatorSettings>,
    handle: Slot,
}

/// What `new Emulator(options)` was given, read eagerly.
#[derive(Clone, Default)]
struct EmulatorSettings {
    access_token: Option<String>,
    port: Option<u16>,
    page_size: Option<u32>,
    participant_cap: Option<u32>,
    fixed_clock: Option<i64>,
}

fn settings_of(options: Option<Unknown<'_>>) -> Result<EmulatorSettings, Failure> {
    let obj = object_arg(options, "options")?;
    let r = Reader { obj: obj.as_ref() };
    Ok(EmulatorSettings {
        access_token: r.string("accessToken")?,
        port: r
            .whole("port")?
            .map(|p| u16::try_from(p).map_err(|_| emulator_failure("port must be 0 to 65535")))
            .transpose()?,
        page_size: r
            .whole("pageSize")?
            .map(|n| small(n, "pageSize"))
            .transpose()?,
        participant_cap: r
            .whole("participantCap")?
            .map(|n| small(n, "participantCap"))
            .transpose()?,
        fixed_clock: r.number("fixedClock")?.map(|n| n as i64),
    })
}

async fn start_emulator(settings: EmulatorSettings) -> Result<EmulatorHandle, Failure> {
    let mut builder =
        wa_groups_emulator::Emulator::builder().shutdown_grace(Duration::from_secs(1));
    if let Some(token) = settings.access_token {
        builder = builder.access_token(token);
    }
    if let Some(port) = settings.port {
        builder = builder.port(port);
    }
    if let Some(size) = settings.page_size {
        builder = builder.page_size(size);
    }
    if let Some(cap) = settings.participant_cap {
        builder = builder.participant_cap(cap);
    }
    if let Some(t) = settings.fixed_clock {
        builder = builder.fixed_clock(t);
    }
    Ok(builder.start().await?)
}

fn lock(slot: &Slot) -> std::sync::MutexGuard<'_, Option<EmulatorHandle>> {
    slot.lock().unwrap_or_else(PoisonError::into_inner)
}

/// The running emulator's controller, or the error for one not started.
fn controller(slot: &Slot) -> Result<wa_groups_emulator::Controller, Failure> {
    lock(slot)
        .as_ref()
        .map(EmulatorHandle::controller)
        .ok_or_else(|| emulator_failure("the emulator is not running: call start() first"))
}

fn rejected_with<'env, V: napi::bindgen_prelude::ToNapiValue + Send + 'static>(
    env: &'env Env,
    failure: Failure,
) -> napi::Result<PromiseRaw<'env, V>> {
    Call::unwatched().spawn(env, async move { Err::<V, _>(failure) }, |_, v| Ok(v))
}

#[napi]
impl Emulator {
    /// An emulator with these settings, not yet running: call `start()`.
    #[napi(constructor, ts_args_type = "options?: EmulatorOptions")]
    pub fn new(env: Env, options: Option<Unknown<'_>>) -> napi::Result<Self> {
        match settings_of(options) {
            Ok(settings) => Ok(Self {
                options: Some(settings),
                handle: Arc::default(),
            }),
            Err(f) => Err(f.into_napi(&env, None)),
        }
    }

    /// Starts a new emulator on 127.0.0.1 and resolves to it.
    #[napi(
        js_name = "start",
        ts_args_type = "options?: EmulatorOptions",
        ts_return_type = "Promise<Emulator>"
    )]
    pub fn start_new<'env>(
        env: &'env Env,
        options: Option<Unknown<'env>>,
    ) -> napi::Result<PromiseRaw<'env, Emulator>> {
        let settings = settings_of(options);
        Call::unwatched().spawn(
            env,
            async move {
                let settings = settings?;
                let handle = start_emulator(settings.clone()).await?;
                Ok((settings, handle))
            },
            |_, (settings, handle)| {
                Ok(Emulator {
                    options: Some(settings),
                    handle: Arc::new(Mutex::new(Some(handle))),
                })
            },
        )
    }

    /// Starts this emulator; resolves when it accepts connections.
    #[napi(js_name = "start", ts_return_type = "Promise<void>")]
    pub fn start<'env>(&self, env: &'env Env) -> napi::Result<PromiseRaw<'env, ()>> {
        let settings = self.options.clone().unwrap_or_default();
        let slot = Arc::clone(&self.handle);
        if lock(&slot).is_some() {
            return rejected_with(env, emulator_failure("the emulator is already running"));
        }
        Call::unwatched().spawn(
            env,
            async move {
                let handle = start_emulator(settings).await?;
                let mut guard = lock(&slot);
                if guard.is_some() {
                    return Err(emulator_failure("the emulator is already running"));
                }
                *guard = Some(handle);
                Ok(())
            },
            |_, ()| Ok(()),
        )
    }

    /// Stops the emulator (open connections finish their request); a
    /// stopped emulator may be started again, on another port.
    #[napi(ts_return_type = "Promise<void>")]
    pub fn stop<'env>(&self, env: &'env Env) -> napi::Result<PromiseRaw<'env, ()>> {
        let handle = lock(&self.handle).take();
        Call::unwatched().spawn(
            env,
            async move {
                if let Some(h) = handle {
                    h.shutdown().await;
                }
                Ok(())
            },
            |_, ()| Ok(()),
        )
    }

    /// The base URL to give a `Client`, such as `http://127.0.0.1:41234`.
    /// Throws `ERR_WA_EMULATOR` when the emulator is not running.
    #[napi(getter)]
    pub fn base_url(&self, env: Env) -> napi::Result<String> {
        controller(&self.handle)
            .map(|c| c.base_url().to_owned())
            .map_err(|f| f.into_napi(&env, None))
    }

    /// The access token the emulator accepts.
    #[napi(getter)]
    pub fn access_token(&self, env: Env) -> napi::Result<String> {
        controller(&self.handle)
            .map(|c| c.access_token().to_owned())
            .map_err(|f| f.into_napi(&env, None))
    }

    /// Creates a group (no participants but the business) and resolves to
    /// its ID.
    #[napi(
        ts_args_type = "options?: GroupSettings",
        ts_return_type = "Promise<string>"
    )]
    pub fn create_group<'env>(
        &self,
        env: &'env Env,
        options: Option<Unknown<'env>>,
    ) -> napi::Result<PromiseRaw<'env, String>> {
        let input = (|| -> Result<_, Failure> {
            let obj = object_arg(options, "options")?;
            let r = Reader { obj: obj.as_ref() };
            let mut o = GroupOptions::new();
            if let Some(cap) = r.whole("participantCap")? {
                o = o.participant_cap(small(cap, "participantCap")?);
            }
            if let Some(s) = r.string("subject")? {
                o = o.subject(s);
            }
            if let Some(d) = r.string("description")? {
                o = o.description(d);
            }
            Ok(o)
        })();
        let ctl = controller(&self.handle);
        Call::unwatched().spawn(
            env,
            async move { Ok(ctl?.create_group(input?)?) },
            |_, id| Ok(id),
        )
    }

    /// Adds `count` pending join requests to the group and resolves to
    /// their IDs.
    #[napi(
        ts_args_type = "groupId: string, count: number, options?: AddJoinRequestsOptions",
        ts_return_type = "Promise<string[]>"
    )]
    pub fn add_join_requests<'env>(
        &self,
        env: &'env Env,
        group_id: Unknown<'env>,
        count: Unknown<'env>,
        options: Option<Unknown<'env>>,
    ) -> napi::Result<PromiseRaw<'env, Vec<String>>> {
        let input = (|| -> Result<_, Failure> {
            let group = String::from_unknown(group_id)
                .map_err(|_| emulator_failure("groupId must be a string"))?;
            let n =
                f64::from_unknown(count).map_err(|_| emulator_failure("count must be a number"))?;
            if !(n.is_finite() && n >= 0.0 && n.fract() == 0.0) {
                return Err(emulator_failure(
                    "count must be a whole number, not negative",
                ));
            }
            let obj = object_arg(options, "options")?;
            let business = Reader { obj: obj.as_ref() }
                .bool("businessScoped")?
                .unwrap_or(false);
            Ok((group, n as usize, business))
        })();
        let ctl = controller(&self.handle);
        Call::unwatched().spawn(
            env,
            async move {
                let ctl = ctl?;
                let (group, n, business) = input?;
                Ok(if business {
                    ctl.add_business_scoped_join_requests(&group, n)?
                } else {
                    ctl.add_join_requests(&group, n)?
                })
            },
            |_, ids| Ok(ids),
        )
    }

    /// The group's pending join requests, oldest first.
    #[napi(
        ts_args_type = "groupId: string",
        ts_return_type = "Promise<JoinRequest[]>"
    )]
    pub fn pending_join_requests<'env>(
        &self,
        env: &'env Env,
        group_id: Unknown<'env>,
    ) -> napi::Result<PromiseRaw<'env, Vec<JoinRequest>>> {
        let group = String::from_unknown(group_id)
            .map_err(|_| emulator_failure("groupId must be a string"));
        let ctl = controller(&self.handle);
        Call::unwatched().spawn(
            env,
            async move { Ok(ctl?.pending_join_requests(&group?)?) },
            |_, list| Ok(list.into_iter().map(JoinRequest::from).collect()),
        )
    }

    /// The group's participants (`waId` or `userId`), the business not
    /// listed.
    #[napi(ts_args_type = "groupId: string", ts_return_type = "Promise<string[]>")]
    pub fn participants<'env>(
        &self,
        env: &'env Env,
        group_id: Unknown<'env>,
    ) -> napi::Result<PromiseRaw<'env, Vec<String>>> {
        let group = String::from_unknown(group_id)
            .map_err(|_| emulator_failure("groupId must be a string"));
        let ctl = controller(&self.handle);
        Call::unwatched().spawn(
            env,
            async move { Ok(ctl?.participants(&group?)?) },
            |_, list| Ok(list),
        )
    }

    /// Revokes a pending join request, as its requester would.
    #[napi(
        ts_args_type = "groupId: string, joinRequestId: string",
        ts_return_type = "Promise<void>"
    )]
    pub fn revoke_join_request<'env>(
        &self,
        env: &'env Env,
        group_id: Unknown<'env>,
        join_request_id: Unknown<'env>,
    ) -> napi::Result<PromiseRaw<'env, ()>> {
        let input = (|| -> Result<_, Failure> {
            let group = String::from_unknown(group_id)
                .map_err(|_| emulator_failure("groupId must be a string"))?;
            let id = String::from_unknown(join_request_id)
                .map_err(|_| emulator_failure("joinRequestId must be a string"))?;
            Ok((group, id))
        })();
        let ctl = controller(&self.handle);
        Call::unwatched().spawn(
            env,
            async move {
                let (group, id) = input?;
                Ok(ctl?.revoke_join_request(&group, &id)?)
            },
            |_, ()| Ok(()),
        )
    }

    /// Makes the next matching Graph API calls misbehave: `{ kind, ...,
    /// method?, pathContains?, times? }` (`times` default 1).
    #[napi(
        ts_args_type = "fault: EmulatorFault",
        ts_return_type = "Promise<void>"
    )]
    pub fn inject_fault<'env>(
        &self,
        env: &'env Env,
        fault: Unknown<'env>,
    ) -> napi::Result<PromiseRaw<'env, ()>> {
        // The emulator reads the description itself, so every language
        // knows the same fault kinds and fields.
        let input = object_arg(Some(fault), "fault").and_then(|obj| {
            let obj = obj.ok_or_else(|| emulator_failure("a fault is required"))?;
            let value: serde_json::Value = env
                .from_js_value(obj)
                .map_err(|e| emulator_failure(format!("fault: {}", e.reason)))?;
            Ok(Fault::from_value(value)?)
        });
        let ctl = controller(&self.handle);
        Call::unwatched().spawn(
            env,
            async move {
                let (fault, matcher) = input?;
                Ok(ctl?.inject_fault(fault, matcher)?)
            },
            |_, ()| Ok(()),
        )
    }

    /// Drops every queued fault; resolves to how many there were.
    #[napi(ts_return_type = "Promise<number>")]
    pub fn clear_faults<'env>(&self, env: &'env Env) -> napi::Result<PromiseRaw<'env, u32>> {
        let ctl = controller(&self.handle);
        Call::unwatched().spawn(
            env,
            async move { Ok(u32::try_from(ctl?.clear_faults()).unwrap_or(u32::MAX)) },
            |_, n| Ok(n),
        )
    }

    /// Sets a rate limit on the Graph API calls, or removes it (`null`).
    #[napi(
        ts_args_type = "limit: EmulatorRateLimit | null",
        ts_return_type = "Promise<void>"
    )]
    pub fn set_rate_limit<'env>(
        &self,
        env: &'env Env,
        limit: Unknown<'env>,
    ) -> napi::Result<PromiseRaw<'env, ()>> {
        let input = object_arg(Some(limit), "limit").and_then(|obj| {
            let Some(obj) = obj else { return Ok(None) };
            let r = Reader { obj: Some(&obj) };
            let per_second = r
                .number("perSecond")?
                .ok_or_else(|| emulator_failure("a rate limit needs perSecond"))?;
            let mut limit = match r.string("scope")?.as_deref() {
                None | Some("group") => RateLimit::per_group(per_second),
                Some("phone") => RateLimit::per_phone(per_second),
                Some(other) => {
                    return Err(emulator_failure(format!(
                        "unknown rate limit scope {other:?}"
                    )));
                }
            };
            if let Some(b) = r.number("burst")? {
                limit = limit.burst(b);
            }
            debug_assert!(matches!(
                limit.scope,
                RateLimitScope::Group | RateLimitScope::Phone
            ));
            Ok(Some(limit))
        });
        let ctl = controller(&self.handle);
        Call::unwatched().spawn(
            env,
            async move { Ok(ctl?.set_rate_limit(input?)?) },
            |_, ()| Ok(()),
        )
    }

    /// A snapshot of the emulator's counters.
    #[napi(ts_return_type = "Promise<EmulatorStats>")]
    pub fn stats<'env>(&self, env: &'env Env) -> napi::Result<PromiseRaw<'env, EmulatorStats>> {
        let ctl = controller(&self.handle);
        Call::unwatched().spawn(env, async move { Ok(ctl?.stats()) }, |_, s| {
            Ok(EmulatorStats::from(s))
        })
    }

    /// Zeroes the counters.
    #[napi(ts_return_type = "Promise<void>")]
    pub fn reset_stats<'env>(&self, env: &'env Env) -> napi::Result<PromiseRaw<'env, ()>> {
        let ctl = controller(&self.handle);
        Call::unwatched().spawn(
            env,
            async move {
                ctl?.reset_stats();
                Ok(())
            },
            |_, ()| Ok(()),
        )
    }
}
