//! Wire types of the join request endpoints, both directions: the client
//! parses them, the emulator builds them.

use std::fmt;

use serde::de::{self, Deserializer, Visitor};
use serde::ser::{SerializeStruct, Serializer};
use serde::{Deserialize, Serialize};

use crate::error::{ApiError, Error, ErrorKind};
use crate::ids::{Cursor, JoinRequestId};

/// One pending join request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct JoinRequest {
    /// The join request's ID, to approve or reject it with.
    pub join_request_id: JoinRequestId,
    /// The requester's WhatsApp ID; absent for business-scoped users.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wa_id: Option<String>,
    /// When the request was made, in Unix seconds.
    #[serde(deserialize_with = "int_or_string")]
    pub creation_timestamp: i64,
    /// Business-scoped user ID.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_id: Option<String>,
    /// Business-scoped parent user ID.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent_user_id: Option<String>,
    /// Business-scoped username.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
}

impl JoinRequest {
    /// A request made at `creation_timestamp` (Unix seconds), its requester
    /// not yet known: set `wa_id`, `user_id`, `parent_user_id`, `username`.
    pub fn new(join_request_id: JoinRequestId, creation_timestamp: i64) -> Self {
        Self {
            join_request_id,
            wa_id: None,
            creation_timestamp,
            user_id: None,
            parent_user_id: None,
            username: None,
        }
    }
}

/// `paging.cursors` of a list response.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Cursors {
    /// Cursor of the first item of this page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub before: Option<String>,
    /// Cursor of the last item of this page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub after: Option<String>,
}

/// The spec's `PagingInfo`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Paging {
    /// The cursors of this page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cursors: Option<Cursors>,
    /// URL of the previous page; absent on the first page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub previous: Option<String>,
    /// URL of the next page; absent on the last page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next: Option<String>,
}

/// The body of a list response, as on the wire.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ListResponse {
    /// The join requests of this page.
    #[serde(default)]
    pub data: Vec<JoinRequest>,
    /// Paging information; absent when everything fits one page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub paging: Option<Paging>,
}

/// One page of join requests, with the cursors to move on.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct JoinRequestPage {
    /// The join requests of this page.
    pub data: Vec<JoinRequest>,
    /// Cursor of the next page; `None` on the last page (no `paging.next`),
    /// even when `paging.cursors.after` is present.
    pub after: Option<Cursor>,
    /// Cursor of the previous page; `None` on the first page (no `paging.previous`).
    pub before: Option<Cursor>,
}

impl From<ListResponse> for JoinRequestPage {
    fn from(r: ListResponse) -> Self {
        let paging = r.paging.unwrap_or_default();
        let cursors = paging.cursors.unwrap_or_default();
        let pick = |link: Option<String>, cursor: Option<String>, key: &str| {
            let link = link?;
            // The cursor field is the documented source; the link's query is the
            // fallback for servers that send only the link.
            cursor
                .and_then(|c| Cursor::new(c).ok())
                .or_else(|| query_param(&link, key).and_then(|c| Cursor::new(c).ok()))
        };
        Self {
            data: r.data,
            after: pick(paging.next, cursors.after, "after"),
            before: pick(paging.previous, cursors.before, "before"),
        }
    }
}

fn query_param(url: &str, key: &str) -> Option<String> {
    let query = url.split_once('?')?.1;
    let query = query.split('#').next().unwrap_or_default();
    form_urlencoded::parse(query.as_bytes())
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.into_owned())
}

/// One error item inside a 200 response (the spec's `Error` schema).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ErrorDetail {
    /// Graph error code; always an integer.
    pub code: i64,
    /// Short title.
    pub title: Option<String>,
    /// Message.
    pub message: Option<String>,
    /// `error_data.details`.
    pub details: Option<String>,
}

impl ErrorDetail {
    /// An error item with `code` and `message`.
    pub fn new(code: i64, title: Option<&str>, message: &str) -> Self {
        Self {
            code,
            title: title.map(str::to_owned),
            message: Some(message.to_owned()),
            details: None,
        }
    }

    /// The kind an error with this code is classified as.
    pub fn kind(&self) -> ErrorKind {
        ErrorKind::for_graph_code(self.code)
    }

