//! A local, stateful stand-in for the WhatsApp Business Cloud API's group
//! join request endpoints, as stripe-mock is for Stripe: point a client at
//! [`base_url`](Controller::base_url) with [`access_token`](Controller::access_token)
//! and test against it. It is the embedded default of `wa-groups demo`, of
//! `wa-groups emulator`, and of every test in the project; the Python and
//! Node `Emulator` test helpers wrap it in process.
//!
//! In scope: the Graph API calls of join requests (list, approve, reject,
//! group info) with the real API's documented behaviour and error codes;
//! in-memory state; a control API to seed state, inject faults, rate limit
//! and deliver signed webhooks. Out of scope: TLS, persistence, any other
//! Graph endpoint, and being reachable from other machines (it binds
//! 127.0.0.1 by default, and webhooks go to loopback URLs only).
//!
//! Requests are parsed and responses built with `wa-groups-protocol` (its
//! [`server`](wa_groups_protocol::server) module, [`ApiError::to_envelope`](wa_groups_protocol::ApiError::to_envelope),
//! [`DecisionOutcome`](wa_groups_protocol::DecisionOutcome), [`ListResponse`](wa_groups_protocol::ListResponse),
//! [`GroupInfo`](wa_groups_protocol::GroupInfo) and the
//! [`webhook`](wa_groups_protocol::webhook) encoder and signer): there is no
//! second copy of the wire format here.
//!
//! # Starting and stopping
//!
//! ```
//! use wa_groups_emulator::{Emulator, GroupOptions};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), wa_groups_emulator::Error> {
//! let emu = Emulator::builder().start().await?; // 127.0.0.1, a free port
//! let state = emu.controller();
//! let group = state.create_group(GroupOptions::default())?;
//! let ids = state.add_join_requests(&group, 3)?;
//! assert_eq!(state.pending_join_requests(&group)?.len(), 3);
//! assert!(state.participants(&group)?.is_empty()); // only the business, which is implicit
//! println!("{} with token {} serves {ids:?}", emu.base_url(), emu.access_token());
//! emu.shutdown().await; // graceful; dropping the handle also stops it
//! # Ok(()) }
//! ```
//!
//! [`EmulatorBuilder::start`] must run inside a tokio runtime. Code that
//! owns a runtime and is not inside it (the Python and Node bindings) calls
//! [`EmulatorBuilder::start_on`] with the runtime's handle: it binds the
//! socket synchronously, spawns the server on that runtime and returns. All
//! state methods ([`Controller`], from [`EmulatorHandle::controller`])
//! are synchronous and may be called from any thread;
//! [`EmulatorHandle::stop`] stops without waiting, and
//! `runtime.block_on(handle.shutdown())` stops gracefully.
//!
//! # The Graph API endpoints
//!
//! Every API version is accepted (`/v23.0/...`, `/v19.0/...`). The token is
//! `Authorization: Bearer <token>` (or `?access_token=`); a missing or wrong
//! one is Graph error 190, HTTP 401, type `OAuthException`.
//!
//! | call | behaviour |
//! |---|---|
//! | `GET /{version}/{group_id}/join_requests?limit&after&before` | pending requests, oldest first, `limit` default 25 (configurable), 1 to 1000 |
//! | `POST /{version}/{group_id}/join_requests` | approve: each pending ID moves to the participants; over the participant cap it fails with 131204; an unknown or already handled ID fails with 131213; always 200 with the others succeeding |
//! | `DELETE /{version}/{group_id}/join_requests` | reject: each pending ID is dropped; unknown or handled IDs fail with 131213 |
//! | `GET /{version}/{group_id}?fields=...` | `GroupInfo` with the fields asked for (only `id` when none are) |
//!
//! Bodies of approve and reject may be JSON, form-encoded or multipart, as
//! the spec allows. An unknown path, bad body or bad parameter is code 100,
//! HTTP 400; an unknown group is 131041, HTTP 400. Responses carry a random
//! `request_id` (approve, reject) or `fbtrace_id` (errors).
//!
//! **The business and the cap.** A new group has no participants but the
//! business, which is implicit: [`Controller::participants`], `GroupInfo`'s
//! `participants` and `total_participant_count` never list or count it, and
//! the participant cap (default 8, per group) counts the others only.
//!
//! **Paging.** `paging.cursors.before`/`after` point at the first and last
//! item of the page; `paging.next` is present only when more requests follow
//! the page, and `paging.previous` only when some precede it; both are full
//! URLs on the emulator's base URL (never with the token). Cursors are
//! opaque: URL-safe base64 of the group, the item's sequence number, the
//! time the cursor was issued and a keyed check. A cursor whose item is no
//! longer pending (approved, rejected or revoked since), or older than the
//! cursor TTL (default 1 hour, configurable; the emulator clock counts, see
//! [`Controller::advance_clock`]), is answered 131059, HTTP 400: list again
//! from the start. A cursor that is not one of this group's is code 100.
//! New join requests do not invalidate cursors: they appear at the end.
//! So "list every page, then act" (what `approve_all` does) always works,
//! and "approve a page, then ask for the next" gets 131059.
//!
//! **Rate limit.** Off by default. [`Controller::set_rate_limit`] sets a
//! token bucket per group or for the phone number; a call without a token
//! gets 131208, HTTP 429, with `Retry-After` in whole seconds (at least 1).
//!
//! **IDs.** Group IDs look like Meta's (`Y2FwaV9ncm91cDo...`, URL-safe
//! base64 of `capi_group:<phone>:<120363…>`), join request IDs too (standard
//! base64 of `<sequence>:<group>`, such as `MTY0NjAwMDAwMDAwMDE6MTIwMzYz...`);
//! both pass the protocol crate's validation. Requesters are synthetic:
//! `wa_id` `1555…` or, business-scoped, `user_id` `US.…` and `username`.
//! Timestamps come from the system clock, or from a fixed start
//! ([`EmulatorBuilder::fixed_clock`]) for deterministic tests.
//!
//! # The control API
//!
//! JSON under `/_emulator/`, served on the same port, mapped onto the same
//! [`Controller`] methods. It needs no token, unless one is set with
//! [`EmulatorBuilder::admin_token`]: then `Authorization: Bearer <admin
//! token>` (a wrong or missing one gets 190, HTTP 401). Errors use the
//! Graph envelope: 100 (HTTP 400) for bad input, 131041 (HTTP 404) for an
//! unknown group, 131213 (HTTP 404) for a join request that is not pending.
//!
//! | method and path | body | answer | Rust |
//! |---|---|---|---|
//! | `GET /_emulator` | | `{emulator, version, base_url, now, docs}` (`docs`: [`DOCS`], the path of this crate's README, which has these tables too) | |
//! | `GET /_emulator/health` | | `{"status":"ok"}` | |
//! | `POST /_emulator/groups` | [`GroupOptions`]: `{participant_cap?, join_approval_mode?, subject?, description?, group_id?}` (or empty) | 201 `{"group_id"}` | [`create_group`](Controller::create_group) |
//! | `GET /_emulator/groups` | | `{"data": [summary]}` | [`groups`](Controller::groups) |
//! | `GET /_emulator/groups/{id}` | | summary: `{group_id, subject, description, join_approval_mode, participant_cap, creation_timestamp, pending_join_requests, participants}` | [`group_summary`](Controller::group_summary) |
//! | `POST /_emulator/groups/{id}/join_requests` | `{"count": N, "business_scoped": false}`, or `{"count": N, "pool": true, "seed": 42}` for varied requesters from the [`RequesterPool`] (`seed` optional, implies `pool`) | 201 `{"join_request_ids": [...]}` | [`add_join_requests`](Controller::add_join_requests), [`add_business_scoped_join_requests`](Controller::add_business_scoped_join_requests), [`add_pool_join_requests`](Controller::add_pool_join_requests) |
//! | `GET /_emulator/groups/{id}/join_requests` | | `{"data": [JoinRequest]}` (all pending, oldest first) | [`pending_join_requests`](Controller::pending_join_requests) |
//! | `POST /_emulator/groups/{id}/join_requests/{jr}/revoke` | | `{"revoked": jr}` | [`revoke_join_request`](Controller::revoke_join_request) |
//! | `GET /_emulator/groups/{id}/participants` | | `{"data": [wa_id or user_id]}` | [`participants`](Controller::participants) |
//! | `POST /_emulator/groups/{id}/participants` | `{"count": N}` | 201 `{"participants": [...]}` | [`add_participants`](Controller::add_participants) |
//! | `POST /_emulator/faults` | a fault (below) | 201 `{"queued": n}` | [`inject_fault`](Controller::inject_fault) |
//! | `GET /_emulator/faults` | | `{"data": [fault with remaining]}` | [`faults`](Controller::faults) |
//! | `DELETE /_emulator/faults` | | `{"cleared": n}` | [`clear_faults`](Controller::clear_faults) |
//! | `PUT /_emulator/rate_limit` | [`RateLimit`]: `{"per_second": 5, "burst": 5, "scope": "group"}` (`scope` `group` or `phone`) | `{"rate_limit"}` | [`set_rate_limit`](Controller::set_rate_limit) |
//! | `GET`, `DELETE /_emulator/rate_limit` | | `{"rate_limit"}` | [`rate_limit`](Controller::rate_limit), `set_rate_limit(None)` |
//! | `PUT /_emulator/webhook` | `{"url": "http://127.0.0.1:9000/hook", "app_secret": "..."}` | `{"url"}` | [`set_webhook`](Controller::set_webhook) |
//! | `DELETE /_emulator/webhook` | | `{"url": null}` | [`clear_webhook`](Controller::clear_webhook) |
//! | `GET /_emulator/stats` | | [`Stats`] | [`stats`](Controller::stats) |
//! | `DELETE /_emulator/stats` | | [`Stats`] (zeroed) | [`reset_stats`](Controller::reset_stats) |
//! | `POST /_emulator/seed` | a [`Seed`] | 201 `{"groups": [{group_id, join_request_ids}]}` | [`apply_seed`](Controller::apply_seed) |
//! | `GET /_emulator/clock` | | `{"now": unix seconds}` | [`now`](Controller::now) |
//! | `POST /_emulator/clock` | `{"advance_seconds": 3600}` | `{"now"}` | [`advance_clock`](Controller::advance_clock) |
//!
//! Path segments may be percent-encoded (a join request ID with `/` or `+`).
//!
//! Every input is bounded and checked before anything is allocated or
//! stored; a bad one is a 400 whose message names the field. Counts are
//! whole numbers (`3` or `3.0`): at most [`MAX_JOIN_REQUESTS_PER_CALL`]
//! join requests and [`MAX_PARTICIPANTS_PER_CALL`] participants a call (and
//! never past the group's cap); a seed at most [`MAX_SEED_GROUPS`] groups
//! and [`MAX_SEED_JOIN_REQUESTS`] join requests; `per_second` from
//! [`MIN_RATE_PER_SECOND`] to [`MAX_RATE`], `burst` above 0 up to
//! [`MAX_RATE`]; `advance_seconds` at most [`MAX_ADVANCE_SECONDS`] a call,
//! and the clock never past [`MAX_CLOCK_SECONDS`] (the year 9999). So no
//! call holds the state lock for long: a batch of join requests is built
//! outside it and only inserted under it.
//!
//! ## Faults
//!
//! A fault applies to the next `times` (default 1) Graph API calls matching
//! `method` and `path_contains` (both optional), never to control calls;
//! faults are tried in the order queued, at most 1024 queued. The body of
//! `POST /_emulator/faults` is one object with `kind` and its fields
//! ([`Fault`] in Rust):
//!
//! | `kind` | fields | what the client sees |
//! |---|---|---|
//! | `latency` | `ms` | the normal answer, `ms` later |
//! | `server_error` | `status` (500-599, default 500), `is_transient` (default false), `code` (default 2 if transient, else 1) | that status and a Graph error envelope |
//! | `rate_limited` | `code` (default 131208), `retry_after` (seconds, optional) | HTTP 429, the code, `Retry-After` |
//! | `connection_reset` | | the connection closed without an answer (HTTP/2: the stream reset) |
//! | `truncated_body` | | a 200 with `Content-Length: 4096` and fewer bytes, then the connection closed |
//! | `malformed_json` | | a 200 `application/json` that is not JSON |
//! | `oversize_body` | `bytes` | a 200 `application/json` of exactly `bytes` bytes (streamed), with that `Content-Length` |
//! | `webhook` | `drop`, `duplicate` (chances, 0 to 1), `delay_ms` (`[min, max]`), `seed`, `times` (deliveries; until cleared when absent) | not a call fault: webhook deliveries lost, sent twice, or held back a random time (so they arrive out of order); replaces the webhook faults in force ([`WebhookFaults`]) |
//!
//! ```text
//! curl -X POST $BASE/_emulator/faults -d '{"kind":"server_error","status":503,"is_transient":true,"method":"POST","times":2}'
//! curl -X POST $BASE/_emulator/faults -d '{"kind":"rate_limited","code":80007,"retry_after":2,"path_contains":"/join_requests"}'
//! curl -X PUT  $BASE/_emulator/rate_limit -d '{"per_second":10,"scope":"phone"}'
//! ```
//!
//! ## Webhooks
//!
//! With a webhook set, the emulator POSTs Meta's payload (`object`
//! `whatsapp_business_account`, `entry[].changes[]` with `field`
//! `group_participants_update`, `value.metadata` and `value.groups[]`)
//! when join requests are created (`group_join_request_created`), revoked
//! (`group_join_request_revoked`) or approved (`group_participants_add`,
//! with `added_participants`, and `join_request_id` and `wa_id` beside
//! them), one delivery per operation (up to 100 events each), signed with
//! `X-Hub-Signature-256` over the exact body. Check it with
//! `wa_groups_protocol::webhook::verify_signature`. Rejections send nothing,
//! as a rejected requester is not told. Deliveries run in order on one
//! background task, 5 s timeout each
//! ([`EmulatorBuilder::webhook_concurrency`] lets several be in flight at
//! once). A failed one (connection error,
//! timeout, non-2xx) is retried as Meta does, with backoff: by default 5
//! times, after 1 s, 2 s, 4 s... ([`EmulatorBuilder::webhook_retries`]),
//! beside the queue, so a retry arrives out of order. Failures, retries,
//! abandoned deliveries and a full queue (1024) are counted in [`Stats`],
//! never fatal.
//!
//! ## Seeds
//!
//! `wa-groups emulator --seed FILE` (and `POST /_emulator/seed`) takes a
//! [`Seed`]:
//!
//! ```
//! use wa_groups_emulator::{Emulator, Seed};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), wa_groups_emulator::Error> {
//! let seed = Seed::from_json(br#"{"groups": [
//!     {"subject": "Book club", "join_requests": 5},
//!     {"subject": "Small", "participant_cap": 3, "participants": 2, "business_scoped_join_requests": 1},
//!     {"count": 100, "join_requests": 2}
//! ]}"#)?;
//! let emu = Emulator::builder().start().await?;
//! let groups = emu.controller().apply_seed(&seed)?;
//! assert_eq!(groups.len(), 102);
//! assert_eq!(groups[0].join_request_ids.len(), 5);
//! # Ok(()) }
//! ```
//!
//! # Load
//!
//! One `std::sync::Mutex` over the state, held for a map lookup and a few
//! B-tree operations per call; counters are atomics outside it; faults cost
//! one atomic load when none are queued. Pending requests live in a
//! `BTreeMap` per group keyed by sequence number, so listing from a cursor,
//! approving and rejecting are `O(log n)`. Handled requests are dropped, and
//! every queue (faults, webhooks) is bounded, so memory follows the state,
//! not the number of requests served. Connections are bounded too: a
//! client gets [`DEFAULT_HEADER_READ_TIMEOUT`] to send its headers and
//! [`DEFAULT_BODY_READ_TIMEOUT`] for a body, a connection with nothing in
//! flight is closed after [`DEFAULT_IDLE_TIMEOUT`], and past
//! [`DEFAULT_MAX_CONNECTIONS`] new ones are closed on accept (all set on
//! the builder; counted in [`Stats`]). `examples/load.rs` drives 256
//! connections and reports requests per second and RSS.

