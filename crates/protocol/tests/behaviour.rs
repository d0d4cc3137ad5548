//! Classification, retry policy, secrecy and the other rules of docs/design.md
//! that are not wire round trips.

use std::time::Duration;

use http::{HeaderMap, HeaderValue, StatusCode};
use wa_groups_protocol::{
    AccessToken, Action, ApiError, ApiVersion, BaseUrl, ChunkPlan, DecideJoinRequests,
    DecisionOutcome, DecodeError, EXCERPT_LIMIT, Endpoint, Error, ErrorKind, GroupId, InvalidInput,
    JoinRequestIds, ListJoinRequests, ListQuery, RetryDecision, RetryPolicy, TransportError,
    TransportErrorKind, UserAgent, is_retryable,
};

const SECRET: &str = "EAAGsuperSECRETtoken42";

#[test]
fn every_documented_code_is_classified() {
    let table: &[(i64, ErrorKind)] = &[
        (190, ErrorKind::Auth),
        (10, ErrorKind::Auth),
        (200, ErrorKind::Auth),
        (250, ErrorKind::Auth),
        (299, ErrorKind::Auth),
        (4, ErrorKind::RateLimited),
        (17, ErrorKind::RateLimited),
        (341, ErrorKind::RateLimited),
        (80007, ErrorKind::RateLimited),
        (130429, ErrorKind::RateLimited),
        (131056, ErrorKind::RateLimited),
        (131208, ErrorKind::RateLimited),
        (131041, ErrorKind::NotFound),
        (131213, ErrorKind::NotFound),
        (1, ErrorKind::Api),
        (2, ErrorKind::Api),
        (100, ErrorKind::Api),
        (300, ErrorKind::Api),
        (131059, ErrorKind::Api),
        (131204, ErrorKind::Api),
    ];
    for &(code, kind) in table {
        assert_eq!(ErrorKind::for_graph_code(code), kind, "code {code}");
        let e = Error::from(ApiError::new(400, code, "m"));
        assert_eq!(e.kind(), kind, "code {code} as Error");
    }
}

fn api(status: u16, code: i64, transient: bool) -> Error {
    let mut e = ApiError::new(status, code, "m");
    e.is_transient = transient;
    Error::from(e)
}

#[test]
fn retryable_set_is_the_documented_one() {
    for code in [4, 17, 341, 80007, 130429, 131056, 131208] {
        assert!(is_retryable(&api(429, code, false)), "rate limit {code}");
    }
    assert!(is_retryable(&api(500, 100, false)), "5xx");
    assert!(is_retryable(&api(400, 100, true)), "is_transient");
    assert!(is_retryable(&api(400, 1, false)), "code 1");
    assert!(is_retryable(&api(400, 2, false)), "code 2");
    assert!(is_retryable(&Error::Timeout(Duration::from_secs(1))));
    assert!(is_retryable(&Error::Transport(TransportError::new(
        TransportErrorKind::ConnectionReset,
        "x"
    ))));
    assert!(!is_retryable(&api(400, 100, false)), "plain 400");
    // Never retried, whatever the status or is_transient say.
    for code in [190, 10, 200, 131041, 131213] {
        assert!(!is_retryable(&api(503, code, true)), "code {code}");
    }
    assert!(!is_retryable(&Error::InvalidInput(InvalidInput::new(
        wa_groups_protocol::Field::GroupId,
        "x"
    ))));
    assert!(!is_retryable(&Error::Decode(DecodeError::new(
        Some(200),
        "bad",
        b"{"
    ))));
    assert!(is_retryable(&Error::Decode(DecodeError::new(
        Some(503),
        "html",
        b"<html>"
    ))));
}

