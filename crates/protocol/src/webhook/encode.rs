//! Encoding a [`WebhookPayload`] back into Meta's JSON.

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use super::COMMON_KEYS;
use super::types::*;

pub(super) fn encode_payload(payload: &WebhookPayload) -> Value {
    let entries = payload
        .entries
        .iter()
        .map(|entry| {
            let changes = entry.changes.iter().map(encode_change).collect();
            let mut m = Map::new();
            m.insert("id".into(), entry.id.clone().into());
            m.insert("changes".into(), Value::Array(changes));
            Value::Object(m)
        })
        .collect();
    let mut m = Map::new();
    m.insert("object".into(), payload.object.clone().into());
    m.insert("entry".into(), Value::Array(entries));
    Value::Object(m)
}

fn encode_change(change: &Change) -> Value {
    let (field, value) = match change {
        Change::Other(o) => (o.field.clone(), o.value.to_value()),
        Change::Group(g) => {
            let mut metadata = Map::new();
            metadata.insert(
                "display_phone_number".into(),
                g.metadata.display_phone_number.clone().into(),
            );
            metadata.insert(
                "phone_number_id".into(),
                g.metadata.phone_number_id.clone().into(),
            );
            let mut v = Map::new();
            v.insert("messaging_product".into(), "whatsapp".into());
            v.insert("metadata".into(), Value::Object(metadata));
            v.insert(
                "groups".into(),
                Value::Array(g.events.iter().map(encode_event).collect()),
            );
            (g.field.as_str().to_owned(), Value::Object(v))
        }
    };
    let mut m = Map::new();
    m.insert("value".into(), value);
    m.insert("field".into(), field.into());
    Value::Object(m)
}

fn put(m: &mut Map<String, Value>, key: &str, value: &Option<String>) {
    if let Some(v) = value {
        m.insert(key.to_owned(), v.clone().into());
    }
}

fn put_raw(m: &mut Map<String, Value>, fields: &BTreeMap<String, RawJson>) {
    for (k, v) in fields {
        if !m.contains_key(k) && !COMMON_KEYS.contains(&k.as_str()) {
            m.insert(k.clone(), v.to_value());
        }
    }
}

fn encode_participants(list: &[GroupParticipant]) -> Value {
    Value::Array(
        list.iter()
            .map(|p| {
                let mut m = Map::new();
                put(&mut m, "input", &p.input);
                put(&mut m, "wa_id", &p.wa_id);
                put(&mut m, "user_id", &p.user_id);
                put(&mut m, "parent_user_id", &p.parent_user_id);
                put(&mut m, "username", &p.username);
                Value::Object(m)
            })
            .collect(),
    )
}

pub(super) fn encode_event(event: &GroupEvent) -> Value {
    let mut m = Map::new();
    match &event.kind {
        GroupEventKind::JoinRequestCreated(j) | GroupEventKind::JoinRequestRevoked(j) => {
            m.insert("join_request_id".into(), j.join_request_id.clone().into());
            put(&mut m, "wa_id", &j.wa_id);
            put(&mut m, "user_id", &j.user_id);
            put(&mut m, "parent_user_id", &j.parent_user_id);
            put(&mut m, "username", &j.username);
            put(&mut m, "reason", &j.reason);
        }
        GroupEventKind::ParticipantsAdded(a) => {
            put(&mut m, "reason", &a.reason);
            put(&mut m, "join_request_id", &a.join_request_id);
            m.insert(
                "added_participants".into(),
                encode_participants(&a.participants),
            );
        }
        GroupEventKind::ParticipantsRemoved(r) => {
            put(&mut m, "initiated_by", &r.initiated_by);
            m.insert(
                "removed_participants".into(),
                encode_participants(&r.participants),
            );
        }
        GroupEventKind::GroupCreated(c) => {
            put(&mut m, "subject", &c.subject);
            put(&mut m, "description", &c.description);
            put(&mut m, "invite_link", &c.invite_link);
            put(&mut m, "join_approval_mode", &c.join_approval_mode);
            if !c.participants.is_empty() {
                m.insert(
                    "added_participants".into(),
                    encode_participants(&c.participants),
                );
            }
        }
        GroupEventKind::SettingsUpdated(s) => {
            put(&mut m, "subject", &s.subject);
            put(&mut m, "description", &s.description);
            if let Some(pic) = &s.profile_picture {
                let mut p = Map::new();
                put(&mut p, "mime_type", &pic.mime_type);
                put(&mut p, "sha256", &pic.sha256);
                m.insert("profile_picture".into(), Value::Object(p));
            }
            // `profile_picture` is typed: a raw one would not come back raw.
            let mut others = s.other_fields.clone();
            others.remove("profile_picture");
            put_raw(&mut m, &others);
        }
        GroupEventKind::Unknown(u) => put_raw(&mut m, &u.fields),
        GroupEventKind::GroupDeleted
        | GroupEventKind::Suspended
        | GroupEventKind::SuspensionCleared => {}
    }
    m.insert("timestamp".into(), event.timestamp.to_string().into());
    m.insert("group_id".into(), event.group_id.clone().into());
    m.insert("type".into(), event.kind.event_type().to_owned().into());
    put(&mut m, "request_id", &event.request_id);
    if !event.errors.is_empty() {
        let errors = event
            .errors
            .iter()
            .map(|e| {
                let mut em = Map::new();
                em.insert("code".into(), e.code.into());
                put(&mut em, "title", &e.title);
                put(&mut em, "message", &e.message);
                if e.details.is_some() {
                    let mut data = Map::new();
                    put(&mut data, "details", &e.details);
                    em.insert("error_data".into(), Value::Object(data));
                }
                Value::Object(em)
            })
            .collect();
        m.insert("errors".into(), Value::Array(errors));
    }
    Value::Object(m)
}
