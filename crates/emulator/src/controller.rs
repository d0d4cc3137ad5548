//! The in-process control API: what `/_emulator/` serves over HTTP, and what
//! the Python and Node `Emulator` test helpers wrap.

use std::sync::{Arc, MutexGuard};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use wa_groups_protocol::{JoinRequest, JoinRequestId};

use crate::fault::{self, Fault, FaultEntry, FaultMatch};
use crate::seed::{Seed, SeededGroup};
use crate::server::Shared;
use crate::state::{Events, Reserved, State};
use crate::stats::Stats;
use crate::{Error, webhook};

/// A group's `join_approval_mode`, as `GroupInfo` reports it. The emulator
/// only reports it: join requests are pending in either mode.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum JoinApprovalMode {
    /// `approval_required`: an admin approves each request (the default).
    #[default]
    ApprovalRequired,
    /// `auto_approve`.
    AutoApprove,
}

impl JoinApprovalMode {
    /// The wire spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::ApprovalRequired => "approval_required",
            Self::AutoApprove => "auto_approve",
        }
    }
}

/// How to create a group. `GroupOptions::default()` is a group with the
/// emulator's default participant cap (8), `approval_required`, no subject
/// and a generated ID.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GroupOptions {
    /// How many participants (the business not counted) the group holds; the
    /// emulator's default (8) when `None`.
    #[serde(default)]
    pub participant_cap: Option<u32>,
    /// The join approval mode; `approval_required` when `None`.
    #[serde(default)]
    pub join_approval_mode: Option<JoinApprovalMode>,
    /// The group's subject.
    #[serde(default)]
    pub subject: Option<String>,
    /// The group's description.
    #[serde(default)]
    pub description: Option<String>,
    /// A fixed group ID (it must pass `GroupId` validation and be new);
    /// generated when `None`.
    #[serde(default)]
    pub group_id: Option<String>,
}

impl GroupOptions {
    /// The default options.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets the participant cap.
    #[must_use]
    pub fn participant_cap(mut self, cap: u32) -> Self {
        self.participant_cap = Some(cap);
        self
    }

    /// Sets the join approval mode.
    #[must_use]
    pub fn join_approval_mode(mut self, mode: JoinApprovalMode) -> Self {
        self.join_approval_mode = Some(mode);
        self
    }

    /// Sets the subject.
    #[must_use]
    pub fn subject(mut self, subject: impl Into<String>) -> Self {
        self.subject = Some(subject.into());
        self
    }

    /// Sets the description.
    #[must_use]
    pub fn description(mut self, description: impl Into<String>) -> Self {
        self.description = Some(description.into());
        self
    }

    /// Fixes the group ID.
    #[must_use]
    pub fn group_id(mut self, id: impl Into<String>) -> Self {
        self.group_id = Some(id.into());
        self
    }
}

/// Who asks to join: a WhatsApp user, or a business-scoped user (known by
/// `user_id`, with no `wa_id`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Requester {
    /// A user known by WhatsApp ID.
    WaId(String),
    /// A business-scoped user.
    BusinessScoped {
        /// The business-scoped user ID.
        user_id: String,
        /// The username, if any.
        username: Option<String>,
        /// The business-scoped parent user ID, if any.
        parent_user_id: Option<String>,
    },
}

impl Requester {
    /// The synthetic WhatsApp user number `n`: `1555` and 7 digits.
    pub fn synthetic(n: u64) -> Self {
        Self::WaId(format!("1555{:07}", n % 10_000_000))
    }

    /// The synthetic business-scoped user number `n`.
    pub fn synthetic_business_scoped(n: u64) -> Self {
        Self::BusinessScoped {
            user_id: format!("US.{}", 1_300_000_000_000_000_u64 + n),
            username: Some(format!("user_{n}")),
            parent_user_id: None,
        }
    }

    /// The `wa_id`, or for a business-scoped user the `user_id`: what
    /// [`Controller::participants`] lists.
    pub fn id(&self) -> &str {
        match self {
            Self::WaId(w) => w,
            Self::BusinessScoped { user_id, .. } => user_id,
        }
    }

    /// How `GroupInfo` lists this requester once they joined.
    pub(crate) fn participant(&self) -> wa_groups_protocol::Participant {
        match self {
            Self::WaId(w) => wa_groups_protocol::Participant {
                wa_id: Some(w.clone()),
                user_id: None,
                username: None,
            },
            Self::BusinessScoped {
                user_id, username, ..
            } => wa_groups_protocol::Participant {
                wa_id: None,
                user_id: Some(user_id.clone()),
                username: username.clone(),
            },
        }
    }

