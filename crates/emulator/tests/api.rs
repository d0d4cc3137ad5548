//! The Graph API endpoints, driven over real HTTP.

mod common;

use std::collections::HashSet;
use std::time::Duration;

use common::{client, endpoint, graph, h2_client, send};
use http::{Method, StatusCode};
use wa_groups_emulator::{Emulator, GroupOptions, JoinApprovalMode};
use wa_groups_protocol::{
    Action, BodyEncoding, Boundary, Cursor, DecideJoinRequests, DecisionOutcome, GetGroupInfo,
    GroupId, GroupInfo, JoinRequestIds, ListJoinRequests, ListQuery, ListResponse,
};

fn gid(s: &str) -> GroupId {
    GroupId::new(s).unwrap()
}

async fn decide(
    c: &common::HttpClient,
    emu: &wa_groups_emulator::EmulatorHandle,
    action: Action,
    group: &str,
    ids: &[&str],
    encoding: BodyEncoding,
) -> DecisionOutcome {
    let op = DecideJoinRequests::new(action, gid(group), JoinRequestIds::new(ids).unwrap())
        .with_encoding(encoding);
    let a = send(c, endpoint(emu).request(&op)).await;
    assert_eq!(a.status, StatusCode::OK, "{:?}", a.body);
    DecisionOutcome::from_json(action, &a.body).unwrap()
}

#[tokio::test]
async fn list_approve_reject_round_trip_in_all_encodings() {
    let emu = Emulator::builder()
        .fixed_clock(1_755_548_877)
        .start()
        .await
        .unwrap();
    let c = client();
    let g = emu
        .controller()
        .create_group(GroupOptions::default())
        .unwrap();
    let ids = emu.controller().add_join_requests(&g, 6).unwrap();
    assert_eq!(ids.len(), 6);

    let op = ListJoinRequests::new(gid(&g), ListQuery::default()).unwrap();
    let a = send(&c, endpoint(&emu).request(&op)).await;
    assert_eq!(a.status, StatusCode::OK);
    assert!(
        a.headers["content-type"]
            .to_str()
            .unwrap()
            .starts_with("application/json")
    );
    let page: ListResponse = serde_json::from_slice(&a.body).unwrap();
    let listed: Vec<&str> = page
        .data
        .iter()
        .map(|r| r.join_request_id.as_str())
        .collect();
    assert_eq!(listed, ids.iter().map(String::as_str).collect::<Vec<_>>());
    assert!(
        page.data
            .iter()
            .all(|r| r.creation_timestamp == 1_755_548_877 && r.wa_id.is_some())
    );
    let paging = page.paging.unwrap();
    assert!(paging.next.is_none() && paging.previous.is_none());

    let encodings = [
        BodyEncoding::Json,
        BodyEncoding::FormUrlEncoded,
        BodyEncoding::Multipart(Boundary::from_random(0xfeed)),
    ];
    for (i, enc) in encodings.into_iter().enumerate() {
        let out = decide(&c, &emu, Action::Approve, &g, &[&ids[i]], enc).await;
        assert_eq!(out.succeeded.len(), 1, "{enc:?}");
        assert!(out.failed.is_empty() && out.errors.is_empty());
        assert!(out.request_id.is_some());
        let out = decide(&c, &emu, Action::Reject, &g, &[&ids[3 + i]], enc).await;
        assert_eq!(out.succeeded.len(), 1, "{enc:?}");
    }
    assert!(
        emu.controller()
            .pending_join_requests(&g)
            .unwrap()
            .is_empty()
    );
    assert_eq!(emu.controller().participants(&g).unwrap().len(), 3);
    let stats = emu.controller().stats();
    assert_eq!(
        (
            stats.endpoints.list,
            stats.endpoints.approve,
            stats.endpoints.reject
        ),
        (1, 3, 3)
    );
    assert_eq!(
        (stats.join_requests_approved, stats.join_requests_rejected),
        (3, 3)
    );
}

