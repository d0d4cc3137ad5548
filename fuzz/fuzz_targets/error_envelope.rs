//! Non-2xx responses: `parse_error_response` with a `Retry-After` header
//! made from the input, `ApiError::from_envelope`, and the same response
//! through `Endpoint::parse_response`.
//!
//! Input: two bytes pick a non-2xx status (100 to 999), one byte how the
//! `Retry-After` header is made (absent, delta-seconds, a decimal, or raw
//! bytes up to the next `\n`), one byte the retry jitter; the rest is the
//! body.
//!
//! Properties:
//! - `parse_error_response` is the Graph error `from_envelope` reads, with
//!   `retry_after(headers)` added and classified by code
//!   (`ErrorKind::for_graph_code`); when `from_envelope` fails it is a
//!   `Decode` error; either way it carries the response's status;
//! - an `ApiError` round-trips through `to_envelope` (a missing `type` comes
//!   back as `OAuthException`, the one the envelope writes by default);
//! - `retry_after` reads delta-seconds exactly, and anything else only as a
//!   finite duration under 10^9 s;
//! - `Endpoint::parse_response` gives the same error for any operation,
//!   with the access token scrubbed, and a decode excerpt of at most
//!   `EXCERPT_LIMIT` bytes;
//! - the retry policy never retries auth, not-found or invalid input, and
//!   never waits more than its caps.

#![no_main]

use std::time::Duration;

use http::header::RETRY_AFTER;
use http::{HeaderMap, HeaderValue, StatusCode};
use libfuzzer_sys::fuzz_target;
use wa_groups_fuzz::{Reader, check_error, check_excerpt, endpoint};
use wa_groups_protocol::{
    ApiError, ErrorKind, GroupId, ListJoinRequests, ListQuery, RetryDecision, RetryPolicy,
    is_retryable, kind_is_retried, parse_error_response, retry_after,
};

fuzz_target!(|data: &[u8]| {
    let mut input = Reader::new(data);
    let mut status = 100 + input.u16() % 900;
    if (200..300).contains(&status) {
        status += 300;
    }
    let status = StatusCode::from_u16(status).unwrap();

    let mut headers = HeaderMap::new();
    let header_kind = input.byte();
    let raw_header: Option<Vec<u8>> = match header_kind % 4 {
        0 => None,
        1 => Some(input.u16().to_string().into_bytes()),
        2 => Some(format!("{}.{:03}", input.byte(), input.u16() % 1000).into_bytes()),
        _ => Some(input.line().to_vec()),
    };
    if let Some(v) = raw_header
        .as_deref()
        .and_then(|v| HeaderValue::from_bytes(v).ok())
    {
        headers.insert(RETRY_AFTER, v);
    }
    let jitter = f64::from(input.byte()) / 256.0;
    let body = input.rest();

    // Retry-After.
    let wait = retry_after(&headers);
    if let Some(v) = headers.get(RETRY_AFTER).and_then(|v| v.to_str().ok()) {
        match v.trim().parse::<u64>() {
            Ok(secs) => assert_eq!(wait, Some(Duration::from_secs(secs))),
            Err(_) => assert!(wait.is_none_or(|d| d < Duration::from_secs(1_000_000_000))),
        }
    } else {
        assert_eq!(wait, None);
    }

    // parse_error_response against from_envelope.
    let err = parse_error_response(status, &headers, body);
    assert_eq!(err.status(), Some(status.as_u16()));
    check_excerpt(&err);
    let _ = err.to_string();
    match ApiError::from_envelope(status.as_u16(), body) {
        Ok(api) => {
            assert_eq!(api.status, status.as_u16());
            assert_eq!(api.retry_after, None);
            assert_eq!(err.kind(), ErrorKind::for_graph_code(api.code));
            assert_eq!(err.kind(), api.kind());
            let mut expected = api.clone();
            expected.retry_after = wait;
            assert_eq!(err.api_error(), Some(&expected));

            // The envelope round-trips.
            let back = ApiError::from_envelope(status.as_u16(), &api.to_envelope()).unwrap();
            let mut normal = api;
            normal
                .error_type
                .get_or_insert_with(|| "OAuthException".to_owned());
            assert_eq!(back, normal);
        }
        Err(_) => assert_eq!(err.kind(), ErrorKind::Decode, "{err:?}"),
    }

    // Through the endpoint: same error, token scrubbed.
    let op = ListJoinRequests::new(GroupId::new("g").unwrap(), ListQuery::default()).unwrap();
    let via = endpoint()
        .parse_response(&op, status, &headers, body)
        .unwrap_err();
    assert_eq!(via.kind(), err.kind());
    assert!(via.same_failure(&err));
    check_error(&via, status.as_u16());

    // The retry policy.
    let policy = RetryPolicy::default();
    if is_retryable(&err) {
        assert!(kind_is_retried(err.kind()));
    }
    for attempts in [1, 2, policy.max_retries, policy.max_retries + 1] {
        match policy.decide(attempts, &err, jitter) {
            RetryDecision::Stop => {}
            RetryDecision::RetryAfter(d) => {
                assert!(attempts <= policy.max_retries);
                assert!(is_retryable(&err));
                assert!(!matches!(
                    err.kind(),
                    ErrorKind::Auth | ErrorKind::NotFound | ErrorKind::InvalidInput
                ));
                assert!(d <= policy.max_retry_after.max(policy.max_delay), "{d:?}");
            }
        }
    }
});