#[test]
fn backoff_is_capped_exponential_with_full_jitter() {
    let p = RetryPolicy::default();
    let err = api(500, 1, false);
    assert_eq!(
        p.decide(1, &err, 1.0),
        RetryDecision::RetryAfter(Duration::from_millis(500))
    );
    assert_eq!(
        p.decide(2, &err, 1.0),
        RetryDecision::RetryAfter(Duration::from_secs(1))
    );
    assert_eq!(
        p.decide(3, &err, 1.0),
        RetryDecision::RetryAfter(Duration::from_secs(2))
    );
    assert_eq!(
        p.decide(4, &err, 0.5),
        RetryDecision::Stop,
        "max_retries = 3 means 4 attempts at most"
    );
    assert_eq!(
        p.decide(1, &err, 0.0),
        RetryDecision::RetryAfter(Duration::ZERO)
    );
    let long = RetryPolicy {
        max_retries: 40,
        ..p
    };
    for attempt in 1..=40 {
        match long.decide(attempt, &err, 0.999) {
            RetryDecision::RetryAfter(d) => {
                assert!(d <= Duration::from_secs(8), "attempt {attempt}: {d:?}")
            }
            RetryDecision::Stop => panic!("stopped at {attempt}"),
        }
    }
    // Jitter outside [0, 1) or NaN is clamped, never a panic or a huge sleep.
    assert!(
        matches!(p.decide(1, &err, f64::NAN), RetryDecision::RetryAfter(d) if d == Duration::ZERO)
    );
    assert!(
        matches!(p.decide(1, &err, 7.0), RetryDecision::RetryAfter(d) if d <= Duration::from_millis(500))
    );
}

#[test]
fn retry_after_is_honoured_up_to_sixty_seconds() {
    let p = RetryPolicy::default();
    let mut headers = HeaderMap::new();
    headers.insert("retry-after", HeaderValue::from_static("7"));
    let body = br#"{"error":{"message":"slow down","type":"OAuthException","code":131208}}"#;
    let e = wa_groups_protocol::parse_error_response(StatusCode::TOO_MANY_REQUESTS, &headers, body);
    assert_eq!(e.kind(), ErrorKind::RateLimited);
    assert_eq!(
        p.decide(1, &e, 0.1),
        RetryDecision::RetryAfter(Duration::from_secs(7))
    );
    headers.insert("retry-after", HeaderValue::from_static("3600"));
    let e = wa_groups_protocol::parse_error_response(StatusCode::TOO_MANY_REQUESTS, &headers, body);
    assert_eq!(
        p.decide(1, &e, 0.1),
        RetryDecision::RetryAfter(Duration::from_secs(60))
    );
    for junk in ["Wed, 21 Oct 2015 07:28:00 GMT", "-1", "1e308", "NaN", ""] {
        headers.insert("retry-after", HeaderValue::from_str(junk).unwrap());
        let e =
            wa_groups_protocol::parse_error_response(StatusCode::TOO_MANY_REQUESTS, &headers, body);
        assert_eq!(e.api_error().unwrap().retry_after, None, "{junk:?}");
    }
}

fn endpoint() -> Endpoint {
    Endpoint::new(
        BaseUrl::default(),
        ApiVersion::default(),
        AccessToken::new(SECRET).unwrap(),
        UserAgent::library(),
    )
}

#[test]
fn the_token_never_appears_in_debug_display_or_errors() {
    let token = AccessToken::new(SECRET).unwrap();
    let ep = endpoint();
    let mut shown = vec![format!("{token:?}"), format!("{token}"), format!("{ep:?}")];
    let req = ep
        .request(&ListJoinRequests::new(GroupId::new("g").unwrap(), ListQuery::default()).unwrap());
    shown.push(format!("{:?}", req.headers()));
    // A server that echoes the token in every field of its error.
    let echo = format!(
        r#"{{"error":{{"message":"bad token {SECRET}","type":"{SECRET}","code":190,"error_user_title":"{SECRET}","error_data":{{"details":"{SECRET}"}},"fbtrace_id":"{SECRET}"}}}}"#
    );
    let op = DecideJoinRequests::new(
        Action::Approve,
        GroupId::new("g").unwrap(),
        JoinRequestIds::new(["a"]).unwrap(),
    );
    for (status, body) in [
        (401, echo.clone()),
        (502, format!("<html>{SECRET}</html>")),
        (200, format!("{{\"approved_join_requests\": \"{SECRET}\"")),
    ] {
        let e = ep
            .parse_response(
                &op,
                StatusCode::from_u16(status).unwrap(),
                &HeaderMap::new(),
                body.as_bytes(),
            )
            .unwrap_err();
        shown.push(format!("{e}"));
        shown.push(format!("{e:?}"));
    }
    // Validation errors of a bad token do not echo it either.
    let bad = format!("{SECRET}\r\n");
    shown.push(format!("{:?}", AccessToken::new(&bad).unwrap_err()));
    shown.push(format!("{}", AccessToken::new(&bad).unwrap_err()));
    for s in &shown {
        assert!(!s.contains(SECRET), "token leaked in {s}");
    }
    assert!(shown.iter().any(|s| s.contains("[redacted]")));
}