#![allow(
    clippy::result_large_err,
    reason = "the errors here are Graph API answers (`ApiError`), built once per failed call and turned into a response at once; boxing them buys nothing"
)]

// Layers, each importing only from those above it in this list:
// values and faults; state; webhook payloads; the core; the controller;
// HTTP (shared helpers, then the Graph and control routes, then the server).
mod body;
mod clock;
mod codec;
mod config;
mod errors;
mod fault;
mod input;
mod seed;
mod stats;
mod types;

mod state;

mod webhook;

mod core;

mod controller;

mod conn;
mod respond;

mod control;
mod graph;

mod server;

mod lifecycle;
mod settings;

use std::fmt;
use std::net::{Ipv4Addr, SocketAddr};
use std::time::Duration;

pub use controller::Controller;
pub use fault::{Fault, FaultMatch};
pub use input::{
    MAX_ADVANCE_SECONDS, MAX_CLOCK_SECONDS, MAX_JOIN_REQUESTS_PER_CALL, MAX_PARTICIPANTS_PER_CALL,
    MAX_RATE, MAX_SEED_GROUPS, MAX_SEED_JOIN_REQUESTS, MIN_RATE_PER_SECOND,
};
pub use lifecycle::ManagedEmulator;
pub use seed::{Seed, SeedGroup, SeededGroup};
pub use settings::{EmulatorConfig, whole_number};
pub use stats::{EndpointCounts, Stats};
pub use types::{
    GroupOptions, JoinApprovalMode, RateLimit, RateLimitScope, Requester, RequesterPool,
    WebhookFaults,
};

