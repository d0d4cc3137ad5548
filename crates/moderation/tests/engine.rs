//! The moderation engine end to end: the real emulator on 127.0.0.1, a
//! real store, the moderator on a real socket. Every case runs on SQLite
//! and on PostgreSQL (`sqlite::NAME`, `postgres::NAME`; the PostgreSQL ones
//! are skipped when `WA_GROUPS_TEST_POSTGRES` is unset).

#[macro_use]
mod support;

use std::time::Duration;

use bytes::Bytes;
use http::Method;
use wa_groups::protocol::{
    DecisionOutcome, ErrorDetail, FailedJoinRequest, JoinRequestId, REDACTED,
};
use wa_groups_emulator::{Emulator, Fault, FaultMatch, GroupOptions, Requester as EmuRequester};
use wa_groups_moderation::{
    DECIDER_PANICKED_RULE, DECIDER_TIMEOUT_RULE, Decision, ModerationRequest, PassMark, Policy,
    State, Store, ledger,
};

use support::*;

on_both_stores!(
    handshake_signature_and_body_cap,
    policy_outcomes_by_wa_id_prefix_username_and_default,
    repeated_deliveries_make_one_record_and_one_call,
    revokes_before_the_decision_and_before_the_create,
    reconciliation_finds_lost_deliveries_across_pages_and_marks_gone,
    group_full_is_held_then_applied_when_there_is_room,
    dry_run_decides_and_records_but_sends_nothing,
    ask_rules_post_the_request_and_fall_back_on_error,
    shutdown_finishes_in_flight_calls,
    transient_failures_back_off_the_record_then_apply,
    a_panicking_or_hanging_decider_holds_its_request_and_the_decider_goes_on,
    a_slow_decide_holds_up_only_its_own_request,
    a_restart_resumes_a_cut_pass_and_the_next_pass_finds_what_it_skipped,
    a_restart_after_a_finished_pass_lists_every_group,
    a_restart_after_a_pass_cut_long_ago_lists_every_group,
    a_replica_resumes_the_pass_another_replica_died_in,
    a_replica_skips_a_pass_another_replica_just_finished,
);

async fn handshake_signature_and_body_cap(db: Db) {
    let env = Env::start(db).await;
    let m = env
        .builder()
        .await
        .decide(|_req| async { Decision::Approve })
        .build()
        .unwrap();
    let served = Served::start(m.clone()).await;
    let url = served.webhook_url();

    let ok = format!(
        "{url}?hub.mode=subscribe&hub.verify_token={VERIFY_TOKEN}&hub.challenge=1158201444"
    );
    assert_eq!(
        http(Method::GET, &ok, &[], "").await,
        (200, Bytes::from("1158201444"))
    );
    let wrong = format!("{url}?hub.mode=subscribe&hub.verify_token=nope&hub.challenge=1");
    assert_eq!(http(Method::GET, &wrong, &[], "").await.0, 403);
    let no_mode = format!("{url}?hub.verify_token={VERIFY_TOKEN}&hub.challenge=1");
    assert_eq!(http(Method::GET, &no_mode, &[], "").await.0, 403);

    let body = payload("G1", vec![created("JR1", "15550001")]);
    // Missing, wrong-secret and malformed signatures: 401, nothing stored.
    assert_eq!(http(Method::POST, &url, &[], body.clone()).await.0, 401);
    assert_eq!(deliver(&url, &body, "another-secret").await, 401);
    let bad = [("x-hub-signature-256", "sha256=zz".to_owned())];
    assert_eq!(http(Method::POST, &url, &bad, body.clone()).await.0, 401);
    // A body over 1 MiB: 413, even when signed.
    let big = Bytes::from(vec![b' '; (1 << 20) + 1]);
    assert_eq!(deliver(&url, &big, APP_SECRET).await, 413);
    let status = m.status().await.unwrap();
    assert_eq!(status.requests.len(), 0);

    // A delivery with no join request events still gets 200.
    let other = payload(
        "G1",
        vec![wa_groups::protocol::webhook::GroupEventKind::GroupDeleted],
    );
    assert_eq!(deliver(&url, &other, APP_SECRET).await, 200);
    assert_eq!(m.status().await.unwrap().requests.len(), 0);

    let (code, text) = http(
        Method::GET,
        &format!("http://{}/healthz", served.addr),
        &[],
        "",
    )
    .await;
    assert_eq!((code, text), (200, Bytes::from("ok\n")));
    let (code, text) = http(
        Method::GET,
        &format!("http://{}/metrics", served.addr),
        &[],
        "",
    )
    .await;
    let text = String::from_utf8(text.to_vec()).unwrap();
    assert_eq!(code, 200);
    assert!(
        text.contains("wa_groups_moderation_deliveries_total{status=\"401\"} 3"),
        "{text}"
    );
    assert!(
        text.contains("wa_groups_moderation_records{state=\"pending\"} 0"),
        "{text}"
    );
    served.stop().await;
}

