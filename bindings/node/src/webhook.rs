//! `parseWebhook` and `verifySignature`: the protocol crate's webhook
//! module, with its results as plain objects in camelCase.

use napi::bindgen_prelude::{Buffer, FromNapiValue as _, JsObjectValue as _, Object, Unknown};
use napi::{Env, JsValue, Property, PropertyAttributes, ValueType};
use napi_derive::napi;
use serde_json::Value;
use wa_groups::protocol::webhook::{self, KeyCase};
use wa_groups::{Field, InvalidInput};

use crate::args;
use crate::call::{guard, type_error};
use crate::error::Failure;

/// The bytes of a raw body or secret: a `Buffer` (or any `Uint8Array`),
/// or a well-formed string taken as its UTF-8 bytes; `None` for any other
/// value.
fn bytes_of(value: Unknown<'_>) -> Option<Vec<u8>> {
    match value.get_type().ok()? {
        // A lone surrogate is refused, not signed or parsed as U+FFFD.
        ValueType::String => args::well_formed(value)
            .ok()
            .flatten()
            .map(String::into_bytes),
        _ if value.is_buffer().unwrap_or(false) || value.is_typedarray().unwrap_or(false) => {
            Buffer::from_unknown(value).ok().map(|b| b.to_vec())
        }
        _ => None,
    }
}

/// The raw body, or the `TypeError` for a value that is not bytes.
fn raw_body_of(env: &Env, value: Unknown<'_>) -> napi::Result<Vec<u8>> {
    bytes_of(value).ok_or_else(|| {
        type_error(
            env,
            "The \"rawBody\" argument must be a Buffer, a Uint8Array or a well-formed string",
        )
    })
}

/// The app secret; a value that is not bytes is invalid input.
fn secret_of(value: Unknown<'_>) -> Result<Vec<u8>, InvalidInput> {
    bytes_of(value).ok_or_else(|| {
        InvalidInput::new(Field::AppSecret, "must be a well-formed string or a Buffer")
    })
}

/// Parses a webhook delivery body (the exact bytes received) into a plain
/// object in camelCase: `{ object, entries: [{ id, changes }] }`, each
/// change a `group` change with typed `events` or an `other` change kept
/// as its JSON value; its `events()` method lists every group event,
/// flattened, with `wabaId`, `field`, `phoneNumberId` and
/// `displayPhoneNumber`.
///
/// Throws an `ERR_WA_DECODE` error when the body is not a webhook payload
/// (the message names the path of what is missing), and a `TypeError`
/// (`ERR_INVALID_ARG_TYPE`) when `rawBody` is not bytes.
#[napi(
    ts_args_type = "rawBody: Buffer | Uint8Array | string",
    ts_return_type = "WebhookPayload"
)]
pub fn parse_webhook(env: Env, raw_body: Unknown<'_>) -> napi::Result<Object<'_>> {
    guard(&env, || {
        let body = raw_body_of(&env, raw_body)?;
        let payload = webhook::parse(&body).map_err(|e| Failure::from(e).into_napi(&env, None))?;
        // The projection and the event walk are the protocol crate's.
        let events: Vec<Value> = payload
            .events()
            .map(|e| webhook::project_event_ref(&e, KeyCase::Camel))
            .collect();
        let projected = webhook::project(&payload, KeyCase::Camel);
        let mut object = Object::from_unknown(env.to_js_value(&projected)?)?;
        let method: napi::bindgen_prelude::Function<'_, (), Unknown<'_>> =
            env.create_function_from_closure("events", move |ctx| ctx.env.to_js_value(&events))?;
        // Not enumerable: the payload still compares and serializes as the
        // plain data it is.
        object.define_properties(&[Property::new()
            .with_utf8_name("events")?
            .with_value(&method)
            .with_property_attributes(
                PropertyAttributes::Writable | PropertyAttributes::Configurable,
            )])?;
        Ok(object)
    })
}

/// Checks a delivery's `X-Hub-Signature-256` header against the
/// HMAC-SHA256 of the exact body received, keyed with the app secret, in
/// constant time. Returns nothing when it matches; otherwise throws an
/// `ERR_WA_INVALID_INPUT` error whose `field` is `appSecret` (empty
/// secret) or `signature` (header missing, malformed, or not the body's).
#[napi(
    ts_args_type = "appSecret: string | Buffer, rawBody: Buffer | Uint8Array | string, header: string | null | undefined"
)]
pub fn verify_signature(
    env: Env,
    app_secret: Unknown<'_>,
    raw_body: Unknown<'_>,
    header: Unknown<'_>,
) -> napi::Result<()> {
    guard(&env, || {
        let body = raw_body_of(&env, raw_body)?;
        let result = (|| -> Result<(), Failure> {
            let secret = secret_of(app_secret)?;
            let header = args::opt_string(header, Field::Signature)?.unwrap_or_default();
            webhook::verify_signature(&secret, &body, &header).map_err(|e| Failure::Wa(e.into()))
        })();
        result.map_err(|f| f.into_napi(&env, None))
    })
}

/// The `X-Hub-Signature-256` value Meta would send with `rawBody`:
/// `sha256=` and the lowercase hex HMAC-SHA256 keyed with `appSecret`.
/// For tests of webhook receivers.
#[napi(ts_args_type = "appSecret: string | Buffer, rawBody: Buffer | Uint8Array | string")]
pub fn sign_webhook(
    env: Env,
    app_secret: Unknown<'_>,
    raw_body: Unknown<'_>,
) -> napi::Result<String> {
    guard(&env, || {
        let body = raw_body_of(&env, raw_body)?;
        let secret = secret_of(app_secret).map_err(|e| Failure::from(e).into_napi(&env, None))?;
        Ok(webhook::sign(&secret, &body))
    })
}
