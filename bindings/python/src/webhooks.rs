//! `wa_groups.webhooks`: the protocol crate's webhook parser and signature
//! check, with its types as Python classes.
//!
//! Each class keeps the Rust value it was made from; attributes are read
//! from it, and two objects are equal when those values are (the protocol
//! types' `PartialEq`) and so is their place (WABA, field, phone number).
//! `WebhookPayload.events()` is the protocol crate's `payload.events()`.

use std::sync::Arc;

use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::types::{PyByteArray, PyBytes, PyDict, PyList, PyString};
use wa_groups::Field;
use wa_groups::webhook as wh;

use crate::errors::{Text, guard, to_py_err, utf8};
use crate::types::{ErrorDetail, Repr, error_details};

/// A JSON value as plain Python objects (dict, list, str, int, float, bool, None).
pub(crate) fn json_to_py(py: Python<'_>, v: &serde_json::Value) -> PyResult<Py<PyAny>> {
    use serde_json::Value;
    Ok(match v {
        Value::Null => py.None(),
        Value::Bool(b) => b.into_pyobject(py)?.to_owned().into_any().unbind(),
        Value::Number(n) => {
            if let Some(i) = n.as_i64() {
                i.into_pyobject(py)?.into_any().unbind()
            } else if let Some(u) = n.as_u64() {
                u.into_pyobject(py)?.into_any().unbind()
            } else {
                n.as_f64()
                    .unwrap_or(f64::NAN)
                    .into_pyobject(py)?
                    .into_any()
                    .unbind()
            }
        }
        Value::String(s) => PyString::new(py, s).into_any().unbind(),
        Value::Array(items) => {
            let list = PyList::empty(py);
            for item in items {
                list.append(json_to_py(py, item)?)?;
            }
            list.into_any().unbind()
        }
        Value::Object(map) => {
            let dict = PyDict::new(py);
            for (k, item) in map {
                dict.set_item(k, json_to_py(py, item)?)?;
            }
            dict.into_any().unbind()
        }
    })
}

fn raw_to_py(py: Python<'_>, raw: &wh::RawJson) -> PyResult<Py<PyAny>> {
    let value: serde_json::Value = serde_json::from_str(raw.as_str())
        .map_err(|e| pyo3::exceptions::PyValueError::new_err(e.to_string()))?;
    json_to_py(py, &value)
}

fn raw_map_to_py(
    py: Python<'_>,
    map: &std::collections::BTreeMap<String, wh::RawJson>,
) -> PyResult<Py<PyAny>> {
    let dict = PyDict::new(py);
    for (k, v) in map {
        dict.set_item(k, raw_to_py(py, v)?)?;
    }
    Ok(dict.into_any().unbind())
}

/// Bytes of a body or secret given as `bytes`, `bytearray`, `memoryview`
/// or `str` (UTF-8; a `str` holding a lone surrogate is an
/// `InvalidInputError` naming `field`).
fn body_bytes(body: &Bound<'_, PyAny>, field: Field) -> PyResult<Vec<u8>> {
    if let Ok(b) = body.cast::<PyBytes>() {
        return Ok(b.as_bytes().to_vec());
    }
    if let Ok(b) = body.cast::<PyByteArray>() {
        return Ok(b.to_vec());
    }
    if let Ok(s) = body.cast::<PyString>() {
        return Ok(utf8(body.py(), s, field, None)?.into_bytes());
    }
    if let Ok(b) = body.call_method0("tobytes")
        && let Ok(b) = b.cast::<PyBytes>()
    {
        return Ok(b.as_bytes().to_vec());
    }
    Err(PyTypeError::new_err(
        "expected bytes, bytearray, memoryview or str",
    ))
}

/// Where an event or change came from.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Place {
    waba_id: String,
    field: String,
    display_phone_number: String,
    phone_number_id: String,
}

/// A participant of an added, removed or created group.
#[pyclass(frozen, eq, hash, get_all, module = "wa_groups.webhooks")]
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct GroupParticipant {
    /// The phone number or ID as the business gave it, if present.
    input: Option<String>,
    /// The participant's WhatsApp ID, if the delivery shows it.
    wa_id: Option<String>,
    /// The participant's business-scoped user ID, if any.
    user_id: Option<String>,
    /// The participant's parent business-scoped user ID, if any.
    parent_user_id: Option<String>,
    /// The participant's username, if any.
    username: Option<String>,
}