/// The access token the emulator accepts unless told otherwise.
pub const DEFAULT_ACCESS_TOKEN: &str = "wa-groups-emulator-token";

/// Where the emulator's documentation lives (the route table of the
/// control API, fault kinds, seed format, examples): its README's path in
/// the repository, given as `docs` by `GET /_emulator`.
pub const DOCS: &str = "crates/emulator/README.md";

/// The default page size of list calls.
pub const DEFAULT_PAGE_SIZE: u32 = 25;

/// The default participant cap of a group (Meta's documented maximum).
pub const DEFAULT_PARTICIPANT_CAP: u32 = 8;

/// The default lifetime of a paging cursor.
pub const DEFAULT_CURSOR_TTL: Duration = Duration::from_secs(3600);

/// How long a client may take to send a request's headers (HTTP/1.1).
pub const DEFAULT_HEADER_READ_TIMEOUT: Duration = Duration::from_secs(10);

/// How long a client may take to send a request's body.
pub const DEFAULT_BODY_READ_TIMEOUT: Duration = Duration::from_secs(30);

/// How long a connection may stay open with no request in flight and no
/// byte moving.
pub const DEFAULT_IDLE_TIMEOUT: Duration = Duration::from_secs(60);

/// How many connections may be open at once; more are closed on accept.
pub const DEFAULT_MAX_CONNECTIONS: usize = 2048;

