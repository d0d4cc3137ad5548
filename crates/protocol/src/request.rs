//! Building requests and reading their responses: the client side of the
//! wire. An [`Operation`] knows its method, path, body and how to read a
//! success body; an [`Endpoint`] adds the base URL, version and headers
//! shared by every call, and turns any response into a result.

use bytes::Bytes;
use http::header::{ACCEPT, AUTHORIZATION, CONTENT_TYPE, USER_AGENT};
use http::{HeaderMap, HeaderValue, Method, Request, StatusCode};
use serde::Serialize;

use crate::error::{ApiError, DecodeError, Error, Field, InvalidInput};
use crate::ids::{
    AccessToken, ApiVersion, BaseUrl, Cursor, GroupId, JoinRequestId, JoinRequestIds, UserAgent,
};
use crate::model::{Action, DecisionOutcome, GroupInfo, JoinRequestPage, ListResponse};

/// The largest page size the client asks for.
pub const MAX_LIMIT: u32 = 1000;

/// One call of the API, independent of where and how it is sent.
pub trait Operation {
    /// What a successful response becomes.
    type Output: crate::redact::Redact;

    /// The HTTP method.
    fn method(&self) -> Method;

    /// Appends `/{version}/...[?query]` to `out`.
    fn write_path(&self, version: &ApiVersion, out: &mut String);

    /// The body and its content type, for methods that send one.
    fn body(&self) -> Option<(HeaderValue, Bytes)>;

    /// Reads a 2xx body.
    fn parse_success(&self, status: StatusCode, body: &[u8]) -> Result<Self::Output, DecodeError>;
}

/// Appends `/{version}/{group_id}{tail}`; plain pushes, as this is on every call's path.
fn push_path(out: &mut String, version: &ApiVersion, group_id: &GroupId, tail: &str) {
    out.push('/');
    out.push_str(version.as_str());
    out.push('/');
    out.push_str(group_id.as_str());
    out.push_str(tail);
}

/// The query of a list call, from validated values: page size and cursor.
/// `after` and `before` are exclusive. (Users of the client pass the plain
/// `wa_groups::ListOptions`, which validates into this.)
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ListQuery {
    /// Page size, 1 to [`MAX_LIMIT`]; the API's default when `None`.
    pub limit: Option<u32>,
    /// Start after this cursor (the previous page's `after`).
    pub after: Option<Cursor>,
    /// End before this cursor (the next page's `before`).
    pub before: Option<Cursor>,
}

impl ListQuery {
    /// Validates the combination.
    pub fn validate(&self) -> Result<(), InvalidInput> {
        if self.limit.is_some_and(|l| l == 0 || l > MAX_LIMIT) {
            return Err(InvalidInput::new(
                Field::Limit,
                "must be between 1 and 1000",
            ));
        }
        if self.after.is_some() && self.before.is_some() {
            return Err(InvalidInput::new(
                Field::Before,
                "cannot be combined with after; page in one direction at a time",
            ));
        }
        Ok(())
    }
}

/// `GET /{version}/{group_id}/join_requests`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListJoinRequests {
    pub(crate) group_id: GroupId,
    pub(crate) options: ListQuery,
}

impl ListJoinRequests {
    /// A list call; validates the options.
    pub fn new(group_id: GroupId, options: ListQuery) -> Result<Self, InvalidInput> {
        options.validate()?;
        Ok(Self { group_id, options })
    }

    /// The group.
    pub fn group_id(&self) -> &GroupId {
        &self.group_id
    }

    /// The options.
    pub fn options(&self) -> &ListQuery {
        &self.options
    }
}

impl Operation for ListJoinRequests {
    type Output = JoinRequestPage;

    fn method(&self) -> Method {
        Method::GET
    }

    fn write_path(&self, version: &ApiVersion, out: &mut String) {
        push_path(out, version, &self.group_id, "/join_requests");
        let mut query = form_urlencoded::Serializer::new(String::new());
        if let Some(limit) = self.options.limit {
            query.append_pair("limit", &limit.to_string());
        }
        if let Some(after) = &self.options.after {
            query.append_pair("after", after.as_str());
        }
        if let Some(before) = &self.options.before {
            query.append_pair("before", before.as_str());
        }
        let query = query.finish();
        if !query.is_empty() {
            out.push('?');
            out.push_str(&query);
        }
    }

    fn body(&self) -> Option<(HeaderValue, Bytes)> {
        None
    }

    fn parse_success(
        &self,
        status: StatusCode,
        body: &[u8],
    ) -> Result<JoinRequestPage, DecodeError> {
        serde_json::from_slice::<ListResponse>(body)
            .map(JoinRequestPage::from)
            .map_err(|e| {
                DecodeError::new(Some(status.as_u16()), format!("list response: {e}"), body)
            })
    }
}