#[pymethods]
impl GroupParticipant {
    fn __repr__(&self) -> String {
        self.repr()
    }
}

impl GroupParticipant {
    fn repr(&self) -> String {
        Repr::new("GroupParticipant")
            .str("input", self.input.as_deref())
            .str("wa_id", self.wa_id.as_deref())
            .str("user_id", self.user_id.as_deref())
            .str("parent_user_id", self.parent_user_id.as_deref())
            .str("username", self.username.as_deref())
            .finish()
    }
}

fn participants(v: &[wh::GroupParticipant]) -> Vec<GroupParticipant> {
    v.iter()
        .map(|p| GroupParticipant {
            input: p.input.clone(),
            wa_id: p.wa_id.clone(),
            user_id: p.user_id.clone(),
            parent_user_id: p.parent_user_id.clone(),
            username: p.username.clone(),
        })
        .collect()
}

/// A group's profile picture, as a settings update describes it.
#[pyclass(frozen, eq, hash, get_all, module = "wa_groups.webhooks")]
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct ProfilePicture {
    /// The picture's MIME type, if given.
    mime_type: Option<String>,
    /// The picture's SHA-256 hash, if given.
    sha256: Option<String>,
}

#[pymethods]
impl ProfilePicture {
    fn __repr__(&self) -> String {
        Repr::new("ProfilePicture")
            .str("mime_type", self.mime_type.as_deref())
            .str("sha256", self.sha256.as_deref())
            .finish()
    }
}

/// One group event (an element of `value.groups`) with where it came from.
/// Each `type` has a subclass with its own attributes.
#[pyclass(frozen, subclass, module = "wa_groups.webhooks")]
pub(crate) struct GroupEvent {
    place: Arc<Place>,
    event: wh::GroupEvent,
}

impl GroupEvent {
    fn new(place: Arc<Place>, event: wh::GroupEvent) -> Self {
        Self { place, event }
    }

    fn repr(&self, name: &str) -> Repr {
        Repr::new(name)
            .str("group_id", Some(&self.event.group_id))
            .int("timestamp", Some(self.event.timestamp))
    }

    fn finish_repr(&self, r: Repr) -> String {
        let r = if self.event.request_id.is_some() {
            r.str("request_id", self.event.request_id.as_deref())
        } else {
            r
        };
        let r = if self.event.errors.is_empty() {
            r
        } else {
            r.raw("errors", &format!("<{} errors>", self.event.errors.len()))
        };
        r.finish()
    }
}

#[pymethods]
impl GroupEvent {
    /// The event's `type`, such as `group_join_request_created`.
    #[getter]
    fn r#type(&self) -> &str {
        self.event.event_type()
    }

    /// When the event happened, in Unix seconds.
    #[getter]
    fn timestamp(&self) -> i64 {
        self.event.timestamp
    }

    /// The group the event is about.
    #[getter]
    fn group_id(&self) -> &str {
        &self.event.group_id
    }

    /// The API request that caused the event, if the delivery names one.
    #[getter]
    fn request_id(&self) -> Option<&str> {
        self.event.request_id.as_deref()
    }

    /// Errors the event reports (a failed group operation); empty otherwise.
    #[getter]
    fn errors(&self) -> Vec<ErrorDetail> {
        error_details(self.event.errors.clone())
    }

    /// The WhatsApp Business Account ID (`entry[].id`).
    #[getter]
    fn waba_id(&self) -> &str {
        &self.place.waba_id
    }

    /// The change's `field`, such as `group_participants_update`.
    #[getter]
    fn field(&self) -> &str {
        &self.place.field
    }

    /// The business phone number ID the delivery is for.
    #[getter]
    fn phone_number_id(&self) -> &str {
        &self.place.phone_number_id
    }

    /// The business phone number, as displayed.
    #[getter]
    fn display_phone_number(&self) -> &str {
        &self.place.display_phone_number
    }

    /// The event as canonical JSON text (one element of `value.groups`).
    fn to_json(&self) -> String {
        self.event.to_json_string()
    }

    fn __eq__(slf: &Bound<'_, Self>, other: &Bound<'_, PyAny>) -> bool {
        let Ok(other) = other.cast::<GroupEvent>() else {
            return false;
        };
        let (a, b) = (slf.get(), other.get());
        slf.get_type().is(other.get_type()) && a.place == b.place && a.event == b.event
    }

    fn __repr__(&self) -> String {
        self.finish_repr(
            self.repr("GroupEvent")
                .str("type", Some(self.event.event_type())),
        )
    }
}