/// How many times a failed webhook delivery is retried.
pub const DEFAULT_WEBHOOK_RETRIES: u32 = 5;

/// The wait before the first retry of a failed webhook delivery; each
/// next one waits twice as long (at most an hour).
pub const DEFAULT_WEBHOOK_BACKOFF: Duration = Duration::from_secs(1);

/// What can go wrong with the emulator's Rust API.
#[non_exhaustive]
#[derive(Debug)]
pub enum Error {
    /// The socket could not be bound.
    Bind(std::io::Error),
    /// [`EmulatorBuilder::start`] was called outside a tokio runtime.
    NoRuntime,
    /// No group with this ID.
    UnknownGroup(String),
    /// No pending join request with this ID in the group.
    UnknownJoinRequest(String),
    /// A bad argument; the message says which.
    InvalidInput(String),
    /// The fault queue is full.
    FaultQueueFull,
    /// A seed file that does not parse.
    Seed(String),
}

impl Error {
    pub(crate) fn invalid(message: impl Into<String>) -> Self {
        Self::InvalidInput(message.into())
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Bind(e) => write!(f, "emulator could not bind its socket: {e}"),
            Self::NoRuntime => f.write_str(
                "Emulator start needs a tokio runtime (or use start_on with a runtime handle)",
            ),
            Self::UnknownGroup(id) => write!(f, "no group {id} in the emulator"),
            Self::UnknownJoinRequest(id) => {
                write!(f, "join request {id} is not pending in that group")
            }
            Self::InvalidInput(m) => f.write_str(m),
            Self::FaultQueueFull => f.write_str("the fault queue is full; clear faults first"),
            Self::Seed(m) => write!(f, "bad seed: {m}"),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Bind(e) => Some(e),
            _ => None,
        }
    }
}

