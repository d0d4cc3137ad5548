//! `wa_groups._native`: the Python extension module of wa-groups.
//!
//! A thin layer over the `wa-groups` transport crate and the emulator: it
//! converts arguments, calls Rust, and maps results and errors. Validation,
//! the wire format, retries and chunking live in Rust, once, for every
//! language. The Python package (`python/wa_groups`) re-exports these
//! classes and defines the exception classes that [`errors`] raises.

mod client;
mod errors;
mod moderation;
mod runtime;
mod testing;
mod types;
mod webhooks;

use pyo3::prelude::*;

/// The Rust side of a call allocates about 36 times (request, headers,
/// response, outcome), half of it freed on another thread than the one
/// that allocated it (the event loop's, a runtime worker's); glibc's
/// allocator spent about 11k instructions a call on it (per-arena locks,
/// fastbin consolidation before every allocation over 1 KB). Only this
/// module's Rust allocations use it; Python's own are untouched.
#[global_allocator]
static ALLOC: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[pymodule]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    m.add("DEFAULT_API_VERSION", wa_groups::DEFAULT_API_VERSION)?;
    m.add("DEFAULT_BASE_URL", wa_groups::DEFAULT_BASE_URL)?;

    m.add_class::<client::Client>()?;
    m.add_class::<client::AsyncClient>()?;
    m.add_class::<client::JoinRequestIterator>()?;
    m.add_class::<client::AsyncJoinRequestIterator>()?;
    m.add_class::<types::JoinRequest>()?;
    m.add_class::<types::JoinRequestPage>()?;
    m.add_class::<types::ApproveOutcome>()?;
    m.add_class::<types::RejectOutcome>()?;
    m.add_class::<types::FailedJoinRequest>()?;
    m.add_class::<types::ErrorDetail>()?;

    m.add_class::<webhooks::WebhookPayload>()?;
    m.add_class::<webhooks::Entry>()?;
    m.add_class::<webhooks::GroupChange>()?;
    m.add_class::<webhooks::OtherChange>()?;
    m.add_class::<webhooks::GroupEvent>()?;
    m.add_class::<webhooks::JoinRequestCreated>()?;
    m.add_class::<webhooks::JoinRequestRevoked>()?;
    m.add_class::<webhooks::ParticipantsAdded>()?;
    m.add_class::<webhooks::ParticipantsRemoved>()?;
    m.add_class::<webhooks::GroupCreated>()?;
    m.add_class::<webhooks::GroupDeleted>()?;
    m.add_class::<webhooks::SettingsUpdated>()?;
    m.add_class::<webhooks::Suspended>()?;
    m.add_class::<webhooks::SuspensionCleared>()?;
    m.add_class::<webhooks::UnknownEvent>()?;
    m.add_class::<webhooks::GroupParticipant>()?;
    m.add_class::<webhooks::ProfilePicture>()?;
    m.add_function(wrap_pyfunction!(webhooks::parse, m)?)?;
    m.add_function(wrap_pyfunction!(webhooks::verify_signature, m)?)?;
    m.add_function(wrap_pyfunction!(webhooks::sign, m)?)?;

    m.add_class::<testing::Emulator>()?;
    m.add_class::<moderation::ModeratorCore>()?;
    m.add_class::<moderation::ModerationRequest>()?;
    Ok(())
}
