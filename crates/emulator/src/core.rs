//! The core: the state, the clock, the fault queue, the counters and the
//! webhook sender of one emulator, and every operation on them. The
//! controller (in process) and the HTTP routes (over the wire) both call
//! these; nothing here knows about HTTP.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use http::Method;
use wa_groups_protocol::{
    Action, ApiError, DecisionOutcome, GroupInfo, JoinRequest, JoinRequestIds, ListQuery,
    ListResponse,
};

use crate::Error;
use crate::clock::Clock;
use crate::config::Config;
use crate::fault::{Fault, FaultMatch, FaultQueue};
use crate::input::{MAX_JOIN_REQUESTS_PER_CALL, MAX_PARTICIPANTS_PER_CALL, at_most};
use crate::seed::{Seed, SeededGroup};
use crate::state::{Events, ListCtx, Reserved, State};
use crate::stats::{Counters, Stats, add};
use crate::types::{GroupOptions, RateLimit, Requester, RequesterPool};
use crate::webhook::{Delivery, WebhookTarget, Webhooks};

/// Everything one emulator shares between its connections and handles.
pub(crate) struct Core {
    pub(crate) config: Config,
    pub(crate) base_url: String,
    cursor_key: u64,
    clock: Clock,
    state: Mutex<State>,
    pub(crate) counters: Arc<Counters>,
    faults: FaultQueue,
    webhooks: Webhooks,
    /// The requester pool of calls that give no seed.
    pool: Mutex<RequesterPool>,
    /// Whether a rate limit is set: without one, Graph calls skip taking
    /// the state lock again for the usage header.
    limited: AtomicBool,
}

/// `count` if one call may add that many join requests.
fn join_request_count(count: usize) -> Result<u64, Error> {
    at_most(count as u64, MAX_JOIN_REQUESTS_PER_CALL, "count")
}

