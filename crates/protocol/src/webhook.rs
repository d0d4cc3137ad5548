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

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use bytes::Bytes;
use hmac::{Hmac, Mac};
use serde_json::{Map, Value};
use sha2::Sha256;

use crate::error::{DecodeError, Error, Field, InvalidInput};
use crate::model::ErrorDetail;

/// The `object` of every WhatsApp Business Account webhook.
pub const OBJECT_WHATSAPP_BUSINESS_ACCOUNT: &str = "whatsapp_business_account";

/// The header that carries a delivery's signature, `X-Hub-Signature-256`.
pub const SIGNATURE_HEADER: http::HeaderName = http::HeaderName::from_static("x-hub-signature-256");

/// The prefix of a signature header's value.
pub const SIGNATURE_PREFIX: &str = "sha256=";

/// The group event keys every event shares; the others depend on `type`.
const COMMON_KEYS: [&str; 5] = ["timestamp", "group_id", "type", "request_id", "errors"];

// ---------------------------------------------------------------------------
// Types
// ---------------------------------------------------------------------------

/// A whole webhook delivery: `{"object": ..., "entry": [...]}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookPayload {
    /// The `object`; always `whatsapp_business_account` for WhatsApp.
    pub object: String,
    /// The `entry` list, one per WhatsApp Business Account.
    pub entries: Vec<Entry>,
}

/// One `entry` of a delivery: the changes of one WhatsApp Business Account.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Entry {
    /// The WhatsApp Business Account ID (`entry[].id`).
    pub id: String,
    /// The `changes` of this entry.
    pub changes: Vec<Change>,
}

/// One element of `entry[].changes`.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    /// A change of one of the group fields, with typed events.
    Group(GroupChange),
    /// Any other change (`messages`, statuses, fields this crate does not
    /// know), kept as raw JSON.
    Other(OtherChange),
}

impl Change {
    /// The change's `field`, as it is encoded.
    pub fn field(&self) -> &str {
        match self {
            Self::Group(g) => g.field.as_str(),
            Self::Other(o) => &o.field,
        }
    }
}

/// The group webhook fields an app subscribes to.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum GroupField {
    /// `group_participants_update` (Meta's spec enum also spells it
    /// `group_participant_update`; both are accepted): participants joining
    /// and leaving, join requests created and revoked.
    ParticipantsUpdate,
    /// `group_lifecycle_update`: groups created and deleted.
    LifecycleUpdate,
    /// `group_settings_update`: subject, description, picture changes.
    SettingsUpdate,
    /// `group_status_update`: groups suspended and reinstated.
    StatusUpdate,
}

impl GroupField {
    /// The field name as encoded, such as `group_participants_update`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::ParticipantsUpdate => "group_participants_update",
            Self::LifecycleUpdate => "group_lifecycle_update",
            Self::SettingsUpdate => "group_settings_update",
            Self::StatusUpdate => "group_status_update",
        }
    }

    /// The group field named `name`, accepting both spellings of the
    /// participants field; `None` for any other field.
    pub fn from_name(name: &str) -> Option<Self> {
        match name {
            "group_participants_update" | "group_participant_update" => {
                Some(Self::ParticipantsUpdate)
            }
            "group_lifecycle_update" => Some(Self::LifecycleUpdate),
            "group_settings_update" => Some(Self::SettingsUpdate),
            "group_status_update" => Some(Self::StatusUpdate),
            _ => None,
        }
    }
}

impl fmt::Display for GroupField {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The business phone number a change is about (`value.metadata`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct Metadata {
    /// The number as displayed, such as `15550783881`.
    pub display_phone_number: String,
    /// The phone number ID, as used in Graph API paths.
    pub phone_number_id: String,
}

/// A change of a group field: `value.metadata` and the `value.groups` list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupChange {
    /// Which group field changed.
    pub field: GroupField,
    /// The business phone number.
    pub metadata: Metadata,
    /// The events, one per element of `value.groups`.
    pub events: Vec<GroupEvent>,
}

/// A change this crate does not model: its field and its raw `value`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OtherChange {
    /// The `field`, such as `messages`.
    pub field: String,
    /// The whole `value`, as raw JSON.
    pub value: RawJson,
}

/// One element of `value.groups`: what happened to which group, and when.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupEvent {
    /// When it happened, in Unix seconds (`timestamp`, sent as an integer
    /// or a string of digits).
    pub timestamp: i64,
    /// The group (`group_id`).
    pub group_id: String,
    /// The ID of the API request that caused the event, when there was one.
    pub request_id: Option<String>,
    /// The `errors` the event reports (a failed group creation, for one).
    pub errors: Vec<ErrorDetail>,
    /// The `type` and the fields that depend on it.
    pub kind: GroupEventKind,
}

