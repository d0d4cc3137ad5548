//! The emulator's request parsing, `server::parse_request`, and its round
//! trip through `Endpoint::request`.
//!
//! Input: one byte picks the method, one the `Content-Type` (none, JSON,
//! form, multipart, or raw bytes up to the next `\n`); then the path and
//! query up to the next `\n`, and the body.
//!
//! Properties:
//! - parsing never panics; a refusal is the Graph API's code 100 with HTTP
//!   400, and its envelope reads back as the same error;
//! - an accepted request matches its method: list and group info are `GET`,
//!   approve is `POST`, reject is `DELETE`;
//! - round trip: the parsed operation, rebuilt with `Endpoint::request` for
//!   the parsed API version, parses to the same operation (a multipart
//!   boundary may be re-drawn when the IDs contain it; the encoding stays
//!   multipart), and the rebuilt request carries the bearer token;
//! - fixpoint: rebuilding the re-parsed operation gives the same request,
//!   byte for byte.

#![no_main]

use http::header::CONTENT_TYPE;
use http::uri::PathAndQuery;
use http::{HeaderMap, HeaderValue, Method, Request, Uri};
use libfuzzer_sys::fuzz_target;
use wa_groups_fuzz::{Reader, TOKEN, endpoint_for};
use wa_groups_protocol::server::{ServerRequest, bearer_token, parse_request};
use wa_groups_protocol::{Action, ApiError, BodyEncoding, Operation};

const METHODS: [Method; 8] = [
    Method::GET,
    Method::POST,
    Method::DELETE,
    Method::GET,
    Method::POST,
    Method::DELETE,
    Method::PUT,
    Method::HEAD,
];

// Relaxed: mirrors `server::parse_request`, which returns the error unboxed for the same reason.
#[allow(clippy::result_large_err)]
fn parse(req: &Request<bytes::Bytes>) -> Result<ServerRequest, ApiError> {
    parse_request(req.method(), req.uri(), req.headers(), req.body())
}

/// Rebuilds `op` for `version` and parses it again; checks the rebuilt
/// request, and that rebuilding the re-parsed operation is a fixpoint.
fn rebuild<O: Operation>(
    version: &wa_groups_protocol::ApiVersion,
    op: &O,
    reparse_op: impl Fn(&ServerRequest) -> Option<O>,
) -> ServerRequest {
    let endpoint = endpoint_for(version.clone());
    let req = endpoint.request(op);
    assert_eq!(bearer_token(req.headers()), Some(TOKEN));
    assert_eq!(
        req.headers().contains_key(CONTENT_TYPE),
        op.body().is_some()
    );
    let again = parse(&req).unwrap_or_else(|e| panic!("rebuilt {req:?} refused: {e}"));
    let op2 =
        reparse_op(&again).unwrap_or_else(|| panic!("rebuilt as another operation: {again:?}"));
    let req2 = endpoint.request(&op2);
    assert_eq!(req2.method(), req.method());
    assert_eq!(req2.uri(), req.uri());
    assert_eq!(req2.headers(), req.headers());
    assert_eq!(req2.body(), req.body());
    again
}

fuzz_target!(|data: &[u8]| {
    let mut input = Reader::new(data);
    let method = METHODS[usize::from(input.byte() % 8)].clone();
    let mut headers = HeaderMap::new();
    let content_type: Option<HeaderValue> = match input.byte() % 5 {
        0 => None,
        1 => Some(HeaderValue::from_static("application/json")),
        2 => Some(HeaderValue::from_static(
            "application/x-www-form-urlencoded",
        )),
        3 => Some(HeaderValue::from_static(
            "multipart/form-data; boundary=wa-groups-0123456789abcdef",
        )),
        _ => HeaderValue::from_bytes(input.line()).ok(),
    };
    if let Some(ct) = content_type {
        headers.insert(CONTENT_TYPE, ct);
    }
    let Ok(path) = PathAndQuery::try_from(input.line()) else {
        return;
    };
    let Ok(uri) = Uri::builder().path_and_query(path).build() else {
        return;
    };
    let body = input.rest();

    let parsed = match parse_request(&method, &uri, &headers, body) {
        Ok(parsed) => parsed,
        Err(e) => {
            assert_eq!((e.status, e.code), (400, 100), "{e:?}");
            assert!(e.retry_after.is_none());
            let back = ApiError::from_envelope(e.status, &e.to_envelope()).unwrap();
            assert_eq!(back, e);
            let _ = e.to_string();
            return;
        }
    };

    match &parsed {
        ServerRequest::List { version, op } => {
            assert_eq!(method, Method::GET);
            let again = rebuild(version, op, |r| match r {
                ServerRequest::List { op, .. } => Some(op.clone()),
                _ => None,
            });
            assert_eq!(again, parsed);
        }
        ServerRequest::GroupInfo { version, op } => {
            assert_eq!(method, Method::GET);
            let again = rebuild(version, op, |r| match r {
                ServerRequest::GroupInfo { op, .. } => Some(op.clone()),
                _ => None,
            });
            assert_eq!(again, parsed);
        }
        ServerRequest::Decide { version, op } => {
            let expected = match op.action() {
                Action::Approve => Method::POST,
                Action::Reject => Method::DELETE,
            };
            assert_eq!(method, expected);
            let again = rebuild(version, op, |r| match r {
                ServerRequest::Decide { op, .. } => Some(op.clone()),
                _ => None,
            });
            let ServerRequest::Decide {
                version: v2,
                op: op2,
            } = &again
            else {
                unreachable!()
            };
            assert_eq!(v2, version);
            assert_eq!(op2.action(), op.action());
            assert_eq!(op2.group_id(), op.group_id());
            assert_eq!(op2.ids(), op.ids());
            match (op.encoding(), op2.encoding()) {
                (BodyEncoding::Multipart(a), BodyEncoding::Multipart(b)) if a != b => {
                    // Re-drawn only when an ID holds a boundary of ours.
                    assert!(
                        op.ids()
                            .as_slice()
                            .iter()
                            .any(|id| id.as_str().contains("wa-groups-")),
                        "boundary changed from {a:?} to {b:?}"
                    );
                }
                (a, b) => assert_eq!(a, b),
            }
        }
        _ => {}
    }
});