impl Core {
    /// A core serving at `base_url`, and the receiving end of its webhook
    /// queue (for [`webhook::worker`](crate::webhook::worker)).
    pub(crate) fn new(
        config: Config,
        base_url: String,
    ) -> (Self, tokio::sync::mpsc::Receiver<Delivery>) {
        let (webhooks, rx) = Webhooks::new(config.webhook_queue);
        let core = Self {
            base_url,
            cursor_key: fastrand::u64(..),
            clock: Clock::new(config.fixed_start),
            state: Mutex::new(State::new()),
            counters: Arc::new(Counters::default()),
            faults: FaultQueue::new(config.max_faults),
            webhooks,
            pool: Mutex::new(RequesterPool::new(
                config.requester_seed.unwrap_or_else(|| fastrand::u64(..)),
            )),
            limited: AtomicBool::new(false),
            config,
        };
        (core, rx)
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn send(&self, events: &Events) {
        self.webhooks.enqueue(&self.config, &self.counters, events);
    }

    // --- clock ---------------------------------------------------------------

    pub(crate) fn now(&self) -> i64 {
        self.clock.now_secs()
    }

    pub(crate) fn advance_clock(&self, by: Duration) -> Result<(), Error> {
        self.clock.advance(by)
    }

    // --- groups and join requests -------------------------------------------

    pub(crate) fn create_group(&self, options: &GroupOptions) -> Result<String, Error> {
        let cfg = &self.config;
        let now = self.now();
        self.lock()
            .create_group(options, cfg.participant_cap, &cfg.display_phone_number, now)
    }

    pub(crate) fn groups(&self) -> Vec<String> {
        self.lock().group_ids()
    }

    pub(crate) fn group_summary(&self, group_id: &str) -> Result<serde_json::Value, Error> {
        self.lock().group_summary(group_id)
    }

    /// Adds `count` synthetic requesters made by `make`.
    pub(crate) fn add_synthetic(
        &self,
        group_id: &str,
        count: usize,
        make: fn(u64) -> Requester,
    ) -> Result<Vec<String>, Error> {
        let count = join_request_count(count)?;
        // Reserve the sequence numbers under the lock, build the requests
        // outside it, insert them under it again: the lock is held for the
        // B-tree inserts only.
        let base = self.lock().reserve(group_id, count)?;
        let requests = (0..count).map(|i| make(base.seq + i));
        self.insert_join_requests(group_id, &base, requests)
    }

    /// Adds `count` join requests from the requester pool: seeded with
    /// `seed` when given (the same seed, the same requesters), else drawn
    /// from the emulator's own pool.
    pub(crate) fn add_from_pool(
        &self,
        group_id: &str,
        count: usize,
        seed: Option<u64>,
    ) -> Result<Vec<String>, Error> {
        let count = join_request_count(count)?;
        let who: Vec<Requester> = match seed {
            Some(seed) => {
                let mut pool = RequesterPool::new(seed);
                (0..count).map(|_| pool.draw()).collect()
            }
            None => {
                let mut pool = self.pool.lock().unwrap_or_else(PoisonError::into_inner);
                (0..count).map(|_| pool.draw()).collect()
            }
        };
        self.add_join_requests_from(group_id, who)
    }

    /// Adds one join request per requester (at most the per-call bound).
    pub(crate) fn add_join_requests_from(
        &self,
        group_id: &str,
        requesters: impl IntoIterator<Item = Requester>,
    ) -> Result<Vec<String>, Error> {
        let who: Vec<Requester> = requesters
            .into_iter()
            .take(usize::try_from(MAX_JOIN_REQUESTS_PER_CALL + 1).unwrap_or(usize::MAX))
            .collect();
        let count = join_request_count(who.len())?;
        let base = self.lock().reserve(group_id, count)?;
        self.insert_join_requests(group_id, &base, who.into_iter())
    }

    fn insert_join_requests(
        &self,
        group_id: &str,
        base: &Reserved,
        requesters: impl Iterator<Item = Requester>,
    ) -> Result<Vec<String>, Error> {
        let now = self.now();
        let (ids, batch) = base.build(requesters, now);
        let emit = self.webhooks.active();
        let events = self.lock().insert_pending(group_id, batch, now, emit)?;
        self.send(&events);
        Ok(ids)
    }

    pub(crate) fn revoke_join_request(
        &self,
        group_id: &str,
        join_request_id: &str,
    ) -> Result<(), Error> {
        let now = self.now();
        let emit = self.webhooks.active();
        let events = self.lock().revoke(group_id, join_request_id, now, emit)?;
        self.send(&events);
        Ok(())
    }

    pub(crate) fn pending_join_requests(&self, group_id: &str) -> Result<Vec<JoinRequest>, Error> {
        self.lock().pending(group_id)
    }

    pub(crate) fn participants(&self, group_id: &str) -> Result<Vec<String>, Error> {
        self.lock().participants(group_id)
    }

    pub(crate) fn add_participants(
        &self,
        group_id: &str,
        count: usize,
    ) -> Result<Vec<String>, Error> {
        let count = at_most(count as u64, MAX_PARTICIPANTS_PER_CALL, "count")?;
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

    pub(crate) fn apply_seed(&self, seed: &Seed) -> Result<Vec<SeededGroup>, Error> {
        seed.validate()?;
        let mut out = Vec::new();
        for g in &seed.groups {
            for _ in 0..g.count.unwrap_or(1) {
                let group_id = self.create_group(&g.options())?;
                self.add_participants(&group_id, g.participants as usize)?;
                let mut join_request_ids =
                    self.add_synthetic(&group_id, g.join_requests as usize, Requester::synthetic)?;
                join_request_ids.extend(self.add_synthetic(
                    &group_id,
                    g.business_scoped_join_requests as usize,
                    Requester::synthetic_business_scoped,
                )?);
                out.push(SeededGroup {
                    group_id,
                    join_request_ids,
                });
            }
        }
        Ok(out)
    }

    // --- faults, rate limit, webhooks, stats ---------------------------------

    pub(crate) fn inject_fault(&self, fault: Fault, matcher: FaultMatch) -> Result<(), Error> {
        if let Fault::Webhook(w) = fault {
            w.validate()?;
            self.webhooks.set_faults(Some(w));
            return Ok(());
        }
        self.faults.push(fault, matcher)
    }

    pub(crate) fn clear_faults(&self) -> usize {
        let webhook = usize::from(self.webhooks.describe_faults().is_some());
        self.webhooks.set_faults(None);
        self.faults.clear() + webhook
    }

    pub(crate) fn faults(&self) -> Vec<serde_json::Value> {
        let mut all = self.faults.describe();
        all.extend(self.webhooks.describe_faults());
        all
    }

    /// The fault for this Graph call, if one is queued for it.
    pub(crate) fn take_fault(&self, method: &Method, path: &str) -> Option<Fault> {
        let fault = self.faults.take(method, path)?;
        crate::stats::bump(&self.counters.faults_applied);
        Some(fault)
    }

    pub(crate) fn set_rate_limit(&self, limit: Option<RateLimit>) -> Result<(), Error> {
        if let Some(l) = &limit {
            l.validate()?;
        }
        // Set under the lock, so it never disagrees with the state for long.
        let mut state = self.lock();
        self.limited.store(limit.is_some(), Ordering::Relaxed);
        state.set_rate_limit(limit);
        Ok(())
    }

    pub(crate) fn rate_limit(&self) -> Option<RateLimit> {
        self.lock().rate_limit()
    }

    /// The usage of the rate limit over calls on `group_id` now, for the
    /// usage header; `None` without a limit.
    pub(crate) fn usage(&self, group_id: &str) -> Option<crate::state::Usage> {
        if !self.limited.load(Ordering::Relaxed) {
            return None;
        }
        self.lock().usage(group_id, Instant::now())
    }

    pub(crate) fn set_webhook(&self, url: &str, app_secret: &[u8]) -> Result<(), Error> {
        let target = WebhookTarget::new(url, app_secret)?;
        self.webhooks.set(Some(target));
        Ok(())
    }

    pub(crate) fn clear_webhook(&self) {
        self.webhooks.set(None);
    }

    pub(crate) fn stats(&self) -> Stats {
        self.counters.snapshot()
    }

    pub(crate) fn reset_stats(&self) {
        self.counters.reset();
    }

    // --- Graph API operations -------------------------------------------------

    pub(crate) fn list(
        &self,
        group_id: &str,
        options: &ListQuery,
        version: &str,
    ) -> Result<ListResponse, ApiError> {
        let ctx = ListCtx {
            base_url: &self.base_url,
            version,
            page_size: self.config.page_size,
            cursor_ttl_ms: i64::try_from(self.config.cursor_ttl.as_millis()).unwrap_or(i64::MAX),
            cursor_key: self.cursor_key,
            now_ms: self.clock.now_ms(),
        };
        self.lock().list(group_id, options, &ctx, Instant::now())
    }

    pub(crate) fn decide(
        &self,
        group_id: &str,
        action: Action,
        ids: &JoinRequestIds,
        request_id: &str,
    ) -> Result<DecisionOutcome, ApiError> {
        let now = self.now();
        let emit = self.webhooks.active();
        let (outcome, events) = self
            .lock()
            .decide(group_id, action, ids, now, request_id, emit)?;
        let done = match action {
            Action::Approve => &self.counters.approved,
            Action::Reject => &self.counters.rejected,
        };
        add(done, outcome.succeeded.len() as u64);
        add(&self.counters.failed_items, outcome.failed.len() as u64);
        self.send(&events);
        Ok(outcome)
    }

    pub(crate) fn group_info(
        &self,
        group_id: &str,
        fields: &[String],
    ) -> Result<GroupInfo, ApiError> {
        self.lock().group_info(group_id, fields, Instant::now())
    }
}