impl GroupEvent {
    /// An event of `kind` for `group_id` at `timestamp` (Unix seconds), with
    /// no request ID and no errors.
    pub fn new(timestamp: i64, group_id: impl Into<String>, kind: GroupEventKind) -> Self {
        Self {
            timestamp,
            group_id: group_id.into(),
            request_id: None,
            errors: Vec::new(),
            kind,
        }
    }

    /// The same event with `request_id` set.
    #[must_use]
    pub fn with_request_id(mut self, request_id: impl Into<String>) -> Self {
        self.request_id = Some(request_id.into());
        self
    }

    /// The event's `type` as encoded, such as `group_join_request_created`.
    pub fn event_type(&self) -> &str {
        self.kind.event_type()
    }

    /// The event as canonical compact JSON text (one element of
    /// `value.groups`).
    pub fn to_json_string(&self) -> String {
        encode_event(self).to_string()
    }
}

/// What a group event is about, by its `type`.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GroupEventKind {
    /// `group_join_request_created`: someone asked to join the group.
    JoinRequestCreated(JoinRequestEvent),
    /// `group_join_request_revoked`: they withdrew the request.
    JoinRequestRevoked(JoinRequestEvent),
    /// `group_participants_add` (also read as `group_add_participants`).
    ParticipantsAdded(ParticipantsAdded),
    /// `group_participants_remove` (also read as `group_remove_participants`).
    ParticipantsRemoved(ParticipantsRemoved),
    /// `group_create`: the group was created (or failed to be: see
    /// [`GroupEvent::errors`]).
    GroupCreated(GroupCreated),
    /// `group_delete`: the group was deleted.
    GroupDeleted,
    /// `group_settings_update`: subject, description or picture changed.
    SettingsUpdated(SettingsUpdate),
    /// `group_suspend`: the group was suspended.
    Suspended,
    /// `group_suspend_cleared`: the suspension was lifted.
    SuspensionCleared,
    /// Any other `type`, kept raw.
    Unknown(UnknownEvent),
}

impl GroupEventKind {
    /// The `type` as encoded.
    pub fn event_type(&self) -> &str {
        match self {
            Self::JoinRequestCreated(_) => "group_join_request_created",
            Self::JoinRequestRevoked(_) => "group_join_request_revoked",
            Self::ParticipantsAdded(_) => "group_participants_add",
            Self::ParticipantsRemoved(_) => "group_participants_remove",
            Self::GroupCreated(_) => "group_create",
            Self::GroupDeleted => "group_delete",
            Self::SettingsUpdated(_) => "group_settings_update",
            Self::Suspended => "group_suspend",
            Self::SuspensionCleared => "group_suspend_cleared",
            Self::Unknown(u) => &u.event_type,
        }
    }

    /// The field Meta delivers this kind of event under; an
    /// [`Unknown`](Self::Unknown) event goes under
    /// [`GroupField::ParticipantsUpdate`].
    pub fn field(&self) -> GroupField {
        match self {
            Self::JoinRequestCreated(_)
            | Self::JoinRequestRevoked(_)
            | Self::ParticipantsAdded(_)
            | Self::ParticipantsRemoved(_)
            | Self::Unknown(_) => GroupField::ParticipantsUpdate,
            Self::GroupCreated(_) | Self::GroupDeleted => GroupField::LifecycleUpdate,
            Self::SettingsUpdated(_) => GroupField::SettingsUpdate,
            Self::Suspended | Self::SuspensionCleared => GroupField::StatusUpdate,
        }
    }
}

/// A join request, as announced by `group_join_request_created` and
/// `group_join_request_revoked`.
///
/// The requester is known by `wa_id`, or, for business-scoped users, by
/// `user_id` (and maybe `parent_user_id` and `username`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct JoinRequestEvent {
    /// The join request ID, as approve and reject take it.
    pub join_request_id: String,
    /// The requester's WhatsApp ID.
    pub wa_id: Option<String>,
    /// The requester's business-scoped user ID.
    pub user_id: Option<String>,
    /// The business-scoped parent user ID.
    pub parent_user_id: Option<String>,
    /// The requester's username.
    pub username: Option<String>,
    /// Why the event happened, when Meta says.
    pub reason: Option<String>,
}