/// Entry point: [`Emulator::builder`] or [`Emulator::start`].
#[derive(Debug, Clone, Copy)]
pub struct Emulator;

impl Emulator {
    /// A builder with the defaults: 127.0.0.1, port 0 (a free one),
    /// [`DEFAULT_ACCESS_TOKEN`], page size 25, participant cap 8, cursor TTL
    /// 1 hour, system clock, no admin token.
    pub fn builder() -> EmulatorBuilder {
        EmulatorBuilder::default()
    }

    /// Starts an emulator with the defaults.
    ///
    /// # Errors
    ///
    /// [`Error::Bind`], [`Error::NoRuntime`].
    pub async fn start() -> Result<EmulatorHandle, Error> {
        Self::builder().start().await
    }
}

/// Settings of an emulator; [`start`](Self::start) or
/// [`start_on`](Self::start_on) runs it.
#[derive(Debug, Clone)]
pub struct EmulatorBuilder {
    config: config::Config,
}

impl Default for EmulatorBuilder {
    fn default() -> Self {
        Self {
            config: config::Config {
                addr: SocketAddr::from((Ipv4Addr::LOCALHOST, 0)),
                access_token: DEFAULT_ACCESS_TOKEN.to_owned(),
                admin_token: None,
                page_size: DEFAULT_PAGE_SIZE,
                cursor_ttl: DEFAULT_CURSOR_TTL,
                participant_cap: DEFAULT_PARTICIPANT_CAP,
                fixed_start: None,
                phone_number_id: "106540352242922".to_owned(),
                display_phone_number: "15550783881".to_owned(),
                waba_id: "102290129340398".to_owned(),
                max_request_body: 1 << 20,
                max_faults: 1024,
                webhook_queue: 1024,
                shutdown_grace: Duration::from_secs(5),
                header_read_timeout: DEFAULT_HEADER_READ_TIMEOUT,
                body_read_timeout: DEFAULT_BODY_READ_TIMEOUT,
                idle_timeout: DEFAULT_IDLE_TIMEOUT,
                max_connections: DEFAULT_MAX_CONNECTIONS,
                webhook_retries: DEFAULT_WEBHOOK_RETRIES,
                webhook_concurrency: 1,
                webhook_backoff: DEFAULT_WEBHOOK_BACKOFF,
                requester_seed: None,
            },
        }
    }
}