/// How an approve or reject body is encoded. The spec accepts all three.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum BodyEncoding {
    /// `application/json` (the default).
    #[default]
    Json,
    /// `application/x-www-form-urlencoded`: `messaging_product=whatsapp&join_requests=<JSON array>`.
    FormUrlEncoded,
    /// `multipart/form-data` with the same two fields as parts.
    Multipart(Boundary),
}

/// A multipart boundary, made from a random number the caller supplies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Boundary(u64);

impl Boundary {
    /// A boundary from 64 random bits.
    pub fn from_random(bits: u64) -> Self {
        Self(bits)
    }

    fn render(self) -> String {
        format!("wa-groups-{:016x}", self.0)
    }
}

/// `POST` (approve) or `DELETE` (reject) `/{version}/{group_id}/join_requests`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecideJoinRequests {
    action: Action,
    group_id: GroupId,
    ids: JoinRequestIds,
    encoding: BodyEncoding,
}

impl DecideJoinRequests {
    /// An approve or reject call for `ids`, JSON-encoded.
    pub fn new(action: Action, group_id: GroupId, ids: JoinRequestIds) -> Self {
        Self {
            action,
            group_id,
            ids,
            encoding: BodyEncoding::Json,
        }
    }

    /// The same call with another body encoding.
    #[must_use]
    pub fn with_encoding(mut self, encoding: BodyEncoding) -> Self {
        self.encoding = encoding;
        self
    }

    /// Approve or reject.
    pub fn action(&self) -> Action {
        self.action
    }

    /// The group.
    pub fn group_id(&self) -> &GroupId {
        &self.group_id
    }

    /// The IDs, as given.
    pub fn ids(&self) -> &JoinRequestIds {
        &self.ids
    }

    /// The body encoding.
    pub fn encoding(&self) -> BodyEncoding {
        self.encoding
    }
}

#[derive(Serialize)]
struct DecideBody<'a> {
    messaging_product: &'static str,
    join_requests: &'a [JoinRequestId],
}

fn json_array(ids: &[JoinRequestId]) -> Vec<u8> {
    let mut out = Vec::with_capacity(ids.iter().map(|i| i.as_str().len() + 3).sum::<usize>() + 2);
    // Strings into a Vec: serialization cannot fail.
    let _ = serde_json::to_writer(&mut out, ids);
    out
}

impl Operation for DecideJoinRequests {
    type Output = DecisionOutcome;

    fn method(&self) -> Method {
        self.action.method()
    }

    fn write_path(&self, version: &ApiVersion, out: &mut String) {
        push_path(out, version, &self.group_id, "/join_requests");
    }

    fn body(&self) -> Option<(HeaderValue, Bytes)> {
        let ids = self.ids.as_slice();
        Some(match self.encoding {
            BodyEncoding::Json => {
                let size = ids.iter().map(|i| i.as_str().len() + 3).sum::<usize>() + 56;
                let mut out = Vec::with_capacity(size);
                let body = DecideBody {
                    messaging_product: "whatsapp",
                    join_requests: ids,
                };
                let _ = serde_json::to_writer(&mut out, &body);
                (
                    HeaderValue::from_static("application/json"),
                    Bytes::from(out),
                )
            }
            BodyEncoding::FormUrlEncoded => {
                let array = json_array(ids);
                let array = String::from_utf8_lossy(&array);
                let body = form_urlencoded::Serializer::new(String::new())
                    .append_pair("messaging_product", "whatsapp")
                    .append_pair("join_requests", &array)
                    .finish();
                (
                    HeaderValue::from_static("application/x-www-form-urlencoded"),
                    Bytes::from(body),
                )
            }
            BodyEncoding::Multipart(boundary) => {
                let array = json_array(ids);
                let (boundary, body) = multipart_body(boundary, &array);
                let ct = HeaderValue::try_from(format!("multipart/form-data; boundary={boundary}"))
                    .unwrap_or_else(|_| HeaderValue::from_static("multipart/form-data"));
                (ct, Bytes::from(body))
            }
        })
    }

    fn parse_success(
        &self,
        status: StatusCode,
        body: &[u8],
    ) -> Result<DecisionOutcome, DecodeError> {
        DecisionOutcome::from_json(self.action, body).map_err(|e| {
            DecodeError::new(
                Some(status.as_u16()),
                format!("{} response: {e}", self.action.as_str()),
                body,
            )
        })
    }
}

