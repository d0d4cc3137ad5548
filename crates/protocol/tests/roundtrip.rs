//! Property tests: every wire type and request encoding survives a trip
//! through the wire in both directions (build, then parse, gives the value
//! back), and chunk merging never loses or repeats an ID.

use http::{HeaderMap, StatusCode};
use proptest::prelude::*;
use wa_groups_protocol::server::{ServerRequest, parse_request};
use wa_groups_protocol::{
    AccessToken, Action, ApiError, ApiVersion, BaseUrl, BodyEncoding, Boundary, ChunkPlan, Cursor,
    Cursors, DecideJoinRequests, DecisionOutcome, Endpoint, Error, ErrorDetail, FailedJoinRequest,
    GroupId, JoinRequest, JoinRequestId, JoinRequestIds, JoinRequestPage, ListJoinRequests,
    ListQuery, ListResponse, Paging, TransportError, TransportErrorKind, UserAgent,
};

const CASES: u32 = 512;

fn group_id() -> impl Strategy<Value = GroupId> {
    "[A-Za-z0-9._~+=-]{1,256}"
        .prop_filter("not . or ..", |s| s != "." && s != "..")
        .prop_map(|s| GroupId::new(s).unwrap())
}

/// Join request IDs: any non-whitespace, non-control text, so JSON escaping,
/// form encoding and multipart framing all get exercised.
fn join_request_id() -> impl Strategy<Value = JoinRequestId> {
    prop_oneof![
        "[A-Za-z0-9+/=]{1,64}",
        "[!-~]{1,40}",
        "[^\\s\\p{Cc}]{1,20}",
        Just("--wa-groups-0000000000000000".to_owned()),
    ]
    .prop_map(|s| JoinRequestId::new(s).unwrap())
}

fn ids(max: usize) -> impl Strategy<Value = JoinRequestIds> {
    prop::collection::vec(join_request_id(), 1..max)
        .prop_map(|v| JoinRequestIds::from_ids(v).unwrap())
}

fn cursor() -> impl Strategy<Value = Cursor> {
    "[!-~]{1,64}".prop_map(|s| Cursor::new(s).unwrap())
}

fn list_options() -> impl Strategy<Value = ListQuery> {
    (
        prop::option::of(1u32..=1000),
        prop::option::of(cursor()),
        any::<bool>(),
    )
        .prop_map(|(limit, cursor, forward)| ListQuery {
            limit,
            after: cursor.clone().filter(|_| forward),
            before: cursor.filter(|_| !forward),
        })
}

fn encoding() -> impl Strategy<Value = BodyEncoding> {
    prop_oneof![
        Just(BodyEncoding::Json),
        Just(BodyEncoding::FormUrlEncoded),
        any::<u64>().prop_map(|b| BodyEncoding::Multipart(Boundary::from_random(b))),
    ]
}

fn action() -> impl Strategy<Value = Action> {
    prop_oneof![Just(Action::Approve), Just(Action::Reject)]
}

fn text() -> impl Strategy<Value = String> {
    "\\PC{0,40}"
}

fn error_detail() -> impl Strategy<Value = ErrorDetail> {
    (
        any::<i64>(),
        prop::option::of(text()),
        prop::option::of(text()),
        prop::option::of(text()),
    )
        .prop_map(|(code, title, message, details)| {
            let mut e = ErrorDetail::new(code, None, "");
            e.title = title;
            e.message = message;
            e.details = details;
            e
        })
}

fn outcome() -> impl Strategy<Value = DecisionOutcome> {
    (
        action(),
        prop::collection::vec(join_request_id(), 0..20),
        prop::collection::vec(
            (
                join_request_id(),
                prop::collection::vec(error_detail(), 0..3),
            )
                .prop_map(|(join_request_id, errors)| {
                    FailedJoinRequest::new(join_request_id, errors)
                }),
            0..10,
        ),
        prop::collection::vec(error_detail(), 0..3),
        prop::option::of("[a-zA-Z0-9]{1,20}"),
    )
        .prop_map(|(action, succeeded, failed, errors, request_id)| {
            let mut o = DecisionOutcome::new(action);
            o.succeeded = succeeded;
            o.failed = failed;
            o.errors = errors;
            o.request_id = request_id;
            o
        })
}