/// `group_join_request_created` and `group_join_request_revoked` share
/// these attributes.
macro_rules! join_request_event {
    ($name:ident, $doc:literal) => {
        #[doc = $doc]
        #[pyclass(frozen, extends = GroupEvent, module = "wa_groups.webhooks")]
        pub(crate) struct $name {
            inner: wh::JoinRequestEvent,
        }

        #[pymethods]
        impl $name {
            /// The join request's ID.
            #[getter]
            fn join_request_id(&self) -> &str {
                &self.inner.join_request_id
            }
            /// The requester's WhatsApp ID, if the delivery shows it.
            #[getter]
            fn wa_id(&self) -> Option<&str> {
                self.inner.wa_id.as_deref()
            }
            /// The requester's business-scoped user ID, if any.
            #[getter]
            fn user_id(&self) -> Option<&str> {
                self.inner.user_id.as_deref()
            }
            /// The requester's parent business-scoped user ID, if any.
            #[getter]
            fn parent_user_id(&self) -> Option<&str> {
                self.inner.parent_user_id.as_deref()
            }
            /// The requester's username, if any.
            #[getter]
            fn username(&self) -> Option<&str> {
                self.inner.username.as_deref()
            }
            /// Why it happened, as the delivery states it, if it does.
            #[getter]
            fn reason(&self) -> Option<&str> {
                self.inner.reason.as_deref()
            }
            fn __repr__(slf: PyRef<'_, Self>) -> String {
                let base = slf.as_super();
                let mut r = base
                    .repr(stringify!($name))
                    .str("join_request_id", Some(&slf.inner.join_request_id));
                for (k, v) in [
                    ("wa_id", &slf.inner.wa_id),
                    ("user_id", &slf.inner.user_id),
                    ("parent_user_id", &slf.inner.parent_user_id),
                    ("username", &slf.inner.username),
                    ("reason", &slf.inner.reason),
                ] {
                    if v.is_some() {
                        r = r.str(k, v.as_deref());
                    }
                }
                base.finish_repr(r)
            }
        }
    };
}

join_request_event!(
    JoinRequestCreated,
    "`group_join_request_created`: someone asked to join the group."
);
join_request_event!(
    JoinRequestRevoked,
    "`group_join_request_revoked`: the requester withdrew the request."
);

/// `group_participants_add`: people joined the group.
#[pyclass(frozen, extends = GroupEvent, module = "wa_groups.webhooks")]
pub(crate) struct ParticipantsAdded {
    inner: wh::ParticipantsAdded,
}

#[pymethods]
impl ParticipantsAdded {
    /// Why it happened, as the delivery states it, if it does.
    #[getter]
    fn reason(&self) -> Option<&str> {
        self.inner.reason.as_deref()
    }
    /// The approved join request that added them, when that is how they joined.
    #[getter]
    fn join_request_id(&self) -> Option<&str> {
        self.inner.join_request_id.as_deref()
    }
    /// The participants concerned.
    #[getter]
    fn participants(&self) -> Vec<GroupParticipant> {
        participants(&self.inner.participants)
    }
    fn __repr__(slf: PyRef<'_, Self>) -> String {
        let base = slf.as_super();
        let r = base
            .repr("ParticipantsAdded")
            .str("reason", slf.inner.reason.as_deref())
            .str("join_request_id", slf.inner.join_request_id.as_deref())
            .list(
                "participants",
                &participants(&slf.inner.participants),
                GroupParticipant::repr,
            );
        base.finish_repr(r)
    }
}

/// `group_participants_remove`: people left or were removed.
#[pyclass(frozen, extends = GroupEvent, module = "wa_groups.webhooks")]
pub(crate) struct ParticipantsRemoved {
    inner: wh::ParticipantsRemoved,
}

