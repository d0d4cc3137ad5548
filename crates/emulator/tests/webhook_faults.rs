//! Webhook delivery faults (drop, duplicate, delay and reorder), retries of
//! failed deliveries with backoff, and join requests from the seedable
//! requester pool.

mod common;

use std::collections::{BTreeSet, VecDeque};
use std::convert::Infallible;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use http::{Method, Response, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo};
use serde_json::json;
use tokio::net::TcpListener;
use tokio::sync::mpsc;
use wa_groups_emulator::{
    Controller, Emulator, EmulatorHandle, Fault, FaultMatch, GroupOptions, RequesterPool,
    WebhookFaults,
};
use wa_groups_protocol::webhook::{self, GroupEventKind};

/// A receiver answering the scripted statuses in turn, then 200; hands the
/// test every body it gets.
async fn receiver(script: Vec<StatusCode>) -> (String, mpsc::UnboundedReceiver<Bytes>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    let (tx, rx) = mpsc::unbounded_channel();
    let script = Arc::new(Mutex::new(VecDeque::from(script)));
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let (tx, script) = (tx.clone(), Arc::clone(&script));
            tokio::spawn(async move {
                let svc = service_fn(move |req: http::Request<hyper::body::Incoming>| {
                    let (tx, script) = (tx.clone(), Arc::clone(&script));
                    async move {
                        let body = req.into_body().collect().await.unwrap().to_bytes();
                        let status = script.lock().unwrap().pop_front().unwrap_or(StatusCode::OK);
                        if status.is_success() {
                            let _ = tx.send(body);
                        }
                        let mut resp = Response::new(Full::new(Bytes::new()));
                        *resp.status_mut() = status;
                        Ok::<_, Infallible>(resp)
                    }
                });
                let _ = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new())
                    .serve_connection(TokioIo::new(stream), svc)
                    .await;
            });
        }
    });
    (url, rx)
}

/// The join request ID of a delivery holding one created event.
fn created_id(body: &Bytes) -> String {
    let payload = webhook::parse(body).unwrap();
    let events: Vec<_> = payload.events().collect();
    assert_eq!(events.len(), 1);
    match &events[0].event.kind {
        GroupEventKind::JoinRequestCreated(e) => e.join_request_id.clone(),
        other => panic!("unexpected event {other:?}"),
    }
}

async fn recv(rx: &mut mpsc::UnboundedReceiver<Bytes>) -> Bytes {
    tokio::time::timeout(Duration::from_secs(20), rx.recv())
        .await
        .expect("a delivery")
        .unwrap()
}