async fn policy_outcomes_by_wa_id_prefix_username_and_default(db: Db) {
    let env = Env::start(db).await;
    write(
        &env.path("customers.txt"),
        "# customers\n15550000001\nuser_vip\n",
    );
    let policy_path = env.path("policy.toml");
    write(
        &policy_path,
        r#"default = "hold"

[[rules]]
name = "customers"
action = "approve"
requester_in = "customers.txt"

[[rules]]
name = "blocked-prefixes"
action = "reject"
wa_id_prefix = ["7", "86"]
"#,
    );
    let m = env
        .builder()
        .await
        .policy(Policy::from_file(&policy_path).unwrap())
        .build()
        .unwrap();
    let served = Served::start(m.clone()).await;
    env.emu
        .set_webhook(&served.webhook_url(), APP_SECRET)
        .unwrap();
    let group = env.emu.create_group(GroupOptions::default()).unwrap();
    let business = |user: &str, name: &str| EmuRequester::BusinessScoped {
        user_id: user.into(),
        username: Some(name.into()),
        parent_user_id: None,
    };
    let ids = env
        .emu
        .add_join_requests_from(
            &group,
            [
                EmuRequester::WaId("15550000001".into()),
                EmuRequester::WaId("79990000001".into()),
                business("US.5", "user_vip"),
                business("US.6", "nobody"),
                EmuRequester::WaId("4400000001".into()),
            ],
        )
        .unwrap();
    let store = m.store();
    let want = [
        (State::Approved, "customers"),
        (State::Rejected, "blocked-prefixes"),
        (State::Approved, "customers"),
        (State::Held, "default"),
        (State::Held, "default"),
    ];
    for (id, (state, rule)) in ids.iter().zip(want) {
        let r = record_in(store, &group, id, state).await;
        assert_eq!(r.rule.as_deref(), Some(rule), "{id}");
    }
    // The list file changes: the next request is decided by the new list.
    std::thread::sleep(Duration::from_millis(20));
    write(
        &env.path("customers.txt"),
        "15550000001\nuser_vip\n4400000002\n",
    );
    let late = env
        .emu
        .add_join_requests_from(&group, [EmuRequester::WaId("4400000002".into())])
        .unwrap();
    let r = record_in(store, &group, &late[0], State::Approved).await;
    assert_eq!(r.rule.as_deref(), Some("customers"));
    let stats = env.emu.stats();
    assert_eq!(stats.join_requests_approved, 3);
    assert_eq!(stats.join_requests_rejected, 1);
    // Every transition has its audit row.
    let audit = store.audit(Some(&group)).await.unwrap();
    assert!(
        audit
            .iter()
            .any(|a| a.to == "held" && a.rule.as_deref() == Some("default"))
    );
    assert_eq!(audit.iter().filter(|a| a.to == "approved").count(), 3);
    served.stop().await;
}

async fn repeated_deliveries_make_one_record_and_one_call(db: Db) {
    let env = Env::start(db).await;
    let group = env.emu.create_group(GroupOptions::default()).unwrap();
    let ids = env.emu.add_join_requests(&group, 2).unwrap();
    let m = env
        .builder()
        .await
        .decide(|_req| async { Decision::Approve })
        .build()
        .unwrap();
    let served = Served::start(m.clone()).await;
    let body = payload(
        &group,
        vec![created(&ids[0], "15550001"), created(&ids[1], "15550002")],
    );
    for _ in 0..3 {
        assert_eq!(deliver(&served.webhook_url(), &body, APP_SECRET).await, 200);
    }
    for id in &ids {
        record_in(m.store(), &group, id, State::Approved).await;
    }
    // One more identical delivery after the approval changes nothing.
    assert_eq!(deliver(&served.webhook_url(), &body, APP_SECRET).await, 200);
    served.stop().await;
    let stats = env.emu.stats();
    assert_eq!(stats.join_requests_approved, 2);
    assert_eq!(stats.failed_items, 0, "an ID was sent twice");
    let status = m.status().await.unwrap();
    assert_eq!(status.requests.len(), 2);
    assert_eq!(status.total.get(State::Approved), 2);
}

