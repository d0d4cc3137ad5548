//! Counters, kept in atomics outside the state lock.

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

use serde::Serialize;

#[derive(Default)]
pub(crate) struct Counters {
    pub(crate) requests: AtomicU64,
    pub(crate) list: AtomicU64,
    pub(crate) approve: AtomicU64,
    pub(crate) reject: AtomicU64,
    pub(crate) group_info: AtomicU64,
    pub(crate) invalid: AtomicU64,
    pub(crate) control: AtomicU64,
    pub(crate) auth_failures: AtomicU64,
    pub(crate) unknown_group: AtomicU64,
    pub(crate) rate_limited: AtomicU64,
    pub(crate) faults_applied: AtomicU64,
    pub(crate) approved: AtomicU64,
    pub(crate) rejected: AtomicU64,
    pub(crate) failed_items: AtomicU64,
    pub(crate) connections: AtomicU64,
    pub(crate) connections_refused: AtomicU64,
    pub(crate) connections_timed_out: AtomicU64,
    pub(crate) webhooks_delivered: AtomicU64,
    pub(crate) webhooks_failed: AtomicU64,
    pub(crate) webhooks_dropped: AtomicU64,
    pub(crate) webhooks_retried: AtomicU64,
    pub(crate) webhooks_abandoned: AtomicU64,
    pub(crate) webhooks_fault_dropped: AtomicU64,
    pub(crate) webhooks_duplicated: AtomicU64,
}

pub(crate) fn bump(c: &AtomicU64) {
    c.fetch_add(1, Relaxed);
}

pub(crate) fn add(c: &AtomicU64, n: u64) {
    c.fetch_add(n, Relaxed);
}

/// Per-endpoint request counts.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct EndpointCounts {
    /// `GET /{version}/{group_id}/join_requests`.
    pub list: u64,
    /// `POST /{version}/{group_id}/join_requests`.
    pub approve: u64,
    /// `DELETE /{version}/{group_id}/join_requests`.
    pub reject: u64,
    /// `GET /{version}/{group_id}`.
    pub group_info: u64,
    /// Requests that did not parse (unknown path, bad body: code 100).
    pub invalid: u64,
    /// `/_emulator/` control requests (not in `requests`).
    pub control: u64,
}

/// A snapshot of the emulator's counters, from
/// [`Controller::stats`](crate::Controller::stats) or `GET /_emulator/stats`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct Stats {
    /// Graph API requests received (control requests excluded), faulted ones included.
    pub requests: u64,
    /// Per-endpoint counts of requests that got past faults and the token check.
    pub endpoints: EndpointCounts,
    /// Requests refused with code 190 (missing or wrong token).
    pub auth_failures: u64,
    /// Requests answered 131041 (unknown group).
    pub unknown_group: u64,
    /// Graph API requests answered HTTP 429: by the rate limiter (131208)
    /// or by an injected fault (also counted in `faults_applied`).
    pub rate_limited: u64,
    /// Injected faults applied.
    pub faults_applied: u64,
    /// Join requests approved.
    pub join_requests_approved: u64,
    /// Join requests rejected.
    pub join_requests_rejected: u64,
    /// Per-item failures reported inside 200 responses (131204, 131213).
    pub failed_items: u64,
    /// TCP connections accepted.
    pub connections: u64,
    /// TCP connections closed at once because the connection cap was reached.
    pub connections_refused: u64,
    /// Connections closed for being idle, or too slow to send a request body.
    pub connections_timed_out: u64,
    /// Webhook deliveries answered 2xx.
    pub webhooks_delivered: u64,
    /// Webhook delivery attempts that failed (connection error, timeout, non-2xx).
    pub webhooks_failed: u64,
    /// Webhook deliveries dropped because the delivery queue was full.
    pub webhooks_dropped: u64,
    /// Retries of failed webhook deliveries (each also counted as delivered or failed).
    pub webhooks_retried: u64,
    /// Webhook deliveries given up on after their last retry failed.
    pub webhooks_abandoned: u64,
    /// Webhook deliveries lost on purpose by a `webhook` fault.
    pub webhooks_fault_dropped: u64,
    /// Webhook deliveries sent twice on purpose by a `webhook` fault.
    pub webhooks_duplicated: u64,
}

impl Counters {
    pub(crate) fn snapshot(&self) -> Stats {
        let g = |c: &AtomicU64| c.load(Relaxed);
        Stats {
            requests: g(&self.requests),
            endpoints: EndpointCounts {
                list: g(&self.list),
                approve: g(&self.approve),
                reject: g(&self.reject),
                group_info: g(&self.group_info),
                invalid: g(&self.invalid),
                control: g(&self.control),
            },
            auth_failures: g(&self.auth_failures),
            unknown_group: g(&self.unknown_group),
            rate_limited: g(&self.rate_limited),
            faults_applied: g(&self.faults_applied),
            join_requests_approved: g(&self.approved),
            join_requests_rejected: g(&self.rejected),
            failed_items: g(&self.failed_items),
            connections: g(&self.connections),
            connections_refused: g(&self.connections_refused),
            connections_timed_out: g(&self.connections_timed_out),
            webhooks_delivered: g(&self.webhooks_delivered),
            webhooks_failed: g(&self.webhooks_failed),
            webhooks_dropped: g(&self.webhooks_dropped),
            webhooks_retried: g(&self.webhooks_retried),
            webhooks_abandoned: g(&self.webhooks_abandoned),
            webhooks_fault_dropped: g(&self.webhooks_fault_dropped),
            webhooks_duplicated: g(&self.webhooks_duplicated),
        }
    }

    pub(crate) fn reset(&self) {
        for c in [
            &self.requests,
            &self.list,
            &self.approve,
            &self.reject,
            &self.group_info,
            &self.invalid,
            &self.control,
            &self.auth_failures,
            &self.unknown_group,
            &self.rate_limited,
            &self.faults_applied,
            &self.approved,
            &self.rejected,
            &self.failed_items,
            &self.connections,
            &self.connections_refused,
            &self.connections_timed_out,
            &self.webhooks_delivered,
            &self.webhooks_failed,
            &self.webhooks_dropped,
            &self.webhooks_retried,
            &self.webhooks_abandoned,
            &self.webhooks_fault_dropped,
            &self.webhooks_duplicated,
        ] {
            c.store(0, Relaxed);
        }
    }
}
