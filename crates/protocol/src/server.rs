//! The server side of the wire, for the emulator and for tests: parse the
//! requests that [`Endpoint`](crate::Endpoint) builds, in every encoding the
//! spec accepts, and build the responses the client parses.
//!
//! Behind the `server` cargo feature, which only the emulator (and this
//! crate's tests and fuzz targets) turn on: a client has no use for it.
//!
//! Errors are [`ApiError`]s shaped as the Graph API answers bad requests
//! (code 100, HTTP 400; 190, HTTP 401 for a missing token), ready for
//! [`ApiError::to_envelope`].

// Relaxed: a bad request is answered once and the error goes straight onto
// the wire; boxing it would cost every caller an unwrap for no gain.
#![allow(clippy::result_large_err)]

use http::header::{AUTHORIZATION, CONTENT_TYPE};
use http::{HeaderMap, Method, Uri};

use crate::error::{ApiError, Field};
use crate::ids::{ApiVersion, Cursor, GroupId, JoinRequestId, JoinRequestIds};
use crate::model::Action;
use crate::request::{
    BodyEncoding, Boundary, DecideJoinRequests, GetGroupInfo, ListJoinRequests, ListQuery,
};

/// A request the join request API serves.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ServerRequest {
    /// `GET /{version}/{group_id}/join_requests`.
    List {
        /// The API version in the path.
        version: ApiVersion,
        /// The parsed call.
        op: ListJoinRequests,
    },
    /// `POST` or `DELETE /{version}/{group_id}/join_requests`.
    Decide {
        /// The API version in the path.
        version: ApiVersion,
        /// The parsed call, with the encoding it came in.
        op: DecideJoinRequests,
    },
    /// `GET /{version}/{group_id}`.
    GroupInfo {
        /// The API version in the path.
        version: ApiVersion,
        /// The parsed call.
        op: GetGroupInfo,
    },
}

/// The Graph error for a request the API does not understand (code 100).
pub fn bad_request(message: impl Into<String>) -> ApiError {
    let mut e = ApiError::new(400, crate::codes::INVALID_PARAMETER, message);
    e.error_type = Some("OAuthException".to_owned());
    e.title = Some("Invalid parameter".to_owned());
    e
}

/// The bearer token of a request, if it has a well-formed one.
pub fn bearer_token(headers: &HeaderMap) -> Option<&str> {
    let v = headers.get(AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = v.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim())
        .filter(|t| !t.is_empty())
}