/// Waits (bounded) until `done` holds for the emulator's stats.
async fn until(c: &Controller, done: impl Fn(&wa_groups_emulator::Stats) -> bool) {
    for _ in 0..1000 {
        if done(&c.stats()) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("never reached: {:?}", c.stats());
}

async fn setup(
    builder: wa_groups_emulator::EmulatorBuilder,
    script: Vec<StatusCode>,
) -> (
    EmulatorHandle,
    Controller,
    String,
    mpsc::UnboundedReceiver<Bytes>,
) {
    let emu = builder.start().await.unwrap();
    let c = emu.controller();
    let (url, rx) = receiver(script).await;
    c.set_webhook(&url, "secret").unwrap();
    let g = c.create_group(GroupOptions::default()).unwrap();
    (emu, c, g, rx)
}

#[tokio::test]
async fn a_drop_fault_loses_deliveries_until_cleared() {
    let (emu, c, g, mut rx) = setup(Emulator::builder(), vec![]).await;
    let a = common::send(
        &common::client(),
        common::control(
            &emu,
            Method::POST,
            "/_emulator/faults",
            Some(json!({"kind": "webhook", "drop": 1.0})),
        ),
    )
    .await;
    assert_eq!(a.status, StatusCode::CREATED);
    assert_eq!(c.faults()[0]["kind"], "webhook");
    for _ in 0..3 {
        c.add_join_requests(&g, 1).unwrap();
    }
    assert_eq!(c.stats().webhooks_fault_dropped, 3);
    assert_eq!(c.clear_faults(), 1);
    let kept = c.add_join_requests(&g, 1).unwrap();
    assert_eq!(created_id(&recv(&mut rx).await), kept[0]);
    until(&c, |s| s.webhooks_delivered == 1).await;
}

#[tokio::test]
async fn a_duplicate_fault_sends_each_delivery_twice() {
    let (_emu, c, g, mut rx) = setup(Emulator::builder(), vec![]).await;
    c.inject_fault(
        Fault::Webhook(WebhookFaults {
            duplicate: 1.0,
            deliveries: Some(2),
            ..WebhookFaults::default()
        }),
        FaultMatch::any(),
    )
    .unwrap();
    let ids = [
        c.add_join_requests(&g, 1).unwrap(),
        c.add_join_requests(&g, 1).unwrap(),
    ];
    let mut got = Vec::new();
    for _ in 0..4 {
        got.push(created_id(&recv(&mut rx).await));
    }
    for id in &ids {
        assert_eq!(got.iter().filter(|g| *g == &id[0]).count(), 2, "{got:?}");
    }
    // `times: 2` deliveries, then the fault is gone.
    assert!(c.faults().is_empty());
    assert_eq!(c.stats().webhooks_duplicated, 2);
}

#[tokio::test]
async fn a_delay_fault_reorders_deliveries_and_loses_none() {
    let (_emu, c, g, mut rx) = setup(Emulator::builder(), vec![]).await;
    c.inject_fault(
        Fault::Webhook(WebhookFaults {
            delay_ms: (0, 400),
            seed: Some(7),
            ..WebhookFaults::default()
        }),
        FaultMatch::any(),
    )
    .unwrap();
    let mut sent = Vec::new();
    for _ in 0..20 {
        sent.extend(c.add_join_requests(&g, 1).unwrap());
    }
    let mut got = Vec::new();
    for _ in 0..20 {
        got.push(created_id(&recv(&mut rx).await));
    }
    assert_eq!(
        got.iter().collect::<BTreeSet<_>>(),
        sent.iter().collect::<BTreeSet<_>>()
    );
    assert_ne!(
        got, sent,
        "20 deliveries with random delays arrived in order"
    );
}

#[tokio::test]
async fn bad_webhook_faults_are_refused() {
    let emu = Emulator::start().await.unwrap();
    for (body, field) in [
        (json!({"kind": "webhook", "drop": 1.5}), "drop"),
        (json!({"kind": "webhook", "duplicate": -0.1}), "duplicate"),
        (json!({"kind": "webhook", "delay_ms": [500, 0]}), "delay_ms"),
        (
            json!({"kind": "webhook", "delay_ms": [0, 1e12]}),
            "delay_ms",
        ),
    ] {
        let a = common::send(
            &common::client(),
            common::control(&emu, Method::POST, "/_emulator/faults", Some(body)),
        )
        .await;
        assert_eq!(a.status, StatusCode::BAD_REQUEST);
        let message = a.json()["error"]["message"].as_str().unwrap().to_owned();
        assert!(message.contains(field), "{message}");
    }
    assert!(emu.controller().faults().is_empty());
}

#[tokio::test]
async fn failed_deliveries_are_retried_with_backoff() {
    let builder = Emulator::builder().webhook_retries(3, Duration::from_millis(20));
    let (_emu, c, g, mut rx) = setup(
        builder,
        vec![
            StatusCode::INTERNAL_SERVER_ERROR,
            StatusCode::SERVICE_UNAVAILABLE,
        ],
    )
    .await;
    let id = c.add_join_requests(&g, 1).unwrap();
    assert_eq!(created_id(&recv(&mut rx).await), id[0]);
    until(&c, |s| s.webhooks_delivered == 1).await;
    let s = c.stats();
    assert_eq!(
        (s.webhooks_failed, s.webhooks_retried, s.webhooks_abandoned),
        (2, 2, 0)
    );
}

#[tokio::test]
async fn deliveries_are_abandoned_after_the_last_retry() {
    let builder = Emulator::builder().webhook_retries(2, Duration::from_millis(10));
    let (_emu, c, g, _rx) = setup(builder, vec![StatusCode::INTERNAL_SERVER_ERROR; 10]).await;
    c.add_join_requests(&g, 1).unwrap();
    until(&c, |s| s.webhooks_abandoned == 1).await;
    let s = c.stats();
    assert_eq!(
        (s.webhooks_failed, s.webhooks_retried, s.webhooks_delivered),
        (3, 2, 0)
    );
}

#[tokio::test]
async fn the_requester_pool_is_varied_and_seedable() {
    let emu = Emulator::builder().requester_seed(1).start().await.unwrap();
    let c = emu.controller();
    let g = c.create_group(GroupOptions::default()).unwrap();
    let a = common::send(
        &common::client(),
        common::control(
            &emu,
            Method::POST,
            &format!("/_emulator/groups/{g}/join_requests"),
            Some(json!({"count": 300, "seed": 42})),
        ),
    )
    .await;
    assert_eq!(a.status, StatusCode::CREATED);
    let pending = c.pending_join_requests(&g).unwrap();
    assert_eq!(pending.len(), 300);
    let prefixes: BTreeSet<&str> = pending
        .iter()
        .filter_map(|r| r.wa_id.as_deref())
        .map(|w| {
            ["1", "44", "49", "55", "91", "234", "62", "52"]
                .into_iter()
                .find(|p| w.starts_with(p))
                .unwrap()
        })
        .collect();
    assert!(prefixes.len() >= 3, "{prefixes:?}");
    let scoped: Vec<_> = pending.iter().filter(|r| r.wa_id.is_none()).collect();
    assert!(!scoped.is_empty());
    assert!(scoped.iter().all(
        |r| r.user_id.as_deref().is_some_and(|u| u.starts_with("US.")) && r.username.is_some()
    ));
    // The same seed, the same requesters, in another group or emulator.
    let g2 = c.create_group(GroupOptions::default()).unwrap();
    c.add_pool_join_requests(&g2, 300, Some(42)).unwrap();
    let who = |g: &str| {
        c.pending_join_requests(g)
            .unwrap()
            .into_iter()
            .map(|r| (r.wa_id, r.user_id, r.username))
            .collect::<Vec<_>>()
    };
    assert_eq!(who(&g), who(&g2));
    let g3 = c.create_group(GroupOptions::default()).unwrap();
    c.add_pool_join_requests(&g3, 300, Some(43)).unwrap();
    assert_ne!(who(&g), who(&g3));
    // The emulator's own pool follows the builder's seed.
    let mut pool = RequesterPool::new(1);
    let g4 = c.create_group(GroupOptions::default()).unwrap();
    c.add_pool_join_requests(&g4, 5, None).unwrap();
    let expected: Vec<_> = (0..5).map(|_| pool.draw().id().to_owned()).collect();
    let got: Vec<_> = c
        .pending_join_requests(&g4)
        .unwrap()
        .into_iter()
        .map(|r| r.wa_id.or(r.user_id).unwrap())
        .collect();
    assert_eq!(got, expected);
    // `business_scoped` and the pool do not mix.
    let a = common::send(
        &common::client(),
        common::control(
            &emu,
            Method::POST,
            &format!("/_emulator/groups/{g}/join_requests"),
            Some(json!({"count": 1, "pool": true, "business_scoped": true})),
        ),
    )
    .await;
    assert_eq!(a.status, StatusCode::BAD_REQUEST);
}

/// A receiver that holds each delivery until `gate` of them are in flight
/// together (or `hold` passes), then answers 200; gives the most it saw at
/// once and every body.
async fn gated_receiver(
    gate: usize,
    hold: Duration,
) -> (
    String,
    Arc<Mutex<(usize, usize)>>,
    mpsc::UnboundedReceiver<Bytes>,
) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    let (tx, rx) = mpsc::unbounded_channel();
    // (in flight now, most in flight at once)
    let seen = Arc::new(Mutex::new((0usize, 0usize)));
    let open = Arc::new(tokio::sync::Notify::new());
    let state = Arc::clone(&seen);
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let (tx, seen, open) = (tx.clone(), Arc::clone(&state), Arc::clone(&open));
            tokio::spawn(async move {
                let svc = service_fn(move |req: http::Request<hyper::body::Incoming>| {
                    let (tx, seen, open) = (tx.clone(), Arc::clone(&seen), Arc::clone(&open));
                    async move {
                        let body = req.into_body().collect().await.unwrap().to_bytes();
                        let reached = {
                            let mut s = seen.lock().unwrap();
                            s.0 += 1;
                            s.1 = s.1.max(s.0);
                            s.0 >= gate
                        };
                        if reached {
                            open.notify_waiters();
                        } else {
                            let _ = tokio::time::timeout(hold, open.notified()).await;
                        }
                        seen.lock().unwrap().0 -= 1;
                        let _ = tx.send(body);
                        Ok::<_, Infallible>(Response::new(Full::new(Bytes::new())))
                    }
                });
                let _ = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new())
                    .serve_connection(TokioIo::new(stream), svc)
                    .await;
            });
        }
    });
    (url, seen, rx)
}

