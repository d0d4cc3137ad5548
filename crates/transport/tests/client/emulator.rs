//! The client against the real emulator, wherever the scripted server only
//! stood in for the API's behaviour: paging with real cursors, approve_all
//! over state that changes under it, per-item failures from real state,
//! the rate limiter, injected faults, every body encoding.

use std::time::Duration;

use futures_util::TryStreamExt as _;
use wa_groups::protocol::{
    Action, BodyEncoding, Boundary, DecideJoinRequests, GroupId, JoinRequestIds,
};
use wa_groups::{Client, Error, ListOptions};
use wa_groups_emulator::{Emulator, EmulatorHandle, Fault, FaultMatch, GroupOptions, RateLimit};

use crate::support::within;

async fn emulator() -> EmulatorHandle {
    Emulator::builder().start().await.expect("emulator")
}

fn client(emu: &EmulatorHandle) -> wa_groups::ClientBuilder {
    Client::builder()
        .access_token(emu.access_token())
        .base_url(emu.base_url())
        .retry_base_delay(Duration::from_millis(1))
}

fn big_group(emu: &EmulatorHandle, pending: usize) -> (String, Vec<String>) {
    let g = emu
        .controller()
        .create_group(GroupOptions::new().participant_cap(10_000))
        .expect("group");
    let ids = emu
        .controller()
        .add_join_requests(&g, pending)
        .expect("join requests");
    (g, ids)
}

#[tokio::test]
async fn the_stream_pages_through_real_cursors_in_order() {
    within(20, async {
        let emu = emulator().await;
        let (g, ids) = big_group(&emu, 60); // three pages of 25
        let client = client(&emu).build().unwrap();
        let listed: Vec<String> = client
            .join_requests(&g)
            .map_ok(|r| r.join_request_id.to_string())
            .try_collect()
            .await
            .unwrap();
        assert_eq!(listed, ids);
        assert_eq!(emu.controller().stats().endpoints.list, 3);
        let first = client
            .list_join_requests(&g, ListOptions::new().with_limit(10))
            .await
            .unwrap();
        assert_eq!(first.data.len(), 10);
        assert!(first.after.is_some() && first.before.is_none());
    })
    .await;
}

#[tokio::test]
async fn approve_all_acts_once_on_everything_pending_in_chunks() {
    within(20, async {
        let emu = emulator().await;
        let (g, ids) = big_group(&emu, 60);
        let client = client(&emu)
            .max_ids_per_request(7)
            .max_concurrency(3)
            .build()
            .unwrap();
        let outcome = client.approve_all(&g).await.unwrap();
        assert_eq!(
            outcome
                .approved
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>(),
            ids
        );
        assert!(outcome.failed.is_empty());
        assert!(
            emu.controller()
                .pending_join_requests(&g)
                .unwrap()
                .is_empty()
        );
        assert_eq!(emu.controller().participants(&g).unwrap().len(), 60);
        assert_eq!(
            emu.controller().stats().endpoints.approve,
            60usize.div_ceil(7) as u64
        );
    })
    .await;
}

#[tokio::test]
async fn deciding_a_page_then_asking_for_the_next_gets_131059() {
    // Why approve_all lists everything first: the emulator, like the API,
    // invalidates a cursor whose item was handled.
    within(20, async {
        let emu = emulator().await;
        let (g, _) = big_group(&emu, 30);
        let client = client(&emu).build().unwrap();
        let page = client
            .list_join_requests(&g, ListOptions::new().with_limit(10))
            .await
            .unwrap();
        let ids: Vec<&str> = page
            .data
            .iter()
            .map(|r| r.join_request_id.as_str())
            .collect();
        client.reject_join_requests(&g, &ids).await.unwrap();
        let after = page.after.unwrap();
        match client
            .list_join_requests(&g, ListOptions::starting_after(after.as_str()))
            .await
        {
            Err(Error::Api(e)) => assert_eq!(e.code, 131_059),
            other => panic!("{other:?}"),
        }
        // Listing again from the start works, and approve_all gets the rest.
        assert_eq!(client.approve_all(&g).await.unwrap().approved.len(), 20);
    })
    .await;
}

#[tokio::test]
async fn per_item_failures_come_from_real_state() {
    within(20, async {
        let emu = emulator().await;
        let g = emu
            .controller()
            .create_group(GroupOptions::new().participant_cap(1))
            .unwrap();
        let ids = emu.controller().add_join_requests(&g, 2).unwrap();
        let client = client(&emu).build().unwrap();
        let outcome = client
            .approve_join_requests(&g, [ids[0].as_str(), ids[1].as_str(), "bm90LXBlbmRpbmc="])
            .await
            .unwrap();
        assert_eq!(outcome.approved.len(), 1);
        let codes: Vec<i64> = outcome.failed.iter().map(|f| f.errors[0].code).collect();
        assert_eq!(codes, [131_204, 131_213], "over the cap, then unknown");
    })
    .await;
}