impl JoinRequestEvent {
    /// A join request `join_request_id` with no requester details.
    pub fn new(join_request_id: impl Into<String>) -> Self {
        Self {
            join_request_id: join_request_id.into(),
            ..Self::default()
        }
    }

    /// The same request with the requester's `wa_id` set.
    #[must_use]
    pub fn with_wa_id(mut self, wa_id: impl Into<String>) -> Self {
        self.wa_id = Some(wa_id.into());
        self
    }

    /// The same request with the business-scoped `user_id` set.
    #[must_use]
    pub fn with_user_id(mut self, user_id: impl Into<String>) -> Self {
        self.user_id = Some(user_id.into());
        self
    }

    /// The same request with `username` set.
    #[must_use]
    pub fn with_username(mut self, username: impl Into<String>) -> Self {
        self.username = Some(username.into());
        self
    }
}

/// A participant in `added_participants` or `removed_participants`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct GroupParticipant {
    /// What the business gave to identify them (phone number or ID).
    pub input: Option<String>,
    /// Their WhatsApp ID.
    pub wa_id: Option<String>,
    /// Their business-scoped user ID.
    pub user_id: Option<String>,
    /// The business-scoped parent user ID.
    pub parent_user_id: Option<String>,
    /// Their username.
    pub username: Option<String>,
}

impl GroupParticipant {
    /// A participant known by WhatsApp ID only.
    pub fn with_wa_id(wa_id: impl Into<String>) -> Self {
        Self {
            wa_id: Some(wa_id.into()),
            ..Self::default()
        }
    }
}

/// `group_participants_add`: people joined the group.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ParticipantsAdded {
    /// How they joined, such as `invite_link`.
    pub reason: Option<String>,
    /// The join request whose approval added them, when that is how they joined.
    pub join_request_id: Option<String>,
    /// `added_participants`.
    pub participants: Vec<GroupParticipant>,
}

/// `group_participants_remove`: people left or were removed.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ParticipantsRemoved {
    /// Who removed them, such as `business` or `participant`.
    pub initiated_by: Option<String>,
    /// `removed_participants`.
    pub participants: Vec<GroupParticipant>,
}

/// `group_create`: the group's initial settings.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct GroupCreated {
    /// The group's subject (name).
    pub subject: Option<String>,
    /// The group's description.
    pub description: Option<String>,
    /// The invite link, such as `https://chat.whatsapp.com/...`.
    pub invite_link: Option<String>,
    /// The join approval mode, such as `approval_required`.
    pub join_approval_mode: Option<String>,
    /// `added_participants`.
    pub participants: Vec<GroupParticipant>,
}

/// A group profile picture, as described by `profile_picture`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct ProfilePicture {
    /// Its MIME type, such as `image/jpeg`.
    pub mime_type: Option<String>,
    /// Its SHA-256 hash, as Meta encodes it.
    pub sha256: Option<String>,
}

/// `group_settings_update`: what changed.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SettingsUpdate {
    /// The new subject, when `subject` is a string.
    pub subject: Option<String>,
    /// The new description, when `description` is a string.
    pub description: Option<String>,
    /// The new profile picture (unknown keys inside are dropped).
    pub profile_picture: Option<ProfilePicture>,
    /// Every other key of the event (and `subject` or `description` when
    /// they are not strings), with its value as raw JSON.
    pub other_fields: BTreeMap<String, RawJson>,
}

/// A group event of a `type` this crate does not know.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownEvent {
    /// The `type`.
    pub event_type: String,
    /// Every key but the common ones (`timestamp`, `group_id`, `type`,
    /// `request_id`, `errors`), with its value as raw JSON.
    pub fields: BTreeMap<String, RawJson>,
}

/// A JSON value kept as text: canonical, compact, and always valid JSON.
///
/// Made by [`parse`] for the parts of a delivery this crate does not model,
/// or by [`RawJson::new`]. Its text is the value re-serialized, not the
/// exact bytes received.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct RawJson(String);

impl RawJson {
    /// The JSON value written in `text`, made canonical.
    ///
    /// # Errors
    ///
    /// [`Error::Decode`] when `text` is not one JSON value.
    pub fn new(text: &str) -> Result<Self, Error> {
        serde_json::from_str::<Value>(text)
            .map(|v| Self::from_value(&v))
            .map_err(|e| decode(text.as_bytes(), format!("not valid JSON: {e}")))
    }