    pub(crate) fn of(r: &JoinRequest) -> Self {
        match (&r.wa_id, &r.user_id) {
            (Some(w), _) => Self::WaId(w.clone()),
            (None, user_id) => Self::BusinessScoped {
                user_id: user_id.clone().unwrap_or_default(),
                username: r.username.clone(),
                parent_user_id: r.parent_user_id.clone(),
            },
        }
    }

    pub(crate) fn into_join_request(
        self,
        join_request_id: JoinRequestId,
        creation_timestamp: i64,
    ) -> JoinRequest {
        let mut r = JoinRequest {
            join_request_id,
            wa_id: None,
            creation_timestamp,
            user_id: None,
            parent_user_id: None,
            username: None,
        };
        match self {
            Self::WaId(w) => r.wa_id = Some(w),
            Self::BusinessScoped {
                user_id,
                username,
                parent_user_id,
            } => {
                r.user_id = Some(user_id);
                r.username = username;
                r.parent_user_id = parent_user_id;
            }
        }
        r
    }
}

/// What one rate-limit bucket covers.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RateLimitScope {
    /// One bucket per group (the default).
    #[default]
    Group,
    /// One bucket for the business phone number: every group together.
    Phone,
}

/// A token bucket rate limit on the Graph API calls (list, approve, reject,
/// group info): `per_second` tokens a second, up to `burst` saved. A call
/// without a token is answered 131208, HTTP 429, with `Retry-After`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RateLimit {
    /// Calls allowed per second, sustained
    /// ([`MIN_RATE_PER_SECOND`](crate::MIN_RATE_PER_SECOND) to [`MAX_RATE`](crate::MAX_RATE)).
    #[serde(deserialize_with = "crate::input::number::<crate::input::PerSecond, _>")]
    pub per_second: f64,
    /// Calls allowed at once; `per_second` (at least 1) when `None`.
    #[serde(
        default,
        deserialize_with = "crate::input::number_opt::<crate::input::Burst, _>"
    )]
    pub burst: Option<f64>,
    /// Per group or per phone number.
    #[serde(default)]
    pub scope: RateLimitScope,
}

impl RateLimit {
    /// `per_second` calls a second per group.
    pub fn per_group(per_second: f64) -> Self {
        Self {
            per_second,
            burst: None,
            scope: RateLimitScope::Group,
        }
    }

    /// `per_second` calls a second for the phone number.
    pub fn per_phone(per_second: f64) -> Self {
        Self {
            per_second,
            burst: None,
            scope: RateLimitScope::Phone,
        }
    }

    /// Sets the burst size.
    #[must_use]
    pub fn burst(mut self, burst: f64) -> Self {
        self.burst = Some(burst);
        self
    }

    pub(crate) fn burst_size(&self) -> f64 {
        self.burst.unwrap_or(self.per_second).max(1.0)
    }

    /// Checks the rate and burst are finite and within bounds, so the
    /// bucket's arithmetic can never overflow a `Duration`.
    pub(crate) fn validate(&self) -> Result<(), Error> {
        use crate::input::{MAX_RATE, MIN_RATE_PER_SECOND, in_range};
        in_range(self.per_second, MIN_RATE_PER_SECOND, MAX_RATE, "per_second")?;
        if let Some(b) = self.burst {
            in_range(b, f64::MIN_POSITIVE, MAX_RATE, "burst")?;
        }
        Ok(())
    }
}

/// `count` if one call may add that many join requests.
fn join_request_count(count: usize) -> Result<u64, Error> {
    crate::input::at_most(
        count as u64,
        crate::input::MAX_JOIN_REQUESTS_PER_CALL,
        "count",
    )
}

/// A cheap, cloneable handle on a running emulator's state: everything the
/// control API does, in process. [`EmulatorHandle`](crate::EmulatorHandle)
/// dereferences to it. All methods are synchronous and quick (they take a
/// lock for a moment), so bindings may call them from any thread.
#[derive(Clone)]
pub struct Controller {
    pub(crate) shared: Arc<Shared>,
}

impl std::fmt::Debug for Controller {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Controller")
            .field("base_url", &self.shared.base_url)
            .finish_non_exhaustive()
    }
}