#[pymethods]
impl ParticipantsRemoved {
    /// Who removed them (such as `participant` or `business`), if stated.
    #[getter]
    fn initiated_by(&self) -> Option<&str> {
        self.inner.initiated_by.as_deref()
    }
    /// The participants concerned.
    #[getter]
    fn participants(&self) -> Vec<GroupParticipant> {
        participants(&self.inner.participants)
    }
    fn __repr__(slf: PyRef<'_, Self>) -> String {
        let base = slf.as_super();
        let r = base
            .repr("ParticipantsRemoved")
            .str("initiated_by", slf.inner.initiated_by.as_deref())
            .list(
                "participants",
                &participants(&slf.inner.participants),
                GroupParticipant::repr,
            );
        base.finish_repr(r)
    }
}

/// `group_create`: the group was created (or failed to be: see `errors`).
#[pyclass(frozen, extends = GroupEvent, module = "wa_groups.webhooks")]
pub(crate) struct GroupCreated {
    inner: wh::GroupCreated,
}

#[pymethods]
impl GroupCreated {
    /// The group's subject, if present.
    #[getter]
    fn subject(&self) -> Option<&str> {
        self.inner.subject.as_deref()
    }
    /// The group's description, if present.
    #[getter]
    fn description(&self) -> Option<&str> {
        self.inner.description.as_deref()
    }
    /// The group's invite link, if present.
    #[getter]
    fn invite_link(&self) -> Option<&str> {
        self.inner.invite_link.as_deref()
    }
    /// The group's join approval mode (such as `approval_required`), if present.
    #[getter]
    fn join_approval_mode(&self) -> Option<&str> {
        self.inner.join_approval_mode.as_deref()
    }
    /// The participants concerned.
    #[getter]
    fn participants(&self) -> Vec<GroupParticipant> {
        participants(&self.inner.participants)
    }
    fn __repr__(slf: PyRef<'_, Self>) -> String {
        let base = slf.as_super();
        let r = base
            .repr("GroupCreated")
            .str("subject", slf.inner.subject.as_deref())
            .str("invite_link", slf.inner.invite_link.as_deref());
        base.finish_repr(r)
    }
}

/// `group_settings_update`: subject, description or picture changed.
#[pyclass(frozen, extends = GroupEvent, module = "wa_groups.webhooks")]
pub(crate) struct SettingsUpdated {
    inner: wh::SettingsUpdate,
}

#[pymethods]
impl SettingsUpdated {
    /// The group's subject, if present.
    #[getter]
    fn subject(&self) -> Option<&str> {
        self.inner.subject.as_deref()
    }
    /// The group's description, if present.
    #[getter]
    fn description(&self) -> Option<&str> {
        self.inner.description.as_deref()
    }
    /// The group's new profile picture, if it changed.
    #[getter]
    fn profile_picture(&self) -> Option<ProfilePicture> {
        self.inner.profile_picture.as_ref().map(|p| ProfilePicture {
            mime_type: p.mime_type.clone(),
            sha256: p.sha256.clone(),
        })
    }
    /// Every other key of the event, with its value as received (a new
    /// dict at each access).
    #[getter]
    fn other_fields(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        raw_map_to_py(py, &self.inner.other_fields)
    }
    fn __repr__(slf: PyRef<'_, Self>) -> String {
        let base = slf.as_super();
        let keys: Vec<&str> = slf.inner.other_fields.keys().map(String::as_str).collect();
        let r = base
            .repr("SettingsUpdated")
            .str("subject", slf.inner.subject.as_deref())
            .str("description", slf.inner.description.as_deref())
            .raw(
                "profile_picture",
                if slf.inner.profile_picture.is_some() {
                    "<ProfilePicture>"
                } else {
                    "None"
                },
            )
            .strs("other_fields", keys);
        base.finish_repr(r)
    }
}

/// An event of a `type` the protocol crate does not know, kept raw.
#[pyclass(frozen, extends = GroupEvent, module = "wa_groups.webhooks")]
pub(crate) struct UnknownEvent {
    inner: wh::UnknownEvent,
}