    /// The canonical JSON text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    fn from_value(value: &Value) -> Self {
        Self(value.to_string())
    }

    fn to_value(&self) -> Value {
        // The text is valid JSON by construction; `Null` is unreachable.
        serde_json::from_str(&self.0).unwrap_or(Value::Null)
    }
}

impl FromStr for RawJson {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::new(s)
    }
}

impl fmt::Debug for RawJson {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "RawJson({})", self.0)
    }
}

impl fmt::Display for RawJson {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A group event with where it came from, as [`WebhookPayload::events`]
/// yields it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GroupEventRef<'a> {
    /// The WhatsApp Business Account ID (`entry[].id`).
    pub waba_id: &'a str,
    /// The field the event came under.
    pub field: GroupField,
    /// The business phone number.
    pub metadata: &'a Metadata,
    /// The event.
    pub event: &'a GroupEvent,
}

impl<'a> GroupEventRef<'a> {
    /// The business phone number ID.
    pub fn phone_number_id(&self) -> &'a str {
        &self.metadata.phone_number_id
    }

    /// The group.
    pub fn group_id(&self) -> &'a str {
        &self.event.group_id
    }

    /// When it happened, in Unix seconds.
    pub fn timestamp(&self) -> i64 {
        self.event.timestamp
    }

    /// What happened.
    pub fn kind(&self) -> &'a GroupEventKind {
        &self.event.kind
    }
}

impl WebhookPayload {
    /// A payload of `entries` with `object` `whatsapp_business_account`.
    pub fn new(entries: Vec<Entry>) -> Self {
        Self {
            object: OBJECT_WHATSAPP_BUSINESS_ACCOUNT.to_owned(),
            entries,
        }
    }

    /// A payload carrying the one group `event` of the business phone
    /// number `phone_number_id` of WhatsApp Business Account `waba_id`,
    /// under the field Meta uses for its kind ([`GroupEventKind::field`]).
    pub fn group_event(
        waba_id: impl Into<String>,
        phone_number_id: impl Into<String>,
        display_phone_number: impl Into<String>,
        event: GroupEvent,
    ) -> Self {
        let change = GroupChange {
            field: event.kind.field(),
            metadata: Metadata {
                display_phone_number: display_phone_number.into(),
                phone_number_id: phone_number_id.into(),
            },
            events: vec![event],
        };
        Self::new(vec![Entry {
            id: waba_id.into(),
            changes: vec![Change::Group(change)],
        }])
    }

    /// Every group event of the payload, in order, with its WABA ID, field
    /// and phone number.
    pub fn events(&self) -> impl Iterator<Item = GroupEventRef<'_>> {
        self.entries.iter().flat_map(|entry| {
            entry.changes.iter().flat_map(move |change| {
                let group = match change {
                    Change::Group(g) => Some(g),
                    Change::Other(_) => None,
                };
                group.into_iter().flat_map(move |g| {
                    g.events.iter().map(move |event| GroupEventRef {
                        waba_id: &entry.id,
                        field: g.field,
                        metadata: &g.metadata,
                        event,
                    })
                })
            })
        })
    }

    /// Every change that is not a group change, with its WABA ID.
    pub fn other_changes(&self) -> impl Iterator<Item = (&str, &OtherChange)> {
        self.entries.iter().flat_map(|entry| {
            entry.changes.iter().filter_map(move |change| match change {
                Change::Other(o) => Some((entry.id.as_str(), o)),
                Change::Group(_) => None,
            })
        })
    }

    /// The payload as compact JSON text, as Meta would send it. Timestamps
    /// are written as strings of digits, as Meta's examples do.
    pub fn to_json_string(&self) -> String {
        encode_payload(self).to_string()
    }

    /// The payload as a JSON body; [`parse`] of it gives back `self`.
    pub fn encode(&self) -> Bytes {
        Bytes::from(self.to_json_string())
    }
}

// ---------------------------------------------------------------------------
// Parsing
// ---------------------------------------------------------------------------

/// Parses a webhook delivery body.
///
/// # Errors
///
/// [`Error::Decode`] when the body is not JSON, or lacks a field the
/// envelope (`object`, `entry`, `entry[].id`, `entry[].changes`, `field`,
/// `value`) or a group change (`metadata`, `groups`, and each group's
/// `timestamp`, `group_id`, `type`, a join request's `join_request_id`)
/// requires, or has one of the wrong JSON type. The reason names the path,
/// such as `entry[0].changes[1].value.groups[0].timestamp`.
pub fn parse(raw_body: &[u8]) -> Result<WebhookPayload, Error> {
    let value: Value = serde_json::from_slice(raw_body)
        .map_err(|e| decode(raw_body, format!("webhook body is not valid JSON: {e}")))?;
    Parser { body: raw_body }.payload(&value)
}

