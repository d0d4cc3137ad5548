//! Hostile control inputs: every one is refused with a 400 naming the
//! field, before anything is allocated or stored, and nothing panics or
//! wraps (issue: the emulator could be crashed through its control API).

mod common;

use std::time::Duration;

use common::{Answer, client, control, graph, send};
use http::{Method, StatusCode};
use serde_json::{Value, json};
use wa_groups_emulator::{
    Emulator, EmulatorHandle, Error, MAX_ADVANCE_SECONDS, MAX_JOIN_REQUESTS_PER_CALL, RateLimit,
    Requester, Seed,
};

async fn post(emu: &EmulatorHandle, method: Method, path: &str, body: Value) -> Answer {
    send(&client(), control(emu, method, path, Some(body))).await
}

/// A 400 whose message names `field`.
fn refused(a: &Answer, field: &str) {
    assert_eq!(a.status, StatusCode::BAD_REQUEST, "{:?}", a.json());
    let message = a.json()["error"]["message"].as_str().unwrap().to_owned();
    assert!(message.contains(field), "{message:?} does not name {field}");
}

async fn emulator_with_group() -> (EmulatorHandle, String) {
    let emu = Emulator::builder().start().await.unwrap();
    let g = emu.controller().create_group(Default::default()).unwrap();
    (emu, g)
}

#[tokio::test]
async fn participant_counts_are_bounded_before_allocation() {
    let (emu, g) = emulator_with_group().await;
    let path = format!("/_emulator/groups/{g}/participants");
    for count in [
        json!(100_000_000),
        json!(u64::MAX),
        json!(1e300),
        json!(-1),
        json!(2.5),
        json!("3"),
    ] {
        let a = post(&emu, Method::POST, &path, json!({ "count": count })).await;
        refused(&a, "count");
    }
    // Within the per-call bound but over the group's cap (8).
    let a = post(&emu, Method::POST, &path, json!({ "count": 9 })).await;
    refused(&a, "cap");
    assert!(emu.controller().participants(&g).unwrap().is_empty());
    // A whole float is a whole number (JavaScript sends those).
    let a = post(&emu, Method::POST, &path, json!({ "count": 2.0 })).await;
    assert_eq!(a.status, StatusCode::CREATED);
    assert_eq!(emu.controller().participants(&g).unwrap().len(), 2);
}

#[tokio::test]
async fn join_request_counts_are_bounded_per_call() {
    let (emu, g) = emulator_with_group().await;
    let path = format!("/_emulator/groups/{g}/join_requests");
    for count in [
        json!(1e300),
        json!(1_000_000),
        json!(MAX_JOIN_REQUESTS_PER_CALL + 1),
        json!(-3),
        json!(null),
    ] {
        let a = post(&emu, Method::POST, &path, json!({ "count": count })).await;
        refused(&a, "count");
    }
    assert!(
        emu.controller()
            .pending_join_requests(&g)
            .unwrap()
            .is_empty()
    );
    let a = post(
        &emu,
        Method::POST,
        &path,
        json!({ "count": MAX_JOIN_REQUESTS_PER_CALL }),
    )
    .await;
    assert_eq!(a.status, StatusCode::CREATED);
    assert_eq!(
        emu.controller().pending_join_requests(&g).unwrap().len() as u64,
        MAX_JOIN_REQUESTS_PER_CALL
    );
}

#[tokio::test]
async fn the_rust_api_refuses_oversized_batches() {
    let (emu, g) = emulator_with_group().await;
    let c = emu.controller();
    // What the Node binding passes for `addJoinRequests(g, 1e300)`.
    assert!(
        matches!(c.add_join_requests(&g, usize::MAX), Err(Error::InvalidInput(m)) if m.contains("count"))
    );
    assert!(matches!(
        c.add_business_scoped_join_requests(&g, usize::MAX),
        Err(Error::InvalidInput(_))
    ));
    assert!(matches!(
        c.add_participants(&g, usize::MAX),
        Err(Error::InvalidInput(_))
    ));
    // An endless iterator is cut at the bound, not drained.
    let endless = (0..).map(Requester::synthetic);
    assert!(matches!(
        c.add_join_requests_from(&g, endless),
        Err(Error::InvalidInput(_))
    ));
    assert!(c.pending_join_requests(&g).unwrap().is_empty());
}

#[tokio::test]
async fn clock_advances_are_bounded_and_never_wrap() {
    let emu = Emulator::builder().start().await.unwrap();
    for secs in [
        json!(1e300),
        json!(-1),
        json!(f64::MAX),
        json!(MAX_ADVANCE_SECONDS + 1),
        json!("1"),
    ] {
        let a = post(
            &emu,
            Method::POST,
            "/_emulator/clock",
            json!({ "advance_seconds": secs }),
        )
        .await;
        refused(&a, "advance_seconds");
    }
    // Advancing by the most allowed again and again ends in a 400 at the
    // year 9999, and the clock never goes backwards.
    let mut last = emu.controller().now();
    let mut refused_at_end = false;
    for _ in 0..200 {
        let a = post(
            &emu,
            Method::POST,
            "/_emulator/clock",
            json!({ "advance_seconds": MAX_ADVANCE_SECONDS }),
        )
        .await;
        if a.status == StatusCode::BAD_REQUEST {
            refused(&a, "advance_seconds");
            refused_at_end = true;
            break;
        }
        let now = a.json()["now"].as_i64().unwrap();
        assert!(now > last, "clock went from {last} to {now}");
        last = now;
    }
    assert!(refused_at_end);
    assert!(emu.controller().now() <= wa_groups_emulator::MAX_CLOCK_SECONDS);
    assert!(emu.controller().advance_clock(Duration::MAX).is_err());
}

