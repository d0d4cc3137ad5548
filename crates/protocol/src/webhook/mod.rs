//! Group webhooks: parsing Meta's deliveries, checking and making their
//! `X-Hub-Signature-256` signatures, and encoding payloads (the emulator
//! builds and signs its deliveries with the same types).
//!
//! Scope: bytes in, typed values out, and back. No I/O, no clock, no
//! randomness. Receiving the HTTP request and answering Meta's verification
//! challenge (`hub.challenge`) are the caller's business.
//!
//! # Receiving a delivery
//!
//! 1. Check the signature over the exact bytes received with
//!    [`verify_signature`] (or [`verify_signature_headers`]).
//! 2. [`parse`] the same bytes into a [`WebhookPayload`].
//! 3. Walk [`WebhookPayload::events`] for the group events, each with its
//!    WhatsApp Business Account ID, phone number ID and field.
//!
//! # Tolerance
//!
//! Timestamps are accepted as integers or strings of digits, IDs as strings
//! or numbers. Unknown keys are ignored. An unknown change `field` (such as
//! `messages`) is kept as [`Change::Other`] with its raw JSON; an unknown
//! group event `type` is kept as [`GroupEventKind::Unknown`] with its other
//! keys as raw JSON. Only a body that is not JSON, or that lacks a field
//! the envelope or a group event requires, is a [`Error::Decode`].
//!
//! Raw JSON is kept as [`RawJson`]: canonical compact JSON text (the value
//! re-serialized, not the exact bytes received), so that
//! `parse(&payload.encode())` gives back `payload`.
//!
//! The module is split by concern: [`types`](self) (the values),
//! parsing, encoding, signatures, and the plain-JSON projection the golden
//! vectors and the Node binding use ([`project`]).

mod encode;
mod parse;
mod projection;
mod signature;
mod types;

pub use parse::parse;
pub use projection::{KeyCase, project, project_event_ref};
pub use signature::{
    MalformedSignature, SignatureError, sign, verify_signature, verify_signature_headers,
};
pub use types::*;

/// The `object` of every WhatsApp Business Account webhook.
pub const OBJECT_WHATSAPP_BUSINESS_ACCOUNT: &str = "whatsapp_business_account";

/// The header that carries a delivery's signature, `X-Hub-Signature-256`.
pub const SIGNATURE_HEADER: http::HeaderName = http::HeaderName::from_static("x-hub-signature-256");

/// The prefix of a signature header's value.
pub const SIGNATURE_PREFIX: &str = "sha256=";

/// The group event keys every event shares; the others depend on `type`.
pub(crate) const COMMON_KEYS: [&str; 5] = ["timestamp", "group_id", "type", "request_id", "errors"];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sign_matches_known_vector() {
        // RFC 4231 test case 2.
        let sig = sign(b"Jefe", b"what do ya want for nothing?");
        assert_eq!(
            sig,
            "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
        assert_eq!(
            verify_signature(b"Jefe", b"what do ya want for nothing?", &sig),
            Ok(())
        );
    }
}
