//! Moderation of WhatsApp group join requests: every request decided by the
//! business's rules, soon, exactly once, nothing lost.
//!
//! Scope: the webhook receiver (handshake, signature, body cap), a durable
//! ledger of join requests (SQLite by default, behind the [`store`] trait),
//! the policy file or a user's decider, the applier (batched approve and
//! reject calls through [`wa_groups::Client`]), the reconciler (catching up
//! on lost webhooks by listing), the audit trail, Prometheus metrics and
//! graceful shutdown. Out of scope: the Graph API wire format (in
//! `wa-groups-protocol`), HTTP retries and rate limits (in `wa-groups`),
//! and any storage of our own (the database does it).
//!
//! Layering: [`ledger`] (the state machine) and [`policy`] (parsing and
//! evaluation) are pure, with no I/O and no clock; everything else is a
//! thin shell around them. The contract is in docs/design.md.
//!
//! ```no_run
//! use wa_groups_moderation::{Decision, Moderator, Store};
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let client = wa_groups::Client::new(std::env::var("WHATSAPP_ACCESS_TOKEN")?)?;
//! let moderator = Moderator::builder()
//!     .client(client)
//!     .store(Store::open("sqlite:wa-groups-moderation.db").await?)
//!     .decide(|_req| async { Decision::Approve })
//!     .app_secret(std::env::var("WHATSAPP_APP_SECRET")?)
//!     .verify_token(std::env::var("WHATSAPP_VERIFY_TOKEN")?)
//!     .build()?;
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:8080").await?;
//! moderator.serve(listener).await?; // until SIGINT or SIGTERM
//! # Ok(()) }
//! ```

pub mod host;
pub mod ledger;
mod metrics;
mod moderator;
pub mod policy;
mod policy_file;
pub mod store;
mod workers;

pub use ledger::{Decision, Record, Requester, State};
pub use moderator::{
    DEFAULT_BATCH_WINDOW, DEFAULT_DECIDER_TIMEOUT, DEFAULT_LEASE_TIMEOUT, DEFAULT_RECONCILE_EVERY,
    DEFAULT_WEBHOOK_PATH, Decider, Error, MAX_BODY_BYTES, Moderator, ModeratorBuilder,
};
pub use policy::{ModerationRequest, Policy, PolicyError};
pub use store::{EngineGuard, PassMark, Status, Store, StoreError};
pub use workers::{CALLBACK_RULE, DECIDER_PANICKED_RULE, DECIDER_TIMEOUT_RULE};

/// The README's Rust examples, compiled as doc tests so they stay true.
/// They live here, in the crate that depends on every other one the
/// examples use (the client and the moderation engine).
#[doc = include_str!("../../../README.md")]
#[cfg(doctest)]
pub struct ReadmeDoctests;
