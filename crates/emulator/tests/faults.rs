//! Injected faults and the rate limiter, as a client sees them.

mod common;

use std::time::{Duration, Instant};

use common::{client, control, graph, send, try_send};
use http::{Method, StatusCode};
use serde_json::json;
use wa_groups_emulator::{Emulator, EmulatorHandle, Fault, FaultMatch, GroupOptions, RateLimit};

async fn setup() -> (EmulatorHandle, String) {
    let emu = Emulator::start().await.unwrap();
    let g = emu
        .controller()
        .create_group(GroupOptions::default())
        .unwrap();
    emu.controller().add_join_requests(&g, 3).unwrap();
    (emu, g)
}

fn list(emu: &EmulatorHandle, g: &str) -> http::Request<bytes::Bytes> {
    graph(emu, Method::GET, &format!("/v23.0/{g}/join_requests"), None)
}

#[tokio::test]
async fn latency_delays_then_serves() {
    let (emu, g) = setup().await;
    emu.controller()
        .inject_fault(
            Fault::Latency(Duration::from_millis(300)),
            FaultMatch::any(),
        )
        .unwrap();
    let t = Instant::now();
    let a = send(&client(), list(&emu, &g)).await;
    assert!(t.elapsed() >= Duration::from_millis(300));
    assert_eq!(a.status, StatusCode::OK);
    let t = Instant::now();
    send(&client(), list(&emu, &g)).await;
    assert!(
        t.elapsed() < Duration::from_millis(300),
        "only the next call"
    );
}

