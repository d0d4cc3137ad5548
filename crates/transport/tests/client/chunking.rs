//! Chunking, merging, duplicates, and approve_all / reject_all.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use wa_groups::Error;

use crate::support::{Reply, Server, client, outcome, page, within};

const GROUP: &str = "group-1";

fn strings(ids: &[&str]) -> Vec<String> {
    ids.iter().map(|s| (*s).to_owned()).collect()
}

#[tokio::test]
async fn chunks_merge_in_input_order_and_duplicates_are_sent_once() {
    within(10, async {
        let server =
            Server::start(|s| Reply::ok(outcome("approved_join_requests", &s.ids(), &[]))).await;
        let client = client(&server)
            .max_ids_per_request(2)
            .max_concurrency(2)
            .build()
            .unwrap();
        let out = client
            .approve_join_requests(GROUP, ["a", "b", "c", "a", "d", "e", "b"])
            .await
            .unwrap();
        assert_eq!(out.approved, ["a", "b", "c", "d", "e"]);
        assert!(out.failed.is_empty());
        server.assert_all_valid();
        let mut chunks: Vec<Vec<String>> = server.requests().iter().map(|s| s.ids()).collect();
        chunks.sort();
        assert_eq!(
            chunks,
            [strings(&["a", "b"]), strings(&["c", "d"]), strings(&["e"])]
        );
    })
    .await;
}

#[tokio::test]
async fn duplicates_in_one_chunk_are_sent_once() {
    within(10, async {
        let server =
            Server::start(|s| Reply::ok(outcome("rejected_join_requests", &s.ids(), &[]))).await;
        let client = client(&server).build().unwrap();
        let out = client
            .reject_join_requests(GROUP, ["x", "x", "y", "x"])
            .await
            .unwrap();
        assert_eq!(out.rejected, ["x", "y"]);
        assert_eq!(server.count(), 1);
        assert_eq!(server.requests()[0].ids(), ["x", "y"]);
    })
    .await;
}

#[tokio::test]
async fn a_failed_chunk_reports_its_ids_and_keeps_the_others() {
    within(10, async {
        let server = Server::start(|s| {
            let ids = s.ids();
            if ids.iter().any(|i| i == "c") {
                Reply::graph_error(400, 100, "Invalid parameter", false)
            } else {
                Reply::ok(outcome("approved_join_requests", &ids, &[]))
            }
        })
        .await;
        let client = client(&server).max_ids_per_request(2).build().unwrap();
        let out = client
            .approve_join_requests(GROUP, ["a", "b", "c", "d", "e"])
            .await
            .unwrap();
        assert_eq!(out.approved, ["a", "b", "e"]);
        let failed: Vec<&str> = out
            .failed
            .iter()
            .map(|f| f.join_request_id.as_str())
            .collect();
        assert_eq!(failed, ["c", "d"]);
        assert!(out.failed.iter().all(|f| f.errors[0].code == 100));
        assert_eq!(server.count(), 3, "a 400 is not retried");
    })
    .await;
}

#[tokio::test]
async fn a_retried_chunk_failure_still_reports_its_ids() {
    within(10, async {
        let server = Server::start(|s| {
            let ids = s.ids();
            if ids.iter().any(|i| i == "a") {
                Reply::graph_error(503, 2, "Service temporarily unavailable", true)
            } else {
                Reply::ok(outcome("approved_join_requests", &ids, &[]))
            }
        })
        .await;
        let client = client(&server)
            .max_ids_per_request(1)
            .max_retries(2)
            .build()
            .unwrap();
        let out = client
            .approve_join_requests(GROUP, ["a", "b"])
            .await
            .unwrap();
        assert_eq!(out.approved, ["b"]);
        assert_eq!(out.failed[0].join_request_id, "a");
        assert_eq!(out.failed[0].errors[0].code, 2);
        assert_eq!(server.count(), 3 + 1, "three attempts for a, one for b");
    })
    .await;
}

#[tokio::test]
async fn all_chunks_failing_alike_return_the_error() {
    within(10, async {
        let server =
            Server::start(|_| Reply::graph_error(400, 131_041, "group unknown", false)).await;
        let client = client(&server).max_ids_per_request(2).build().unwrap();
        let e = client
            .approve_join_requests(GROUP, ["a", "b", "c", "d", "e"])
            .await
            .unwrap_err();
        match e {
            Error::NotFound(api) => assert_eq!((api.code, api.status), (131_041, 400)),
            other => panic!("{other:?}"),
        }
        assert_eq!(server.count(), 3);
    })
    .await;
}

