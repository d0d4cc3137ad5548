//! Signed webhooks, received by a tiny test server.

mod common;

use std::convert::Infallible;
use std::time::Duration;

use bytes::Bytes;
use http::{Method, Response, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo};
use tokio::net::TcpListener;
use tokio::sync::mpsc;
use wa_groups_emulator::{Emulator, GroupOptions};
use wa_groups_protocol::webhook::{self, GroupEventKind, GroupField};
use wa_groups_protocol::{Action, DecideJoinRequests, GroupId, JoinRequestIds};

/// A server that hands every (signature, body) it receives to the test.
async fn receiver(status: StatusCode) -> (String, mpsc::UnboundedReceiver<(String, Bytes)>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    let (tx, rx) = mpsc::unbounded_channel();
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                return;
            };
            let tx = tx.clone();
            tokio::spawn(async move {
                let svc = service_fn(move |req: http::Request<hyper::body::Incoming>| {
                    let tx = tx.clone();
                    async move {
                        let sig = req
                            .headers()
                            .get("x-hub-signature-256")
                            .map(|v| v.to_str().unwrap().to_owned())
                            .unwrap_or_default();
                        let body = req.into_body().collect().await.unwrap().to_bytes();
                        let _ = tx.send((sig, body));
                        let mut resp = Response::new(Full::new(Bytes::from_static(b"ok")));
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

async fn next(rx: &mut mpsc::UnboundedReceiver<(String, Bytes)>) -> (String, Bytes) {
    tokio::time::timeout(Duration::from_secs(5), rx.recv())
        .await
        .expect("a delivery")
        .unwrap()
}

#[tokio::test]
async fn created_revoked_and_approved_are_delivered_signed() {
    let emu = Emulator::builder()
        .fixed_clock(1_755_548_877)
        .start()
        .await
        .unwrap();
    let (url, mut rx) = receiver(StatusCode::OK).await;
    let secret = b"app-secret";
    emu.controller().set_webhook(&url, secret).unwrap();
    let g = emu
        .controller()
        .create_group(GroupOptions::default())
        .unwrap();

    // Created: one delivery for the whole call.
    let ids = emu.controller().add_join_requests(&g, 2).unwrap();
    let (sig, body) = next(&mut rx).await;
    webhook::verify_signature(secret, &body, &sig).expect("signature verifies");
    assert!(webhook::verify_signature(b"other", &body, &sig).is_err());
    let payload = webhook::parse(&body).unwrap();
    assert_eq!(payload.object, "whatsapp_business_account");
    let events: Vec<_> = payload.events().collect();
    assert_eq!(events.len(), 2);
    for (e, id) in events.iter().zip(&ids) {
        assert_eq!(e.field, GroupField::ParticipantsUpdate);
        assert_eq!(e.group_id(), g);
        assert_eq!(e.timestamp(), 1_755_548_877);
        match e.kind() {
            GroupEventKind::JoinRequestCreated(j) => {
                assert_eq!(&j.join_request_id, id);
                assert!(j.wa_id.is_some());
            }
            other => panic!("{other:?}"),
        }
    }
    let raw: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(
        raw["entry"][0]["changes"][0]["field"],
        "group_participants_update"
    );
    assert_eq!(
        raw["entry"][0]["changes"][0]["value"]["groups"][0]["type"],
        "group_join_request_created"
    );

    // Revoked.
    emu.controller().revoke_join_request(&g, &ids[0]).unwrap();
    let (sig, body) = next(&mut rx).await;
    webhook::verify_signature(secret, &body, &sig).unwrap();
    let payload = webhook::parse(&body).unwrap();
    let e = payload.events().next().unwrap();
    assert!(
        matches!(e.kind(), GroupEventKind::JoinRequestRevoked(j) if j.join_request_id == ids[0])
    );

    // Approved over HTTP: group_participants_add naming the join request.
    let endpoint = common::endpoint(&emu);
    let op = DecideJoinRequests::new(
        Action::Approve,
        GroupId::new(&g).unwrap(),
        JoinRequestIds::new([&ids[1]]).unwrap(),
    );
    let a = common::send(&common::client(), endpoint.request(&op)).await;
    assert_eq!(a.status, StatusCode::OK);
    let (sig, body) = next(&mut rx).await;
    webhook::verify_signature(secret, &body, &sig).unwrap();
    let raw: serde_json::Value = serde_json::from_slice(&body).unwrap();
    let ev = &raw["entry"][0]["changes"][0]["value"]["groups"][0];
    assert_eq!(ev["type"], "group_participants_add");
    assert_eq!(ev["join_request_id"], ids[1].as_str());
    assert_eq!(ev["group_id"], g.as_str());
    assert!(ev["added_participants"][0]["wa_id"].is_string());
    assert!(ev["request_id"].is_string());
    let payload = webhook::parse(&body).unwrap();
    assert!(
        matches!(payload.events().next().unwrap().kind(), GroupEventKind::ParticipantsAdded(p)
            if p.participants.len() == 1 && p.join_request_id.as_deref() == Some(ids[1].as_str()))
    );

    // Rejections send nothing.
    let more = emu.controller().add_join_requests(&g, 1).unwrap();
    next(&mut rx).await;
    let op = DecideJoinRequests::new(
        Action::Reject,
        GroupId::new(&g).unwrap(),
        JoinRequestIds::new([&more[0]]).unwrap(),
    );
    common::send(&common::client(), endpoint.request(&op)).await;
    assert!(
        tokio::time::timeout(Duration::from_millis(200), rx.recv())
            .await
            .is_err()
    );
    assert_eq!(emu.controller().stats().webhooks_delivered, 4);
}

#[tokio::test]
async fn failed_deliveries_are_counted_not_fatal() {
    // No retries: each failed delivery is one failed attempt.
    let emu = Emulator::builder()
        .webhook_retries(0, Duration::ZERO)
        .start()
        .await
        .unwrap();
    let (url, mut rx) = receiver(StatusCode::INTERNAL_SERVER_ERROR).await;
    let c = common::client();
    let a = common::send(
        &c,
        common::control(
            &emu,
            Method::PUT,
            "/_emulator/webhook",
            Some(serde_json::json!({"url": url, "app_secret": "s"})),
        ),
    )
    .await;
    assert_eq!(a.status, StatusCode::OK);
    let g = emu
        .controller()
        .create_group(GroupOptions::default())
        .unwrap();
    emu.controller().add_join_requests(&g, 1).unwrap();
    next(&mut rx).await;
    // A receiver that is not there at all.
    emu.controller()
        .set_webhook("http://127.0.0.1:9/none", "s")
        .unwrap();
    emu.controller().add_join_requests(&g, 1).unwrap();
    for _ in 0..100 {
        if emu.controller().stats().webhooks_failed == 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(emu.controller().stats().webhooks_failed, 2);
    assert_eq!(emu.controller().pending_join_requests(&g).unwrap().len(), 2);
    assert!(
        emu.controller()
            .set_webhook("https://127.0.0.1/x", "s")
            .is_err()
    );
    assert!(
        emu.controller()
            .set_webhook("http://127.0.0.1/x", "")
            .is_err()
    );
}