impl EmulatorBuilder {
    /// The port on 127.0.0.1 (0, the default, picks a free one).
    #[must_use]
    pub fn port(mut self, port: u16) -> Self {
        self.config.addr.set_port(port);
        self
    }

    /// The whole address to bind. Anything but loopback exposes an
    /// unauthenticated control API: think twice.
    #[must_use]
    pub fn bind_addr(mut self, addr: SocketAddr) -> Self {
        self.config.addr = addr;
        self
    }

    /// The access token the Graph endpoints accept.
    #[must_use]
    pub fn access_token(mut self, token: impl Into<String>) -> Self {
        self.config.access_token = token.into();
        self
    }

    /// Requires `Authorization: Bearer <token>` on `/_emulator/` calls.
    #[must_use]
    pub fn admin_token(mut self, token: impl Into<String>) -> Self {
        self.config.admin_token = Some(token.into());
        self
    }

    /// The page size of list calls without `limit` (1 to 1000).
    #[must_use]
    pub fn page_size(mut self, size: u32) -> Self {
        self.config.page_size = size.clamp(1, 1000);
        self
    }

    /// How long a paging cursor stays valid.
    #[must_use]
    pub fn cursor_ttl(mut self, ttl: Duration) -> Self {
        self.config.cursor_ttl = ttl;
        self
    }