/// A stateful group: pages of 3 by offset cursors; approve removes items.
struct Group {
    pending: Vec<String>,
    approved: HashMap<String, usize>,
    expire_once: Option<String>,
}

#[tokio::test]
async fn approve_all_acts_once_on_each_pending_request_across_an_expired_cursor() {
    within(10, async {
        let initial: Vec<String> = (1..=8).map(|i| format!("jr{i}")).collect();
        let state = Arc::new(Mutex::new(Group {
            pending: initial.clone(),
            approved: HashMap::new(),
            expire_once: Some("off3".to_owned()),
        }));
        let server = Server::start({
            let state = Arc::clone(&state);
            move |s| {
                let mut g = state.lock().unwrap();
                if s.method == "GET" {
                    let after = s.after();
                    if after.is_some() && after == g.expire_once {
                        g.expire_once = None;
                        return Reply::graph_error(400, 131_059, "cursor expired", false);
                    }
                    let offset: usize =
                        after.map_or(0, |c| c.trim_start_matches("off").parse().unwrap());
                    let slice: Vec<&str> = g
                        .pending
                        .iter()
                        .skip(offset)
                        .take(3)
                        .map(String::as_str)
                        .collect();
                    let next = offset + 3;
                    let next = (next < g.pending.len()).then(|| format!("off{next}"));
                    return Reply::ok(page(&slice, next.as_deref()));
                }
                let (mut ok, mut failed) = (Vec::new(), Vec::new());
                for id in s.ids() {
                    if let Some(pos) = g.pending.iter().position(|p| *p == id) {
                        g.pending.remove(pos);
                        *g.approved.entry(id.clone()).or_default() += 1;
                        ok.push(id);
                    } else {
                        failed.push(id);
                    }
                }
                Reply::ok(outcome("approved_join_requests", &ok, &failed))
            }
        })
        .await;
        let client = client(&server)
            .max_ids_per_request(3)
            .max_concurrency(2)
            .build()
            .unwrap();
        let out = client.approve_all(GROUP).await.unwrap();
        let approved: Vec<String> = out.approved.iter().map(|i| i.as_str().to_owned()).collect();
        assert_eq!(approved, initial);
        assert!(out.failed.is_empty());
        server.assert_all_valid();

        let g = state.lock().unwrap();
        assert!(g.pending.is_empty());
        assert_eq!(g.approved.len(), 8);
        assert!(g.approved.values().all(|&n| n == 1), "{:?}", g.approved);
        let gets: Vec<Option<String>> = server
            .requests()
            .iter()
            .filter(|s| s.method == "GET")
            .map(|s| s.after())
            .collect();
        let off = |s: &str| Some(s.to_owned());
        assert_eq!(gets, [None, off("off3"), None, off("off3"), off("off6")]);
        let posts = server
            .requests()
            .iter()
            .filter(|s| s.method == "POST")
            .count();
        assert_eq!(posts, 3);
        // Listing ends before the first decision.
        let first_post = server
            .requests()
            .iter()
            .position(|s| s.method == "POST")
            .unwrap();
        assert_eq!(first_post, 5);
    })
    .await;
}

#[tokio::test]
async fn reject_all_with_nothing_pending_sends_no_decision() {
    within(10, async {
        let server = Server::queue(vec![Reply::ok(page(&[], None))]).await;
        let client = client(&server).build().unwrap();
        let out = client.reject_all(GROUP).await.unwrap();
        assert!(out.rejected.is_empty() && out.failed.is_empty());
        assert_eq!(server.count(), 1);
    })
    .await;
}

#[tokio::test]
async fn a_cursor_that_keeps_expiring_is_an_error() {
    within(10, async {
        let server = Server::start(|s| match s.after() {
            None => Reply::ok(page(&["a"], Some("c1"))),
            Some(_) => Reply::graph_error(400, 131_059, "cursor expired", false),
        })
        .await;
        let client = client(&server).build().unwrap();
        let e = client.reject_all(GROUP).await.unwrap_err();
        assert_eq!(e.api_error().map(|a| a.code), Some(131_059));
        let restarts = wa_groups::MAX_LISTING_RESTARTS as usize;
        assert_eq!(server.count(), 2 * (restarts + 1));
        assert!(server.requests().iter().all(|s| s.method == "GET"));
    })
    .await;
}