fn decode(body: &[u8], reason: impl Into<String>) -> Error {
    Error::Decode(DecodeError::new(None, reason, body))
}

struct Parser<'b> {
    body: &'b [u8],
}

impl Parser<'_> {
    fn err(&self, reason: String) -> Error {
        decode(self.body, reason)
    }

    fn object<'v>(&self, value: &'v Value, path: &str) -> Result<&'v Map<String, Value>, Error> {
        value
            .as_object()
            .ok_or_else(|| self.err(format!("`{path}` is not a JSON object")))
    }

    fn required<'v>(
        &self,
        map: &'v Map<String, Value>,
        key: &str,
        path: &str,
    ) -> Result<&'v Value, Error> {
        match map.get(key) {
            Some(Value::Null) | None => Err(self.err(format!("missing `{}`", join(path, key)))),
            Some(v) => Ok(v),
        }
    }

    fn array<'v>(
        &self,
        map: &'v Map<String, Value>,
        key: &str,
        path: &str,
    ) -> Result<&'v [Value], Error> {
        self.required(map, key, path)?
            .as_array()
            .map(Vec::as_slice)
            .ok_or_else(|| self.err(format!("`{}` is not a JSON array", join(path, key))))
    }

    fn optional_array<'v>(
        &self,
        map: &'v Map<String, Value>,
        key: &str,
        path: &str,
    ) -> Result<&'v [Value], Error> {
        match map.get(key) {
            None | Some(Value::Null) => Ok(&[]),
            Some(_) => self.array(map, key, path),
        }
    }

    /// A string, or a number written as its decimal text.
    fn string(&self, value: &Value, path: &str) -> Result<String, Error> {
        match value {
            Value::String(s) => Ok(s.clone()),
            Value::Number(n) => Ok(n.to_string()),
            _ => Err(self.err(format!("`{path}` is not a string"))),
        }
    }

    fn required_string(
        &self,
        map: &Map<String, Value>,
        key: &str,
        path: &str,
    ) -> Result<String, Error> {
        let v = self.required(map, key, path)?;
        self.string(v, &join(path, key))
    }

    fn optional_string(
        &self,
        map: &Map<String, Value>,
        key: &str,
        path: &str,
    ) -> Result<Option<String>, Error> {
        match map.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(v) => self.string(v, &join(path, key)).map(Some),
        }
    }

    /// An integer, or a string of digits.
    fn integer(&self, value: &Value, path: &str) -> Result<i64, Error> {
        let parsed = match value {
            Value::Number(n) => n.as_i64(),
            Value::String(s) => {
                let digits = s.strip_prefix('-').unwrap_or(s);
                if !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) {
                    s.parse::<i64>().ok()
                } else {
                    None
                }
            }
            _ => None,
        };
        parsed.ok_or_else(|| self.err(format!("`{path}` is not an integer or a string of digits")))
    }

    fn payload(&self, value: &Value) -> Result<WebhookPayload, Error> {
        let map = value
            .as_object()
            .ok_or_else(|| self.err("webhook body is not a JSON object".to_owned()))?;
        let object = self.required_string(map, "object", "")?;
        let entries = self
            .array(map, "entry", "")?
            .iter()
            .enumerate()
            .map(|(i, e)| self.entry(e, &format!("entry[{i}]")))
            .collect::<Result<_, _>>()?;
        Ok(WebhookPayload { object, entries })
    }

    fn entry(&self, value: &Value, path: &str) -> Result<Entry, Error> {
        let map = self.object(value, path)?;
        let id = self.required_string(map, "id", path)?;
        let changes = self
            .array(map, "changes", path)?
            .iter()
            .enumerate()
            .map(|(i, c)| self.change(c, &format!("{path}.changes[{i}]")))
            .collect::<Result<_, _>>()?;
        Ok(Entry { id, changes })
    }

    fn change(&self, value: &Value, path: &str) -> Result<Change, Error> {
        let map = self.object(value, path)?;
        let field = self.required_string(map, "field", path)?;
        let value = self.required(map, "value", path)?;
        let Some(group_field) = GroupField::from_name(&field) else {
            return Ok(Change::Other(OtherChange {
                field,
                value: RawJson::from_value(value),
            }));
        };
        let path = join(path, "value");
        let value = self.object(value, &path)?;
        let metadata = self.object(
            self.required(value, "metadata", &path)?,
            &join(&path, "metadata"),
        )?;
        let metadata_path = join(&path, "metadata");
        let metadata = Metadata {
            display_phone_number: self.required_string(
                metadata,
                "display_phone_number",
                &metadata_path,
            )?,
            phone_number_id: self.required_string(metadata, "phone_number_id", &metadata_path)?,
        };
        let events = self
            .array(value, "groups", &path)?
            .iter()
            .enumerate()
            .map(|(i, g)| self.group_event(g, &format!("{path}.groups[{i}]")))
            .collect::<Result<_, _>>()?;
        Ok(Change::Group(GroupChange {
            field: group_field,
            metadata,
            events,
        }))
    }

    fn group_event(&self, value: &Value, path: &str) -> Result<GroupEvent, Error> {
        let map = self.object(value, path)?;
        let timestamp = self.integer(
            self.required(map, "timestamp", path)?,
            &join(path, "timestamp"),
        )?;
        let group_id = self.required_string(map, "group_id", path)?;
        let event_type = self.required_string(map, "type", path)?;
        let request_id = self.optional_string(map, "request_id", path)?;
        let errors = self
            .optional_array(map, "errors", path)?
            .iter()
            .enumerate()
            .map(|(i, e)| self.event_error(e, &format!("{path}.errors[{i}]")))
            .collect::<Result<_, _>>()?;
        let kind = match event_type.as_str() {
            "group_join_request_created" => {
                GroupEventKind::JoinRequestCreated(self.join_request(map, path)?)
            }
            "group_join_request_revoked" => {
                GroupEventKind::JoinRequestRevoked(self.join_request(map, path)?)
            }
            "group_participants_add" | "group_add_participants" => {
                GroupEventKind::ParticipantsAdded(ParticipantsAdded {
                    reason: self.optional_string(map, "reason", path)?,
                    join_request_id: self.optional_string(map, "join_request_id", path)?,
                    participants: self.participants(map, "added_participants", path)?,
                })
            }
            "group_participants_remove" | "group_remove_participants" => {
                GroupEventKind::ParticipantsRemoved(ParticipantsRemoved {
                    initiated_by: self.optional_string(map, "initiated_by", path)?,
                    participants: self.participants(map, "removed_participants", path)?,
                })
            }
            "group_create" => GroupEventKind::GroupCreated(GroupCreated {
                subject: self.optional_string(map, "subject", path)?,
                description: self.optional_string(map, "description", path)?,
                invite_link: self.optional_string(map, "invite_link", path)?,
                join_approval_mode: self.optional_string(map, "join_approval_mode", path)?,
                participants: self.participants(map, "added_participants", path)?,
            }),
            "group_delete" => GroupEventKind::GroupDeleted,
            "group_settings_update" => GroupEventKind::SettingsUpdated(self.settings(map, path)?),
            "group_suspend" => GroupEventKind::Suspended,
            "group_suspend_cleared" => GroupEventKind::SuspensionCleared,
            _ => GroupEventKind::Unknown(UnknownEvent {
                fields: raw_fields(map, &[]),
                event_type,
            }),
        };
        Ok(GroupEvent {
            timestamp,
            group_id,
            request_id,
            errors,
            kind,
        })
    }

    fn join_request(
        &self,
        map: &Map<String, Value>,
        path: &str,
    ) -> Result<JoinRequestEvent, Error> {
        Ok(JoinRequestEvent {
            join_request_id: self.required_string(map, "join_request_id", path)?,
            wa_id: self.optional_string(map, "wa_id", path)?,
            user_id: self.optional_string(map, "user_id", path)?,
            parent_user_id: self.optional_string(map, "parent_user_id", path)?,
            username: self.optional_string(map, "username", path)?,
            reason: self.optional_string(map, "reason", path)?,
        })
    }

    fn participants(
        &self,
        map: &Map<String, Value>,
        key: &str,
        path: &str,
    ) -> Result<Vec<GroupParticipant>, Error> {
        let list_path = join(path, key);
        self.optional_array(map, key, path)?
            .iter()
            .enumerate()
            .map(|(i, p)| {
                let path = format!("{list_path}[{i}]");
                let p = self.object(p, &path)?;
                Ok(GroupParticipant {
                    input: self.optional_string(p, "input", &path)?,
                    wa_id: self.optional_string(p, "wa_id", &path)?,
                    user_id: self.optional_string(p, "user_id", &path)?,
                    parent_user_id: self.optional_string(p, "parent_user_id", &path)?,
                    username: self.optional_string(p, "username", &path)?,
                })
            })
            .collect()
    }

    fn settings(&self, map: &Map<String, Value>, path: &str) -> Result<SettingsUpdate, Error> {
        let text = |key: &str| map.get(key).and_then(Value::as_str).map(str::to_owned);
        let subject = text("subject");
        let description = text("description");
        let profile_picture = match map.get("profile_picture") {
            None | Some(Value::Null) => None,
            Some(v) => {
                let pic_path = join(path, "profile_picture");
                let pic = self.object(v, &pic_path)?;
                Some(ProfilePicture {
                    mime_type: self.optional_string(pic, "mime_type", &pic_path)?,
                    sha256: self.optional_string(pic, "sha256", &pic_path)?,
                })
            }
        };
        let mut typed: Vec<&str> = vec!["profile_picture"];
        if subject.is_some() {
            typed.push("subject");
        }
        if description.is_some() {
            typed.push("description");
        }
        Ok(SettingsUpdate {
            subject,
            description,
            profile_picture,
            other_fields: raw_fields(map, &typed),
        })
    }

    fn event_error(&self, value: &Value, path: &str) -> Result<ErrorDetail, Error> {
        let map = self.object(value, path)?;
        let code = self.integer(self.required(map, "code", path)?, &join(path, "code"))?;
        let details = match map.get("error_data") {
            Some(Value::Object(data)) => {
                self.optional_string(data, "details", &join(path, "error_data"))?
            }
            _ => None,
        };
        Ok(ErrorDetail {
            code,
            title: self.optional_string(map, "title", path)?,
            message: self.optional_string(map, "message", path)?,
            details,
        })
    }
}