#[test]
fn a_token_too_short_to_be_real_does_not_shred_messages() {
    let mut e = Error::Transport(TransportError::new(
        TransportErrorKind::Connect,
        "client error (Connect)",
    ));
    e.redact("t");
    assert_eq!(e.to_string(), "connect error: client error (Connect)");
    e.redact("Connect");
    assert_eq!(e.to_string(), "connect error: client error ([redacted])");
}

#[test]
fn a_token_cut_by_the_excerpt_leaves_no_prefix_and_the_limit_holds() {
    let token = "EAAGOLDENTOKEN123";
    let ep = Endpoint::new(
        BaseUrl::default(),
        ApiVersion::default(),
        AccessToken::new(token).unwrap(),
        UserAgent::library(),
    );
    let op = ListJoinRequests::new(GroupId::new("g").unwrap(), ListQuery::default()).unwrap();
    // The token straddles byte 256, where the excerpt is cut.
    let body = format!("{}{token}{}", "x".repeat(EXCERPT_LIMIT - 6), "y".repeat(50));
    let e = ep
        .parse_response(
            &op,
            StatusCode::BAD_GATEWAY,
            &HeaderMap::new(),
            body.as_bytes(),
        )
        .unwrap_err();
    let Error::Decode(d) = &e else {
        panic!("{e:?}")
    };
    assert!(d.excerpt().ends_with('x'), "{:?}", d.excerpt());
    // Short tokens repeated: "[redacted]" is longer than each, the limit still holds.
    let short = AccessToken::new("abcd").unwrap();
    let ep = Endpoint::new(
        BaseUrl::default(),
        ApiVersion::default(),
        short,
        UserAgent::library(),
    );
    let e = ep
        .parse_response(
            &op,
            StatusCode::BAD_GATEWAY,
            &HeaderMap::new(),
            "abcd".repeat(200).as_bytes(),
        )
        .unwrap_err();
    let Error::Decode(d) = &e else {
        panic!("{e:?}")
    };
    assert!(
        d.excerpt().len() <= EXCERPT_LIMIT && !d.excerpt().contains("abcd"),
        "{:?}",
        d.excerpt()
    );
}

#[test]
fn decode_errors_keep_status_and_a_bounded_excerpt() {
    let big = "é".repeat(10_000);
    let e = DecodeError::new(Some(200), "bad", big.as_bytes());
    assert!(e.excerpt().len() <= EXCERPT_LIMIT);
    assert!(
        e.excerpt().chars().all(|c| c == 'é'),
        "cut on a char boundary"
    );
    assert_eq!(e.status(), Some(200));
    let shown = e.to_string();
    assert!(shown.contains("HTTP 200") && shown.len() < 2 * EXCERPT_LIMIT + 100);
    let cap = DecodeError::body_too_large(Some(200), 1024);
    assert!(cap.to_string().contains("1024"));
}

/// Found by the `list_response` fuzz target: each invalid byte became a
/// three-byte U+FFFD, so a body of invalid UTF-8 gave a 768-byte excerpt.
#[test]
fn an_excerpt_of_invalid_utf8_stays_within_the_limit() {
    let e = DecodeError::new(Some(200), "bad", &[0xf9; 1000]);
    assert!(
        e.excerpt().len() <= EXCERPT_LIMIT,
        "{} bytes",
        e.excerpt().len()
    );
    assert!(!e.excerpt().is_empty() && e.excerpt().chars().all(|c| c == '\u{fffd}'));
    let mut mixed = b"{\"data\": \"".to_vec();
    mixed.extend([0xf9; 300]);
    let e = DecodeError::new(Some(200), "bad", &mixed);
    assert!(
        e.excerpt().len() <= EXCERPT_LIMIT,
        "{} bytes",
        e.excerpt().len()
    );
    assert!(e.excerpt().starts_with("{\"data\": \"\u{fffd}"));
}

#[test]
fn list_options_are_validated() {
    let group = GroupId::new("g").unwrap();
    let both = ListQuery {
        after: Some(wa_groups_protocol::Cursor::new("a").unwrap()),
        before: Some(wa_groups_protocol::Cursor::new("b").unwrap()),
        limit: None,
    };
    let e = ListJoinRequests::new(group.clone(), both).unwrap_err();
    assert_eq!(e.field(), wa_groups_protocol::Field::Before);
    let e = ListJoinRequests::new(
        group,
        ListQuery {
            limit: Some(0),
            ..ListQuery::default()
        },
    )
    .unwrap_err();
    assert_eq!(e.field(), wa_groups_protocol::Field::Limit);
}