/// Writes the two parts; picks another boundary in the rare case the IDs
/// contain the first one.
fn multipart_body(boundary: Boundary, array: &[u8]) -> (String, Vec<u8>) {
    let mut bits = boundary.0;
    loop {
        let b = Boundary(bits).render();
        if !contains(array, b.as_bytes()) {
            let mut out = Vec::with_capacity(array.len() + 4 * b.len() + 192);
            for (name, value) in [
                ("messaging_product", &b"whatsapp"[..]),
                ("join_requests", array),
            ] {
                out.extend_from_slice(b"--");
                out.extend_from_slice(b.as_bytes());
                out.extend_from_slice(b"\r\nContent-Disposition: form-data; name=\"");
                out.extend_from_slice(name.as_bytes());
                out.extend_from_slice(b"\"\r\n\r\n");
                out.extend_from_slice(value);
                out.extend_from_slice(b"\r\n");
            }
            out.extend_from_slice(b"--");
            out.extend_from_slice(b.as_bytes());
            out.extend_from_slice(b"--\r\n");
            return (b, out);
        }
        bits = bits.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
    }
}

pub(crate) fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    !needle.is_empty() && haystack.windows(needle.len()).any(|w| w == needle)
}

/// `GET /{version}/{group_id}?fields=...`: the spec's `GroupInfo`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GetGroupInfo {
    group_id: GroupId,
    fields: Vec<String>,
}

/// The fields [`GetGroupInfo`] may ask for.
pub const GROUP_INFO_FIELDS: &[&str] = &[
    "id",
    "messaging_product",
    "join_approval_mode",
    "subject",
    "description",
    "suspended",
    "creation_timestamp",
    "participants",
    "total_participant_count",
];

impl GetGroupInfo {
    /// A group info call for `fields` (empty: the API's default fields).
    pub fn new<I>(group_id: GroupId, fields: I) -> Result<Self, InvalidInput>
    where
        I: IntoIterator,
        I::Item: AsRef<str>,
    {
        let fields = fields
            .into_iter()
            .enumerate()
            .map(|(i, f)| {
                let f = f.as_ref();
                if GROUP_INFO_FIELDS.contains(&f) {
                    Ok(f.to_owned())
                } else {
                    Err(InvalidInput::new(Field::Fields, "is not a GroupInfo field").at(i))
                }
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Self { group_id, fields })
    }

    /// The group.
    pub fn group_id(&self) -> &GroupId {
        &self.group_id
    }

    /// The fields asked for.
    pub fn fields(&self) -> &[String] {
        &self.fields
    }
}

impl Operation for GetGroupInfo {
    type Output = GroupInfo;

    fn method(&self) -> Method {
        Method::GET
    }

    fn write_path(&self, version: &ApiVersion, out: &mut String) {
        push_path(out, version, &self.group_id, "");
        if !self.fields.is_empty() {
            out.push_str("?fields=");
            out.push_str(&self.fields.join(","));
        }
    }

    fn body(&self) -> Option<(HeaderValue, Bytes)> {
        None
    }

    fn parse_success(&self, status: StatusCode, body: &[u8]) -> Result<GroupInfo, DecodeError> {
        serde_json::from_slice(body).map_err(|e| {
            DecodeError::new(
                Some(status.as_u16()),
                format!("group info response: {e}"),
                body,
            )
        })
    }
}

/// Where and as whom requests are sent: what every call shares.
#[derive(Clone)]
pub struct Endpoint {
    base: BaseUrl,
    scheme: http::uri::Scheme,
    authority: http::uri::Authority,
    /// The base URL's path prefix, `""` for none.
    prefix: Box<str>,
    version: ApiVersion,
    token: AccessToken,
    redactor: crate::redact::Redactor,
    authorization: HeaderValue,
    user_agent: UserAgent,
}

impl std::fmt::Debug for Endpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Endpoint")
            .field("base", &self.base)
            .field("version", &self.version)
            .field("token", &self.token)
            .field("user_agent", &self.user_agent)
            .finish()
    }
}

impl Endpoint {
    /// An endpoint from validated settings.
    pub fn new(
        base: BaseUrl,
        version: ApiVersion,
        token: AccessToken,
        user_agent: UserAgent,
    ) -> Self {
        let authorization = token.authorization_header();
        // BaseUrl was validated as scheme://authority[/prefix], so these parse.
        let uri: http::Uri = base.as_str().parse().unwrap_or_default();
        let scheme = uri.scheme().cloned().unwrap_or(http::uri::Scheme::HTTPS);
        let authority = uri
            .authority()
            .cloned()
            .unwrap_or_else(|| http::uri::Authority::from_static("graph.facebook.com"));
        let prefix = uri.path().trim_end_matches('/').into();
        Self {
            base,
            scheme,
            authority,
            prefix,
            version,
            redactor: crate::redact::Redactor::new(token.expose_secret()),
            token,
            authorization,
            user_agent,
        }
    }

