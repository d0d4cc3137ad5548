//! The plain-JSON projection of a parsed payload that
//! `testdata/webhooks/README.md` documents: every key always present, an
//! absent value `null`, raw JSON as its value. The golden vectors' Rust
//! tests compare against it in snake_case; the Node binding hands it to
//! JavaScript in camelCase. Written once, here.

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use super::types::{
    Change, GroupEvent, GroupEventKind, GroupEventRef, GroupParticipant, RawJson, WebhookPayload,
};
use crate::model::ErrorDetail;

/// How the projection spells its own keys (never the keys of raw JSON the
/// payload carried, which are kept as received).
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyCase {
    /// `group_id`, as the golden vectors (and Rust and Python) spell it.
    Snake,
    /// `groupId`, as the Node API spells it.
    Camel,
}

impl KeyCase {
    fn key(self, snake: &str) -> String {
        match self {
            Self::Snake => snake.to_owned(),
            Self::Camel => {
                let mut out = String::with_capacity(snake.len());
                let mut upper = false;
                for c in snake.chars() {
                    if c == '_' {
                        upper = true;
                    } else if upper {
                        out.push(c.to_ascii_uppercase());
                        upper = false;
                    } else {
                        out.push(c);
                    }
                }
                out
            }
        }
    }
}

/// `payload` as `{"object", "entries": [{"id", "changes": [...]}]}`, each
/// change `{"kind": "group", "field", "display_phone_number",
/// "phone_number_id", "events"}` or `{"kind": "other", "field", "value"}`.
pub fn project(payload: &WebhookPayload, case: KeyCase) -> Value {
    let p = Projector(case);
    let entries = payload
        .entries
        .iter()
        .map(|e| {
            let changes = e.changes.iter().map(|c| p.change(c)).collect();
            p.object([
                ("id", Value::from(e.id.as_str())),
                ("changes", Value::Array(changes)),
            ])
        })
        .collect();
    p.object([
        ("object", Value::from(payload.object.as_str())),
        ("entries", Value::Array(entries)),
    ])
}

/// One event of [`WebhookPayload::events`], flattened: the event's keys
/// plus `waba_id`, `field`, `phone_number_id` and `display_phone_number`.
pub fn project_event_ref(event: &GroupEventRef<'_>, case: KeyCase) -> Value {
    let p = Projector(case);
    let mut v = p.event(event.event);
    if let Value::Object(m) = &mut v {
        m.insert(p.0.key("waba_id"), event.waba_id.into());
        m.insert(p.0.key("field"), event.field.as_str().into());
        m.insert(p.0.key("phone_number_id"), event.phone_number_id().into());
        m.insert(
            p.0.key("display_phone_number"),
            event.metadata.display_phone_number.as_str().into(),
        );
    }
    v
}

struct Projector(KeyCase);

fn opt(v: &Option<String>) -> Value {
    v.as_deref().map_or(Value::Null, Value::from)
}

fn raw(v: &RawJson) -> Value {
    serde_json::from_str(v.as_str()).unwrap_or(Value::Null)
}

fn raw_map(m: &BTreeMap<String, RawJson>) -> Value {
    Value::Object(m.iter().map(|(k, v)| (k.clone(), raw(v))).collect())
}

impl Projector {
    fn object<const N: usize>(&self, pairs: [(&str, Value); N]) -> Value {
        let mut m = Map::with_capacity(N);
        for (k, v) in pairs {
            m.insert(self.0.key(k), v);
        }
        Value::Object(m)
    }

    fn change(&self, c: &Change) -> Value {
        match c {
            Change::Group(g) => self.object([
                ("kind", "group".into()),
                ("field", g.field.as_str().into()),
                (
                    "display_phone_number",
                    g.metadata.display_phone_number.as_str().into(),
                ),
                (
                    "phone_number_id",
                    g.metadata.phone_number_id.as_str().into(),
                ),
                (
                    "events",
                    Value::Array(g.events.iter().map(|e| self.event(e)).collect()),
                ),
            ]),
            Change::Other(o) => self.object([
                ("kind", "other".into()),
                ("field", o.field.as_str().into()),
                ("value", raw(&o.value)),
            ]),
        }
    }

    fn error(&self, d: &ErrorDetail) -> Value {
        self.object([
            ("code", d.code.into()),
            ("title", opt(&d.title)),
            ("message", opt(&d.message)),
            ("details", opt(&d.details)),
        ])
    }

    fn participants(&self, list: &[GroupParticipant]) -> Value {
        list.iter()
            .map(|p| {
                self.object([
                    ("input", opt(&p.input)),
                    ("wa_id", opt(&p.wa_id)),
                    ("user_id", opt(&p.user_id)),
                    ("parent_user_id", opt(&p.parent_user_id)),
                    ("username", opt(&p.username)),
                ])
            })
            .collect()
    }

    fn event(&self, e: &GroupEvent) -> Value {
        let mut v = self.object([
            ("type", e.event_type().into()),
            ("timestamp", e.timestamp.into()),
            ("group_id", e.group_id.as_str().into()),
            ("request_id", opt(&e.request_id)),
            (
                "errors",
                Value::Array(e.errors.iter().map(|d| self.error(d)).collect()),
            ),
        ]);
        let extra = match &e.kind {
            GroupEventKind::JoinRequestCreated(j) | GroupEventKind::JoinRequestRevoked(j) => self
                .object([
                    ("join_request_id", j.join_request_id.as_str().into()),
                    ("wa_id", opt(&j.wa_id)),
                    ("user_id", opt(&j.user_id)),
                    ("parent_user_id", opt(&j.parent_user_id)),
                    ("username", opt(&j.username)),
                    ("reason", opt(&j.reason)),
                ]),
            GroupEventKind::ParticipantsAdded(a) => self.object([
                ("reason", opt(&a.reason)),
                ("join_request_id", opt(&a.join_request_id)),
                ("participants", self.participants(&a.participants)),
            ]),
            GroupEventKind::ParticipantsRemoved(r) => self.object([
                ("initiated_by", opt(&r.initiated_by)),
                ("participants", self.participants(&r.participants)),
            ]),
            GroupEventKind::GroupCreated(c) => self.object([
                ("subject", opt(&c.subject)),
                ("description", opt(&c.description)),
                ("invite_link", opt(&c.invite_link)),
                ("join_approval_mode", opt(&c.join_approval_mode)),
                ("participants", self.participants(&c.participants)),
            ]),
            GroupEventKind::SettingsUpdated(u) => self.object([
                ("subject", opt(&u.subject)),
                ("description", opt(&u.description)),
                (
                    "profile_picture",
                    u.profile_picture.as_ref().map_or(Value::Null, |p| {
                        self.object([("mime_type", opt(&p.mime_type)), ("sha256", opt(&p.sha256))])
                    }),
                ),
                ("other_fields", raw_map(&u.other_fields)),
            ]),
            GroupEventKind::Unknown(u) => self.object([("fields", raw_map(&u.fields))]),
            // Delete, suspend, suspension cleared (and kinds added later)
            // carry nothing beyond the common keys.
            _ => Value::Object(Map::new()),
        };
        if let (Value::Object(m), Value::Object(extra)) = (&mut v, extra) {
            m.extend(extra);
        }
        v
    }
}