#[test]
fn empty_id_list_is_refused_and_bad_items_are_located() {
    let e = JoinRequestIds::new(Vec::<String>::new()).unwrap_err();
    assert_eq!(e.field(), wa_groups_protocol::Field::JoinRequestIds);
    let e = JoinRequestIds::new(["ok", "also-ok", "not ok"]).unwrap_err();
    assert_eq!(
        (e.field(), e.index()),
        (wa_groups_protocol::Field::JoinRequestId, Some(2))
    );
    assert_eq!(
        e.to_string(),
        "invalid join_request_id[2]: must not hold whitespace or control characters"
    );
}

#[test]
fn a_chunked_call_that_failed_alike_everywhere_returns_the_error() {
    let ids = JoinRequestIds::new((0..10).map(|i| format!("id{i}"))).unwrap();
    let plan = ChunkPlan::new(Action::Reject, &ids, 3);
    assert_eq!(plan.chunks().len(), 4);
    let results = (0..4).map(|_| Err(api(400, 131041, false))).collect();
    assert_eq!(plan.merge(results).unwrap_err().kind(), ErrorKind::NotFound);
    // Different failures: each chunk's IDs are reported with its own error.
    let results = vec![
        Err(api(400, 131041, false)),
        Err(api(429, 131208, false)),
        Err(api(400, 131041, false)),
        Err(api(400, 131041, false)),
    ];
    let merged = plan.merge(results).unwrap();
    assert_eq!(merged.failed.len(), 10);
    assert_eq!(merged.failed[3].errors[0].code, 131208);
    assert_eq!(merged.failed[0].errors[0].code, 131041);
}

#[test]
fn ids_the_api_left_out_are_reported_as_failed() {
    let ids = JoinRequestIds::new(["a", "b", "c"]).unwrap();
    let plan = ChunkPlan::new(Action::Approve, &ids, 100);
    let mut o = wa_groups_protocol::DecisionOutcome::new(Action::Approve);
    o.succeeded
        .push(wa_groups_protocol::JoinRequestId::new("b").unwrap());
    let merged = plan.merge(vec![Ok(o)]).unwrap();
    assert_eq!(merged.succeeded.len(), 1);
    let failed: Vec<&str> = merged
        .failed
        .iter()
        .map(|f| f.join_request_id.as_str())
        .collect();
    assert_eq!(failed, ["a", "c"]);
}

#[test]
fn base_url_normalises_and_refuses_remote_http() {
    assert_eq!(
        BaseUrl::new("https://graph.facebook.com/")
            .unwrap()
            .as_str(),
        "https://graph.facebook.com"
    );
    assert_eq!(
        BaseUrl::new("http://127.0.0.1:8080/prefix/")
            .unwrap()
            .as_str(),
        "http://127.0.0.1:8080/prefix"
    );
    assert!(BaseUrl::new("http://10.0.0.1").is_err());
    assert!(BaseUrl::new("http://127.0.0.1.example.com").is_err());
}

/// Issue 10 item 1: a ~4 MB response whose call-level `errors` holds 1.3M
/// tiny items, answering a 100-ID chunk that it does not mention. The
/// outcome must stay the size of the response, not 100 copies of it.
#[test]
fn a_huge_call_level_error_list_is_bounded_and_never_copied_per_id() {
    let items = 1_300_000;
    let mut body = br#"{"approved_join_requests":[],"errors":["#.to_vec();
    body.extend(std::iter::repeat_n(&b"{},"[..], items).flatten());
    body.pop();
    body.extend(b"]}");
    assert!(body.len() < 4 * 1024 * 1024);
    let parsed = DecisionOutcome::from_json(Action::Approve, &body).unwrap();
    assert_eq!(parsed.errors.len(), wa_groups_protocol::MAX_ERRORS_KEPT);
    assert_eq!(
        parsed.errors_omitted,
        items - wa_groups_protocol::MAX_ERRORS_KEPT
    );

    let ids = JoinRequestIds::new((0..100).map(|i| format!("id{i}"))).unwrap();
    let plan = ChunkPlan::new(Action::Approve, &ids, 100);
    let merged = plan.merge(vec![Ok(parsed)]).unwrap();
    assert_eq!(merged.failed.len(), 100);
    assert!(merged.failed.iter().all(|f| f.errors.len() == 1));
    assert_eq!(
        merged.failed[0].errors[0].title.as_deref(),
        Some("unreported")
    );
    assert!(
        merged.failed[0].errors[0]
            .message
            .as_deref()
            .unwrap()
            .contains("1300000 call-level error(s)")
    );
    assert_eq!(merged.errors.len(), wa_groups_protocol::MAX_ERRORS_KEPT);
    assert_eq!(
        merged.errors_omitted,
        items - wa_groups_protocol::MAX_ERRORS_KEPT
    );
    assert!(!merged.is_complete_success());
    // What a caller would print is small too.
    assert!(merged.to_json().len() < 64 * 1024);

    // Across chunks, the call-level errors kept stay bounded as well.
    let plan = ChunkPlan::new(Action::Approve, &ids, 50);
    let results = (0..2)
        .map(|_| Ok(DecisionOutcome::from_json(Action::Approve, &body).unwrap()))
        .collect();
    let merged = plan.merge(results).unwrap();
    assert_eq!(merged.errors.len(), wa_groups_protocol::MAX_ERRORS_KEPT);
    assert_eq!(
        merged.errors_omitted,
        2 * items - wa_groups_protocol::MAX_ERRORS_KEPT
    );
}