#[pymethods]
impl UnknownEvent {
    /// Every key but the common ones, with its value as received (a new
    /// dict at each access).
    #[getter]
    fn fields(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        raw_map_to_py(py, &self.inner.fields)
    }
    fn __repr__(slf: PyRef<'_, Self>) -> String {
        let base = slf.as_super();
        let keys: Vec<&str> = slf.inner.fields.keys().map(String::as_str).collect();
        let r = base
            .repr("UnknownEvent")
            .str("type", Some(&slf.inner.event_type))
            .strs("fields", keys);
        base.finish_repr(r)
    }
}

/// Event types without attributes of their own.
macro_rules! bare_event {
    ($name:ident, $doc:literal) => {
        #[doc = $doc]
        #[pyclass(frozen, extends = GroupEvent, module = "wa_groups.webhooks")]
        pub(crate) struct $name;

        #[pymethods]
        impl $name {
            fn __repr__(slf: PyRef<'_, Self>) -> String {
                let base = slf.as_super();
                base.finish_repr(base.repr(stringify!($name)))
            }
        }
    };
}

bare_event!(GroupDeleted, "`group_delete`: the group was deleted.");
bare_event!(Suspended, "`group_suspend`: the group was suspended.");
bare_event!(
    SuspensionCleared,
    "`group_suspend_cleared`: the suspension was lifted."
);

fn event_object(py: Python<'_>, place: &Arc<Place>, event: &wh::GroupEvent) -> PyResult<Py<PyAny>> {
    use wh::GroupEventKind as K;
    let base = pyo3::PyClassInitializer::from(GroupEvent::new(Arc::clone(place), event.clone()));
    let obj = match &event.kind {
        K::JoinRequestCreated(j) => Py::new(
            py,
            base.add_subclass(JoinRequestCreated { inner: j.clone() }),
        )?
        .into_any(),
        K::JoinRequestRevoked(j) => Py::new(
            py,
            base.add_subclass(JoinRequestRevoked { inner: j.clone() }),
        )?
        .into_any(),
        K::ParticipantsAdded(p) => Py::new(
            py,
            base.add_subclass(ParticipantsAdded { inner: p.clone() }),
        )?
        .into_any(),
        K::ParticipantsRemoved(p) => Py::new(
            py,
            base.add_subclass(ParticipantsRemoved { inner: p.clone() }),
        )?
        .into_any(),
        K::GroupCreated(g) => {
            Py::new(py, base.add_subclass(GroupCreated { inner: g.clone() }))?.into_any()
        }
        K::GroupDeleted => Py::new(py, base.add_subclass(GroupDeleted))?.into_any(),
        K::SettingsUpdated(s) => {
            Py::new(py, base.add_subclass(SettingsUpdated { inner: s.clone() }))?.into_any()
        }
        K::Suspended => Py::new(py, base.add_subclass(Suspended))?.into_any(),
        K::SuspensionCleared => Py::new(py, base.add_subclass(SuspensionCleared))?.into_any(),
        K::Unknown(u) => {
            Py::new(py, base.add_subclass(UnknownEvent { inner: u.clone() }))?.into_any()
        }
        // A kind added to the protocol crate before a class is added here.
        _ => Py::new(py, base)?.into_any(),
    };
    Ok(obj)
}

/// A change of a group field: the business phone number and the events.
#[pyclass(frozen, module = "wa_groups.webhooks")]
pub(crate) struct GroupChange {
    place: Arc<Place>,
    events: Vec<Py<PyAny>>,
    inner: wh::GroupChange,
}

#[pymethods]
impl GroupChange {
    /// The change's `field`, such as `group_participants_update`.
    #[getter]
    fn field(&self) -> &str {
        &self.place.field
    }
    /// The business phone number, as displayed.
    #[getter]
    fn display_phone_number(&self) -> &str {
        &self.place.display_phone_number
    }
    /// The business phone number ID the delivery is for.
    #[getter]
    fn phone_number_id(&self) -> &str {
        &self.place.phone_number_id
    }
    /// The events of this change, each an instance of a `GroupEvent` subclass.
    #[getter]
    fn events<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        PyList::new(py, self.events.iter().map(|e| e.bind(py)))
    }
    fn __eq__(&self, other: &Bound<'_, PyAny>) -> bool {
        other.cast::<GroupChange>().is_ok_and(|o| {
            let o = o.get();
            o.place.waba_id == self.place.waba_id && o.inner == self.inner
        })
    }
    fn __repr__(&self) -> String {
        Repr::new("GroupChange")
            .str("field", Some(&self.place.field))
            .str("phone_number_id", Some(&self.place.phone_number_id))
            .raw("events", &format!("<{} events>", self.events.len()))
            .finish()
    }
}