#[tokio::test]
async fn repeated_and_unknown_ids_fail_per_item_with_131213() {
    let emu = Emulator::start().await.unwrap();
    let c = client();
    let g = emu
        .controller()
        .create_group(GroupOptions::default())
        .unwrap();
    let other = emu
        .controller()
        .create_group(GroupOptions::default())
        .unwrap();
    let ids = emu.controller().add_join_requests(&g, 2).unwrap();
    let foreign = emu.controller().add_join_requests(&other, 1).unwrap();

    let out = decide(
        &c,
        &emu,
        Action::Approve,
        &g,
        &[&ids[0]],
        BodyEncoding::Json,
    )
    .await;
    assert_eq!(out.succeeded.len(), 1);
    // Again, plus one never issued, one of another group, and a good one.
    let out = decide(
        &c,
        &emu,
        Action::Approve,
        &g,
        &[&ids[0], "bm9wZQ==", &foreign[0], &ids[1]],
        BodyEncoding::Json,
    )
    .await;
    assert_eq!(
        out.succeeded.iter().map(|i| i.as_str()).collect::<Vec<_>>(),
        [ids[1].as_str()]
    );
    assert_eq!(out.failed.len(), 3);
    assert!(out.failed.iter().all(|f| f.errors[0].code == 131_213));
    // Rejecting an approved one fails the same way.
    let out = decide(&c, &emu, Action::Reject, &g, &[&ids[1]], BodyEncoding::Json).await;
    assert_eq!(out.failed[0].errors[0].code, 131_213);
    // The same ID twice in one call: the second is already handled.
    let more = emu.controller().add_join_requests(&g, 1).unwrap();
    let out = decide(
        &c,
        &emu,
        Action::Reject,
        &g,
        &[&more[0], &more[0]],
        BodyEncoding::Json,
    )
    .await;
    assert_eq!((out.succeeded.len(), out.failed.len()), (1, 1));
    assert_eq!(emu.controller().stats().failed_items, 5);
}

#[tokio::test]
async fn participant_cap_gives_131204_per_item() {
    let emu = Emulator::start().await.unwrap();
    let c = client();
    let g = emu
        .controller()
        .create_group(GroupOptions::default())
        .unwrap();
    assert!(
        emu.controller().participants(&g).unwrap().is_empty(),
        "a new group has only the (implicit) business"
    );
    let ids = emu.controller().add_join_requests(&g, 10).unwrap();
    let refs: Vec<&str> = ids.iter().map(String::as_str).collect();
    let out = decide(&c, &emu, Action::Approve, &g, &refs, BodyEncoding::Json).await;
    assert_eq!(out.succeeded.len(), 8);
    assert_eq!(out.failed.len(), 2);
    assert!(out.failed.iter().all(|f| f.errors[0].code == 131_204));
    assert_eq!(emu.controller().participants(&g).unwrap().len(), 8);
    // The two that did not fit stay pending.
    assert_eq!(emu.controller().pending_join_requests(&g).unwrap().len(), 2);

    // A configurable cap.
    let small = emu
        .controller()
        .create_group(GroupOptions::new().participant_cap(1))
        .unwrap();
    let ids = emu.controller().add_join_requests(&small, 2).unwrap();
    let out = decide(
        &c,
        &emu,
        Action::Approve,
        &small,
        &[&ids[0], &ids[1]],
        BodyEncoding::Json,
    )
    .await;
    assert_eq!(
        (out.succeeded.len(), out.failed[0].errors[0].code),
        (1, 131_204)
    );
}

#[tokio::test]
async fn unknown_group_is_131041() {
    let emu = Emulator::start().await.unwrap();
    let c = client();
    let op = ListJoinRequests::new(gid("Y2FwaV9ncm91cDpub3Bl"), ListQuery::default()).unwrap();
    let a = send(&c, endpoint(&emu).request(&op)).await;
    assert_eq!(a.status, StatusCode::BAD_REQUEST);
    assert_eq!(a.code(), 131_041);
    assert!(a.json()["error"]["fbtrace_id"].is_string());
    let op = DecideJoinRequests::new(
        Action::Approve,
        gid("nope"),
        JoinRequestIds::new(["x"]).unwrap(),
    );
    let a = send(&c, endpoint(&emu).request(&op)).await;
    assert_eq!((a.status.as_u16(), a.code()), (400, 131_041));
    assert_eq!(emu.controller().stats().unknown_group, 2);
}