#[tokio::test]
async fn a_fixed_clock_past_the_bound_is_refused() {
    let err = Emulator::builder()
        .fixed_clock(i64::MAX)
        .start()
        .await
        .unwrap_err();
    assert!(matches!(err, Error::InvalidInput(m) if m.contains("fixed_clock")));
}

#[tokio::test]
async fn rate_limits_must_be_finite_and_within_bounds() {
    let (emu, g) = emulator_with_group().await;
    for (body, field) in [
        (json!({"per_second": 1e-300}), "per_second"),
        (json!({"per_second": 0}), "per_second"),
        (json!({"per_second": -5}), "per_second"),
        (json!({"per_second": 1e300}), "per_second"),
        (json!({"per_second": "fast"}), "per_second"),
        (json!({"per_second": 5, "burst": 0}), "burst"),
        (json!({"per_second": 5, "burst": 1e300}), "burst"),
    ] {
        let a = post(&emu, Method::PUT, "/_emulator/rate_limit", body).await;
        refused(&a, field);
    }
    assert_eq!(emu.controller().rate_limit(), None);
    assert!(
        emu.controller()
            .set_rate_limit(Some(RateLimit::per_group(f64::NAN)))
            .is_err()
    );
    // The slowest allowed rate answers a throttled call with a finite
    // Retry-After (the state lock is not poisoned by a panic).
    let a = post(
        &emu,
        Method::PUT,
        "/_emulator/rate_limit",
        json!({"per_second": 0.001, "burst": 1}),
    )
    .await;
    assert_eq!(a.status, StatusCode::OK);
    let c = client();
    let list = || list_of(&emu, &g);
    assert_eq!(send(&c, list()).await.status, StatusCode::OK);
    let throttled = send(&c, list()).await;
    assert_eq!(throttled.status, StatusCode::TOO_MANY_REQUESTS);
    let retry: u64 = throttled.headers["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=1000).contains(&retry), "{retry}");
    assert_eq!(emu.controller().stats().rate_limited, 1);
}

/// A listing of group `g`'s join requests.
fn list_of(emu: &EmulatorHandle, g: &str) -> http::Request<bytes::Bytes> {
    graph(emu, Method::GET, &format!("/v23.0/{g}/join_requests"), None)
}

/// The usage a Graph answer reports, as the client reads it.
fn usage(a: &Answer) -> Option<u8> {
    wa_groups_protocol::usage_percent(&a.headers)
}

#[tokio::test]
async fn graph_answers_report_the_limits_usage_as_meta_does() {
    let (emu, g) = emulator_with_group().await;
    let c = client();
    let list = || list_of(&emu, &g);
    // No limit, no usage header.
    let a = send(&c, list()).await;
    assert_eq!(a.status, StatusCode::OK);
    assert!(a.headers.get("x-business-use-case-usage").is_none());
    // A burst of 4 refilled at 0.001 a second: each call uses a quarter,
    // and the last one admitted leaves it at 100 (a call now is refused).
    emu.controller()
        .set_rate_limit(Some(RateLimit::per_group(0.001).burst(4.0)))
        .unwrap();
    let mut seen = Vec::new();
    for _ in 0..5 {
        seen.push(usage(&send(&c, list()).await));
    }
    assert_eq!(seen, [Some(25), Some(50), Some(75), Some(100), Some(100)]);
    let a = send(&c, list()).await;
    assert_eq!(a.status, StatusCode::TOO_MANY_REQUESTS);
    // The header is Meta's: keyed by the business account, one entry for
    // the use case; 0.001 a second is 17 minutes to the next call.
    let header: Value =
        serde_json::from_slice(a.headers["x-business-use-case-usage"].as_bytes()).unwrap();
    let entry = &header["102290129340398"][0];
    assert_eq!(entry["type"], "whatsapp_business_management");
    assert_eq!(entry["call_count"], 100);
    assert_eq!(entry["estimated_time_to_regain_access"], 16);
}

#[tokio::test]
async fn seeds_are_bounded_before_anything_is_created() {
    let emu = Emulator::builder().start().await.unwrap();
    for (body, field) in [
        (
            json!({"groups": [{"count": 4_000_000_000_u32, "join_requests": 4_000_000_000_u32}]}),
            "join_requests",
        ),
        (json!({"groups": [{"count": 4_000_000_000_u32}]}), "count"),
        (
            json!({"groups": [{"participants": 4_000_000_000_u32}]}),
            "participants",
        ),
        (
            json!({"groups": [{"count": 1000, "join_requests": 2000}]}),
            "join requests",
        ),
    ] {
        let a = post(&emu, Method::POST, "/_emulator/seed", body).await;
        refused(&a, field);
    }
    assert!(emu.controller().groups().is_empty());
    let seed = Seed::from_json(br#"{"groups": [{"count": 200000}]}"#);
    assert!(matches!(seed, Err(Error::Seed(m)) if m.contains("count")));
}

#[tokio::test]
async fn fault_numbers_are_checked() {
    let emu = Emulator::builder().start().await.unwrap();
    for (body, field) in [
        (json!({"kind": "latency", "ms": 1e300}), "ms"),
        (json!({"kind": "latency", "ms": 600_001}), "ms"),
        (
            json!({"kind": "rate_limited", "retry_after": u64::MAX}),
            "retry_after",
        ),
        (json!({"kind": "oversize_body", "bytes": -1}), "bytes"),
        (json!({"kind": "malformed_json", "times": 1e20}), "times"),
        (json!({"kind": "malformed_json", "times": 0}), "times"),
    ] {
        let a = post(&emu, Method::POST, "/_emulator/faults", body).await;
        refused(&a, field);
    }
    assert!(emu.controller().faults().is_empty());
}