    /// The participant cap of groups created without one.
    #[must_use]
    pub fn participant_cap(mut self, cap: u32) -> Self {
        self.config.participant_cap = cap;
        self
    }

    /// Starts the emulator clock at `unix_seconds` and keeps it there,
    /// except for [`Controller::advance_clock`]: timestamps become
    /// deterministic.
    #[must_use]
    pub fn fixed_clock(mut self, unix_seconds: i64) -> Self {
        self.config.fixed_start = Some(unix_seconds);
        self
    }

    /// The business phone number webhooks name (`value.metadata`), and the
    /// one inside generated group IDs.
    #[must_use]
    pub fn phone_number(
        mut self,
        phone_number_id: impl Into<String>,
        display_phone_number: impl Into<String>,
    ) -> Self {
        self.config.phone_number_id = phone_number_id.into();
        self.config.display_phone_number = display_phone_number.into();
        self
    }

    /// The WhatsApp Business Account ID webhooks name (`entry[].id`).
    #[must_use]
    pub fn waba_id(mut self, waba_id: impl Into<String>) -> Self {
        self.config.waba_id = waba_id.into();
        self
    }

    /// How long [`EmulatorHandle::shutdown`] waits for open connections.
    #[must_use]
    pub fn shutdown_grace(mut self, grace: Duration) -> Self {
        self.config.shutdown_grace = grace;
        self
    }

    /// How long a client may take to send a request's headers (HTTP/1.1;
    /// default 10 s). A slower one has its connection closed.
    #[must_use]
    pub fn header_read_timeout(mut self, timeout: Duration) -> Self {
        self.config.header_read_timeout = timeout;
        self
    }

    /// How long a client may take to send a request's body (default 30 s).
    /// A slower one has its connection closed without an answer.
    #[must_use]
    pub fn body_read_timeout(mut self, timeout: Duration) -> Self {
        self.config.body_read_timeout = timeout;
        self
    }

    /// How long a connection may sit with no request in flight and no byte
    /// moving before it is closed (default 60 s).
    #[must_use]
    pub fn idle_timeout(mut self, timeout: Duration) -> Self {
        self.config.idle_timeout = timeout;
        self
    }

    /// How many connections may be open at once (default 2048, at least
    /// 1); a connection past the cap is closed as soon as it is accepted.
    #[must_use]
    pub fn max_connections(mut self, max: usize) -> Self {
        self.config.max_connections = max.max(1);
        self
    }