#[tokio::test]
async fn webhook_concurrency_posts_several_deliveries_at_once_and_no_more() {
    let emu = Emulator::builder()
        .webhook_concurrency(4)
        .start()
        .await
        .unwrap();
    let c = emu.controller();
    // The gate is never reached with 4 lanes: each group of 4 waits out
    // the hold, so the most seen at once is exactly the lanes.
    let (url, seen, mut rx) = gated_receiver(5, Duration::from_secs(1)).await;
    c.set_webhook(&url, "secret").unwrap();
    let g = c.create_group(GroupOptions::default()).unwrap();
    let mut sent = Vec::new();
    for _ in 0..8 {
        sent.extend(c.add_join_requests(&g, 1).unwrap());
    }
    let mut got = BTreeSet::new();
    for _ in 0..8 {
        got.insert(created_id(&recv(&mut rx).await));
    }
    assert_eq!(got, sent.iter().cloned().collect::<BTreeSet<_>>());
    assert_eq!(seen.lock().unwrap().1, 4, "deliveries in flight at once");
    until(&c, |s| s.webhooks_delivered == 8).await;
}

#[tokio::test]
async fn one_webhook_lane_by_default_posts_one_delivery_at_a_time() {
    let (emu, c, g, _) = setup(Emulator::builder(), vec![]).await;
    let (url, seen, mut rx) = gated_receiver(2, Duration::from_millis(300)).await;
    c.set_webhook(&url, "secret").unwrap();
    let sent: Vec<String> = (0..2)
        .flat_map(|_| c.add_join_requests(&g, 1).unwrap())
        .collect();
    let got: Vec<String> = vec![
        created_id(&recv(&mut rx).await),
        created_id(&recv(&mut rx).await),
    ];
    assert_eq!(got, sent, "in order");
    assert_eq!(seen.lock().unwrap().1, 1);
    drop(emu);
}