#[tokio::test]
async fn missing_or_wrong_token_is_190_with_401() {
    let emu = Emulator::builder()
        .access_token("sekret")
        .start()
        .await
        .unwrap();
    let c = client();
    let g = emu
        .controller()
        .create_group(GroupOptions::default())
        .unwrap();
    let url = format!("{}/v23.0/{g}/join_requests", emu.base_url());
    for auth in [None, Some("Bearer wrong"), Some("Basic sekret")] {
        let mut b = http::Request::get(&url);
        if let Some(a) = auth {
            b = b.header("authorization", a);
        }
        let a = send(&c, b.body(bytes::Bytes::new()).unwrap()).await;
        assert_eq!(a.status, StatusCode::UNAUTHORIZED, "{auth:?}");
        assert_eq!(a.code(), 190);
        assert_eq!(a.json()["error"]["type"], "OAuthException");
        assert!(a.headers.contains_key("www-authenticate"));
    }
    // The query parameter works too, as on Graph.
    let a = send(
        &c,
        http::Request::get(format!("{url}?access_token=sekret"))
            .body(bytes::Bytes::new())
            .unwrap(),
    )
    .await;
    assert_eq!(a.status, StatusCode::OK);
    assert_eq!(emu.controller().stats().auth_failures, 3);
}

