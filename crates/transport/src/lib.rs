//! An async Rust client for the WhatsApp Business Cloud API's group join
//! requests: list the requests pending on a group, approve them, reject them.
//!
//! This crate runs the sans-IO [`protocol`] crate (wire types, request
//! building, response parsing, errors, retry policy, chunk planning) over
//! hyper 1's connection API and rustls (ring), on tokio, with a connection
//! pool of its own: a client talks to one origin, so the pool is a stack of
//! idle HTTP/1.1 keep-alive connections or one multiplexed HTTP/2
//! connection, whichever the server offers by ALPN. The types you need from the protocol crate are re-exported
//! here.
//!
//! # Example
//!
//! ```no_run
//! use futures_util::TryStreamExt as _;
//! use wa_groups::{Client, ListOptions};
//!
//! # async fn run() -> wa_groups::Result<()> {
//! let client = Client::builder()
//!     .access_token(std::env::var("WHATSAPP_ACCESS_TOKEN").unwrap_or_default())
//!     .user_agent("myapp/1.2.3")
//!     .build()?;
//! let group = "Y2FwaV9ncm91cDoxOTUwNTU1MDA3OToxMjAzNjMzOTQzMjAdOTY0MTUZD";
//!
//! // One page, or every page as a stream.
//! let page = client.list_join_requests(group, ListOptions::new().with_limit(50)).await?;
//! println!("{} on the first page, more: {}", page.data.len(), page.after.is_some());
//! let pending: Vec<_> = client.join_requests(group).try_collect().await?;
//!
//! // Approve some, reject others. Partial failure is a result, not an error.
//! let ids: Vec<&str> = pending.iter().map(|r| r.join_request_id.as_str()).collect();
//! let outcome = client.approve_join_requests(group, ids.iter().take(3)).await?;
//! for failed in &outcome.failed {
//!     eprintln!("{}: {:?}", failed.join_request_id, failed.errors);
//! }
//! client.reject_join_requests(group, ids.iter().skip(3)).await?;
//!
//! // Or everything pending at once.
//! let outcome = client.approve_all(group).await?;
//! println!("approved {}", outcome.approved.len());
//! # Ok(())
//! # }
//! ```
//!
//! Invalid input is refused before anything is sent, with an error naming
//! the field:
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() {
//! let client = wa_groups::Client::new("EAAB-token").unwrap();
//! let err = client.approve_join_requests("no/slashes", ["id"]).await.unwrap_err();
//! match err {
//!     wa_groups::Error::InvalidInput(e) => assert_eq!(e.field(), wa_groups::Field::GroupId),
//!     other => panic!("{other}"),
//! }
//! # }
//! ```
//!
//! # Retries and timeouts
//!
//! Each call makes at most `max_retries + 1` attempts (default 3 + 1). The
//! [`RetryPolicy`] decides after each failed attempt: every rate limit
//! (codes 4, 17, 341, 80007, 130429, 131056, 131208), any 5xx,
//! `is_transient: true`, Graph codes 1 and 2, connection failures and timed
//! out attempts are retried, with exponential backoff from 0.5 s capped at
//! 8 s and full jitter; a `Retry-After` header is honoured up to 60 s.
//! Auth errors, invalid input and not-found are never retried, whatever the
//! status or `is_transient` say, and neither is a 2xx body that does not
//! parse. A retry re-sends the same bytes. Retries are silent unless
//! [`ClientBuilder::on_retry`] sets a callback, which gets a [`RetryEvent`]
//! (the failed attempt, its scrubbed error, the wait) before each one.
//!
//! The `timeout` (default 30 s) bounds each attempt, from sending the
//! request to the last byte of the response body; an attempt that runs out
//! is an [`Error::Timeout`] (retried). `connect_timeout` (default 10 s)
//! bounds TCP connects. `total_timeout` (default none) is an overall
//! deadline per call: every attempt, retry wait and chunk of one call runs
//! within it, and a call that reaches it ends with [`Error::Timeout`]
//! (not retried); for the listing streams each page is one call. Response bodies are read under `max_response_bytes`
//! (default 4 MiB): a larger one is an [`Error::Decode`] and is never
//! buffered beyond the cap.
//!
//! The client holds at most `max_connections` (default 64) connections open
//! and as many requests in flight at once, across all its clones and tasks;
//! further requests wait for a slot, and the wait does not count against
//! their timeout. Over HTTP/2 the calls multiplex over one connection: the
//! first connect to a host runs alone until ALPN shows which protocol the
//! host speaks, so a burst of calls does not open one connection each.
//!
//! # Chunking
//!
//! An approve or reject call with more IDs than `max_ids_per_request`
//! (default 100) is split into chunks of that size, sent `max_concurrency`
//! (default 4) at a time, and merged into one outcome in input order.
//! Duplicate IDs are sent once. A chunk that still fails after its retries
//! puts each of its IDs in `failed` with that error, and the other chunks'
//! results are kept; only when every chunk fails with the same error does
//! the call return that error.
//!
//! # `approve_all` and `reject_all`
//!
//! [`Client::approve_all`] and [`Client::reject_all`] first list every page
//! of pending requests, then act on the collected IDs in chunks as above.
//! Listing first keeps approvals from shifting the list under the cursors,
//! so each request pending at the start (and any that arrives while the
//! listing runs) is acted on exactly once. If a cursor expires during the
//! listing (Graph code 131059), the listing starts again from the first page
//! and IDs already collected are not collected twice; after three such
//! restarts the error is returned. A listing error returns before anything
//! is approved or rejected.
//!
//! # Safe to repeat
//!
//! Approve and reject are safe to repeat: a repeat reports already handled
//! IDs as 131213 failures. So after a lost response (a timeout or a reset
//! connection, both retried) an ID that the server did approve may come
//! back in `failed` with code 131213.
//!
//! # Secrets and logs
//!
//! The access token never appears in `Debug` (of [`Client`] or
//! [`ClientBuilder`]), in `Display` or in errors: a server echoing it gets
//! it scrubbed. The crate emits [`tracing`] spans, `wa_groups.call`
//! (method, path without the token, attempts, status, elapsed) and
//! `wa_groups.attempt` (attempt, status, elapsed), at debug level; nothing is
//! printed unless you install a subscriber.
//!
//! # Features
//!
//! - `native-roots`: trust the platform's root certificates instead of the
//!   bundled webpki roots. Extra roots can always be added with
//!   [`ClientBuilder::add_root_certificate`].

mod builder;
mod client;
mod connect;
mod driver;
mod options;
mod pool;

pub use builder::{
    ClientBuilder, DEFAULT_CONNECT_TIMEOUT, DEFAULT_MAX_CONCURRENCY, DEFAULT_MAX_CONNECTIONS,
    DEFAULT_MAX_IDS_PER_REQUEST, DEFAULT_MAX_RESPONSE_BYTES, DEFAULT_MAX_RETRIES, DEFAULT_TIMEOUT,
    MAX_RETRIES_LIMIT,
};
pub use client::{Client, EXPIRED_CURSOR_CODE, MAX_LISTING_RESTARTS, RetryEvent};
pub use driver::{CallDriver, DrivenCall, DriverStopped};
pub use options::ListOptions;

/// The sans-IO protocol crate this client runs: wire types, request
/// building, response parsing, retry policy, chunking and webhooks.
pub use wa_groups_protocol as protocol;
pub use wa_groups_protocol::{
    Action, ApiError, ApproveOutcome, Cursor, DEFAULT_API_VERSION, DEFAULT_BASE_URL, DecodeError,
    Error, ErrorDetail, ErrorKind, FailedJoinRequest, Field, GroupId, GroupInfo, InvalidInput,
    JoinRequest, JoinRequestId, JoinRequestPage, MAX_ERRORS_KEPT, Operation, Participant,
    RejectOutcome, RetryPolicy, TransportError, TransportErrorKind, VERSION, webhook,
};

/// A result whose error is this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