/// The keys of `map` that are neither common keys nor in `skip`, as raw JSON.
fn raw_fields(map: &Map<String, Value>, skip: &[&str]) -> BTreeMap<String, RawJson> {
    map.iter()
        .filter(|(k, _)| !COMMON_KEYS.contains(&k.as_str()) && !skip.contains(&k.as_str()))
        .map(|(k, v)| (k.clone(), RawJson::from_value(v)))
        .collect()
}

fn join(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_owned()
    } else {
        format!("{path}.{key}")
    }
}

// ---------------------------------------------------------------------------
// Encoding
// ---------------------------------------------------------------------------

fn encode_payload(payload: &WebhookPayload) -> Value {
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

fn encode_event(event: &GroupEvent) -> Value {
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

// ---------------------------------------------------------------------------
// Signatures
// ---------------------------------------------------------------------------

type HmacSha256 = Hmac<Sha256>;

/// Why a signature header is malformed.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MalformedSignature {
    /// It does not start with `sha256=`.
    WrongPrefix,
    /// The digest after `sha256=` is not 64 characters long; holds the
    /// length found, in bytes.
    WrongLength(usize),
    /// The digest holds characters other than hex digits.
    NotHex,
}

/// Why a delivery's signature was refused.
///
/// Neither this error nor its `Display` ever holds the app secret or the
/// header's value.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SignatureError {
    /// The app secret given to check with is empty.
    EmptySecret,
    /// The `X-Hub-Signature-256` header is absent or empty.
    Missing,
    /// The header is not `sha256=` and 64 hex digits.
    Malformed(MalformedSignature),
    /// The signature does not match the body: wrong secret or altered body.
    Mismatch,
}