#[tokio::test]
async fn server_errors_with_and_without_is_transient() {
    let (emu, g) = setup().await;
    let c = client();
    // Over HTTP, as the bindings' users would.
    let a = send(
        &c,
        control(
            &emu,
            Method::POST,
            "/_emulator/faults",
            Some(json!({"kind": "server_error", "status": 503, "is_transient": true})),
        ),
    )
    .await;
    assert_eq!(a.status, StatusCode::CREATED);
    emu.controller()
        .inject_fault(
            Fault::ServerError {
                status: 500,
                code: Some(1),
                is_transient: false,
            },
            FaultMatch::any(),
        )
        .unwrap();
    let a = send(&c, list(&emu, &g)).await;
    assert_eq!(a.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(a.json()["error"]["is_transient"], true);
    assert_eq!(a.code(), 2);
    let a = send(&c, list(&emu, &g)).await;
    assert_eq!(a.status, StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(a.json()["error"]["is_transient"], false);
    assert_eq!(a.code(), 1);
    assert_eq!(send(&c, list(&emu, &g)).await.status, StatusCode::OK);
    assert_eq!(emu.controller().stats().faults_applied, 2);
}

#[tokio::test]
async fn rate_limited_fault_has_the_code_and_retry_after() {
    let (emu, g) = setup().await;
    let c = client();
    send(
        &c,
        control(
            &emu,
            Method::POST,
            "/_emulator/faults",
            Some(json!({"kind": "rate_limited", "code": 80007, "retry_after": 3})),
        ),
    )
    .await;
    let a = send(&c, list(&emu, &g)).await;
    assert_eq!(a.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(a.code(), 80_007);
    assert_eq!(a.headers["retry-after"], "3");
    let err = wa_groups_protocol::parse_error_response(a.status, &a.headers, &a.body);
    assert_eq!(err.kind(), wa_groups_protocol::ErrorKind::RateLimited);
    assert_eq!(
        err.api_error().unwrap().retry_after,
        Some(Duration::from_secs(3))
    );
}

#[tokio::test]
async fn connection_reset_closes_without_an_answer() {
    let (emu, g) = setup().await;
    emu.controller()
        .inject_fault(Fault::ConnectionReset, FaultMatch::any())
        .unwrap();
    let err = try_send(&client(), list(&emu, &g))
        .await
        .err()
        .expect("no answer");
    let text = format!("{err:?}");
    assert!(
        text.contains("Incomplete") || text.contains("closed") || text.contains("reset"),
        "{text}"
    );
    // HTTP/2: the stream is reset.
    emu.controller()
        .inject_fault(Fault::ConnectionReset, FaultMatch::any())
        .unwrap();
    assert!(
        try_send(&common::h2_client(), list(&emu, &g))
            .await
            .is_err()
    );
    // The server keeps serving.
    assert_eq!(send(&client(), list(&emu, &g)).await.status, StatusCode::OK);
}

#[tokio::test]
async fn truncated_body_is_a_body_error() {
    let (emu, g) = setup().await;
    send(
        &client(),
        control(
            &emu,
            Method::POST,
            "/_emulator/faults",
            Some(json!({"kind": "truncated_body"})),
        ),
    )
    .await;
    // The head arrives, promising 4096 bytes; the body then breaks off.
    let (parts, body) = list(&emu, &g).into_parts();
    let resp = client()
        .request(http::Request::from_parts(
            parts,
            http_body_util::Full::new(body),
        ))
        .await
        .expect("the head arrives");
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(resp.headers()["content-length"], "4096");
    let err = http_body_util::BodyExt::collect(resp.into_body())
        .await
        .map(|c| c.to_bytes())
        .expect_err("the body is cut short");
    // hyper: `Body` error, `IncompleteBody` (unexpected EOF).
    assert!(format!("{err:?}").contains("IncompleteBody"), "{err:?}");
}

#[tokio::test]
async fn malformed_json_is_a_200_that_does_not_parse() {
    let (emu, g) = setup().await;
    send(
        &client(),
        control(
            &emu,
            Method::POST,
            "/_emulator/faults",
            Some(json!({"kind": "malformed_json"})),
        ),
    )
    .await;
    let a = send(&client(), list(&emu, &g)).await;
    assert_eq!(a.status, StatusCode::OK);
    assert!(
        a.headers["content-type"]
            .to_str()
            .unwrap()
            .starts_with("application/json")
    );
    assert!(serde_json::from_slice::<serde_json::Value>(&a.body).is_err());
}

#[tokio::test]
async fn oversize_body_has_the_length_announced() {
    let (emu, g) = setup().await;
    send(
        &client(),
        control(
            &emu,
            Method::POST,
            "/_emulator/faults",
            Some(json!({"kind": "oversize_body", "bytes": 5_000_000})),
        ),
    )
    .await;
    let a = send(&client(), list(&emu, &g)).await;
    assert_eq!(a.headers["content-length"], "5000000");
    assert_eq!(a.body.len(), 5_000_000);
    serde_json::from_slice::<serde_json::Value>(&a.body).expect("valid JSON, just big");
}

#[tokio::test]
async fn faults_match_method_path_and_count() {
    let (emu, g) = setup().await;
    let c = client();
    let m = FaultMatch::any()
        .method(Method::POST)
        .path_contains("/join_requests")
        .times(2);
    emu.controller()
        .inject_fault(
            Fault::ServerError {
                status: 502,
                code: None,
                is_transient: true,
            },
            m,
        )
        .unwrap();
    // GETs and control calls pass untouched.
    assert_eq!(send(&c, list(&emu, &g)).await.status, StatusCode::OK);
    assert_eq!(
        send(&c, control(&emu, Method::POST, "/_emulator/groups", None))
            .await
            .status,
        StatusCode::CREATED
    );
    let body = r#"{"messaging_product":"whatsapp","join_requests":["x"]}"#;
    let post = || {
        graph(
            &emu,
            Method::POST,
            &format!("/v23.0/{g}/join_requests"),
            Some(body),
        )
    };
    assert_eq!(send(&c, post()).await.status, StatusCode::BAD_GATEWAY);
    let a = send(&c, control(&emu, Method::GET, "/_emulator/faults", None)).await;
    assert_eq!(a.json()["data"][0]["remaining"], 1);
    assert_eq!(send(&c, post()).await.status, StatusCode::BAD_GATEWAY);
    assert_eq!(send(&c, post()).await.status, StatusCode::OK);

    // DELETE clears.
    for _ in 0..3 {
        emu.controller()
            .inject_fault(Fault::MalformedJson, FaultMatch::any())
            .unwrap();
    }
    let a = send(&c, control(&emu, Method::DELETE, "/_emulator/faults", None)).await;
    assert_eq!(a.json()["cleared"], 3);
    assert_eq!(send(&c, list(&emu, &g)).await.status, StatusCode::OK);

    // Bad faults are refused.
    for bad in [
        json!({"kind": "nope"}),
        json!({"kind": "latency"}),
        json!({"kind": "server_error", "status": 404}),
        json!({"kind": "malformed_json", "times": 0}),
    ] {
        let a = send(
            &c,
            control(&emu, Method::POST, "/_emulator/faults", Some(bad.clone())),
        )
        .await;
        assert_eq!(
            (a.status, a.code()),
            (StatusCode::BAD_REQUEST, 100),
            "{bad}"
        );
    }
}

#[tokio::test]
async fn fault_queue_is_bounded() {
    let (emu, _) = setup().await;
    for _ in 0..1024 {
        emu.controller()
            .inject_fault(Fault::MalformedJson, FaultMatch::any())
            .unwrap();
    }
    assert!(matches!(
        emu.controller()
            .inject_fault(Fault::MalformedJson, FaultMatch::any()),
        Err(wa_groups_emulator::Error::FaultQueueFull)
    ));
    assert_eq!(emu.controller().clear_faults(), 1024);
}

#[tokio::test]
async fn rate_limiter_answers_131208_per_group() {
    let (emu, g) = setup().await;
    let other = emu
        .controller()
        .create_group(GroupOptions::default())
        .unwrap();
    let c = client();
    let a = send(
        &c,
        control(
            &emu,
            Method::PUT,
            "/_emulator/rate_limit",
            Some(json!({"per_second": 0.5, "burst": 2, "scope": "group"})),
        ),
    )
    .await;
    assert_eq!(a.status, StatusCode::OK);
    assert_eq!(send(&c, list(&emu, &g)).await.status, StatusCode::OK);
    assert_eq!(send(&c, list(&emu, &g)).await.status, StatusCode::OK);
    let a = send(&c, list(&emu, &g)).await;
    assert_eq!(
        (a.status, a.code()),
        (StatusCode::TOO_MANY_REQUESTS, 131_208)
    );
    let retry: u64 = a.headers["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=2).contains(&retry), "{retry}");
    // Another group has its own bucket.
    assert_eq!(send(&c, list(&emu, &other)).await.status, StatusCode::OK);
    assert_eq!(emu.controller().stats().rate_limited, 1);
    // Removed: no limit.
    send(
        &c,
        control(&emu, Method::DELETE, "/_emulator/rate_limit", None),
    )
    .await;
    for _ in 0..5 {
        assert_eq!(send(&c, list(&emu, &g)).await.status, StatusCode::OK);
    }
}

#[tokio::test]
async fn rate_limiter_per_phone_covers_every_group_and_refills() {
    let (emu, g) = setup().await;
    let other = emu
        .controller()
        .create_group(GroupOptions::default())
        .unwrap();
    let c = client();
    emu.controller()
        .set_rate_limit(Some(RateLimit::per_phone(20.0).burst(1.0)))
        .unwrap();
    assert_eq!(send(&c, list(&emu, &g)).await.status, StatusCode::OK);
    assert_eq!(send(&c, list(&emu, &other)).await.code(), 131_208);
    tokio::time::sleep(Duration::from_millis(80)).await;
    assert_eq!(send(&c, list(&emu, &other)).await.status, StatusCode::OK);
    assert!(
        emu.controller()
            .set_rate_limit(Some(RateLimit::per_group(0.0)))
            .is_err()
    );
}

#[tokio::test]
async fn a_canned_response_is_sent_as_given() {
    let (emu, g) = setup().await;
    let queued = send(
        &client(),
        control(
            &emu,
            Method::POST,
            "/_emulator/faults",
            Some(json!({"kind": "response", "status": 429, "headers": {"retry-after": "7"}, "body": "{\"error\":{}}"})),
        ),
    )
    .await;
    assert_eq!(queued.status, StatusCode::CREATED);
    let a = send(&client(), list(&emu, &g)).await;
    assert_eq!(a.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(a.headers["retry-after"], "7");
    assert_eq!(&a.body[..], b"{\"error\":{}}");
    // Bad canned responses are refused when queued.
    for bad in [
        json!({"kind": "response"}),
        json!({"kind": "response", "status": 42}),
        json!({"kind": "response", "status": 200, "headers": {"bad header": "x"}}),
    ] {
        let r = send(
            &client(),
            control(&emu, Method::POST, "/_emulator/faults", Some(bad.clone())),
        )
        .await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{bad}");
    }
}
