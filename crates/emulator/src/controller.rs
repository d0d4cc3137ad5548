//! The in-process control API: what `/_emulator/` serves over HTTP, and what
//! the Python and Node `Emulator` test helpers wrap. A thin public face on
//! the core, which owns every operation.

use std::sync::Arc;
use std::time::Duration;

use wa_groups_protocol::JoinRequest;

use crate::Error;
use crate::core::Core;
use crate::fault::{Fault, FaultMatch};
use crate::seed::{Seed, SeededGroup};
use crate::stats::Stats;
use crate::types::{GroupOptions, RateLimit, Requester};

/// A cheap, cloneable handle on a running emulator's state: everything the
/// control API does, in process, from
/// [`EmulatorHandle::controller`](crate::EmulatorHandle::controller). All methods are synchronous and quick (they take a
/// lock for a moment), so bindings may call them from any thread.
#[derive(Clone)]
pub struct Controller {
    pub(crate) core: Arc<Core>,
}

impl std::fmt::Debug for Controller {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Controller")
            .field("base_url", &self.core.base_url)
            .finish_non_exhaustive()
    }
}

impl Controller {
    /// The base URL to give a client, such as `http://127.0.0.1:41234`
    /// (no trailing slash; paths are `/{version}/...`, any version).
    pub fn base_url(&self) -> &str {
        &self.core.base_url
    }

    /// The access token the Graph endpoints accept.
    pub fn access_token(&self) -> &str {
        &self.core.config.access_token
    }

    /// The emulator's clock, in Unix seconds (creation timestamps and
    /// webhook timestamps come from it).
    pub fn now(&self) -> i64 {
        self.core.now()
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
        self.core.advance_clock(by)
    }

    /// Creates a group and returns its ID. A new group has no participants
    /// but the business, which is implicit: never listed, never counted
    /// against the cap.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidInput`] for a bad or taken `group_id`.
    pub fn create_group(&self, options: GroupOptions) -> Result<String, Error> {
        self.core.create_group(&options)
    }

    /// The IDs of every group, oldest first.
    pub fn groups(&self) -> Vec<String> {
        self.core.groups()
    }

    /// Adds `count` pending join requests from synthetic WhatsApp users
    /// (`wa_id` `1555…`) and returns their IDs, oldest first.
    ///
    /// # Errors
    ///
    /// [`Error::UnknownGroup`], or [`Error::InvalidInput`] for more than
    /// [`MAX_JOIN_REQUESTS_PER_CALL`](crate::MAX_JOIN_REQUESTS_PER_CALL).
    pub fn add_join_requests(&self, group_id: &str, count: usize) -> Result<Vec<String>, Error> {
        self.core
            .add_synthetic(group_id, count, Requester::synthetic)
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
        self.core
            .add_synthetic(group_id, count, Requester::synthetic_business_scoped)
    }

    /// Adds `count` pending join requests from varied requesters drawn from
    /// a [`RequesterPool`](crate::RequesterPool): `wa_id`s of several
    /// countries and some business-scoped users (`user_id`, `username`).
    /// With `seed`, the requesters follow from it alone; without, from the
    /// emulator's own pool ([`EmulatorBuilder::requester_seed`](crate::EmulatorBuilder::requester_seed)).
    ///
    /// # Errors
    ///
    /// As [`add_join_requests`](Self::add_join_requests).
    pub fn add_pool_join_requests(
        &self,
        group_id: &str,
        count: usize,
        seed: Option<u64>,
    ) -> Result<Vec<String>, Error> {
        self.core.add_from_pool(group_id, count, seed)
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
        self.core.add_join_requests_from(group_id, requesters)
    }

    /// The requester withdraws a pending join request: it leaves the queue
    /// and a `group_join_request_revoked` webhook is sent.
    ///
    /// # Errors
    ///
    /// [`Error::UnknownGroup`], or [`Error::UnknownJoinRequest`] when it is
    /// not pending in that group.
    pub fn revoke_join_request(&self, group_id: &str, join_request_id: &str) -> Result<(), Error> {
        self.core.revoke_join_request(group_id, join_request_id)
    }

    /// The pending join requests of a group, oldest first.
    ///
    /// # Errors
    ///
    /// [`Error::UnknownGroup`].
    pub fn pending_join_requests(&self, group_id: &str) -> Result<Vec<JoinRequest>, Error> {
        self.core.pending_join_requests(group_id)
    }

    /// The participants of a group, the business excluded, in the order they
    /// joined: each one's `wa_id`, or `user_id` for a business-scoped user.
    /// Empty for a new group.
    ///
    /// # Errors
    ///
    /// [`Error::UnknownGroup`].
    pub fn participants(&self, group_id: &str) -> Result<Vec<String>, Error> {
        self.core.participants(group_id)
    }

    /// Adds `count` synthetic participants (`1777…`) directly, without join
    /// requests or webhooks; returns their `wa_id`s.
    ///
    /// # Errors
    ///
    /// [`Error::UnknownGroup`], or [`Error::InvalidInput`] when they would
    /// not fit under the cap.
    pub fn add_participants(&self, group_id: &str, count: usize) -> Result<Vec<String>, Error> {
        self.core.add_participants(group_id, count)
    }

    /// Queues `fault` for the next `matcher.times` Graph API calls that
    /// match. Faults are tried in the order queued; a call gets at most one.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidInput`] for a bad fault, [`Error::FaultQueueFull`]
    /// past the queue limit (1024 by default).
    pub fn inject_fault(&self, fault: Fault, matcher: FaultMatch) -> Result<(), Error> {
        self.core.inject_fault(fault, matcher)
    }

    /// Drops every queued fault; returns how many there were.
    pub fn clear_faults(&self) -> usize {
        self.core.clear_faults()
    }

    /// The queued faults, as `GET /_emulator/faults` shows them.
    pub fn faults(&self) -> Vec<serde_json::Value> {
        self.core.faults()
    }

    /// Sets (or with `None` removes) the rate limit. Setting one refills
    /// every bucket.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidInput`] for a rate that is not a positive number.
    pub fn set_rate_limit(&self, limit: Option<RateLimit>) -> Result<(), Error> {
        self.core.set_rate_limit(limit)
    }

    /// The current rate limit.
    pub fn rate_limit(&self) -> Option<RateLimit> {
        self.core.rate_limit()
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
        self.core.set_webhook(url, app_secret.as_ref())
    }

    /// Stops sending webhooks.
    pub fn clear_webhook(&self) {
        self.core.clear_webhook();
    }

    /// The counters.
    pub fn stats(&self) -> Stats {
        self.core.stats()
    }

    /// Sets every counter to zero.
    pub fn reset_stats(&self) {
        self.core.reset_stats();
    }

    /// Creates the groups and join requests a [`Seed`] describes.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidInput`] for a bad or taken group ID; groups created
    /// before the bad one stay.
    pub fn apply_seed(&self, seed: &Seed) -> Result<Vec<SeededGroup>, Error> {
        self.core.apply_seed(seed)
    }

    /// A summary of one group (subject, mode, cap, counts), as `GET
    /// /_emulator/groups/{id}` shows it.
    ///
    /// # Errors
    ///
    /// [`Error::UnknownGroup`].
    pub fn group_summary(&self, group_id: &str) -> Result<serde_json::Value, Error> {
        self.core.group_summary(group_id)
    }
}