async fn revokes_before_the_decision_and_before_the_create(db: Db) {
    let env = Env::start(db).await;
    let group = env.emu.create_group(GroupOptions::default()).unwrap();
    let ids = env.emu.add_join_requests(&group, 3).unwrap();
    // The deliveries carry the emulator's own requesters, as Meta's would:
    // the reconciler's listing may reach the ledger before or after them.
    let pending = env.emu.pending_join_requests(&group).unwrap();
    let wa_id = |i: usize| {
        pending[i]
            .wa_id
            .clone()
            .expect("the emulator's requester has a wa_id")
    };
    // The first two requesters withdraw before the moderator starts, as the
    // deliveries below say: otherwise the reconciler's first listing could
    // find them still pending and approve them before the revokes arrive.
    // No webhook is set, so the emulator sends nothing itself.
    env.emu.revoke_join_request(&group, &ids[0]).unwrap();
    env.emu.revoke_join_request(&group, &ids[1]).unwrap();
    let m = env
        .builder()
        .await
        .decide(|_req| async { Decision::Approve })
        .build()
        .unwrap();
    let served = Served::start(m.clone()).await;
    let url = served.webhook_url();
    // Created and revoked in one delivery: revoked before any decision.
    let both = payload(&group, vec![created(&ids[0], &wa_id(0)), revoked(&ids[0])]);
    assert_eq!(deliver(&url, &both, APP_SECRET).await, 200);
    // The revoke arrives first; the late create does not resurrect it.
    assert_eq!(
        deliver(&url, &payload(&group, vec![revoked(&ids[1])]), APP_SECRET).await,
        200
    );
    assert_eq!(
        deliver(
            &url,
            &payload(&group, vec![created(&ids[1], &wa_id(1))]),
            APP_SECRET
        )
        .await,
        200
    );
    // A third request goes through: the workers ran past the first two.
    assert_eq!(
        deliver(
            &url,
            &payload(&group, vec![created(&ids[2], &wa_id(2))]),
            APP_SECRET
        )
        .await,
        200
    );
    record_in(m.store(), &group, &ids[2], State::Approved).await;
    served.stop().await;
    for id in &ids[..2] {
        let r = m.store().get(&group, id).await.unwrap().unwrap();
        assert_eq!(r.state, State::Revoked, "{id}");
        assert_eq!(r.attempts, 0);
    }
    let tomb = m.store().get(&group, &ids[1]).await.unwrap().unwrap();
    assert_eq!(
        tomb.requester.wa_id,
        Some(wa_id(1)),
        "the tombstone learns who it was"
    );
    assert_eq!(env.emu.stats().join_requests_approved, 1);
    assert_eq!(env.emu.pending_join_requests(&group).unwrap().len(), 0);
}

async fn reconciliation_finds_lost_deliveries_across_pages_and_marks_gone(db: Db) {
    let env = Env::with(db, Emulator::builder().page_size(3)).await;
    // Room for all ten (the default cap is 8).
    let group = env
        .emu
        .create_group(GroupOptions::default().participant_cap(20))
        .unwrap();
    // No webhook is set: every delivery of these is lost.
    let ids = env.emu.add_join_requests(&group, 10).unwrap();
    let m = env
        .builder()
        .await
        .decide(|req: &ModerationRequest| {
            let hold = req.join_request_id == "bm90LWtub3duLWFueW1vcmU";
            async move {
                if hold {
                    Decision::Hold
                } else {
                    Decision::Approve
                }
            }
        })
        .groups([group.clone()])
        .reconcile_every(Duration::from_millis(200))
        .build()
        .unwrap();
    let served = Served::start(m.clone()).await;
    // A request the API no longer knows: absent from every later listing.
    let ghost = payload(&group, vec![created("bm90LWtub3duLWFueW1vcmU", "15559999")]);
    assert_eq!(
        deliver(&served.webhook_url(), &ghost, APP_SECRET).await,
        200
    );
    for id in &ids {
        record_in(m.store(), &group, id, State::Approved).await;
    }
    let gone = record_in(m.store(), &group, "bm90LWtub3duLWFueW1vcmU", State::Gone).await;
    assert_eq!(gone.reason.as_deref(), Some("absent_from_listing"));
    served.stop().await;
    let stats = env.emu.stats();
    assert_eq!(stats.join_requests_approved, 10);
    assert!(
        stats.endpoints.list >= 4,
        "10 requests in pages of 3: {stats:?}"
    );
    assert!(env.emu.pending_join_requests(&group).unwrap().is_empty());
}