impl fmt::Display for SignatureError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::EmptySecret => f.write_str("the app secret is empty"),
            Self::Missing => f.write_str("the X-Hub-Signature-256 header is missing or empty"),
            Self::Malformed(MalformedSignature::WrongPrefix) => {
                f.write_str("the X-Hub-Signature-256 header does not start with `sha256=`")
            }
            Self::Malformed(MalformedSignature::WrongLength(n)) => write!(
                f,
                "the X-Hub-Signature-256 digest is {n} characters long, not 64"
            ),
            Self::Malformed(MalformedSignature::NotHex) => {
                f.write_str("the X-Hub-Signature-256 digest is not hexadecimal")
            }
            Self::Mismatch => {
                f.write_str("the X-Hub-Signature-256 signature does not match the body")
            }
        }
    }
}

impl std::error::Error for SignatureError {}

impl From<SignatureError> for Error {
    fn from(e: SignatureError) -> Self {
        let field = match e {
            SignatureError::EmptySecret => Field::AppSecret,
            _ => Field::Signature,
        };
        Error::InvalidInput(InvalidInput::new(field, e.to_string()))
    }
}

fn new_mac(app_secret: &[u8]) -> Option<HmacSha256> {
    // HMAC takes keys of any length, so this never fails.
    <HmacSha256 as Mac>::new_from_slice(app_secret).ok()
}

