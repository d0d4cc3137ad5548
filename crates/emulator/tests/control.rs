//! The `/_emulator/` control API over HTTP, and seeds.

mod common;

use common::{client, control, send};
use http::{Method, StatusCode};
use serde_json::json;
use wa_groups_emulator::{Emulator, Seed};

#[tokio::test]
async fn every_control_endpoint() {
    let emu = Emulator::builder()
        .fixed_clock(1_000)
        .start()
        .await
        .unwrap();
    let c = client();
    let call = |m: Method, p: &str, b: Option<serde_json::Value>| control(&emu, m, p, b);

    let a = send(&c, call(Method::GET, "/_emulator", None)).await;
    assert_eq!(a.json()["base_url"], emu.base_url());
    // Issue 15: the discovery document points at the README, which exists.
    assert_eq!(a.json()["docs"], wa_groups_emulator::DOCS);
    let readme = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .join(wa_groups_emulator::DOCS);
    let text = std::fs::read_to_string(&readme).unwrap();
    for part in [
        "/_emulator/faults",
        "`webhook`",
        "RequesterPool",
        "--seed",
        "curl",
    ] {
        assert!(
            text.contains(part),
            "{part} missing from {}",
            readme.display()
        );
    }
    assert_eq!(
        send(&c, call(Method::GET, "/_emulator/health", None))
            .await
            .json()["status"],
        "ok"
    );

    // Groups.
    let a = send(&c, call(Method::POST, "/_emulator/groups", Some(json!({"subject": "Club", "participant_cap": 2, "join_approval_mode": "auto_approve"})))).await;
    assert_eq!(a.status, StatusCode::CREATED);
    let g = a.json()["group_id"].as_str().unwrap().to_owned();
    let empty = send(&c, call(Method::POST, "/_emulator/groups", None))
        .await
        .json()["group_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let a = send(&c, call(Method::GET, "/_emulator/groups", None)).await;
    assert_eq!(a.json()["data"].as_array().unwrap().len(), 2);
    let a = send(
        &c,
        call(Method::GET, &format!("/_emulator/groups/{g}"), None),
    )
    .await;
    assert_eq!(a.json()["subject"], "Club");
    assert_eq!(a.json()["participant_cap"], 2);
    assert_eq!(a.json()["join_approval_mode"], "auto_approve");
    assert_eq!(a.json()["creation_timestamp"], 1_000);

    // Join requests.
    let a = send(
        &c,
        call(
            Method::POST,
            &format!("/_emulator/groups/{g}/join_requests"),
            Some(json!({"count": 3})),
        ),
    )
    .await;
    assert_eq!(a.status, StatusCode::CREATED);
    let ids: Vec<String> = serde_json::from_value(a.json()["join_request_ids"].clone()).unwrap();
    let a = send(
        &c,
        call(
            Method::POST,
            &format!("/_emulator/groups/{g}/join_requests"),
            Some(json!({"count": 1, "business_scoped": true})),
        ),
    )
    .await;
    let bs = a.json()["join_request_ids"][0].as_str().unwrap().to_owned();
    let a = send(
        &c,
        call(
            Method::GET,
            &format!("/_emulator/groups/{g}/join_requests"),
            None,
        ),
    )
    .await;
    let data = a.json()["data"].as_array().unwrap().clone();
    assert_eq!(data.len(), 4);
    assert_eq!(data[3]["join_request_id"], bs.as_str());
    assert!(data[3]["user_id"].is_string() && data[3].get("wa_id").is_none());

    // Revoke (the ID percent-encoded, as a client with `=` or `/` would send it).
    let encoded = ids[0].replace('=', "%3D");
    let a = send(
        &c,
        call(
            Method::POST,
            &format!("/_emulator/groups/{g}/join_requests/{encoded}/revoke"),
            None,
        ),
    )
    .await;
    assert_eq!(a.status, StatusCode::OK, "{:?}", a.body);
    let a = send(
        &c,
        call(
            Method::POST,
            &format!("/_emulator/groups/{g}/join_requests/{}/revoke", ids[0]),
            None,
        ),
    )
    .await;
    assert_eq!((a.status, a.code()), (StatusCode::NOT_FOUND, 131_213));
    assert_eq!(emu.controller().pending_join_requests(&g).unwrap().len(), 3);

    // Participants.
    let a = send(
        &c,
        call(
            Method::GET,
            &format!("/_emulator/groups/{empty}/participants"),
            None,
        ),
    )
    .await;
    assert_eq!(a.json()["data"], json!([]));
    let a = send(
        &c,
        call(
            Method::POST,
            &format!("/_emulator/groups/{g}/participants"),
            Some(json!({"count": 2})),
        ),
    )
    .await;
    assert_eq!(a.status, StatusCode::CREATED);
    let a = send(
        &c,
        call(
            Method::GET,
            &format!("/_emulator/groups/{g}/participants"),
            None,
        ),
    )
    .await;
    assert_eq!(a.json()["data"].as_array().unwrap().len(), 2);
    let a = send(
        &c,
        call(
            Method::POST,
            &format!("/_emulator/groups/{g}/participants"),
            Some(json!({"count": 1})),
        ),
    )
    .await;
    assert_eq!(a.code(), 100, "over the cap");

    // Rate limit.
    let a = send(
        &c,
        call(
            Method::PUT,
            "/_emulator/rate_limit",
            Some(json!({"per_second": 3, "scope": "phone"})),
        ),
    )
    .await;
    assert_eq!(a.json()["rate_limit"]["scope"], "phone");
    assert_eq!(
        send(&c, call(Method::GET, "/_emulator/rate_limit", None))
            .await
            .json()["rate_limit"]["per_second"],
        3.0
    );
    assert_eq!(
        send(
            &c,
            call(
                Method::PUT,
                "/_emulator/rate_limit",
                Some(json!({"per_second": -1}))
            )
        )
        .await
        .code(),
        100
    );
    send(&c, call(Method::DELETE, "/_emulator/rate_limit", None)).await;
    assert!(emu.controller().rate_limit().is_none());

    // Webhook.
    let a = send(
        &c,
        call(
            Method::PUT,
            "/_emulator/webhook",
            Some(json!({"url": "http://127.0.0.1:9/hook", "app_secret": "s"})),
        ),
    )
    .await;
    assert_eq!(a.status, StatusCode::OK);
    let a = send(
        &c,
        call(
            Method::PUT,
            "/_emulator/webhook",
            Some(json!({"url": "http://example.com/hook", "app_secret": "s"})),
        ),
    )
    .await;
    assert_eq!(a.code(), 100, "loopback only");
    assert_eq!(
        send(&c, call(Method::DELETE, "/_emulator/webhook", None))
            .await
            .status,
        StatusCode::OK
    );

    // Clock.
    assert_eq!(
        send(&c, call(Method::GET, "/_emulator/clock", None))
            .await
            .json()["now"],
        1_000
    );
    let a = send(
        &c,
        call(
            Method::POST,
            "/_emulator/clock",
            Some(json!({"advance_seconds": 60})),
        ),
    )
    .await;
    assert_eq!(a.json()["now"], 1_060);

    // Seed.
    let a = send(
        &c,
        call(
            Method::POST,
            "/_emulator/seed",
            Some(json!({"groups": [{"subject": "S", "join_requests": 2, "count": 3}]})),
        ),
    )
    .await;
    assert_eq!(a.status, StatusCode::CREATED);
    assert_eq!(a.json()["groups"].as_array().unwrap().len(), 3);
    assert_eq!(
        a.json()["groups"][2]["join_request_ids"]
            .as_array()
            .unwrap()
            .len(),
        2
    );

    // Stats, then reset.
    let a = send(&c, call(Method::GET, "/_emulator/stats", None)).await;
    assert!(a.json()["endpoints"]["control"].as_u64().unwrap() > 20);
    assert_eq!(
        a.json()["requests"],
        0,
        "control calls are not Graph requests"
    );
    let a = send(&c, call(Method::DELETE, "/_emulator/stats", None)).await;
    assert_eq!(a.json()["endpoints"]["control"], 0);

    // Errors: unknown group, unknown endpoint, bad JSON.
    let a = send(
        &c,
        call(Method::GET, "/_emulator/groups/nope/join_requests", None),
    )
    .await;
    assert_eq!((a.status, a.code()), (StatusCode::NOT_FOUND, 131_041));
    let a = send(&c, call(Method::GET, "/_emulator/nothing", None)).await;
    assert_eq!((a.status, a.code()), (StatusCode::NOT_FOUND, 100));
    let a = send(
        &c,
        call(
            Method::POST,
            "/_emulator/groups",
            Some(json!({"subjekt": "typo"})),
        ),
    )
    .await;
    assert_eq!((a.status, a.code()), (StatusCode::BAD_REQUEST, 100));
}

#[tokio::test]
async fn admin_token_guards_the_control_api() {
    let emu = Emulator::builder()
        .admin_token("admin")
        .start()
        .await
        .unwrap();
    let c = client();
    let a = send(&c, control(&emu, Method::GET, "/_emulator/stats", None)).await;
    assert_eq!((a.status, a.code()), (StatusCode::UNAUTHORIZED, 190));
    let mut req = control(&emu, Method::GET, "/_emulator/stats", None);
    req.headers_mut()
        .insert("authorization", "Bearer admin".parse().unwrap());
    assert_eq!(send(&c, req).await.status, StatusCode::OK);
}

#[tokio::test]
async fn seeds_parse_apply_and_refuse_typos() {
    let seed = Seed::from_json(
        br#"{"groups": [
            {"group_id": "fixed-1", "subject": "Fixed", "participant_cap": 3, "participants": 2,
             "join_requests": 2, "business_scoped_join_requests": 1},
            {"count": 4, "join_requests": 1}
        ]}"#,
    )
    .unwrap();
    let emu = Emulator::start().await.unwrap();
    let groups = emu.controller().apply_seed(&seed).unwrap();
    assert_eq!(groups.len(), 5);
    assert_eq!(groups[0].group_id, "fixed-1");
    assert_eq!(groups[0].join_request_ids.len(), 3);
    assert_eq!(emu.controller().participants("fixed-1").unwrap().len(), 2);
    assert_eq!(emu.controller().groups().len(), 5);
    // Round trip.
    assert_eq!(Seed::from_json(&seed.to_json()).unwrap(), seed);
    // Typos and contradictions are errors.
    assert!(Seed::from_json(br#"{"groups": [{"join_request": 1}]}"#).is_err());
    assert!(Seed::from_json(br#"{"groups": [{"group_id": "x", "count": 2}]}"#).is_err());
    // Applying it again collides on the fixed ID.
    assert!(emu.controller().apply_seed(&seed).is_err());
}