async fn group_full_is_held_then_applied_when_there_is_room(db: Db) {
    let env = Env::start(db).await;
    let group = env.emu.create_group(GroupOptions::default()).unwrap();
    let ids = env.emu.add_join_requests(&group, 1).unwrap();
    // The first approve call answers 131204 for the ID, as a full group does.
    let mut full = DecisionOutcome::new(wa_groups::Action::Approve);
    full.failed.push(FailedJoinRequest::new(
        JoinRequestId::new(ids[0].as_str()).unwrap(),
        vec![ErrorDetail::new(
            131_204,
            Some("Group full"),
            "the group is full",
        )],
    ));
    env.emu
        .inject_fault(
            Fault::Response {
                status: 200,
                headers: Vec::new(),
                body: Bytes::from(full.to_json()),
            },
            FaultMatch::any()
                .method(Method::POST)
                .path_contains("/join_requests"),
        )
        .unwrap();
    let m = env
        .builder()
        .await
        .decide(|_req| async { Decision::Approve })
        .groups([group.clone()])
        .reconcile_every(Duration::from_millis(300))
        .build()
        .unwrap();
    let served = Served::start(m.clone()).await;
    let r = record_in(m.store(), &group, &ids[0], State::Approved).await;
    served.stop().await;
    assert_eq!(r.attempts, 2);
    let audit = m.store().audit(Some(&group)).await.unwrap();
    let trail: Vec<(&str, Option<&str>)> = audit
        .iter()
        .map(|a| (a.to.as_str(), a.reason.as_deref()))
        .collect();
    assert!(
        trail.contains(&("held", Some(ledger::GROUP_FULL))),
        "{trail:?}"
    );
    assert_eq!(trail.last(), Some(&("approved", None)));
    assert_eq!(env.emu.stats().join_requests_approved, 1);
}

async fn dry_run_decides_and_records_but_sends_nothing(db: Db) {
    let env = Env::start(db).await;
    let group = env.emu.create_group(GroupOptions::default()).unwrap();
    let ids = env.emu.add_join_requests(&group, 2).unwrap();
    let m = env
        .builder()
        .await
        .decide(|_: &ModerationRequest| async { Decision::Reject })
        .groups([group.clone()])
        .dry_run(true)
        .build()
        .unwrap();
    let served = Served::start(m.clone()).await;
    for id in &ids {
        record_in(m.store(), &group, id, State::Rejecting).await;
    }
    // Give the (absent) applier many batch windows to misbehave.
    tokio::time::sleep(Duration::from_millis(300)).await;
    served.stop().await;
    let stats = env.emu.stats();
    assert_eq!((stats.endpoints.approve, stats.endpoints.reject), (0, 0));
    assert_eq!(env.emu.pending_join_requests(&group).unwrap().len(), 2);
}

async fn ask_rules_post_the_request_and_fall_back_on_error(db: Db) {
    use http_body_util::{BodyExt as _, Full};
    // A decision hook: rejects requesters whose wa_id ends in 1, approves others.
    let hook = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let hook_addr = hook.local_addr().unwrap();
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = hook.accept().await else {
                return;
            };
            tokio::spawn(async move {
                let svc = hyper::service::service_fn(
                    |req: http::Request<hyper::body::Incoming>| async move {
                        let body = req.into_body().collect().await.unwrap().to_bytes();
                        let r: ModerationRequest = serde_json::from_slice(&body).unwrap();
                        let d = if r.wa_id.as_deref().is_some_and(|w| w.ends_with('1')) {
                            "reject"
                        } else {
                            "approve"
                        };
                        Ok::<_, std::convert::Infallible>(http::Response::new(Full::new(
                            Bytes::from(format!("{{\"decision\":\"{d}\"}}")),
                        )))
                    },
                );
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(hyper_util::rt::TokioIo::new(stream), svc)
                    .await;
            });
        }
    });
    // A port nobody listens on, for the fallback.
    let dead = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let env = Env::start(db).await;
    let g1 = env.emu.create_group(GroupOptions::default()).unwrap();
    let g2 = env.emu.create_group(GroupOptions::default()).unwrap();
    let policy = Policy::parse(
        &format!(
            r#"[[rules]]
name = "ask-crm"
action = "ask"
ask_url = "http://{hook_addr}/decide"
groups = ["{g1}"]

[[rules]]
name = "ask-dead"
action = "ask"
ask_url = "http://{dead}/decide"
ask_timeout_ms = 500
ask_on_error = "reject"
"#
        ),
        None,
    )
    .unwrap();
    let m = env.builder().await.policy(policy).build().unwrap();
    let served = Served::start(m.clone()).await;
    env.emu
        .set_webhook(&served.webhook_url(), APP_SECRET)
        .unwrap();
    let a = env
        .emu
        .add_join_requests_from(
            &g1,
            [
                EmuRequester::WaId("15550001".into()),
                EmuRequester::WaId("15550002".into()),
            ],
        )
        .unwrap();
    let b = env
        .emu
        .add_join_requests_from(&g2, [EmuRequester::WaId("15550003".into())])
        .unwrap();
    let r = record_in(m.store(), &g1, &a[0], State::Rejected).await;
    assert_eq!(r.rule.as_deref(), Some("ask-crm"));
    record_in(m.store(), &g1, &a[1], State::Approved).await;
    let r = record_in(m.store(), &g2, &b[0], State::Rejected).await;
    assert_eq!(r.rule.as_deref(), Some("ask-dead"));
    served.stop().await;
}

