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

pub mod ledger;
pub mod policy;
mod policy_file;
pub mod store;

pub use ledger::{Decision, Record, Requester, State};
pub use policy::{ModerationRequest, Policy, PolicyError};
pub use store::{Status, Store, StoreError};