#[tokio::test]
async fn the_rate_limiter_is_waited_out() {
    within(30, async {
        let emu = emulator().await;
        let (g, _) = big_group(&emu, 3);
        emu.controller()
            .set_rate_limit(Some(RateLimit::per_group(1.0)))
            .unwrap();
        let client = client(&emu).build().unwrap();
        for _ in 0..3 {
            client
                .list_join_requests(&g, ListOptions::new())
                .await
                .unwrap();
        }
        assert!(
            emu.controller().stats().rate_limited >= 1,
            "the limiter answered 131208 and the client retried"
        );
    })
    .await;
}

/// Runs `tasks` × `calls` listings of `group` at once; the count of calls
/// that ended rate limited.
async fn hammer(client: &Client, group: &str, tasks: usize, calls: usize) -> usize {
    let runs = (0..tasks).map(|_| async {
        let mut limited = 0;
        for _ in 0..calls {
            match client.list_join_requests(group, ListOptions::new()).await {
                Ok(_) => {}
                Err(Error::RateLimited(_)) => limited += 1,
                Err(e) => panic!("{e}"),
            }
        }
        limited
    });
    futures_util::future::join_all(runs).await.into_iter().sum()
}

#[tokio::test]
async fn a_busy_client_slows_down_by_the_usage_header_instead_of_being_refused() {
    within(60, async {
        let emu = emulator().await;
        let (g, _) = big_group(&emu, 3);
        let limit = RateLimit::per_phone(100.0);
        // Without pacing, eight callers run into the limit at once.
        emu.controller().set_rate_limit(Some(limit)).unwrap();
        let unpaced = client(&emu)
            .max_retries(0)
            .pace_by_usage(false)
            .build()
            .unwrap();
        let refused = hammer(&unpaced, &g, 8, 40).await;
        assert!(refused >= 20, "unpaced: {refused} refused");
        // A new limit starts with a full bucket. Paced, the same load goes
        // through at about the rate (100 a second after the burst of 100),
        // with no call refused, or a stray one on a stalled machine.
        emu.controller().set_rate_limit(Some(limit)).unwrap();
        let before = emu.controller().stats().rate_limited;
        let paced = client(&emu).max_retries(0).build().unwrap();
        let refused = hammer(&paced, &g, 8, 40).await;
        let limited = emu.controller().stats().rate_limited - before;
        assert!(
            refused <= 2 && limited <= 2,
            "paced: {refused} refused, {limited} answered 429"
        );
    })
    .await;
}

#[tokio::test]
async fn injected_faults_are_retried_or_reported() {
    within(20, async {
        let emu = emulator().await;
        let (g, ids) = big_group(&emu, 2);
        let client = client(&emu).build().unwrap();
        let faults = [
            Fault::ServerError {
                status: 503,
                code: None,
                is_transient: true,
            },
            Fault::ConnectionReset,
            Fault::TruncatedBody,
        ];
        for fault in faults {
            emu.controller()
                .inject_fault(fault, FaultMatch::any())
                .unwrap();
        }
        let outcome = client.approve_join_requests(&g, [&ids[0]]).await.unwrap();
        assert_eq!(outcome.approved.len(), 1);
        assert_eq!(emu.controller().stats().faults_applied, 3);

        emu.controller()
            .inject_fault(Fault::MalformedJson, FaultMatch::any())
            .unwrap();
        assert!(matches!(
            client.reject_join_requests(&g, [&ids[1]]).await,
            Err(Error::Decode(_))
        ));
        match client
            .approve_all("Z3JvdXAtdGhhdC1kb2VzLW5vdC1leGlzdA")
            .await
        {
            Err(Error::NotFound(e)) => assert_eq!(e.code, 131_041),
            other => panic!("{other:?}"),
        }
        let wrong = Client::builder()
            .access_token("EAAGwrong")
            .base_url(emu.base_url())
            .build()
            .unwrap();
        assert!(matches!(
            wrong.list_join_requests(&g, ListOptions::new()).await,
            Err(Error::Auth(_))
        ));
    })
    .await;
}

#[tokio::test]
async fn every_body_encoding_is_understood() {
    within(20, async {
        let emu = emulator().await;
        let (g, ids) = big_group(&emu, 3);
        let client = client(&emu).build().unwrap();
        let encodings = [
            BodyEncoding::Json,
            BodyEncoding::FormUrlEncoded,
            BodyEncoding::Multipart(Boundary::from_random(7)),
        ];
        for (id, encoding) in ids.iter().zip(encodings) {
            let op = DecideJoinRequests::new(
                Action::Approve,
                GroupId::new(&g).unwrap(),
                JoinRequestIds::new([id]).unwrap(),
            )
            .with_encoding(encoding);
            let outcome = client.execute(&op).await.unwrap();
            assert_eq!(outcome.succeeded.len(), 1, "{encoding:?}");
        }
        assert_eq!(emu.controller().participants(&g).unwrap().len(), 3);
    })
    .await;
}