async fn shutdown_finishes_in_flight_calls(db: Db) {
    let env = Env::start(db).await;
    let group = env.emu.create_group(GroupOptions::default()).unwrap();
    let ids = env.emu.add_join_requests(&group, 1).unwrap();
    env.emu
        .inject_fault(
            Fault::Latency(Duration::from_millis(400)),
            FaultMatch::any()
                .method(Method::POST)
                .path_contains("/join_requests"),
        )
        .unwrap();
    let m = env
        .builder()
        .await
        .decide(|_req| async { Decision::Approve })
        .build()
        .unwrap();
    let served = Served::start(m.clone()).await;
    let body = payload(&group, vec![created(&ids[0], "15550001")]);
    assert_eq!(deliver(&served.webhook_url(), &body, APP_SECRET).await, 200);
    // Stop as soon as the call is on its way: its outcome is still recorded.
    let store = m.store().clone();
    support::eventually("the approve call to start", || async {
        store
            .get(&group, &ids[0])
            .await
            .unwrap()
            .filter(|r| r.attempts == 1)
    })
    .await;
    served.stop().await;
    let r = m.store().get(&group, &ids[0]).await.unwrap().unwrap();
    assert_eq!(r.state, State::Approved);
    assert_eq!(env.emu.stats().join_requests_approved, 1);
}

async fn transient_failures_back_off_the_record_then_apply(db: Db) {
    let env = Env::start(db).await;
    let group = env.emu.create_group(GroupOptions::default()).unwrap();
    let ids = env.emu.add_join_requests(&group, 1).unwrap();
    // Three 503s: the first call and both of the client's retries fail.
    env.emu
        .inject_fault(
            Fault::ServerError {
                status: 503,
                code: None,
                is_transient: true,
            },
            FaultMatch::any()
                .method(Method::POST)
                .path_contains("/join_requests")
                .times(3),
        )
        .unwrap();
    let m = env
        .builder()
        .await
        .decide(|_req| async { Decision::Approve })
        .build()
        .unwrap();
    let served = Served::start(m.clone()).await;
    let body = payload(&group, vec![created(&ids[0], "15550001")]);
    assert_eq!(deliver(&served.webhook_url(), &body, APP_SECRET).await, 200);
    let store = m.store().clone();
    // The record waits out its backoff instead of being sent again at once.
    let waiting = support::eventually("the backoff to be recorded", || async {
        store
            .get(&group, &ids[0])
            .await
            .unwrap()
            .filter(|r| r.not_before > 0 && r.state == State::Approving)
    })
    .await;
    assert_eq!(waiting.attempts, 1);
    assert!(waiting.reason.is_some());
    let r = record_in(m.store(), &group, &ids[0], State::Approved).await;
    served.stop().await;
    assert_eq!(r.attempts, 2);
    let stats = env.emu.stats();
    assert_eq!((stats.faults_applied, stats.join_requests_approved), (3, 1));
}

