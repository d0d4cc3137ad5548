//! `parseWebhook` and `verifySignature`: the protocol crate's webhook
//! module, with its results as plain objects in camelCase.

use std::collections::BTreeMap;

use napi::bindgen_prelude::{Buffer, FromNapiValue as _, Unknown};
use napi::{Env, JsValue, ValueType};
use napi_derive::napi;
use serde_json::{Map, Value, json};
use wa_groups::protocol::webhook::{
    self, Change, GroupEvent, GroupEventKind, GroupParticipant, RawJson,
};
use wa_groups::{ErrorDetail, Field, InvalidInput};

use crate::args;
use crate::call::{guard, type_error};
use crate::error::Failure;

fn s(v: &Option<String>) -> Value {
    v.as_ref().map_or(Value::Null, |s| Value::String(s.clone()))
}

/// Raw JSON kept by the parser, as the value it holds.
fn raw(v: &RawJson) -> Value {
    serde_json::from_str(v.as_str()).unwrap_or(Value::Null)
}

fn raw_map(m: &BTreeMap<String, RawJson>) -> Value {
    Value::Object(m.iter().map(|(k, v)| (k.clone(), raw(v))).collect())
}

fn participants(list: &[GroupParticipant]) -> Value {
    list.iter()
        .map(|p| {
            json!({
                "input": s(&p.input), "waId": s(&p.wa_id), "userId": s(&p.user_id),
                "parentUserId": s(&p.parent_user_id), "username": s(&p.username),
            })
        })
        .collect()
}

fn error_detail(d: &ErrorDetail) -> Value {
    json!({"code": d.code, "title": s(&d.title), "message": s(&d.message), "details": s(&d.details)})
}

fn event(e: &GroupEvent) -> Value {
    let mut m = Map::new();
    m.insert("type".into(), e.event_type().into());
    m.insert("timestamp".into(), e.timestamp.into());
    m.insert("groupId".into(), e.group_id.clone().into());
    m.insert("requestId".into(), s(&e.request_id));
    m.insert("errors".into(), e.errors.iter().map(error_detail).collect());
    let extra = match &e.kind {
        GroupEventKind::JoinRequestCreated(j) | GroupEventKind::JoinRequestRevoked(j) => json!({
            "joinRequestId": j.join_request_id, "waId": s(&j.wa_id), "userId": s(&j.user_id),
            "parentUserId": s(&j.parent_user_id), "username": s(&j.username), "reason": s(&j.reason),
        }),
        GroupEventKind::ParticipantsAdded(a) => json!({
            "reason": s(&a.reason), "joinRequestId": s(&a.join_request_id),
            "participants": participants(&a.participants),
        }),
        GroupEventKind::ParticipantsRemoved(r) => {
            json!({"initiatedBy": s(&r.initiated_by), "participants": participants(&r.participants)})
        }
        GroupEventKind::GroupCreated(c) => json!({
            "subject": s(&c.subject), "description": s(&c.description),
            "inviteLink": s(&c.invite_link), "joinApprovalMode": s(&c.join_approval_mode),
            "participants": participants(&c.participants),
        }),
        GroupEventKind::SettingsUpdated(u) => json!({
            "subject": s(&u.subject), "description": s(&u.description),
            "profilePicture": u.profile_picture.as_ref().map_or(Value::Null, |p| {
                json!({"mimeType": s(&p.mime_type), "sha256": s(&p.sha256)})
            }),
            "otherFields": raw_map(&u.other_fields),
        }),
        GroupEventKind::Unknown(u) => json!({"fields": raw_map(&u.fields)}),
        // Delete, suspend, suspension cleared (and kinds added later) carry
        // nothing beyond the common keys.
        _ => json!({}),
    };
    if let Value::Object(extra) = extra {
        m.extend(extra);
    }
    Value::Object(m)
}

fn change(c: &Change) -> Value {
    match c {
        Change::Group(g) => json!({
            "kind": "group",
            "field": g.field.as_str(),
            "displayPhoneNumber": g.metadata.display_phone_number,
            "phoneNumberId": g.metadata.phone_number_id,
            "events": g.events.iter().map(event).collect::<Vec<_>>(),
        }),
        Change::Other(o) => json!({"kind": "other", "field": o.field, "value": raw(&o.value)}),
        other => json!({"kind": "other", "field": other.field(), "value": Value::Null}),
    }
}

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
/// as its JSON value.
///
/// Throws an `ERR_WA_DECODE` error when the body is not a webhook payload
/// (the message names the path of what is missing), and a `TypeError`
/// (`ERR_INVALID_ARG_TYPE`) when `rawBody` is not bytes.
#[napi(
    ts_args_type = "rawBody: Buffer | Uint8Array | string",
    ts_return_type = "WebhookPayload"
)]
pub fn parse_webhook(env: Env, raw_body: Unknown<'_>) -> napi::Result<Value> {
    guard(&env, || {
        let body = raw_body_of(&env, raw_body)?;
        let payload = webhook::parse(&body).map_err(|e| Failure::from(e).into_napi(&env, None))?;
        let entries: Vec<Value> = payload
            .entries
            .iter()
            .map(|e| json!({"id": e.id, "changes": e.changes.iter().map(change).collect::<Vec<_>>()}))
            .collect();
        Ok(json!({"object": payload.object, "entries": entries}))
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
