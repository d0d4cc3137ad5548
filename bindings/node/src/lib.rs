//! The Node.js binding of wa-groups: the npm package `wa-groups`.
//!
//! A thin napi-rs layer over the `wa-groups` crate (the transport) and
//! `wa-groups-emulator`: it converts JavaScript arguments into Rust values,
//! runs the transport's futures on napi's tokio runtime as Promises, and
//! maps results and errors back. It holds no wire logic, no retry logic and
//! no validation of its own: every rule lives in Rust, once.
//!
//! - [`client`]: `Client` and its `joinRequests` async iterator.
//! - [`call`]: a Rust future as a Promise, cancelled by an `AbortSignal`.
//! - [`error`]: the one mapping from Rust errors to JavaScript `Error`s.
//! - [`args`]: JavaScript arguments to Rust values (types only).
//! - [`types`]: results as camelCase objects, option bags for TypeScript.
//! - [`webhook`]: `parseWebhook`, `verifySignature`, `signWebhook`.
//! - [`emulator`]: the `Emulator` test helper.
//! - [`moderation`]: `Moderator`, the moderation engine.
//!
//! The TypeScript declarations (`index.d.ts`) are generated from these
//! items by `napi build --dts`, with `dts-header.d.ts` in front.

#![allow(
    unsafe_code,
    reason = "napi-derive expands `#[napi]` items into `unsafe` FFI glue; this crate's own `unsafe` is the raw Promise deferreds of `call.rs`, each block with its SAFETY note"
)]

pub mod args;
pub mod call;
pub mod client;
pub mod emulator;
pub mod error;
pub mod moderation;
pub mod types;
pub mod webhook;

/// The Rust side of a call allocates a few dozen times (request, headers,
/// response, outcome), much of it freed on another thread than the one that
/// allocated it (the JavaScript thread's, a runtime worker's), which costs
/// glibc's allocator most (per-arena locks, consolidation before larger
/// allocations). Only this addon's Rust allocations use it; V8's and
/// Node's own are untouched.
#[global_allocator]
static ALLOC: mimalloc::MiMalloc = mimalloc::MiMalloc;

use napi::bindgen_prelude::{Object, Unknown};
use napi::{Env, ValueType};
use napi_derive::napi;

/// The package version, equal to the Cargo workspace version.
#[napi]
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// Whether `value` is an error of this package: an object whose `code` is
/// one of `ErrorCode`.
#[napi(
    ts_args_type = "value: unknown",
    ts_return_type = "value is WaGroupsError"
)]
pub fn is_wa_groups_error(value: Unknown<'_>) -> bool {
    if value.get_type().ok() != Some(ValueType::Object) {
        return false;
    }
    let Ok(obj) = Object::from_unknown(value) else {
        return false;
    };
    matches!(obj.get::<Unknown<'_>>("code"), Ok(Some(code))
        if code.get_type().ok() == Some(ValueType::String)
            && String::from_unknown(code).is_ok_and(|c| error::CODES.contains(&c.as_str())))
}

/// Adds what `#[napi]` cannot declare: the symbol-keyed methods
/// (`Symbol.asyncIterator` on the `joinRequests` iterator,
/// `util.inspect.custom` on `Client`).
#[napi(module_exports)]
pub fn init(exports: Object<'_>, env: Env) -> napi::Result<()> {
    client::install_symbols(&env, &exports)
}

use napi::bindgen_prelude::FromNapiValue as _;