async fn a_slow_decide_holds_up_only_its_own_request(db: Db) {
    let env = Env::start(db).await;
    let group = env.emu.create_group(GroupOptions::default()).unwrap();
    let ids = env.emu.add_join_requests(&group, 3).unwrap();
    let slow = ids[0].clone();
    // The slow decide answers only when the test says so.
    let (answer, answered) = tokio::sync::watch::channel(false);
    let m = env
        .builder()
        .await
        .decide(move |req: &ModerationRequest| {
            let is_slow = req.join_request_id == slow;
            let mut answered = answered.clone();
            async move {
                if is_slow {
                    let _ = answered.wait_for(|a| *a).await;
                }
                Decision::Approve
            }
        })
        .decider_timeout(Duration::from_secs(120))
        .build()
        .unwrap();
    let served = Served::start(m.clone()).await;
    let body = payload(
        &group,
        vec![
            created(&ids[0], "15550001"),
            created(&ids[1], "15550002"),
            created(&ids[2], "15550003"),
        ],
    );
    assert_eq!(deliver(&served.webhook_url(), &body, APP_SECRET).await, 200);
    // The other two of the round are stored and applied while the slow one
    // is still deciding (they used to wait for the whole round).
    record_in(m.store(), &group, &ids[1], State::Approved).await;
    record_in(m.store(), &group, &ids[2], State::Approved).await;
    let waiting = m.store().get(&group, &ids[0]).await.unwrap().unwrap();
    assert_eq!(waiting.state, State::Pending);
    answer.send(true).unwrap();
    record_in(m.store(), &group, &ids[0], State::Approved).await;
    served.stop().await;
    assert_eq!(env.emu.stats().join_requests_approved, 3);
}

async fn a_panicking_or_hanging_decider_holds_its_request_and_the_decider_goes_on(db: Db) {
    let env = Env::start(db).await;
    let group = env.emu.create_group(GroupOptions::default()).unwrap();
    let ids = env.emu.add_join_requests(&group, 4).unwrap();
    let (panics, hangs) = (ids[0].clone(), ids[1].clone());
    let token = env.emu.access_token().to_owned();
    let m = env
        .builder()
        .await
        .decide(move |req: &ModerationRequest| {
            let jr = req.join_request_id.clone();
            let (panics, hangs, token) = (panics.clone(), hangs.clone(), token.clone());
            async move {
                if jr == panics {
                    // A user's message may quote a secret: it is scrubbed.
                    panic!("the user's decider failed on {jr} ({token}, {APP_SECRET})");
                }
                if jr == hangs {
                    std::future::pending::<()>().await;
                }
                Decision::Approve
            }
        })
        .decider_timeout(Duration::from_millis(200))
        .build()
        .unwrap();
    let served = Served::start(m.clone()).await;
    let first = payload(
        &group,
        vec![
            created(&ids[0], "15550001"),
            created(&ids[1], "15550002"),
            created(&ids[2], "15550003"),
        ],
    );
    assert_eq!(
        deliver(&served.webhook_url(), &first, APP_SECRET).await,
        200
    );
    // The reason says what went wrong: the panic's message, the timeout.
    let held = record_in(m.store(), &group, &ids[0], State::Held).await;
    assert_eq!(held.rule.as_deref(), Some(DECIDER_PANICKED_RULE));
    let failed_on = format!(
        "the user's decider failed on {} ({REDACTED}, {REDACTED})",
        ids[0]
    );
    assert_eq!(held.reason.as_deref(), Some(failed_on.as_str()));
    let held = record_in(m.store(), &group, &ids[1], State::Held).await;
    assert_eq!(held.rule.as_deref(), Some(DECIDER_TIMEOUT_RULE));
    assert_eq!(held.reason.as_deref(), Some("no answer within 200ms"));
    record_in(m.store(), &group, &ids[2], State::Approved).await;
    // The decider task outlived both faults: a later delivery is decided.
    let later = payload(&group, vec![created(&ids[3], "15550004")]);
    assert_eq!(
        deliver(&served.webhook_url(), &later, APP_SECRET).await,
        200
    );
    record_in(m.store(), &group, &ids[3], State::Approved).await;
    served.stop().await;
    assert_eq!(env.emu.stats().join_requests_approved, 2);
}

fn now_ms() -> i64 {
    let since = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap();
    i64::try_from(since.as_millis()).unwrap()
}

/// What a crashed engine leaves in `store`: a pass over `groups` begun at
/// `started_at` (finished or not) that had listed `listed` (at
/// `listed_at`).
async fn left_by_a_crash(
    store: &Store,
    groups: &[String],
    started_at: i64,
    finished: bool,
    listed: &[String],
    listed_at: i64,
) {
    let backend = store.backend();
    backend.add_groups(groups.to_vec()).await.unwrap();
    backend
        .mark_pass(PassMark {
            started_at,
            finished,
        })
        .await
        .unwrap();
    backend
        .mark_listed(listed.iter().map(|g| (g.clone(), listed_at)).collect())
        .await
        .unwrap();
}