    /// The error item reported for each ID of a chunk that failed as a
    /// whole. Graph errors keep their code; other failures have code 0 and
    /// the error kind as title.
    pub fn from_error(e: &Error) -> Self {
        match e.api_error() {
            Some(api) => Self {
                code: api.code,
                title: api.title.clone(),
                message: Some(api.message.clone()),
                details: api.details.clone(),
            },
            None => Self {
                code: 0,
                title: Some(e.kind().as_str().to_owned()),
                message: Some(e.to_string()),
                details: None,
            },
        }
    }
}

impl fmt::Display for ErrorDetail {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "({})", self.code)?;
        if let Some(t) = &self.title {
            write!(f, " {t}")?;
        }
        if let Some(m) = &self.message {
            write!(f, ": {m}")?;
        }
        if let Some(d) = &self.details {
            write!(f, " ({d})")?;
        }
        Ok(())
    }
}

#[derive(Deserialize)]
struct WireErrorDetail {
    #[serde(default, deserialize_with = "int_or_string")]
    code: i64,
    #[serde(default)]
    title: Option<String>,
    #[serde(default)]
    message: Option<String>,
    #[serde(default)]
    error_data: Option<ErrorData>,
}

/// `error_data` is an object with `details` in the spec, and a bare string
/// in some older Graph responses. A visitor rather than `untagged`, which
/// would buffer every value before trying the shapes.
struct ErrorData(Option<String>);

impl ErrorData {
    fn into_details(self) -> Option<String> {
        self.0
    }
}

impl<'de> Deserialize<'de> for ErrorData {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = ErrorData;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an object with details, or a string")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<ErrorData, E> {
                Ok(ErrorData(Some(v.to_owned())))
            }
            fn visit_unit<E: de::Error>(self) -> Result<ErrorData, E> {
                Ok(ErrorData(None))
            }
            fn visit_map<A: de::MapAccess<'de>>(self, mut map: A) -> Result<ErrorData, A::Error> {
                let mut details = None;
                while let Some(key) = map.next_key::<std::borrow::Cow<'de, str>>()? {
                    if key == "details" {
                        details = map.next_value::<Option<String>>()?;
                    } else {
                        map.next_value::<de::IgnoredAny>()?;
                    }
                }
                Ok(ErrorData(details))
            }
        }
        d.deserialize_any(V)
    }
}

impl<'de> Deserialize<'de> for ErrorDetail {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let w = WireErrorDetail::deserialize(d)?;
        Ok(Self {
            code: w.code,
            title: w.title,
            message: w.message,
            details: w.error_data.and_then(ErrorData::into_details),
        })
    }
}

struct Details<'a>(&'a str);

impl Serialize for Details<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut st = s.serialize_struct("ErrorData", 1)?;
        st.serialize_field("details", self.0)?;
        st.end()
    }
}

impl Serialize for ErrorDetail {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut st = s.serialize_struct("Error", 4)?;
        st.serialize_field("code", &self.code)?;
        if let Some(t) = &self.title {
            st.serialize_field("title", t)?;
        }
        if let Some(m) = &self.message {
            st.serialize_field("message", m)?;
        }
        if let Some(d) = &self.details {
            st.serialize_field("error_data", &Details(d))?;
        }
        st.end()
    }
}

/// The most error items kept from one list of them in a response (the
/// call-level `errors`, or one ID's `errors`): a small response can hold
/// millions of tiny items, and nobody reads past the first few.
pub const MAX_ERRORS_KEPT: usize = 100;

/// An error list read with at most [`MAX_ERRORS_KEPT`] items kept and the
/// rest counted, never held.
#[derive(Default)]
struct BoundedErrors {
    kept: Vec<ErrorDetail>,
    omitted: usize,
}

impl<'de> Deserialize<'de> for BoundedErrors {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = BoundedErrors;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a list of errors")
            }
            fn visit_unit<E: de::Error>(self) -> Result<BoundedErrors, E> {
                Ok(BoundedErrors::default())
            }
            fn visit_seq<A: de::SeqAccess<'de>>(
                self,
                mut seq: A,
            ) -> Result<BoundedErrors, A::Error> {
                let mut out = BoundedErrors::default();
                while out.kept.len() < MAX_ERRORS_KEPT {
                    match seq.next_element::<ErrorDetail>()? {
                        Some(e) => out.kept.push(e),
                        None => return Ok(out),
                    }
                }
                while seq.next_element::<de::IgnoredAny>()?.is_some() {
                    out.omitted += 1;
                }
                Ok(out)
            }
        }
        d.deserialize_any(V)
    }
}