/// Parses a request to the join request endpoints (path, query, headers
/// and body). Anything else is a code-100 error naming what is wrong.
pub fn parse_request(
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<ServerRequest, ApiError> {
    let path = uri.path();
    let mut segments = path.strip_prefix('/').unwrap_or(path).split('/');
    let (Some(version), Some(group), rest, None) = (
        segments.next(),
        segments.next(),
        segments.next(),
        segments.next(),
    ) else {
        return Err(unknown_path(method, path));
    };
    let version = ApiVersion::new(version).map_err(|e| bad_request(e.to_string()))?;
    let group_id = GroupId::new(group).map_err(|e| bad_request(e.to_string()))?;
    let query = uri.query().unwrap_or_default();
    match (rest, method) {
        (Some("join_requests"), &Method::GET) => {
            let mut options = ListQuery::default();
            for (k, v) in form_urlencoded::parse(query.as_bytes()) {
                match &*k {
                    "limit" => {
                        let n = v.parse().map_err(|_| {
                            bad_request(format!("(#100) Param limit must be an integer, got {v:?}"))
                        })?;
                        options.limit = Some(n);
                    }
                    "after" => options.after = Some(cursor(&v, Field::After)?),
                    "before" => options.before = Some(cursor(&v, Field::Before)?),
                    // access_token in the query is how Graph also accepts a token; other
                    // parameters are ignored, as Graph does.
                    _ => {}
                }
            }
            let op = ListJoinRequests::new(group_id, options)
                .map_err(|e| bad_request(format!("(#100) {e}")))?;
            Ok(ServerRequest::List { version, op })
        }
        (Some("join_requests"), m) if m == Method::POST || m == Method::DELETE => {
            let action = if m == Method::POST {
                Action::Approve
            } else {
                Action::Reject
            };
            let (encoding, ids) = parse_decide_body(headers, body)?;
            let op = DecideJoinRequests::new(action, group_id, ids).with_encoding(encoding);
            Ok(ServerRequest::Decide { version, op })
        }
        (None, &Method::GET) => {
            let fields: Vec<&str> = form_urlencoded::parse(query.as_bytes())
                .find(|(k, _)| k == "fields")
                .map(|(_, v)| v.into_owned())
                .as_deref()
                .unwrap_or_default()
                .split(',')
                .map(str::trim)
                .filter(|f| !f.is_empty())
                .map(|f| {
                    crate::request::GROUP_INFO_FIELDS
                        .iter()
                        .copied()
                        .find(|known| *known == f)
                        .ok_or_else(|| {
                            bad_request(format!("(#100) Tried accessing nonexisting field ({f})"))
                        })
                })
                .collect::<Result<_, _>>()?;
            let op = GetGroupInfo::new(group_id, fields).map_err(|e| bad_request(e.to_string()))?;
            Ok(ServerRequest::GroupInfo { version, op })
        }
        _ => Err(unknown_path(method, path)),
    }
}

fn unknown_path(method: &Method, path: &str) -> ApiError {
    bad_request(format!(
        "Unsupported {} request to {path}",
        method.as_str().to_lowercase()
    ))
}

fn cursor(v: &str, field: Field) -> Result<Cursor, ApiError> {
    Cursor::for_field(v, field).map_err(|e| bad_request(format!("(#100) {e}")))
}

fn parse_decide_body(
    headers: &HeaderMap,
    body: &[u8],
) -> Result<(BodyEncoding, JoinRequestIds), ApiError> {
    let content_type = headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("application/json");
    let (mime, params) = content_type.split_once(';').unwrap_or((content_type, ""));
    let mime = mime.trim().to_ascii_lowercase();
    let (encoding, product, ids_json): (BodyEncoding, Option<String>, Option<Vec<u8>>) =
        match mime.as_str() {
            "application/json" => {
                #[derive(serde::Deserialize)]
                struct Body {
                    messaging_product: Option<String>,
                    join_requests: Option<Vec<String>>,
                }
                let b: Body = serde_json::from_slice(body)
                    .map_err(|e| bad_request(format!("(#100) Invalid JSON body: {e}")))?;
                let ids = b.join_requests.ok_or_else(|| missing("join_requests"))?;
                return finish(BodyEncoding::Json, b.messaging_product, ids);
            }
            "application/x-www-form-urlencoded" => {
                let mut product = None;
                let mut ids = None;
                for (k, v) in form_urlencoded::parse(body) {
                    match &*k {
                        "messaging_product" => product = Some(v.into_owned()),
                        "join_requests" => ids = Some(v.into_owned().into_bytes()),
                        _ => {}
                    }
                }
                (BodyEncoding::FormUrlEncoded, product, ids)
            }
            "multipart/form-data" => {
                let boundary = params
                    .split(';')
                    .filter_map(|p| p.trim().split_once('='))
                    .find(|(k, _)| k.trim().eq_ignore_ascii_case("boundary"))
                    .map(|(_, v)| v.trim().trim_matches('"').to_owned())
                    .ok_or_else(|| bad_request("(#100) multipart/form-data without a boundary"))?;
                let mut product = None;
                let mut ids = None;
                for (name, value) in multipart_parts(body, &boundary)? {
                    match name.as_str() {
                        "messaging_product" => {
                            product = Some(String::from_utf8_lossy(value).into_owned())
                        }
                        "join_requests" => ids = Some(value.to_vec()),
                        _ => {}
                    }
                }
                let encoding = BodyEncoding::Multipart(boundary_bits(&boundary));
                (encoding, product, ids)
            }
            other => {
                return Err(bad_request(format!(
                    "(#100) Unsupported Content-Type {other:?}"
                )));
            }
        };
    let ids_json = ids_json.ok_or_else(|| missing("join_requests"))?;
    let ids: Vec<String> = serde_json::from_slice(&ids_json)
        .map_err(|_| bad_request("(#100) Param join_requests must be a JSON array of strings"))?;
    finish(encoding, product, ids)
}

fn finish(
    encoding: BodyEncoding,
    product: Option<String>,
    ids: Vec<String>,
) -> Result<(BodyEncoding, JoinRequestIds), ApiError> {
    match product.as_deref() {
        Some("whatsapp") => {}
        Some(other) => {
            return Err(bad_request(format!(
                "(#100) Param messaging_product must be one of {{whatsapp}} - got {other:?}"
            )));
        }
        None => return Err(missing("messaging_product")),
    }
    let ids = ids
        .into_iter()
        .enumerate()
        .map(|(i, id)| {
            JoinRequestId::new(id).map_err(|e| bad_request(format!("(#100) {}", e.at(i))))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let ids = JoinRequestIds::from_ids(ids).map_err(|e| bad_request(format!("(#100) {e}")))?;
    Ok((encoding, ids))
}

fn missing(param: &str) -> ApiError {
    bad_request(format!("(#100) The parameter {param} is required"))
}

/// Recovers the random bits of a boundary we made; other boundaries map to 0.
fn boundary_bits(boundary: &str) -> Boundary {
    Boundary::from_random(
        boundary
            .strip_prefix("wa-groups-")
            .and_then(|hex| u64::from_str_radix(hex, 16).ok())
            .unwrap_or(0),
    )
}

/// Splits a multipart body into `(name, value)` parts. Only what the API
/// needs: `Content-Disposition` names, no nested parts, no files.
fn multipart_parts<'a>(
    body: &'a [u8],
    boundary: &str,
) -> Result<Vec<(String, &'a [u8])>, ApiError> {
    let bad = || bad_request("(#100) Malformed multipart/form-data body");
    let delim = format!("--{boundary}");
    let delim = delim.as_bytes();
    let mut parts = Vec::new();
    let mut pos = find(body, delim, 0).ok_or_else(bad)? + delim.len();
    loop {
        if body[pos..].starts_with(b"--") {
            return Ok(parts);
        }
        let start = pos + skip_crlf(&body[pos..]).ok_or_else(bad)?;
        let head_end = find(body, b"\r\n\r\n", start).ok_or_else(bad)?;
        let head = std::str::from_utf8(&body[start..head_end]).map_err(|_| bad())?;
        let value_start = head_end + 4;
        let next = find(body, delim, value_start).ok_or_else(bad)?;
        let value_end = next
            .checked_sub(2)
            .filter(|&e| e >= value_start && &body[e..next] == b"\r\n")
            .ok_or_else(bad)?;
        let name = head
            .split("\r\n")
            .find(|l| l.to_ascii_lowercase().starts_with("content-disposition:"))
            .and_then(|l| {
                l.split(';')
                    .map(str::trim)
                    .find_map(|p| p.strip_prefix("name="))
            })
            .map(|n| n.trim_matches('"').to_owned())
            .ok_or_else(bad)?;
        parts.push((name, &body[value_start..value_end]));
        pos = next + delim.len();
    }
}

fn skip_crlf(b: &[u8]) -> Option<usize> {
    b.starts_with(b"\r\n").then_some(2)
}

fn find(haystack: &[u8], needle: &[u8], from: usize) -> Option<usize> {
    haystack
        .get(from..)?
        .windows(needle.len())
        .position(|w| w == needle)
        .map(|p| p + from)
}