#[test]
fn one_ids_error_list_is_bounded_too() {
    let mut body = br#"{"failed_join_requests":[{"join_request_id":"a","errors":["#.to_vec();
    body.extend(std::iter::repeat_n(&b"{},"[..], 10_000).flatten());
    body.pop();
    body.extend(b"]}]}");
    let parsed = DecisionOutcome::from_json(Action::Approve, &body).unwrap();
    assert_eq!(
        parsed.failed[0].errors.len(),
        wa_groups_protocol::MAX_ERRORS_KEPT
    );
}

/// Issue 10 item 7: IDs a response reports that its request never sent are
/// neither succeeded nor failed; they are kept once each in `unexpected`.
#[test]
fn ids_never_sent_are_reported_apart_and_once() {
    let ids = JoinRequestIds::new(["a", "b"]).unwrap();
    let plan = ChunkPlan::new(Action::Approve, &ids, 100);
    let body = br#"{"approved_join_requests":["NEVER_SENT","NEVER_SENT","NEVER_SENT","NEVER_SENT","NEVER_SENT","OTHER","a"],
        "failed_join_requests":[{"join_request_id":"ALSO_NOT"},{"join_request_id":"a"}]}"#;
    let out = plan
        .merge(vec![Ok(
            DecisionOutcome::from_json(Action::Approve, body).unwrap()
        )])
        .unwrap();
    assert_eq!(out.succeeded, ["a"]);
    assert_eq!(out.failed.len(), 1);
    assert_eq!(out.failed[0].join_request_id, "b");
    assert_eq!(out.unexpected, ["NEVER_SENT", "OTHER", "ALSO_NOT"]);
    assert_eq!(out.unexpected_omitted, 0);

    // An ID sent in another chunk is not this chunk's to report.
    let plan = ChunkPlan::new(Action::Approve, &ids, 1);
    let first =
        DecisionOutcome::from_json(Action::Approve, br#"{"approved_join_requests":["a","b"]}"#);
    let second = DecisionOutcome::from_json(Action::Approve, br#"{"approved_join_requests":[]}"#);
    let out = plan
        .merge(vec![
            first.map_err(|_| unreachable!()),
            second.map_err(|_| unreachable!()),
        ])
        .unwrap();
    assert_eq!(out.succeeded, ["a"]);
    assert_eq!(out.failed[0].join_request_id, "b");
    assert_eq!(out.unexpected, ["b"]);

    // Bounded: a flood of distinct unsent IDs keeps MAX_ERRORS_KEPT.
    let flood: Vec<String> = (0..5000).map(|i| format!("\"x{i}\"")).collect();
    let body = format!(r#"{{"approved_join_requests":[{}]}}"#, flood.join(","));
    let plan = ChunkPlan::new(Action::Approve, &ids, 100);
    let out = plan
        .merge(vec![Ok(DecisionOutcome::from_json(
            Action::Approve,
            body.as_bytes(),
        )
        .unwrap())])
        .unwrap();
    assert_eq!(out.unexpected.len(), wa_groups_protocol::MAX_ERRORS_KEPT);
    assert_eq!(
        out.unexpected_omitted,
        5000 - wa_groups_protocol::MAX_ERRORS_KEPT
    );
    assert!(out.succeeded.is_empty());
}