/// A change of any other field (`messages`, say), with its `value` as
/// received.
#[pyclass(frozen, module = "wa_groups.webhooks")]
pub(crate) struct OtherChange {
    waba_id: String,
    inner: wh::OtherChange,
}

#[pymethods]
impl OtherChange {
    /// The change's `field`, such as `messages`.
    #[getter]
    fn field(&self) -> &str {
        &self.inner.field
    }
    /// The WhatsApp Business Account ID of the entry it came in.
    #[getter]
    fn waba_id(&self) -> &str {
        &self.waba_id
    }
    /// The change's `value`, as plain Python objects (new at each access).
    #[getter]
    fn value(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        raw_to_py(py, &self.inner.value)
    }
    fn __eq__(&self, other: &Bound<'_, PyAny>) -> bool {
        other.cast::<OtherChange>().is_ok_and(|o| {
            let o = o.get();
            o.waba_id == self.waba_id && o.inner == self.inner
        })
    }
    fn __repr__(&self) -> String {
        Repr::new("OtherChange")
            .str("field", Some(&self.inner.field))
            .finish()
    }
}

/// One `entry`: the changes of one WhatsApp Business Account.
#[pyclass(frozen, module = "wa_groups.webhooks")]
pub(crate) struct Entry {
    changes: Vec<Py<PyAny>>,
    inner: wh::Entry,
}

#[pymethods]
impl Entry {
    /// The WhatsApp Business Account ID.
    #[getter]
    fn id(&self) -> &str {
        &self.inner.id
    }
    /// The changes of this entry: `GroupChange` or `OtherChange` objects.
    #[getter]
    fn changes<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        PyList::new(py, self.changes.iter().map(|e| e.bind(py)))
    }
    fn __eq__(&self, other: &Bound<'_, PyAny>) -> bool {
        other
            .cast::<Entry>()
            .is_ok_and(|o| o.get().inner == self.inner)
    }
    fn __repr__(&self) -> String {
        Repr::new("Entry")
            .str("id", Some(&self.inner.id))
            .raw("changes", &format!("<{} changes>", self.changes.len()))
            .finish()
    }
}

/// A whole delivery, as [`parse`] returns it.
#[pyclass(frozen, module = "wa_groups.webhooks")]
pub(crate) struct WebhookPayload {
    entries: Vec<Py<PyAny>>,
    others: Vec<Py<PyAny>>,
    inner: wh::WebhookPayload,
}

#[pymethods]
impl WebhookPayload {
    /// The `object`; `whatsapp_business_account` for WhatsApp.
    #[getter]
    fn object(&self) -> &str {
        &self.inner.object
    }
    /// The entries of the delivery.
    #[getter]
    fn entries<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        PyList::new(py, self.entries.iter().map(|e| e.bind(py)))
    }
    /// Every group event of every entry and change, in order.
    fn events<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        let events = self
            .inner
            .events()
            .map(|e| event_object(py, &Arc::new(Place::of(&e)), e.event))
            .collect::<PyResult<Vec<_>>>()?;
        PyList::new(py, events)
    }
    /// Every change that is not a group change, in order.
    fn other_changes<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        PyList::new(py, self.others.iter().map(|e| e.bind(py)))
    }
    /// The payload as compact JSON, as Meta would send it; `parse` of it
    /// gives an equal payload.
    fn to_json(&self) -> String {
        self.inner.to_json_string()
    }
    fn __eq__(&self, other: &Bound<'_, PyAny>) -> bool {
        other
            .cast::<WebhookPayload>()
            .is_ok_and(|o| o.get().inner == self.inner)
    }
    fn __repr__(&self) -> String {
        Repr::new("WebhookPayload")
            .str("object", Some(&self.inner.object))
            .raw("entries", &format!("<{} entries>", self.entries.len()))
            .raw(
                "events",
                &format!("<{} group events>", self.inner.events().count()),
            )
            .finish()
    }
}

