//! The webhook values: the envelope, changes, group events, raw JSON.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use bytes::Bytes;
use serde_json::Value;

use super::OBJECT_WHATSAPP_BUSINESS_ACCOUNT;
use super::encode::{encode_event, encode_payload};
use super::parse::decode;
use crate::error::Error;
use crate::model::ErrorDetail;

/// A whole webhook delivery: `{"object": ..., "entry": [...]}`.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct WebhookPayload {
    /// The `object`; always `whatsapp_business_account` for WhatsApp.
    pub object: String,
    /// The `entry` list, one per WhatsApp Business Account.
    pub entries: Vec<Entry>,
}

/// One `entry` of a delivery: the changes of one WhatsApp Business Account.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct Entry {
    /// The WhatsApp Business Account ID (`entry[].id`).
    pub id: String,
    /// The `changes` of this entry.
    pub changes: Vec<Change>,
}

impl Entry {
    /// The entry of account `id` with these changes.
    pub fn new(id: impl Into<String>, changes: Vec<Change>) -> Self {
        Self {
            id: id.into(),
            changes,
        }
    }
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
#[non_exhaustive]
pub struct Metadata {
    /// The number as displayed, such as `15550783881`.
    pub display_phone_number: String,
    /// The phone number ID, as used in Graph API paths.
    pub phone_number_id: String,
}

impl Metadata {
    /// The metadata of a phone number: as displayed, and its ID.
    pub fn new(
        display_phone_number: impl Into<String>,
        phone_number_id: impl Into<String>,
    ) -> Self {
        Self {
            display_phone_number: display_phone_number.into(),
            phone_number_id: phone_number_id.into(),
        }
    }
}

/// A change of a group field: `value.metadata` and the `value.groups` list.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct GroupChange {
    /// Which group field changed.
    pub field: GroupField,
    /// The business phone number.
    pub metadata: Metadata,
    /// The events, one per element of `value.groups`.
    pub events: Vec<GroupEvent>,
}

impl GroupChange {
    /// A change of `field` for the phone number in `metadata`.
    pub fn new(field: GroupField, metadata: Metadata, events: Vec<GroupEvent>) -> Self {
        Self {
            field,
            metadata,
            events,
        }
    }
}

/// A change this crate does not model: its field and its raw `value`.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct OtherChange {
    /// The `field`, such as `messages`.
    pub field: String,
    /// The whole `value`, as raw JSON.
    pub value: RawJson,
}

impl OtherChange {
    /// A change of `field` whose whole `value` is `value`.
    pub fn new(field: impl Into<String>, value: RawJson) -> Self {
        Self {
            field: field.into(),
            value,
        }
    }
}

/// One element of `value.groups`: what happened to which group, and when.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
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
#[non_exhaustive]
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
#[non_exhaustive]
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
#[non_exhaustive]
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
#[non_exhaustive]
pub struct ParticipantsRemoved {
    /// Who removed them, such as `business` or `participant`.
    pub initiated_by: Option<String>,
    /// `removed_participants`.
    pub participants: Vec<GroupParticipant>,
}

/// `group_create`: the group's initial settings.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[non_exhaustive]
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
#[non_exhaustive]
pub struct ProfilePicture {
    /// Its MIME type, such as `image/jpeg`.
    pub mime_type: Option<String>,
    /// Its SHA-256 hash, as Meta encodes it.
    pub sha256: Option<String>,
}

/// `group_settings_update`: what changed.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[non_exhaustive]
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
#[non_exhaustive]
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

    pub(super) fn from_value(value: &Value) -> Self {
        Self(value.to_string())
    }

    pub(super) fn to_value(&self) -> Value {
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