impl Controller {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.shared.lock()
    }

    fn send(&self, events: Events) {
        if let Some((target, events)) = events {
            webhook::enqueue(&self.shared, &target, &events);
        }
    }

    /// The base URL to give a client, such as `http://127.0.0.1:41234`
    /// (no trailing slash; paths are `/{version}/...`, any version).
    pub fn base_url(&self) -> &str {
        &self.shared.base_url
    }

    /// The access token the Graph endpoints accept.
    pub fn access_token(&self) -> &str {
        &self.shared.config.access_token
    }

    /// The emulator's clock, in Unix seconds (creation timestamps and
    /// webhook timestamps come from it).
    pub fn now(&self) -> i64 {
        self.shared.clock.now_secs()
    }

    /// Moves the emulator's clock forward (to age cursors past their TTL,
    /// or to space out creation timestamps).
    ///
    /// # Errors
    ///
    /// [`Error::InvalidInput`] for more than
    /// [`MAX_ADVANCE_SECONDS`](crate::MAX_ADVANCE_SECONDS) at once, or past
    /// the year 9999 ([`MAX_CLOCK_SECONDS`](crate::MAX_CLOCK_SECONDS)).
    pub fn advance_clock(&self, by: Duration) -> Result<(), Error> {
        self.shared.clock.advance(by)
    }

    /// Creates a group and returns its ID. A new group has no participants
    /// but the business, which is implicit: never listed, never counted
    /// against the cap.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidInput`] for a bad or taken `group_id`.
    pub fn create_group(&self, options: GroupOptions) -> Result<String, Error> {
        let cfg = &self.shared.config;
        let now = self.now();
        self.lock().create_group(
            &options,
            cfg.participant_cap,
            &cfg.display_phone_number,
            now,
        )
    }

    /// The IDs of every group, oldest first.
    pub fn groups(&self) -> Vec<String> {
        self.lock().group_ids()
    }

    /// Adds `count` pending join requests from synthetic WhatsApp users
    /// (`wa_id` `1555…`) and returns their IDs, oldest first.
    ///
    /// # Errors
    ///
    /// [`Error::UnknownGroup`], or [`Error::InvalidInput`] for more than
    /// [`MAX_JOIN_REQUESTS_PER_CALL`](crate::MAX_JOIN_REQUESTS_PER_CALL).
    pub fn add_join_requests(&self, group_id: &str, count: usize) -> Result<Vec<String>, Error> {
        self.add_synthetic(group_id, count, Requester::synthetic)
    }

    /// Like [`add_join_requests`](Self::add_join_requests), from
    /// business-scoped users (`user_id` `US.…` and `username`, no `wa_id`).
    ///
    /// # Errors
    ///
    /// As [`add_join_requests`](Self::add_join_requests).
    pub fn add_business_scoped_join_requests(
        &self,
        group_id: &str,
        count: usize,
    ) -> Result<Vec<String>, Error> {
        self.add_synthetic(group_id, count, Requester::synthetic_business_scoped)
    }

    fn add_synthetic(
        &self,
        group_id: &str,
        count: usize,
        make: fn(u64) -> Requester,
    ) -> Result<Vec<String>, Error> {
        let count = join_request_count(count)?;
        let now = self.now();
        // Reserve the sequence numbers under the lock, build the requests
        // outside it, insert them under it again: the lock is held for the
        // B-tree inserts only.
        let base = self.lock().reserve(group_id, count)?;
        let requests = (0..count).map(|i| make(base.seq + i));
        self.insert_join_requests(group_id, &base, requests, now)
    }

    fn insert_join_requests(
        &self,
        group_id: &str,
        base: &Reserved,
        requesters: impl Iterator<Item = Requester>,
        now: i64,
    ) -> Result<Vec<String>, Error> {
        let (ids, batch) = base.build(requesters, now);
        let events = self.lock().insert_pending(group_id, batch, now)?;
        self.send(events);
        Ok(ids)
    }

    /// Adds one pending join request per requester and returns their IDs.
    ///
    /// # Errors
    ///
    /// As [`add_join_requests`](Self::add_join_requests).
    pub fn add_join_requests_from<I>(
        &self,
        group_id: &str,
        requesters: I,
    ) -> Result<Vec<String>, Error>
    where
        I: IntoIterator<Item = Requester>,
    {
        let limit = crate::input::MAX_JOIN_REQUESTS_PER_CALL;
        let who: Vec<Requester> = requesters
            .into_iter()
            .take(usize::try_from(limit + 1).unwrap_or(usize::MAX))
            .collect();
        let count = join_request_count(who.len())?;
        let now = self.now();
        let base = self.lock().reserve(group_id, count)?;
        self.insert_join_requests(group_id, &base, who.into_iter(), now)
    }

    /// The requester withdraws a pending join request: it leaves the queue
    /// and a `group_join_request_revoked` webhook is sent.
    ///
    /// # Errors
    ///
    /// [`Error::UnknownGroup`], or [`Error::UnknownJoinRequest`] when it is
    /// not pending in that group.
    pub fn revoke_join_request(&self, group_id: &str, join_request_id: &str) -> Result<(), Error> {
        let now = self.now();
        let events = self.lock().revoke(group_id, join_request_id, now)?;
        self.send(events);
        Ok(())
    }

    /// The pending join requests of a group, oldest first.
    ///
    /// # Errors
    ///
    /// [`Error::UnknownGroup`].
    pub fn pending_join_requests(&self, group_id: &str) -> Result<Vec<JoinRequest>, Error> {
        self.lock().pending(group_id)
    }

    /// The participants of a group, the business excluded, in the order they
    /// joined: each one's `wa_id`, or `user_id` for a business-scoped user.
    /// Empty for a new group.
    ///
    /// # Errors
    ///
    /// [`Error::UnknownGroup`].
    pub fn participants(&self, group_id: &str) -> Result<Vec<String>, Error> {
        self.lock().participants(group_id)
    }

    /// Adds `count` synthetic participants (`1777…`) directly, without join
    /// requests or webhooks; returns their `wa_id`s.
    ///
    /// # Errors
    ///
    /// [`Error::UnknownGroup`], or [`Error::InvalidInput`] when they would
    /// not fit under the cap.
    pub fn add_participants(&self, group_id: &str, count: usize) -> Result<Vec<String>, Error> {
        let count = crate::input::at_most(
            count as u64,
            crate::input::MAX_PARTICIPANTS_PER_CALL,
            "count",
        )?;
        // The cap is checked before anything is allocated.
        let mut st = self.lock();
        st.check_room(group_id, count)?;
        let base = st.next_seq();
        let who: Vec<Requester> = (0..count)
            .map(|i| Requester::WaId(format!("1777{:07}", (base + i) % 10_000_000)))
            .collect();
        let ids = who.iter().map(|r| r.id().to_owned()).collect();
        st.add_participants(group_id, who)?;
        Ok(ids)
    }

    /// Queues `fault` for the next `matcher.times` Graph API calls that
    /// match. Faults are tried in the order queued; a call gets at most one.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidInput`] for a bad fault, [`Error::FaultQueueFull`]
    /// past the queue limit (1024 by default).
    pub fn inject_fault(&self, fault: Fault, matcher: FaultMatch) -> Result<(), Error> {
        fault::validate(&fault, &matcher)?;
        let mut st = self.lock();
        if st.faults.len() >= self.shared.config.max_faults {
            return Err(Error::FaultQueueFull);
        }
        let remaining = matcher.times;
        st.faults.push_back(FaultEntry {
            fault,
            matcher,
            remaining,
        });
        self.shared
            .faults_queued
            .store(st.faults.len(), std::sync::atomic::Ordering::Release);
        Ok(())
    }

    /// Drops every queued fault; returns how many there were.
    pub fn clear_faults(&self) -> usize {
        let mut st = self.lock();
        let n = st.faults.len();
        st.faults.clear();
        self.shared
            .faults_queued
            .store(0, std::sync::atomic::Ordering::Release);
        n
    }

    /// The queued faults, as `GET /_emulator/faults` shows them.
    pub fn faults(&self) -> Vec<serde_json::Value> {
        self.lock().faults.iter().map(fault::describe).collect()
    }

    /// Sets (or with `None` removes) the rate limit. Setting one refills
    /// every bucket.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidInput`] for a rate that is not a positive number.
    pub fn set_rate_limit(&self, limit: Option<RateLimit>) -> Result<(), Error> {
        if let Some(l) = &limit {
            l.validate()?;
        }
        self.lock().set_rate_limit(limit);
        Ok(())
    }

    /// The current rate limit.
    pub fn rate_limit(&self) -> Option<RateLimit> {
        self.lock().rate_limit()
    }

    /// Sends webhooks for join requests created, revoked and approved to
    /// `url` (plain `http://` to a loopback host only), signed with
    /// `app_secret`. Delivery is asynchronous, in order, one at a time;
    /// failures are counted in [`Stats`], never fatal.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidInput`] for a URL that is not `http://` loopback, or
    /// an empty secret.
    pub fn set_webhook(&self, url: &str, app_secret: impl AsRef<[u8]>) -> Result<(), Error> {
        let target = webhook::WebhookTarget::new(url, app_secret.as_ref())?;
        self.lock().webhook = Some(target);
        Ok(())
    }

    /// Stops sending webhooks.
    pub fn clear_webhook(&self) {
        self.lock().webhook = None;
    }

    /// The counters.
    pub fn stats(&self) -> Stats {
        self.shared.counters.snapshot()
    }

    /// Sets every counter to zero.
    pub fn reset_stats(&self) {
        self.shared.counters.reset();
    }

    /// Creates the groups and join requests a [`Seed`] describes.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidInput`] for a bad or taken group ID; groups created
    /// before the bad one stay.
    pub fn apply_seed(&self, seed: &Seed) -> Result<Vec<SeededGroup>, Error> {
        crate::seed::apply(self, seed)
    }

    /// A summary of one group (subject, mode, cap, counts), as `GET
    /// /_emulator/groups/{id}` shows it.
    ///
    /// # Errors
    ///
    /// [`Error::UnknownGroup`].
    pub fn group_summary(&self, group_id: &str) -> Result<serde_json::Value, Error> {
        self.lock().group_summary(group_id)
    }
}