/// An engine that restarts less than `reconcile_every` after the last
/// progress of a pass a crash cut short (the pass itself began longer ago)
/// lists only the groups that pass had not listed; a request whose
/// delivery was lost while it was down, in a group the cut pass had
/// listed, is found by the next periodic pass.
async fn a_restart_resumes_a_cut_pass_and_the_next_pass_finds_what_it_skipped(db: Db) {
    let env = Env::start(db).await;
    let listed = env.emu.create_group(GroupOptions::default()).unwrap();
    let unlisted = env.emu.create_group(GroupOptions::default()).unwrap();
    let store = env.store().await;
    let began = now_ms() - 5000;
    let progress = now_ms() - 300;
    left_by_a_crash(
        &store,
        &[listed.clone(), unlisted.clone()],
        began,
        false,
        std::slice::from_ref(&listed),
        progress,
    )
    .await;
    // The marks never move back: an older listing or pass changes nothing.
    let backend = store.backend();
    backend
        .mark_listed(vec![(listed.clone(), began - 1000)])
        .await
        .unwrap();
    backend
        .mark_pass(PassMark {
            started_at: began - 1000,
            finished: true,
        })
        .await
        .unwrap();
    assert_eq!(backend.groups_listed().await.unwrap(), {
        let mut want = vec![(listed.clone(), Some(progress)), (unlisted.clone(), None)];
        want.sort();
        want
    });
    assert_eq!(
        backend.last_pass().await.unwrap(),
        Some(PassMark {
            started_at: began,
            finished: false
        })
    );
    // Created while the engine was down, no webhook set: both deliveries
    // are lost.
    let in_listed = env.emu.add_join_requests(&listed, 1).unwrap();
    let in_unlisted = env.emu.add_join_requests(&unlisted, 1).unwrap();
    let m = env
        .builder()
        .await
        .decide(|_req| async { Decision::Approve })
        .reconcile_every(Duration::from_secs(3))
        .build()
        .unwrap();
    let served = Served::start(m.clone()).await;
    record_in(m.store(), &unlisted, &in_unlisted[0], State::Approved).await;
    // The start listed only the group the cut pass had not listed.
    assert_eq!(env.emu.stats().endpoints.list, 1);
    assert_not_stored(m.store(), &listed, &in_listed[0]).await;
    eventually("the resumed pass to be marked finished", || async {
        backend
            .last_pass()
            .await
            .unwrap()
            .filter(|p| p.finished && p.started_at == began)
    })
    .await;
    // The next periodic pass lists every group and finds the other one.
    record_in(m.store(), &listed, &in_listed[0], State::Approved).await;
    served.stop().await;
    assert!(env.emu.stats().endpoints.list >= 3);
    assert_eq!(env.emu.stats().join_requests_approved, 2);
    let after = backend.last_pass().await.unwrap().unwrap();
    assert!(after.finished && after.started_at > began, "{after:?}");
    for (g, at) in backend.groups_listed().await.unwrap() {
        assert!(at.is_some_and(|at| at >= after.started_at), "{g}: {at:?}");
    }
}

/// A pass that finished is not resumed: the start lists every group, so a
/// delivery lost while the engine was down is found at once.
async fn a_restart_after_a_finished_pass_lists_every_group(db: Db) {
    restart_lists_every_group(db, 500, true, Duration::from_secs(3600)).await;
}

/// A pass cut short whose last progress is `reconcile_every` or longer
/// ago is not resumed: its groups are due, and the start lists every one.
async fn a_restart_after_a_pass_cut_long_ago_lists_every_group(db: Db) {
    restart_lists_every_group(db, 62_000, false, Duration::from_secs(60)).await;
}

/// A restart over a store whose last pass began `age_ms` ago (`finished`
/// or not) and listed its one group 100 ms later: the engine, reconciling
/// every `every`, lists that group at its start and finds the request
/// whose delivery was lost while it was down.
async fn restart_lists_every_group(db: Db, age_ms: i64, finished: bool, every: Duration) {
    let env = Env::start(db).await;
    let listed = env.emu.create_group(GroupOptions::default()).unwrap();
    let store = env.store().await;
    left_by_a_crash(
        &store,
        std::slice::from_ref(&listed),
        now_ms() - age_ms,
        finished,
        std::slice::from_ref(&listed),
        now_ms() - age_ms + 100,
    )
    .await;
    let lost = env.emu.add_join_requests(&listed, 1).unwrap();
    let m = env
        .builder()
        .await
        .decide(|_req| async { Decision::Approve })
        .reconcile_every(every)
        .build()
        .unwrap();
    let served = Served::start(m.clone()).await;
    record_in(m.store(), &listed, &lost[0], State::Approved).await;
    served.stop().await;
    assert_eq!(env.emu.stats().endpoints.list, 1);
}

