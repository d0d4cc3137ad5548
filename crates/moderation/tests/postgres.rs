//! The PostgreSQL store on the real server of `WA_GROUPS_TEST_POSTGRES`
//! (each test in a scratch schema of its own; skipped when unset): leases
//! with one owner, expiry and renewal; migrations when replicas start at
//! once; one reconciler at a time; `sslmode`; and an outage made by
//! `pg_terminate_backend` in the middle of a run.

mod support;

use std::time::Duration;

use http::Method;
use wa_groups_emulator::{Fault, FaultMatch, GroupOptions};
use wa_groups_moderation::ledger::{Decision, Event, Requester, State};
use wa_groups_moderation::store::Change;
use wa_groups_moderation::{Store, ledger};

use support::*;

fn created_event(wa_id: &str) -> Event {
    Event::Created {
        requester: Requester {
            wa_id: Some(wa_id.into()),
            ..Requester::default()
        },
        created_at: 1_700_000_000,
    }
}

fn decided() -> Event {
    Event::Decided {
        decision: Decision::Approve,
        rule: "r".into(),
    }
}

fn key(g: &str, j: &str) -> (String, String) {
    (g.to_owned(), j.to_owned())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn leases_have_one_owner_run_out_and_are_renewed_only_by_it() {
    let Some(pg) = PgScratch::create("leases") else {
        return;
    };
    // Two replicas: two stores on one database, two lease owners.
    let a = Store::open(&pg.url).await.unwrap();
    let b = Store::open(&pg.url).await.unwrap();
    a.apply(
        vec![
            Change::new("G", "J1", created_event("1")),
            Change::new("G", "J2", created_event("2")),
        ],
        10,
    )
    .await
    .unwrap();
    // The decider's claims: each pending record goes to one replica.
    let got_a = a.backend().claim_pending(20, 1000, 1).await.unwrap();
    let got_b = b.backend().claim_pending(20, 1000, 10).await.unwrap();
    assert_eq!(got_a.len(), 1);
    assert_eq!(got_b.len(), 1);
    assert_ne!(got_a[0].join_request_id, got_b[0].join_request_id);
    assert!(
        b.backend()
            .claim_pending(21, 1000, 10)
            .await
            .unwrap()
            .is_empty()
    );
    // The decision releases the decider's lease; the applier claims it.
    a.apply(
        vec![
            Change::new("G", "J1", decided()),
            Change::new("G", "J2", decided()),
        ],
        30,
    )
    .await
    .unwrap();
    let claimed = a.backend().claim(40, 1000, 10).await.unwrap();
    assert_eq!(
        claimed
            .iter()
            .map(|r| r.join_request_id.as_str())
            .collect::<Vec<_>>(),
        ["J1", "J2"],
        "in arrival order"
    );
    assert!(b.backend().claim(41, 1000, 10).await.unwrap().is_empty());
    // Only the owner renews or releases.
    let both = vec![key("G", "J1"), key("G", "J2")];
    assert_eq!(b.backend().renew(both.clone(), 5000).await.unwrap(), 0);
    b.backend().release(both.clone()).await.unwrap();
    assert!(b.backend().claim(999, 1000, 10).await.unwrap().is_empty());
    assert_eq!(a.backend().renew(both.clone(), 2000).await.unwrap(), 2);
    // Renewed past 1000: still A's at 1500.
    assert!(b.backend().claim(1500, 3000, 10).await.unwrap().is_empty());
    // `Sending` keeps the lease; an outcome releases it.
    a.apply(vec![Change::new("G", "J1", Event::Sending)], 1600)
        .await
        .unwrap();
    assert!(b.backend().claim(1700, 3000, 10).await.unwrap().is_empty());
    // A dies: once its leases run out, B takes the records; A cannot
    // renew them back.
    let taken = b.backend().claim(2000, 9000, 10).await.unwrap();
    assert_eq!(taken.len(), 2);
    assert_eq!(taken[0].attempts, 1);
    assert_eq!(a.backend().renew(both.clone(), 9999).await.unwrap(), 0);
    // A starting engine clears only expired leases: B's stay.
    let _engine = a.backend().start_engine(3000).await.unwrap();
    assert!(a.backend().claim(3000, 9999, 10).await.unwrap().is_empty());
    b.apply(vec![Change::new("G", "J1", Event::Applied)], 3100)
        .await
        .unwrap();
    let r = a.get("G", "J1").await.unwrap().unwrap();
    assert_eq!(r.state, State::Approved);
    // Both views agree on the status and the audit trail.
    assert_eq!(a.status().await.unwrap(), b.status().await.unwrap());
    let trail: Vec<String> = b
        .audit(Some("G"))
        .await
        .unwrap()
        .iter()
        .filter(|row| row.join_request_id == "J1")
        .map(|row| row.to.clone())
        .collect();
    assert_eq!(trail, ["pending", "approving", "approved"]);
    drop((a, b));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replicas_starting_at_once_migrate_once() {
    let Some(pg) = PgScratch::create("migrate") else {
        return;
    };
    let opens = (0..4).map(|_| Store::open(&pg.url));
    let stores = futures_util::future::join_all(opens).await;
    for s in &stores {
        assert!(s.is_ok(), "{s:?}");
    }
    assert_eq!(
        pg.rows("SELECT version FROM wa_groups_migrations ORDER BY version"),
        [[Some("1".to_owned())]]
    );
    drop(stores);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_reconciler_at_a_time() {
    let Some(pg) = PgScratch::create("reconciler") else {
        return;
    };
    let a = Store::open(&pg.url).await.unwrap();
    let b = Store::open(&pg.url).await.unwrap();
    let held = a.backend().reconciler_lock().await.unwrap();
    assert!(held.is_some());
    assert!(b.backend().reconciler_lock().await.unwrap().is_none());
    // Dropping the guard closes its session, which frees the lock.
    drop(held);
    eventually("the reconcile lock to be free", || async {
        b.backend().reconciler_lock().await.unwrap()
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sslmode_is_honoured_and_passwords_never_shown() {
    let Some(pg) = PgScratch::create("sslmode") else {
        return;
    };
    let ssl_of_our_sessions = || {
        pg.rows(&format!(
            "SELECT DISTINCT s.ssl FROM pg_stat_ssl s JOIN pg_stat_activity a USING (pid) \
             WHERE a.usename = '{}'",
            pg.name
        ))
    };
    let server_ssl = pg.rows("SHOW ssl")[0][0].clone().unwrap_or_default();
    {
        let s = Store::open(&pg.url_with("sslmode=disable")).await.unwrap();
        s.status().await.unwrap();
        assert_eq!(ssl_of_our_sessions(), [[Some("f".to_owned())]]);
    }
    pg.rows(&format!(
        "SELECT pg_terminate_backend(pid, 5000) FROM pg_stat_activity WHERE usename = '{}'",
        pg.name
    ));
    if server_ssl == "on" {
        let s = Store::open(&pg.url_with("sslmode=require")).await.unwrap();
        s.status().await.unwrap();
        assert_eq!(ssl_of_our_sessions(), [[Some("t".to_owned())]]);
        // A test server's certificate is not one the web PKI vouches for.
        let e = Store::open(&pg.url_with("sslmode=verify-full"))
            .await
            .unwrap_err()
            .to_string();
        assert!(e.contains("certificate"), "{e}");
        assert!(!e.contains(&format!("password={}", pg.name)), "{e}");
    } else {
        let e = Store::open(&pg.url_with("sslmode=require"))
            .await
            .unwrap_err()
            .to_string();
        assert!(e.to_lowercase().contains("tls") || e.contains("ssl"), "{e}");
    }
    // Bad settings are refused by name, the password replaced by ***.
    let url = pg.url_with("sslmode=allow");
    let e = Store::open(&url).await.unwrap_err().to_string();
    assert!(e.contains("sslmode \"allow\""), "{e}");
    assert!(e.contains("password=***"), "{e}");
    assert!(!e.contains(&format!("password={}", pg.name)), "{e}");
    assert_eq!(
        Store::redacted_url("postgres://u:hunter2@h/d"),
        "postgres://u:***@h/d"
    );
}

/// The database goes away mid-run (the role may not log in and every
/// session is ended with `pg_terminate_backend`, while approve calls are
/// in flight): deliveries get 503 and nothing of theirs is stored; the
/// workers back off; when it comes back, the redelivered requests and the
/// ones whose outcomes were lost are all applied, each once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_outage_answers_503_loses_nothing_acknowledged_and_work_resumes() {
    let Some(pg) = PgScratch::create("outage") else {
        return;
    };
    let env = Env::start(Db::Postgres(pg)).await;
    let Db::Postgres(pg) = &env.db else {
        unreachable!()
    };
    let group = env
        .emu
        .create_group(GroupOptions::default().participant_cap(100))
        .unwrap();
    let ids = env.emu.add_join_requests(&group, 30).unwrap();
    let pending = env.emu.pending_join_requests(&group).unwrap();
    let wa_id = |i: usize| pending[i].wa_id.clone().unwrap();
    // Approve calls take a while, so the outage finds some in flight.
    env.emu
        .inject_fault(
            Fault::Latency(Duration::from_millis(300)),
            FaultMatch::any()
                .method(Method::POST)
                .path_contains("/join_requests")
                .times(1000),
        )
        .unwrap();
    let m = env
        .builder()
        .await
        .decide(|_req| async { Decision::Approve })
        .lease_timeout(Duration::from_secs(2))
        .reconcile_every(Duration::from_secs(3600))
        .build()
        .unwrap();
    let served = Served::start(m.clone()).await;
    let url = served.webhook_url();
    let delivery = |i: usize| payload(&group, vec![created(&ids[i], &wa_id(i))]);
    for i in 0..10 {
        assert_eq!(deliver(&url, &delivery(i), APP_SECRET).await, 200);
    }
    // Wait until an approve call is on its way, then take the database away.
    let store = m.store().clone();
    eventually("an approve call in flight", || async {
        let s = store.status().await.unwrap();
        s.requests.iter().any(|r| r.attempts > 0).then_some(())
    })
    .await;
    pg.outage();
    for i in 10..20 {
        assert_eq!(
            deliver(&url, &delivery(i), APP_SECRET).await,
            503,
            "delivery {i} during the outage"
        );
    }
    // The workers keep running (and failing) meanwhile; give them rounds.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    pg.restore();
    // Meta redelivers what got 503; the pool reconnects.
    for i in 10..20 {
        eventually("a redelivery to be stored", || async {
            (deliver(&url, &delivery(i), APP_SECRET).await == 200).then_some(())
        })
        .await;
    }
    for i in 20..30 {
        assert_eq!(deliver(&url, &delivery(i), APP_SECRET).await, 200);
    }
    for id in &ids {
        record_in(m.store(), &group, id, State::Approved).await;
    }
    served.stop().await;
    let stats = env.emu.stats();
    assert_eq!(stats.join_requests_approved, 30, "each applied once");
    assert!(env.emu.pending_join_requests(&group).unwrap().is_empty());
    // Outcomes lost in the outage were confirmed by the retry, never re-applied.
    let status = m.status().await.unwrap();
    assert_eq!(status.total.get(State::Approved), 30);
    let confirmed = status
        .requests
        .iter()
        .filter(|r| r.reason.as_deref() == Some(ledger::CONFIRMED_BY_RETRY))
        .count();
    eprintln!("confirmed by retry after the outage: {confirmed}");
}

/// Replicas changing the same records at once (deliveries of creates and
/// revokes arriving at different replicas, in different orders) serialize
/// per record: no error reaches the caller, nothing is lost or doubled.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replicas_changing_the_same_records_at_once_serialize() {
    let Some(pg) = PgScratch::create("concurrent") else {
        return;
    };
    let a = Store::open(&pg.url).await.unwrap();
    let b = Store::open(&pg.url).await.unwrap();
    let keys: Vec<String> = (0..200).map(|i| format!("J{i:03}")).collect();
    let mut tasks = Vec::new();
    for (n, store) in [a.clone(), b.clone(), a.clone(), b.clone()]
        .into_iter()
        .enumerate()
    {
        let mut order = keys.clone();
        if n % 2 == 1 {
            order.reverse();
        }
        tasks.push(tokio::spawn(async move {
            for chunk in order.chunks(10) {
                let changes = chunk
                    .iter()
                    .map(|j| {
                        let event = if n < 2 {
                            created_event("1")
                        } else {
                            Event::Revoked
                        };
                        Change::new("G", j, event)
                    })
                    .collect();
                store.apply(changes, 10).await.unwrap();
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let status = a.status().await.unwrap();
    assert_eq!(status.requests.len(), 200);
    assert_eq!(status.total.get(State::Revoked), 200);
    assert!(
        status
            .requests
            .iter()
            .all(|r| r.requester.wa_id.as_deref() == Some("1"))
    );
    let audit = b.audit(None).await.unwrap();
    for j in &keys {
        let trail: Vec<&str> = audit
            .iter()
            .filter(|row| &row.join_request_id == j)
            .map(|row| row.to.as_str())
            .collect();
        assert!(
            trail == ["pending", "revoked"] || trail == ["revoked"],
            "{j}: {trail:?}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_batch_window_longer_than_the_lease_keeps_the_claim() {
    let Some(pg) = PgScratch::create("fill") else {
        return;
    };
    let env = Env::start(Db::Postgres(pg)).await;
    let group = env.emu.create_group(GroupOptions::default()).unwrap();
    let ids = env.emu.add_join_requests(&group, 1).unwrap();
    let pending = env.emu.pending_join_requests(&group).unwrap();
    let wa_id = pending[0].wa_id.clone().unwrap();
    // Two replicas whose applier waits longer to fill a call than a lease
    // lasts: the claim must be renewed meanwhile, or the other replica
    // takes the record too and a second approve call goes out.
    let replica = || async {
        env.builder()
            .await
            .decide(|_req| async { Decision::Approve })
            .batch_window(Duration::from_millis(1500))
            .lease_timeout(Duration::from_millis(450))
            .reconcile_every(Duration::from_secs(3600))
            .build()
            .unwrap()
    };
    let (a, b) = (replica().await, replica().await);
    let (served_a, served_b) = (Served::start(a.clone()).await, Served::start(b).await);
    let delivery = payload(&group, vec![created(&ids[0], &wa_id)]);
    assert_eq!(
        deliver(&served_a.webhook_url(), &delivery, APP_SECRET).await,
        200
    );
    record_in(a.store(), &group, &ids[0], State::Approved).await;
    // Past another full window: a second sender would have sent by now.
    tokio::time::sleep(Duration::from_millis(2000)).await;
    served_a.stop().await;
    served_b.stop().await;
    let stats = env.emu.stats();
    assert_eq!(stats.join_requests_approved, 1);
    assert_eq!(stats.failed_items, 0, "the request was sent twice");
}

/// Webhook deliveries that arrive together are committed together (group
/// commit: one transaction, one WAL flush); one the server refuses (a NUL
/// byte, which PostgreSQL text cannot hold) gets its own error, and the
/// deliveries that were in its transaction are stored all the same.
///
/// On a current-thread runtime every delivery below is queued before the
/// committer task first runs, so each group is one transaction's worth.
#[tokio::test]
async fn deliveries_commit_together_and_a_refused_one_fails_alone() {
    let Some(pg) = PgScratch::create("group_commit") else {
        return;
    };
    let store = Store::open(&pg.url).await.unwrap();
    let deliver = |jr: String| {
        let store = store.clone();
        async move {
            store
                .apply(vec![Change::new("G", jr, created_event("1"))], 10)
                .await
        }
    };

    // 20 deliveries at once: all stored, by one transaction.
    let first: Vec<String> = (0..20).map(|i| format!("A{i:02}")).collect();
    let results = futures_util::future::join_all(first.iter().cloned().map(deliver)).await;
    for (jr, r) in first.iter().zip(&results) {
        let t = r.as_ref().unwrap_or_else(|e| panic!("{jr}: {e}"));
        assert_eq!(t.len(), 1, "{jr}: its own transition");
        assert_eq!(&t[0].record.join_request_id, jr);
    }
    let xids = pg.rows("SELECT count(DISTINCT xmin::text) FROM records");
    assert_eq!(xids[0][0].as_deref(), Some("1"), "one transaction");

    // 20 more, one of which the server refuses: only that one fails.
    let second: Vec<String> = (0..20)
        .map(|i| {
            if i == 7 {
                "B\0refused".to_owned()
            } else {
                format!("B{i:02}")
            }
        })
        .collect();
    let results = futures_util::future::join_all(second.iter().cloned().map(deliver)).await;
    for (jr, r) in second.iter().zip(&results) {
        if jr.contains('\0') {
            let e = r.as_ref().expect_err("the refused delivery fails");
            assert!(e.to_string().contains("postgres"), "{e}");
        } else {
            let t = r.as_ref().unwrap_or_else(|e| panic!("{jr}: {e}"));
            assert_eq!(t.len(), 1, "{jr}");
            assert_eq!(t[0].record.state, State::Pending);
        }
    }
    let status = store.status().await.unwrap();
    assert_eq!(status.requests.len(), 39);
    assert_eq!(status.total.get(State::Pending), 39);
    // Arrival order survives the batching: ids follow the calls' order.
    let order: Vec<&str> = status
        .requests
        .iter()
        .map(|r| r.join_request_id.as_str())
        .collect();
    let expected: Vec<&str> = first
        .iter()
        .chain(&second)
        .map(String::as_str)
        .filter(|j| !j.contains('\0'))
        .collect();
    assert_eq!(order, expected);
    let audit = store.audit(None).await.unwrap();
    assert_eq!(audit.len(), 39, "one audit row per stored delivery");
    assert!(audit.iter().all(|a| a.at == 10));
}