fn join_request() -> impl Strategy<Value = JoinRequest> {
    (
        join_request_id(),
        prop::option::of("[0-9]{5,15}"),
        any::<i64>(),
        prop::option::of(text()),
        prop::option::of(text()),
        prop::option::of(text()),
    )
        .prop_map(
            |(join_request_id, wa_id, creation_timestamp, user_id, parent_user_id, username)| {
                let mut r = JoinRequest::new(join_request_id, creation_timestamp);
                r.wa_id = wa_id;
                r.user_id = user_id;
                r.parent_user_id = parent_user_id;
                r.username = username;
                r
            },
        )
}

fn endpoint() -> Endpoint {
    Endpoint::new(
        BaseUrl::new("http://127.0.0.1:9").unwrap(),
        ApiVersion::new("v23.0").unwrap(),
        AccessToken::new("secret-token").unwrap(),
        UserAgent::build(Some(("python", "3.11.7")), Some("myapp/1.2.3")).unwrap(),
    )
}

fn served(req: &http::Request<bytes::Bytes>) -> ServerRequest {
    parse_request(req.method(), req.uri(), req.headers(), req.body())
        .unwrap_or_else(|e| panic!("server refused: {e}"))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(CASES))]

    #[test]
    fn list_request_round_trips(group in group_id(), options in list_options()) {
        let op = ListJoinRequests::new(group, options).unwrap();
        let req = endpoint().request(&op);
        match served(&req) {
            ServerRequest::List { version, op: parsed } => {
                prop_assert_eq!(version.as_str(), "v23.0");
                prop_assert_eq!(parsed, op);
            }
            other => prop_assert!(false, "parsed as {other:?}"),
        }
    }

    #[test]
    fn decide_request_round_trips_in_every_encoding(a in action(), group in group_id(), ids in ids(40), enc in encoding()) {
        let op = DecideJoinRequests::new(a, group, ids).with_encoding(enc);
        let req = endpoint().request(&op);
        match served(&req) {
            ServerRequest::Decide { op: parsed, .. } => {
                prop_assert_eq!(parsed.action(), op.action());
                prop_assert_eq!(parsed.group_id(), op.group_id());
                prop_assert_eq!(parsed.ids(), op.ids());
                // The boundary may have been re-drawn to avoid the IDs; the kind is kept.
                prop_assert_eq!(std::mem::discriminant(&parsed.encoding()), std::mem::discriminant(&op.encoding()));
            }
            other => prop_assert!(false, "parsed as {other:?}"),
        }
    }

    #[test]
    fn outcome_round_trips(o in outcome()) {
        let body = o.to_json();
        let parsed = DecisionOutcome::from_json(o.action, &body).unwrap();
        prop_assert_eq!(parsed, o);
    }

    #[test]
    fn list_response_round_trips(data in prop::collection::vec(join_request(), 0..10), before in prop::option::of(cursor()), after in prop::option::of(cursor()), next in any::<bool>(), prev in any::<bool>()) {
        let mut cursors = Cursors::default();
        cursors.before = before.as_ref().map(|c| c.to_string());
        cursors.after = after.as_ref().map(|c| c.to_string());
        let mut paging = Paging::default();
        paging.cursors = Some(cursors);
        paging.previous = prev.then(|| "https://graph.facebook.com/v23.0/g/join_requests".to_owned());
        paging.next = next.then(|| "https://graph.facebook.com/v23.0/g/join_requests".to_owned());
        let mut wire = ListResponse::default();
        wire.data = data.clone();
        wire.paging = Some(paging);
        let body = serde_json::to_vec(&wire).unwrap();
        let back: ListResponse = serde_json::from_slice(&body).unwrap();
        prop_assert_eq!(&back, &wire);
        let page = JoinRequestPage::from(back);
        prop_assert_eq!(page.data, data);
        prop_assert_eq!(page.after, if next { after } else { None });
        prop_assert_eq!(page.before, if prev { before } else { None });
    }

    #[test]
    fn api_error_envelope_round_trips(status in 400u16..600, code in any::<i64>(), subcode in prop::option::of(any::<i64>()), title in prop::option::of(text()), message in text(), details in prop::option::of(text()), fbtrace in prop::option::of("[A-Za-z0-9_]{1,20}"), transient in any::<bool>()) {
        let e = ApiError { status, code, subcode, error_type: Some("OAuthException".into()), title, message, details, fbtrace_id: fbtrace, is_transient: transient, retry_after: None };
        let back = ApiError::from_envelope(status, &e.to_envelope()).unwrap();
        prop_assert_eq!(back, e);
    }

    #[test]
    fn chunk_merge_reports_every_distinct_id_once_in_input_order(
        input in prop::collection::vec(0usize..60, 1..200),
        max in 1usize..30,
        fail_mask in any::<u64>(),
        item_fail_mask in any::<u64>(),
    ) {
        let raw: Vec<String> = input.iter().map(|n| format!("id{n}")).collect();
        let ids = JoinRequestIds::new(&raw).unwrap();
        let plan = ChunkPlan::new(Action::Approve, &ids, max);
        let mut distinct: Vec<String> = Vec::new();
        for r in &raw { if !distinct.contains(r) { distinct.push(r.clone()); } }
        prop_assert_eq!(plan.distinct_ids(), distinct.len());
        prop_assert!(plan.chunks().iter().all(|c| c.len() <= max));
        let flat: Vec<&str> = plan.chunks().iter().flat_map(|c| c.as_slice().iter().map(JoinRequestId::as_str)).collect();
        prop_assert_eq!(&flat, &distinct.iter().map(String::as_str).collect::<Vec<_>>());

        // Each chunk fails as a whole or is answered in reverse order, with some items failing.
        let results: Vec<_> = plan.chunks().iter().enumerate().map(|(i, chunk)| {
            if fail_mask >> (i % 64) & 1 == 1 {
                Err(Error::Transport(TransportError::new(TransportErrorKind::ConnectionReset, format!("chunk {i}"))))
            } else {
                let mut o = DecisionOutcome::new(Action::Approve);
                for id in chunk.as_slice().iter().rev() {
                    let n: usize = id.as_str()[2..].parse().unwrap();
                    if item_fail_mask >> (n % 64) & 1 == 1 {
                        o.failed.push(FailedJoinRequest::new(id.clone(), vec![ErrorDetail::new(131213, None, "gone")]));
                    } else {
                        o.succeeded.push(id.clone());
                    }
                }
                Ok(o)
            }
        }).collect();
        let all_failed = results.iter().all(Result::is_err);
        match plan.merge(results) {
            Err(e) => prop_assert!(all_failed, "error {e} although a chunk succeeded"),
            Ok(merged) => {
                let pos = |s: &str| distinct.iter().position(|d| d == s).unwrap();
                let ok: Vec<usize> = merged.succeeded.iter().map(|i| pos(i.as_str())).collect();
                let bad: Vec<usize> = merged.failed.iter().map(|f| pos(f.join_request_id.as_str())).collect();
                prop_assert!(ok.windows(2).all(|w| w[0] < w[1]), "succeeded out of order");
                prop_assert!(bad.windows(2).all(|w| w[0] < w[1]), "failed out of order");
                let mut all: Vec<usize> = ok.iter().chain(&bad).copied().collect();
                all.sort_unstable();
                prop_assert_eq!(all, (0..distinct.len()).collect::<Vec<_>>());
                prop_assert!(merged.failed.iter().all(|f| !f.errors.is_empty()));
            }
        }
    }
}

#[test]
fn parse_response_round_trips_a_server_outcome() {
    let ep = endpoint();
    let op = DecideJoinRequests::new(
        Action::Reject,
        GroupId::new("g").unwrap(),
        JoinRequestIds::new(["a", "b"]).unwrap(),
    );
    let mut o = DecisionOutcome::new(Action::Reject);
    o.succeeded.push(JoinRequestId::new("a").unwrap());
    o.failed.push(FailedJoinRequest::new(
        JoinRequestId::new("b").unwrap(),
        vec![ErrorDetail::new(131213, Some("Not found"), "gone")],
    ));
    let parsed = ep
        .parse_response(&op, StatusCode::OK, &HeaderMap::new(), &o.to_json())
        .unwrap();
    assert_eq!(parsed, o);
}