fn bounded_errors<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<ErrorDetail>, D::Error> {
    BoundedErrors::deserialize(d).map(|b| b.kept)
}

/// A join request that the API could not approve or reject.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct FailedJoinRequest {
    /// The join request's ID.
    pub join_request_id: JoinRequestId,
    /// Why it failed; at most [`MAX_ERRORS_KEPT`] items are read.
    #[serde(default, deserialize_with = "bounded_errors")]
    pub errors: Vec<ErrorDetail>,
}

impl FailedJoinRequest {
    /// `join_request_id` failed for these reasons.
    pub fn new(join_request_id: JoinRequestId, errors: Vec<ErrorDetail>) -> Self {
        Self {
            join_request_id,
            errors,
        }
    }
}

/// Approve or reject.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Action {
    /// `POST .../join_requests`: the requesters join the group.
    Approve,
    /// `DELETE .../join_requests`: the requests are dropped.
    Reject,
}

impl Action {
    /// The HTTP method of this action.
    pub fn method(self) -> http::Method {
        match self {
            Self::Approve => http::Method::POST,
            Self::Reject => http::Method::DELETE,
        }
    }

    /// The response key listing the IDs that succeeded.
    pub fn succeeded_key(self) -> &'static str {
        match self {
            Self::Approve => "approved_join_requests",
            Self::Reject => "rejected_join_requests",
        }
    }

    /// `approve` or `reject`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Approve => "approve",
            Self::Reject => "reject",
        }
    }
}

/// The result of an approve or reject call, whichever it was. Partial
/// failure is a result: IDs in `failed` did not succeed, the rest did.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct DecisionOutcome {
    /// Which action this is the outcome of.
    pub action: Action,
    /// IDs approved (or rejected), in input order.
    pub succeeded: Vec<JoinRequestId>,
    /// IDs that failed, with their errors, in input order.
    pub failed: Vec<FailedJoinRequest>,
    /// Errors about the call as a whole: at most [`MAX_ERRORS_KEPT`].
    pub errors: Vec<ErrorDetail>,
    /// How many more call-level errors the API sent than `errors` keeps.
    pub errors_omitted: usize,
    /// IDs the API reported (as succeeded or failed) in answer to a
    /// request that did not send them: never counted in `succeeded` or
    /// `failed`, each kept once, at most [`MAX_ERRORS_KEPT`] of them.
    pub unexpected: Vec<JoinRequestId>,
    /// How many more such reports there were than `unexpected` keeps.
    pub unexpected_omitted: usize,
    /// The API's request ID, when given (not kept across chunks).
    pub request_id: Option<String>,
}

impl DecisionOutcome {
    /// An empty outcome of `action`.
    pub fn new(action: Action) -> Self {
        Self {
            action,
            succeeded: Vec::new(),
            failed: Vec::new(),
            errors: Vec::new(),
            errors_omitted: 0,
            unexpected: Vec::new(),
            unexpected_omitted: 0,
            request_id: None,
        }
    }

    /// Whether every ID succeeded and no call-level error was reported.
    pub fn is_complete_success(&self) -> bool {
        self.failed.is_empty() && self.errors.is_empty() && self.errors_omitted == 0
    }

    /// The JSON body of this outcome as the API sends it.
    pub fn to_json(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(64 + 48 * (self.succeeded.len() + 2 * self.failed.len()));
        // Serializing plain structs of strings into a Vec cannot fail.
        let _ = serde_json::to_writer(&mut out, &WireOutcomeRef(self));
        out
    }

    /// Parses a 200 body of `action`. Unknown fields are ignored; absent
    /// lists are empty.
    pub fn from_json(action: Action, body: &[u8]) -> Result<Self, serde_json::Error> {
        let w: WireOutcome = serde_json::from_slice(body)?;
        let succeeded = match action {
            Action::Approve => w.approved_join_requests,
            Action::Reject => w.rejected_join_requests,
        };
        Ok(Self {
            action,
            succeeded,
            failed: w.failed_join_requests,
            errors: w.errors.kept,
            errors_omitted: w.errors.omitted,
            unexpected: Vec::new(),
            unexpected_omitted: 0,
            request_id: w.request_id,
        })
    }
}