#[tokio::test]
async fn unknown_path_and_bad_body_are_code_100() {
    let emu = Emulator::start().await.unwrap();
    let c = client();
    let g = emu
        .controller()
        .create_group(GroupOptions::default())
        .unwrap();
    let cases = [
        (Method::GET, "/v23.0/a/b/c".to_owned(), None),
        (Method::PUT, format!("/v23.0/{g}/join_requests"), Some("{}")),
        (
            Method::POST,
            format!("/v23.0/{g}/join_requests"),
            Some("not json"),
        ),
        (
            Method::POST,
            format!("/v23.0/{g}/join_requests"),
            Some(r#"{"messaging_product":"whatsapp"}"#),
        ),
        (
            Method::POST,
            format!("/v23.0/{g}/join_requests"),
            Some(r#"{"messaging_product":"whatsapp","join_requests":[]}"#),
        ),
        (
            Method::POST,
            format!("/v23.0/{g}/join_requests"),
            Some(r#"{"messaging_product":"sms","join_requests":["a"]}"#),
        ),
        (
            Method::GET,
            format!("/v23.0/{g}/join_requests?limit=0"),
            None,
        ),
        (
            Method::GET,
            format!("/v23.0/{g}/join_requests?limit=1001"),
            None,
        ),
        (
            Method::GET,
            format!("/v23.0/{g}/join_requests?after=garbage"),
            None,
        ),
        (Method::GET, format!("/v23.0/{g}?fields=nonsense"), None),
        (Method::GET, format!("/vX/{g}/join_requests"), None),
    ];
    for (m, p, body) in cases {
        let a = send(&c, graph(&emu, m.clone(), &p, body)).await;
        assert_eq!(
            (a.status, a.code()),
            (StatusCode::BAD_REQUEST, 100),
            "{m} {p} {body:?}"
        );
    }
    assert_eq!(
        emu.controller().stats().endpoints.invalid,
        10,
        "the cursor error is counted as a list call"
    );
}

#[tokio::test]
async fn paging_collects_every_id_exactly_once_both_ways() {
    let emu = Emulator::builder().page_size(7).start().await.unwrap();
    let c = client();
    let g = emu
        .controller()
        .create_group(GroupOptions::default())
        .unwrap();
    let mut ids = emu.controller().add_join_requests(&g, 30).unwrap();
    ids.extend(
        emu.controller()
            .add_business_scoped_join_requests(&g, 20)
            .unwrap(),
    );

    // Forward with the default page size (7): 8 pages.
    let mut seen = Vec::new();
    let mut after: Option<Cursor> = None;
    let mut pages = 0;
    let last_body = loop {
        let op = ListJoinRequests::new(
            gid(&g),
            ListQuery {
                after: after.clone(),
                ..ListQuery::default()
            },
        )
        .unwrap();
        let a = send(&c, endpoint(&emu).request(&op)).await;
        assert_eq!(a.status, StatusCode::OK);
        let raw: ListResponse = serde_json::from_slice(&a.body).unwrap();
        let paging = raw.paging.clone().unwrap();
        assert_eq!(
            paging.previous.is_some(),
            pages > 0,
            "previous only when not at the start"
        );
        if let Some(next) = &paging.next {
            assert!(
                next.starts_with(&format!("{}/v23.0/{g}/join_requests?", emu.base_url())),
                "{next}"
            );
            assert!(!next.contains(emu.access_token()));
        }
        let page = endpoint(&emu)
            .parse_response(&op, a.status, &a.headers, &a.body)
            .unwrap();
        seen.extend(page.data.iter().map(|r| r.join_request_id.to_string()));
        pages += 1;
        match page.after {
            Some(c) => after = Some(c),
            None => break raw,
        }
    };
    assert_eq!(pages, 8);
    assert_eq!(seen, ids, "every ID once, in order");
    assert_eq!(seen.iter().collect::<HashSet<_>>().len(), 50);
    // The last page still carries cursors, but no next.
    let last = last_body.paging.unwrap();
    assert!(last.next.is_none() && last.cursors.unwrap().after.is_some());

    // Backward from the end with limit 20.
    let mut back = Vec::new();
    let mut before =
        Some(Cursor::new(last.previous.unwrap().split("before=").nth(1).unwrap()).unwrap());
    // Start from the last page's first item: everything before it.
    back.extend(seen[49..].iter().cloned());
    // (the last page holds just the 50th ID, page size 7 → 7*7=49 before it)
    while let Some(b) = before.take() {
        let op = ListJoinRequests::new(
            gid(&g),
            ListQuery {
                before: Some(b),
                limit: Some(20),
                ..ListQuery::default()
            },
        )
        .unwrap();
        let a = send(&c, endpoint(&emu).request(&op)).await;
        let page = endpoint(&emu)
            .parse_response(&op, a.status, &a.headers, &a.body)
            .unwrap();
        let mut chunk: Vec<String> = page
            .data
            .iter()
            .map(|r| r.join_request_id.to_string())
            .collect();
        chunk.extend(back);
        back = chunk;
        before = page.before;
    }
    assert_eq!(back, ids);

    // Business-scoped requests carry user_id and username, no wa_id.
    let pending = emu.controller().pending_join_requests(&g).unwrap();
    let bs = &pending[30];
    assert!(bs.wa_id.is_none() && bs.user_id.is_some() && bs.username.is_some());

    // limit up to 1000 is honoured.
    let op = ListJoinRequests::new(
        gid(&g),
        ListQuery {
            limit: Some(1000),
            ..ListQuery::default()
        },
    )
    .unwrap();
    let a = send(&c, endpoint(&emu).request(&op)).await;
    let page = endpoint(&emu)
        .parse_response(&op, a.status, &a.headers, &a.body)
        .unwrap();
    assert_eq!((page.data.len(), page.after, page.before), (50, None, None));
}

#[tokio::test]
async fn stale_cursors_are_131059() {
    let emu = Emulator::builder()
        .cursor_ttl(Duration::from_secs(60))
        .start()
        .await
        .unwrap();
    let c = client();
    let g = emu
        .controller()
        .create_group(GroupOptions::default())
        .unwrap();
    let ids = emu.controller().add_join_requests(&g, 5).unwrap();
    let first = |limit| {
        ListJoinRequests::new(
            gid(&g),
            ListQuery {
                limit: Some(limit),
                ..ListQuery::default()
            },
        )
        .unwrap()
    };
    let op = first(2);
    let a = send(&c, endpoint(&emu).request(&op)).await;
    let page = endpoint(&emu)
        .parse_response(&op, a.status, &a.headers, &a.body)
        .unwrap();
    let after = page.after.unwrap();
    let next = |after: Cursor| {
        ListJoinRequests::new(
            gid(&g),
            ListQuery {
                after: Some(after),
                ..ListQuery::default()
            },
        )
        .unwrap()
    };

    // New join requests do not invalidate it.
    emu.controller().add_join_requests(&g, 1).unwrap();
    let a = send(&c, endpoint(&emu).request(&next(after.clone()))).await;
    assert_eq!(a.status, StatusCode::OK);

    // Approving the item it points at does.
    let op = DecideJoinRequests::new(
        Action::Approve,
        gid(&g),
        JoinRequestIds::new([&ids[1]]).unwrap(),
    );
    send(&c, endpoint(&emu).request(&op)).await;
    let a = send(&c, endpoint(&emu).request(&next(after))).await;
    assert_eq!((a.status, a.code()), (StatusCode::BAD_REQUEST, 131_059));

    // Age does too.
    let op = first(1);
    let a = send(&c, endpoint(&emu).request(&op)).await;
    let after = endpoint(&emu)
        .parse_response(&op, a.status, &a.headers, &a.body)
        .unwrap()
        .after
        .unwrap();
    emu.controller()
        .advance_clock(Duration::from_secs(61))
        .unwrap();
    let a = send(&c, endpoint(&emu).request(&next(after))).await;
    assert_eq!(a.code(), 131_059);

    // A cursor of another group is not a stale one: it is a bad parameter.
    let other = emu
        .controller()
        .create_group(GroupOptions::default())
        .unwrap();
    emu.controller().add_join_requests(&other, 3).unwrap();
    let op = ListJoinRequests::new(
        gid(&other),
        ListQuery {
            limit: Some(1),
            ..ListQuery::default()
        },
    )
    .unwrap();
    let a = send(&c, endpoint(&emu).request(&op)).await;
    let foreign = endpoint(&emu)
        .parse_response(&op, a.status, &a.headers, &a.body)
        .unwrap()
        .after
        .unwrap();
    let a = send(&c, endpoint(&emu).request(&next(foreign))).await;
    assert_eq!(a.code(), 100);
}

#[tokio::test]
async fn empty_group_lists_no_paging() {
    let emu = Emulator::start().await.unwrap();
    let g = emu
        .controller()
        .create_group(GroupOptions::default())
        .unwrap();
    let a = send(
        &client(),
        graph(
            &emu,
            Method::GET,
            &format!("/v23.0/{g}/join_requests"),
            None,
        ),
    )
    .await;
    assert_eq!(a.json(), serde_json::json!({"data": []}));
}

#[tokio::test]
async fn group_info_reports_the_fields_asked_for() {
    let emu = Emulator::builder()
        .fixed_clock(1_700_000_000)
        .start()
        .await
        .unwrap();
    let c = client();
    let g = emu
        .controller()
        .create_group(
            GroupOptions::new()
                .subject("Book club")
                .join_approval_mode(JoinApprovalMode::AutoApprove),
        )
        .unwrap();
    emu.controller().add_participants(&g, 2).unwrap();
    let op = GetGroupInfo::new(
        gid(&g),
        [
            "subject",
            "join_approval_mode",
            "participants",
            "total_participant_count",
            "creation_timestamp",
        ],
    )
    .unwrap();
    let a = send(&c, endpoint(&emu).request(&op)).await;
    let info: GroupInfo = endpoint(&emu)
        .parse_response(&op, a.status, &a.headers, &a.body)
        .unwrap();
    assert_eq!(info.id.as_deref(), Some(g.as_str()));
    assert_eq!(info.subject.as_deref(), Some("Book club"));
    assert_eq!(info.join_approval_mode.as_deref(), Some("auto_approve"));
    assert_eq!(
        info.total_participant_count,
        Some(2),
        "the business is not counted"
    );
    assert_eq!(info.participants.unwrap().len(), 2);
    assert_eq!(info.creation_timestamp, Some(1_700_000_000));
    assert!(info.description.is_none());
    // No fields: only the ID.
    let a = send(&c, graph(&emu, Method::GET, &format!("/v23.0/{g}"), None)).await;
    assert_eq!(a.json(), serde_json::json!({"id": g}));
    assert_eq!(emu.controller().stats().endpoints.group_info, 2);
}

#[tokio::test]
async fn http2_is_served() {
    let emu = Emulator::start().await.unwrap();
    let g = emu
        .controller()
        .create_group(GroupOptions::default())
        .unwrap();
    emu.controller().add_join_requests(&g, 3).unwrap();
    let c = h2_client();
    let op = ListJoinRequests::new(gid(&g), ListQuery::default()).unwrap();
    let a = send(&c, endpoint(&emu).request(&op)).await;
    assert_eq!(a.status, StatusCode::OK);
    let page = endpoint(&emu)
        .parse_response(&op, a.status, &a.headers, &a.body)
        .unwrap();
    assert_eq!(page.data.len(), 3);
}

#[tokio::test]
async fn ids_look_real_and_validate() {
    let emu = Emulator::start().await.unwrap();
    let g = emu
        .controller()
        .create_group(GroupOptions::default())
        .unwrap();
    assert!(g.starts_with("Y2FwaV9ncm91cDo"), "{g}");
    GroupId::new(&g).unwrap();
    for id in emu.controller().add_join_requests(&g, 3).unwrap() {
        wa_groups_protocol::JoinRequestId::new(&id).unwrap();
        assert!(id.starts_with("MTY0"), "{id}");
    }
    // A fixed ID is honoured, a taken or invalid one refused.
    let fixed = emu
        .controller()
        .create_group(GroupOptions::new().group_id("my-group"))
        .unwrap();
    assert_eq!(fixed, "my-group");
    assert!(
        emu.controller()
            .create_group(GroupOptions::new().group_id("my-group"))
            .is_err()
    );
    assert!(
        emu.controller()
            .create_group(GroupOptions::new().group_id("a/b"))
            .is_err()
    );
}

#[tokio::test]
async fn graceful_shutdown_and_drop_stop_the_server() {
    let emu = Emulator::start().await.unwrap();
    let addr = emu.local_addr();
    emu.shutdown().await;
    assert!(tokio::net::TcpStream::connect(addr).await.is_err());

    let emu = Emulator::start().await.unwrap();
    let addr = emu.local_addr();
    drop(emu);
    let mut refused = false;
    for _ in 0..50 {
        if tokio::net::TcpStream::connect(addr).await.is_err() {
            refused = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(refused);
}

#[test]
fn start_on_a_runtime_the_caller_owns() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    // Not inside the runtime: start_on works, start does not.
    let emu = wa_groups_emulator::Emulator::builder()
        .start_on(rt.handle())
        .unwrap();
    let g = emu
        .controller()
        .create_group(GroupOptions::default())
        .unwrap();
    emu.controller().add_join_requests(&g, 2).unwrap();
    let base = emu.base_url().to_owned();
    let token = emu.access_token().to_owned();
    let body = rt.block_on(async move {
        let c = client();
        let a = send(
            &c,
            http::Request::get(format!("{base}/v23.0/{g}/join_requests"))
                .header("authorization", format!("Bearer {token}"))
                .body(bytes::Bytes::new())
                .unwrap(),
        )
        .await;
        a.json()
    });
    assert_eq!(body["data"].as_array().unwrap().len(), 2);
    rt.block_on(emu.shutdown());
    let err = futures_executor_block_on_start();
    assert!(matches!(err, Err(wa_groups_emulator::Error::NoRuntime)));
}

/// `start` outside any runtime: polled by hand, it fails at once.
fn futures_executor_block_on_start() -> Result<(), wa_groups_emulator::Error> {
    use std::future::Future;
    use std::pin::pin;
    use std::task::{Context, Poll, Waker};
    let mut fut = pin!(Emulator::builder().start());
    match fut.as_mut().poll(&mut Context::from_waker(Waker::noop())) {
        Poll::Ready(r) => r.map(|_| ()),
        Poll::Pending => panic!("start should not wait"),
    }
}