impl Place {
    fn of(e: &wh::GroupEventRef<'_>) -> Self {
        Self {
            waba_id: e.waba_id.to_owned(),
            field: e.field.as_str().to_owned(),
            display_phone_number: e.metadata.display_phone_number.clone(),
            phone_number_id: e.metadata.phone_number_id.clone(),
        }
    }
}

/// The Python objects of `payload`: its entries and their changes (the
/// events of `events()` are made from the protocol crate's walk).
fn payload_object(py: Python<'_>, payload: wh::WebhookPayload) -> PyResult<WebhookPayload> {
    let mut entries = Vec::with_capacity(payload.entries.len());
    let mut others = Vec::new();
    for entry in &payload.entries {
        let mut changes = Vec::with_capacity(entry.changes.len());
        for change in &entry.changes {
            match change {
                wh::Change::Group(g) => {
                    let place = Arc::new(Place {
                        waba_id: entry.id.clone(),
                        field: g.field.as_str().to_owned(),
                        display_phone_number: g.metadata.display_phone_number.clone(),
                        phone_number_id: g.metadata.phone_number_id.clone(),
                    });
                    let events = g
                        .events
                        .iter()
                        .map(|e| event_object(py, &place, e))
                        .collect::<PyResult<Vec<_>>>()?;
                    let obj = GroupChange {
                        place,
                        events,
                        inner: g.clone(),
                    };
                    changes.push(Py::new(py, obj)?.into_any());
                }
                wh::Change::Other(o) => {
                    let obj = Py::new(
                        py,
                        OtherChange {
                            waba_id: entry.id.clone(),
                            inner: o.clone(),
                        },
                    )?
                    .into_any();
                    others.push(obj.clone_ref(py));
                    changes.push(obj);
                }
                // A change kind added to the protocol crate: left out.
                _ => {}
            }
        }
        let obj = Entry {
            changes,
            inner: entry.clone(),
        };
        entries.push(Py::new(py, obj)?.into_any());
    }
    Ok(WebhookPayload {
        entries,
        others,
        inner: payload,
    })
}

/// Parses a webhook delivery body (the exact bytes received). Raises
/// `DecodeError` for a body that is not a webhook payload.
#[pyfunction]
pub(crate) fn parse(py: Python<'_>, raw_body: &Bound<'_, PyAny>) -> PyResult<WebhookPayload> {
    guard(py, || {
        let body = body_bytes(raw_body, Field::RawBody)?;
        let payload = py
            .detach(|| wh::parse(&body))
            .map_err(|e| to_py_err(py, e))?;
        payload_object(py, payload)
    })
}

/// Checks `X-Hub-Signature-256` against the body. Returns `None` when it
/// matches; raises `InvalidInputError` otherwise (`field` is `app_secret`
/// for an empty secret, `signature` for a missing, malformed or wrong
/// signature).
#[pyfunction]
#[pyo3(signature = (app_secret, raw_body, header))]
pub(crate) fn verify_signature(
    py: Python<'_>,
    app_secret: &Bound<'_, PyAny>,
    raw_body: &Bound<'_, PyAny>,
    header: Option<Text<'_>>,
) -> PyResult<()> {
    guard(py, || {
        let secret = body_bytes(app_secret, Field::AppSecret)?;
        let body = body_bytes(raw_body, Field::RawBody)?;
        let header = Text::opt(header.as_ref(), Field::Signature)?;
        wh::verify_signature(&secret, &body, header.as_deref().unwrap_or(""))
            .map_err(|e| to_py_err(py, e.into()))
    })
}

/// The `X-Hub-Signature-256` value Meta would send with `raw_body`.
#[pyfunction]
pub(crate) fn sign(
    py: Python<'_>,
    app_secret: &Bound<'_, PyAny>,
    raw_body: &Bound<'_, PyAny>,
) -> PyResult<String> {
    guard(py, || {
        let secret = body_bytes(app_secret, Field::AppSecret)?;
        let body = body_bytes(raw_body, Field::RawBody)?;
        Ok(wh::sign(&secret, &body))
    })
}