#[derive(Deserialize)]
struct WireOutcome {
    #[serde(default)]
    approved_join_requests: Vec<JoinRequestId>,
    #[serde(default)]
    rejected_join_requests: Vec<JoinRequestId>,
    #[serde(default)]
    failed_join_requests: Vec<FailedJoinRequest>,
    #[serde(default)]
    errors: BoundedErrors,
    #[serde(default)]
    request_id: Option<String>,
}

struct WireOutcomeRef<'a>(&'a DecisionOutcome);

impl Serialize for WireOutcomeRef<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let o = self.0;
        let mut st = s.serialize_struct("Outcome", 5)?;
        st.serialize_field("messaging_product", "whatsapp")?;
        match o.action {
            Action::Approve => st.serialize_field("approved_join_requests", &o.succeeded)?,
            Action::Reject => st.serialize_field("rejected_join_requests", &o.succeeded)?,
        }
        st.serialize_field("failed_join_requests", &o.failed)?;
        st.serialize_field("errors", &o.errors)?;
        if let Some(id) = &o.request_id {
            st.serialize_field("request_id", id)?;
        }
        st.end()
    }
}

/// The result of an approve call.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ApproveOutcome {
    /// IDs approved, in input order.
    pub approved: Vec<JoinRequestId>,
    /// IDs that failed, with their errors, in input order.
    pub failed: Vec<FailedJoinRequest>,
    /// Errors about the call as a whole: at most [`MAX_ERRORS_KEPT`].
    pub errors: Vec<ErrorDetail>,
    /// How many more call-level errors the API sent than `errors` keeps.
    pub errors_omitted: usize,
    /// IDs the API reported that the call never sent; see
    /// [`DecisionOutcome::unexpected`].
    pub unexpected: Vec<JoinRequestId>,
    /// Reports of unsent IDs beyond those in `unexpected`.
    pub unexpected_omitted: usize,
    /// The API's request ID, when a single request gave one.
    pub request_id: Option<String>,
}

/// The result of a reject call.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct RejectOutcome {
    /// IDs rejected, in input order.
    pub rejected: Vec<JoinRequestId>,
    /// IDs that failed, with their errors, in input order.
    pub failed: Vec<FailedJoinRequest>,
    /// Errors about the call as a whole: at most [`MAX_ERRORS_KEPT`].
    pub errors: Vec<ErrorDetail>,
    /// How many more call-level errors the API sent than `errors` keeps.
    pub errors_omitted: usize,
    /// IDs the API reported that the call never sent; see
    /// [`DecisionOutcome::unexpected`].
    pub unexpected: Vec<JoinRequestId>,
    /// Reports of unsent IDs beyond those in `unexpected`.
    pub unexpected_omitted: usize,
    /// The API's request ID, when a single request gave one.
    pub request_id: Option<String>,
}

impl From<DecisionOutcome> for ApproveOutcome {
    fn from(o: DecisionOutcome) -> Self {
        Self {
            approved: o.succeeded,
            failed: o.failed,
            errors: o.errors,
            errors_omitted: o.errors_omitted,
            unexpected: o.unexpected,
            unexpected_omitted: o.unexpected_omitted,
            request_id: o.request_id,
        }
    }
}

impl From<DecisionOutcome> for RejectOutcome {
    fn from(o: DecisionOutcome) -> Self {
        Self {
            rejected: o.succeeded,
            failed: o.failed,
            errors: o.errors,
            errors_omitted: o.errors_omitted,
            unexpected: o.unexpected,
            unexpected_omitted: o.unexpected_omitted,
            request_id: o.request_id,
        }
    }
}

/// A participant as `GroupInfo` lists it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Participant {
    /// WhatsApp ID.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wa_id: Option<String>,
    /// Business-scoped user ID, for users without a visible `wa_id`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_id: Option<String>,
    /// Business-scoped username.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
}

/// The spec's `GroupInfo`: what `GET /{version}/{group_id}?fields=...` returns.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct GroupInfo {
    /// Group ID.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// Always `whatsapp`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub messaging_product: Option<String>,
    /// `approval_required` or `auto_approve`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub join_approval_mode: Option<String>,
    /// Group subject.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject: Option<String>,
    /// Group description.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Whether WhatsApp suspended the group.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub suspended: Option<bool>,
    /// Creation time in Unix seconds.
    #[serde(
        default,
        deserialize_with = "opt_int_or_string",
        skip_serializing_if = "Option::is_none"
    )]
    pub creation_timestamp: Option<i64>,
    /// Participants, the business excluded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub participants: Option<Vec<Participant>>,
    /// Participant count, the business excluded.
    #[serde(
        default,
        deserialize_with = "opt_int_or_string",
        skip_serializing_if = "Option::is_none"
    )]
    pub total_participant_count: Option<i64>,
}