    /// Retries of a failed webhook delivery (default 5; 0: none), the first
    /// after `backoff` (default 1 s), each next one after twice as long,
    /// as Meta retries with decreasing frequency. Retries run beside the
    /// in-order queue, so they arrive out of order.
    #[must_use]
    pub fn webhook_retries(mut self, retries: u32, backoff: Duration) -> Self {
        self.config.webhook_retries = retries;
        self.config.webhook_backoff = backoff;
        self
    }

    /// Webhook deliveries posted at once (default 1: one at a time, in
    /// order). Above 1, up to `n` deliveries are in flight together and may
    /// arrive in any order, as from a sender that does not wait for one
    /// answer before the next POST; a receiver's acknowledgement latency
    /// then no longer caps the delivery rate at one over it.
    #[must_use]
    pub fn webhook_concurrency(mut self, n: usize) -> Self {
        self.config.webhook_concurrency = n.max(1);
        self
    }

    /// Seeds the emulator's requester pool (what
    /// [`Controller::add_pool_join_requests`] draws from without a seed of
    /// its own): the same seed, the same requesters. Random by default.
    #[must_use]
    pub fn requester_seed(mut self, seed: u64) -> Self {
        self.config.requester_seed = Some(seed);
        self
    }

    /// Starts the emulator on the current tokio runtime.
    ///
    /// # Errors
    ///
    /// [`Error::Bind`], or [`Error::NoRuntime`] outside a runtime.
    #[allow(
        clippy::unused_async,
        reason = "async so that callers cannot call it outside a runtime by mistake"
    )]
    pub async fn start(self) -> Result<EmulatorHandle, Error> {
        let rt = tokio::runtime::Handle::try_current().map_err(|_| Error::NoRuntime)?;
        self.start_on(&rt)
    }

    /// Starts the emulator on `runtime`, from any thread, without blocking:
    /// for code that owns a runtime (the language bindings).
    ///
    /// # Errors
    ///
    /// [`Error::Bind`].
    pub fn start_on(self, runtime: &tokio::runtime::Handle) -> Result<EmulatorHandle, Error> {
        if let Some(start) = self.config.fixed_start
            && !(0..=MAX_CLOCK_SECONDS).contains(&start)
        {
            return Err(Error::invalid(format!(
                "fixed_clock must be from 0 to {MAX_CLOCK_SECONDS} (Unix seconds), not {start}"
            )));
        }
        let started = server::start(self.config, runtime)?;
        Ok(EmulatorHandle {
            controller: Controller { core: started.core },
            addr: started.addr,
            stop: started.stop,
            task: Some(started.task),
        })
    }
}

/// A running emulator: its address, its [`Controller`] (the state API) and
/// its lifecycle. Dropping it stops the server (without waiting);
/// [`shutdown`](Self::shutdown) stops it gracefully.
pub struct EmulatorHandle {
    controller: Controller,
    addr: SocketAddr,
    stop: tokio::sync::watch::Sender<bool>,
    task: Option<tokio::task::JoinHandle<()>>,
}

impl fmt::Debug for EmulatorHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EmulatorHandle")
            .field("addr", &self.addr)
            .finish_non_exhaustive()
    }
}

impl EmulatorHandle {
    /// The address it listens on.
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// A cloneable handle on the state, usable after this handle is gone
    /// (the server is not, then).
    pub fn controller(&self) -> Controller {
        self.controller.clone()
    }

    /// The base URL to give a client ([`Controller::base_url`]).
    pub fn base_url(&self) -> &str {
        self.controller.base_url()
    }

    /// The access token the Graph endpoints accept ([`Controller::access_token`]).
    pub fn access_token(&self) -> &str {
        self.controller.access_token()
    }

    /// Stops accepting connections and returns at once; open connections
    /// finish their current request and close.
    pub fn stop(&self) {
        let _ = self.stop.send(true);
    }

    /// Stops accepting connections, lets open ones finish (up to the grace
    /// period, 5 s by default), and returns when the server is down.
    pub async fn shutdown(mut self) {
        self.stop();
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}

impl Drop for EmulatorHandle {
    fn drop(&mut self) {
        self.stop();
    }
}