/// With replicas, the next pass of a live replica resumes the pass of one
/// that died reconciling (here a pass its store says began and listed one
/// group, and never finished) instead of listing every group again.
async fn a_replica_resumes_the_pass_another_replica_died_in(db: Db) {
    let env = Env::start(db).await;
    let listed = env.emu.create_group(GroupOptions::default()).unwrap();
    let unlisted = env.emu.create_group(GroupOptions::default()).unwrap();
    let m = env
        .builder()
        .await
        .decide(|_req| async { Decision::Approve })
        .groups([listed.clone(), unlisted.clone()])
        .reconcile_every(Duration::from_secs(2))
        .build()
        .unwrap();
    let served = Served::start(m.clone()).await;
    let backend = m.store().backend();
    let first = eventually("the first pass to finish", || async {
        backend.last_pass().await.unwrap().filter(|p| p.finished)
    })
    .await;
    assert_eq!(env.emu.stats().endpoints.list, 2);
    // Another replica's pass, cut short by its death after one listing,
    // midway between this engine's passes (so its progress is well within
    // `reconcile_every` when the next one begins).
    tokio::time::sleep(Duration::from_secs(1)).await;
    let began = now_ms();
    assert!(began > first.started_at);
    backend
        .mark_pass(PassMark {
            started_at: began,
            finished: false,
        })
        .await
        .unwrap();
    backend
        .mark_listed(vec![(listed.clone(), began)])
        .await
        .unwrap();
    let in_listed = env.emu.add_join_requests(&listed, 1).unwrap();
    let in_unlisted = env.emu.add_join_requests(&unlisted, 1).unwrap();
    record_in(m.store(), &unlisted, &in_unlisted[0], State::Approved).await;
    assert_eq!(env.emu.stats().endpoints.list, 3);
    assert_not_stored(m.store(), &listed, &in_listed[0]).await;
    // The pass after the resumed one lists every group again.
    record_in(m.store(), &listed, &in_listed[0], State::Approved).await;
    served.stop().await;
    assert!(env.emu.stats().endpoints.list >= 5);
}

/// With replicas, a periodic pass is skipped when another replica finished
/// one less than `reconcile_every` ago (every group was listed since); the
/// engine's next pass then comes a whole `reconcile_every` after that one.
async fn a_replica_skips_a_pass_another_replica_just_finished(db: Db) {
    let env = Env::start(db).await;
    let a = env.emu.create_group(GroupOptions::default()).unwrap();
    let b = env.emu.create_group(GroupOptions::default()).unwrap();
    let every = Duration::from_secs(3);
    let m = env
        .builder()
        .await
        .decide(|_req| async { Decision::Approve })
        .groups([a.clone(), b.clone()])
        .reconcile_every(every)
        .build()
        .unwrap();
    let served = Served::start(m.clone()).await;
    let backend = m.store().backend();
    eventually("the first pass to finish", || async {
        backend.last_pass().await.unwrap().filter(|p| p.finished)
    })
    .await;
    assert_eq!(env.emu.stats().endpoints.list, 2);
    // Another replica's whole pass, a second after this engine's first one:
    // this engine's next tick (`every` after its first pass ended) falls
    // within `every` of it.
    tokio::time::sleep(Duration::from_secs(1)).await;
    let began = now_ms();
    backend
        .mark_pass(PassMark {
            started_at: began,
            finished: true,
        })
        .await
        .unwrap();
    // Waited for until it finished: its start is marked before it lists,
    // and a stop in between would leave groups unlisted.
    let next = eventually("this engine's next pass", || async {
        backend
            .last_pass()
            .await
            .unwrap()
            .filter(|p| p.started_at != began && p.finished)
    })
    .await;
    served.stop().await;
    // Without the skip it would have begun about `every` - 1 s after `began`.
    let every_ms = i64::try_from(every.as_millis()).unwrap();
    assert!(
        next.started_at - began >= every_ms,
        "the next pass began {} ms after the other replica's",
        next.started_at - began
    );
    // And it listed every group.
    assert!(env.emu.stats().endpoints.list >= 4);
}