/// The Graph error envelope, `{"error": {...}}`.
#[derive(Deserialize)]
struct WireEnvelope {
    error: WireApiError,
}

#[derive(Deserialize)]
struct WireApiError {
    #[serde(default)]
    message: Option<String>,
    #[serde(default, rename = "type")]
    error_type: Option<String>,
    #[serde(deserialize_with = "int_or_string")]
    code: i64,
    #[serde(default, deserialize_with = "opt_int_or_string")]
    error_subcode: Option<i64>,
    #[serde(default)]
    title: Option<String>,
    #[serde(default)]
    error_user_title: Option<String>,
    #[serde(default)]
    error_user_msg: Option<String>,
    #[serde(default)]
    error_data: Option<ErrorData>,
    #[serde(default)]
    is_transient: Option<bool>,
    #[serde(default)]
    fbtrace_id: Option<String>,
}

impl ApiError {
    /// Parses a Graph error envelope received with `status`.
    pub fn from_envelope(status: u16, body: &[u8]) -> Result<Self, serde_json::Error> {
        let WireEnvelope { error: w } = serde_json::from_slice(body)?;
        Ok(Self {
            status,
            code: w.code,
            subcode: w.error_subcode,
            error_type: w.error_type,
            title: w.title.or(w.error_user_title),
            message: w.message.or(w.error_user_msg).unwrap_or_default(),
            details: w.error_data.and_then(ErrorData::into_details),
            fbtrace_id: w.fbtrace_id,
            is_transient: w.is_transient.unwrap_or(false),
            retry_after: None,
        })
    }

    /// The Graph error envelope for this error, as the API sends it.
    pub fn to_envelope(&self) -> Vec<u8> {
        struct Inner<'a>(&'a ApiError);
        impl Serialize for Inner<'_> {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                let e = self.0;
                let mut st = s.serialize_struct("Error", 9)?;
                st.serialize_field("message", &e.message)?;
                st.serialize_field("type", e.error_type.as_deref().unwrap_or("OAuthException"))?;
                st.serialize_field("code", &e.code)?;
                if let Some(sub) = e.subcode {
                    st.serialize_field("error_subcode", &sub)?;
                }
                if let Some(t) = &e.title {
                    st.serialize_field("error_user_title", t)?;
                }
                if let Some(d) = &e.details {
                    st.serialize_field("error_data", &Details(d))?;
                }
                st.serialize_field("is_transient", &e.is_transient)?;
                if let Some(f) = &e.fbtrace_id {
                    st.serialize_field("fbtrace_id", f)?;
                }
                st.end()
            }
        }
        #[derive(Serialize)]
        struct Envelope<'a> {
            error: Inner<'a>,
        }
        serde_json::to_vec(&Envelope { error: Inner(self) }).unwrap_or_default()
    }
}

/// Accepts `123`, `"123"` (and `123.0`) as an integer: Graph sends codes and
/// timestamps either way.
pub(crate) fn int_or_string<'de, D: Deserializer<'de>>(d: D) -> Result<i64, D::Error> {
    d.deserialize_any(IntOrString)
}

fn opt_int_or_string<'de, D: Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
    struct Opt;
    impl<'de> Visitor<'de> for Opt {
        type Value = Option<i64>;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("an integer, a string of digits, or null")
        }
        fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
            int_or_string(d).map(Some)
        }
    }
    d.deserialize_option(Opt)
}

struct IntOrString;

impl Visitor<'_> for IntOrString {
    type Value = i64;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an integer or a string of digits")
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<i64, E> {
        Ok(v)
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<i64, E> {
        i64::try_from(v).map_err(|_| E::custom("integer out of range"))
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<i64, E> {
        if v.fract() == 0.0 && v >= i64::MIN as f64 && v <= i64::MAX as f64 {
            #[allow(
                clippy::cast_possible_truncation,
                reason = "checked integral and in range above"
            )]
            Ok(v as i64)
        } else {
            Err(E::custom("expected an integer"))
        }
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<i64, E> {
        v.trim()
            .parse()
            .map_err(|_| E::custom(format_args!("expected an integer, got {v:?}")))
    }
}