/// Checks the `X-Hub-Signature-256` `header` (`sha256=` and 64 hex
/// digits, either case) of a delivery against the HMAC-SHA256 of
/// `raw_body` keyed with `app_secret`, in constant time.
///
/// Check the exact bytes received, before any parsing or re-encoding.
/// Whitespace around the header value is ignored; the `sha256=` prefix is
/// case-sensitive, the hex digits are not.
///
/// # Errors
///
/// [`SignatureError::EmptySecret`] for an empty secret,
/// [`SignatureError::Missing`] for an empty header,
/// [`SignatureError::Malformed`] for a header of the wrong form, and
/// [`SignatureError::Mismatch`] when the signature is not the body's.
pub fn verify_signature(
    app_secret: &[u8],
    raw_body: &[u8],
    header: &str,
) -> Result<(), SignatureError> {
    if app_secret.is_empty() {
        return Err(SignatureError::EmptySecret);
    }
    let header = header.trim();
    if header.is_empty() {
        return Err(SignatureError::Missing);
    }
    let hex = header
        .strip_prefix(SIGNATURE_PREFIX)
        .ok_or(SignatureError::Malformed(MalformedSignature::WrongPrefix))?;
    if hex.len() != 64 {
        return Err(SignatureError::Malformed(MalformedSignature::WrongLength(
            hex.len(),
        )));
    }
    let mut digest = [0u8; 32];
    for (byte, pair) in digest.iter_mut().zip(hex.as_bytes().chunks_exact(2)) {
        match (hex_value(pair[0]), hex_value(pair[1])) {
            (Some(hi), Some(lo)) => *byte = (hi << 4) | lo,
            _ => return Err(SignatureError::Malformed(MalformedSignature::NotHex)),
        }
    }
    let mut mac = new_mac(app_secret).ok_or(SignatureError::Mismatch)?;
    mac.update(raw_body);
    mac.verify_slice(&digest)
        .map_err(|_| SignatureError::Mismatch)
}

/// [`verify_signature`] with the header taken from `headers`
/// ([`SIGNATURE_HEADER`]; the first one when there are several).
///
/// # Errors
///
/// As [`verify_signature`]; [`SignatureError::Missing`] when the header is
/// absent.
pub fn verify_signature_headers(
    app_secret: &[u8],
    headers: &http::HeaderMap,
    raw_body: &[u8],
) -> Result<(), SignatureError> {
    if app_secret.is_empty() {
        return Err(SignatureError::EmptySecret);
    }
    let value = headers
        .get(&SIGNATURE_HEADER)
        .ok_or(SignatureError::Missing)?;
    verify_signature(
        app_secret,
        raw_body,
        &String::from_utf8_lossy(value.as_bytes()),
    )
}

/// The `X-Hub-Signature-256` value Meta would send with `raw_body`:
/// `sha256=` and the lowercase hex HMAC-SHA256 of the body keyed with
/// `app_secret`.
///
/// An empty secret signs too (HMAC allows it), but [`verify_signature`]
/// refuses it.
pub fn sign(app_secret: &[u8], raw_body: &[u8]) -> String {
    let mut out = String::with_capacity(SIGNATURE_PREFIX.len() + 64);
    out.push_str(SIGNATURE_PREFIX);
    if let Some(mut mac) = new_mac(app_secret) {
        mac.update(raw_body);
        for b in mac.finalize().into_bytes() {
            out.push(char::from(HEX[usize::from(b >> 4)]));
            out.push(char::from(HEX[usize::from(b & 0x0f)]));
        }
    }
    out
}

const HEX: &[u8; 16] = b"0123456789abcdef";

fn hex_value(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    }
}

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

    #[test]
    fn integer_accepts_digits_only() {
        let p = Parser { body: b"" };
        assert_eq!(
            p.integer(&Value::from("1750269342"), "t").ok(),
            Some(1_750_269_342)
        );
        assert_eq!(p.integer(&Value::from(12), "t").ok(), Some(12));
        assert!(p.integer(&Value::from("12a"), "t").is_err());
        assert!(p.integer(&Value::from(""), "t").is_err());
        assert!(p.integer(&Value::from("+1"), "t").is_err());
        assert!(p.integer(&Value::from(1.5), "t").is_err());
        assert!(
            p.integer(&Value::from("99999999999999999999"), "t")
                .is_err()
        );
    }
}
