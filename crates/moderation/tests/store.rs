//! The SQLite store on a real file: transitions with audit rows, claims,
//! persistence across reopening, the status JSON.

use wa_groups_moderation::Store;
use wa_groups_moderation::ledger::{Decision, Event, Requester, State};
use wa_groups_moderation::store::Change;

fn created(wa_id: &str) -> Event {
    Event::Created {
        requester: Requester {
            wa_id: Some(wa_id.into()),
            ..Requester::default()
        },
        created_at: 1_700_000_000,
    }
}

#[tokio::test]
async fn transitions_persist_with_their_audit_rows() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite:{}", dir.path().join("m.db").display());
    let store = Store::open(&url).await.unwrap();
    let ts = store
        .apply(
            vec![
                Change::new("G", "J1", created("1")),
                Change::new("G", "J1", created("1")),
                Change::new("G", "J2", Event::Revoked),
                Change::new("G", "J3", Event::Applied),
            ],
            10,
        )
        .await
        .unwrap();
    // The repeat changes nothing; an outcome for an unknown record is skipped.
    assert_eq!(ts.len(), 2);
    let pending = store.backend().pending(10).await.unwrap();
    assert_eq!(pending.len(), 1);
    store
        .apply(
            vec![Change::new(
                "G",
                "J1",
                Event::Decided {
                    decision: Decision::Approve,
                    rule: "r".into(),
                    reason: None,
                },
            )],
            20,
        )
        .await
        .unwrap();
    // A claim leases the record: a second claim before the lease ends gets nothing.
    assert_eq!(store.backend().claim(30, 1000, 10).await.unwrap().len(), 1);
    assert!(
        store
            .backend()
            .claim(31, 1000, 10)
            .await
            .unwrap()
            .is_empty()
    );
    drop(store);

    // Reopened (as after a crash): the data is there, and the lease too:
    // opening a store (`moderate status` beside a running serve) leaves
    // leases alone.
    let store = Store::open(&url).await.unwrap();
    let r = store.get("G", "J1").await.unwrap().unwrap();
    assert_eq!((r.state, r.rule.as_deref()), (State::Approving, Some("r")));
    assert!(
        store
            .backend()
            .claim(32, 1000, 10)
            .await
            .unwrap()
            .is_empty()
    );
    // An engine starting on the store takes the dead engine's lease back.
    let engine = store.backend().start_engine(32).await.unwrap();
    assert_eq!(store.backend().claim(32, 1000, 10).await.unwrap().len(), 1);
    drop(engine);
    let audit = store.audit(None).await.unwrap();
    let trail: Vec<(Option<&str>, &str)> = audit
        .iter()
        .map(|a| (a.from.as_deref(), a.to.as_str()))
        .collect();
    assert_eq!(
        trail,
        [
            (None, "pending"),
            (None, "revoked"),
            (Some("pending"), "approving")
        ]
    );
    assert_eq!(
        store.backend().groups_listed().await.unwrap(),
        [("G".to_owned(), None)]
    );

    let json = store.status().await.unwrap().to_json();
    for s in State::ALL {
        assert!(json["total"][s.as_str()].is_u64(), "{s} missing: {json}");
        assert!(json["groups"][0]["counts"][s.as_str()].is_u64());
    }
    assert_eq!(json["total"]["approving"], 1);
    assert_eq!(json["total"]["failed"], 0);
    assert_eq!(json["requests"].as_array().unwrap().len(), 2);
}

#[tokio::test]
async fn bad_urls_are_refused_by_name() {
    let e = Store::open("mysql://x").await.unwrap_err();
    assert!(e.to_string().contains("\"mysql\""), "{e}");
    let e = Store::open("sqlite:").await.unwrap_err();
    assert!(e.to_string().contains("sqlite:"), "{e}");
    let e = Store::open("sqlite:/nonexistent-dir/x/m.db")
        .await
        .unwrap_err();
    assert!(e.to_string().contains("/nonexistent-dir/x/m.db"), "{e}");
}

/// Autocheckpoints are off (their fsync would stall a commit a webhook
/// waits for); a thread of the store checkpoints the WAL into the database
/// file instead.
#[tokio::test]
async fn the_wal_is_checkpointed_in_the_background() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("m.db");
    let store = Store::open(&format!("sqlite:{}", db.display()))
        .await
        .unwrap();
    let before = std::fs::metadata(&db).unwrap().len();
    let changes = (0..200)
        .map(|i| Change::new("G", format!("J{i}"), created("1")))
        .collect();
    store.apply(changes, 1).await.unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while std::fs::metadata(&db).unwrap().len() <= before {
        assert!(
            std::time::Instant::now() < deadline,
            "the WAL was never checkpointed"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(store.status().await.unwrap().requests.len(), 200);
}

#[tokio::test]
async fn a_store_opened_beside_a_running_engine_keeps_its_leases() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite:{}", dir.path().join("m.db").display());
    let engine_store = Store::open(&url).await.unwrap();
    let engine = engine_store.backend().start_engine(10).await.unwrap();
    engine_store
        .apply(
            vec![
                Change::new("G", "J1", created("1")),
                Change::new(
                    "G",
                    "J1",
                    Event::Decided {
                        decision: Decision::Approve,
                        rule: "r".into(),
                        reason: None,
                    },
                ),
            ],
            20,
        )
        .await
        .unwrap();
    assert_eq!(
        engine_store
            .backend()
            .claim(30, 1000, 10)
            .await
            .unwrap()
            .len(),
        1
    );

    // `moderate status` / `decide` / `log` open the store beside it.
    let beside = Store::open(&url).await.unwrap();
    assert_eq!(
        beside.status().await.unwrap().total.get(State::Approving),
        1
    );
    assert!(
        engine_store
            .backend()
            .claim(31, 1000, 10)
            .await
            .unwrap()
            .is_empty(),
        "opening the store released the running engine's lease"
    );
    // A second engine on the same SQLite file is refused by name, and
    // takes nothing.
    let err = beside.backend().start_engine(32).await.unwrap_err();
    assert!(err.to_string().contains("another running engine"), "{err}");
    assert!(err.to_string().contains("m.db"), "{err}");
    assert!(
        beside
            .backend()
            .claim(33, 1000, 10)
            .await
            .unwrap()
            .is_empty()
    );

    // Once the first engine stops, another may start.
    drop(engine);
    let _second = beside.backend().start_engine(34).await.unwrap();
}