    /// Scrubs this endpoint's access token, in every encoding, from text.
    pub fn redactor(&self) -> &crate::redact::Redactor {
        &self.redactor
    }

    /// The base URL.
    pub fn base_url(&self) -> &BaseUrl {
        &self.base
    }

    /// The API version.
    pub fn api_version(&self) -> &ApiVersion {
        &self.version
    }

    /// The user agent.
    pub fn user_agent(&self) -> &UserAgent {
        &self.user_agent
    }

    /// The path and query `op` is sent to, without the base URL: what logs may show.
    pub fn path<O: Operation>(&self, op: &O) -> String {
        let mut out = String::with_capacity(96);
        op.write_path(&self.version, &mut out);
        out
    }

    /// The complete HTTP request for `op`.
    pub fn request<O: Operation>(&self, op: &O) -> Request<Bytes> {
        let mut path = String::with_capacity(self.prefix.len() + 128);
        path.push_str(&self.prefix);
        op.write_path(&self.version, &mut path);
        let (content_type, body) = match op.body() {
            Some((ct, body)) => (Some(ct), body),
            None => (None, Bytes::new()),
        };
        let mut req = Request::new(body);
        *req.method_mut() = op.method();
        // Every part of the path was validated or percent-encoded, so this parses;
        // scheme and authority were parsed once, in `new`.
        let mut parts = http::uri::Parts::default();
        parts.scheme = Some(self.scheme.clone());
        parts.authority = Some(self.authority.clone());
        parts.path_and_query = http::uri::PathAndQuery::try_from(path).ok();
        *req.uri_mut() = http::Uri::from_parts(parts).unwrap_or_default();
        let headers = req.headers_mut();
        headers.reserve(5);
        headers.insert(AUTHORIZATION, self.authorization.clone());
        headers.insert(USER_AGENT, self.user_agent.header_value().clone());
        headers.insert(ACCEPT, HeaderValue::from_static("application/json"));
        if let Some(ct) = content_type {
            headers.insert(CONTENT_TYPE, ct);
        }
        req
    }

    /// Turns a complete response into `op`'s output or a typed error:
    /// 2xx bodies are parsed by the operation; other statuses become the
    /// Graph error they carry, classified by code; anything else is a
    /// decode error. The token, in any encoding, never appears in the
    /// output or the error: see [`Redact`](crate::Redact).
    pub fn parse_response<O: Operation>(
        &self,
        op: &O,
        status: StatusCode,
        headers: &HeaderMap,
        body: &[u8],
    ) -> Result<O::Output, Error> {
        let result = if status.is_success() {
            op.parse_success(status, body)
                .and_then(|mut out| {
                    // Successful bodies echo what they like too: scrub every
                    // string before it reaches a caller, a log or a binding.
                    crate::redact::Redact::redact(&mut out, &self.redactor)?;
                    Ok(out)
                })
                .map_err(Error::from)
        } else {
            Err(parse_error_response(status, headers, body))
        };
        result.map_err(|mut e| {
            e.redact_with(&self.redactor);
            e
        })
    }
}

/// The error a non-2xx response stands for. A 429 is a rate limit
/// whatever its body says (a proxy's plain-text 429 included), and
/// `Retry-After` is kept on every error so the retry policy honours it.
pub fn parse_error_response(status: StatusCode, headers: &HeaderMap, body: &[u8]) -> Error {
    let wait = retry_after(headers);
    let code = status.as_u16();
    match ApiError::from_envelope(code, body) {
        Ok(mut api) => {
            api.retry_after = wait;
            match Error::from(api) {
                Error::Auth(api) | Error::NotFound(api) | Error::Api(api)
                    if status == StatusCode::TOO_MANY_REQUESTS =>
                {
                    Error::RateLimited(api)
                }
                e => e,
            }
        }
        Err(_) if status == StatusCode::TOO_MANY_REQUESTS => {
            let mut api = ApiError::new(code, 0, "HTTP 429 without a Graph error body");
            api.retry_after = wait;
            Error::RateLimited(Box::new(api))
        }
        Err(_) => Error::Decode(
            DecodeError::new(
                Some(code),
                format!("HTTP {code} without a Graph error body"),
                body,
            )
            .with_retry_after(wait),
        ),
    }
}

/// `Retry-After` as delta-seconds. An HTTP date would need the clock, which
/// this crate does not read, so it counts as absent.
pub fn retry_after(headers: &HeaderMap) -> Option<std::time::Duration> {
    let v = headers
        .get(http::header::RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim();
    if let Ok(secs) = v.parse::<u64>() {
        return Some(std::time::Duration::from_secs(secs));
    }
    v.parse::<f64>()
        .ok()
        .filter(|s| (0.0..1e9).contains(s))
        .map(std::time::Duration::from_secs_f64)
}
