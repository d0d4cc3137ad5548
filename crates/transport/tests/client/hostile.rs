//! Issue 10: a hostile server on a raw socket (see `support::raw`) with
//! scripted misbehaviours. Each test names the item it covers.

use std::time::Duration;

use futures_util::StreamExt as _;
use wa_groups::MAX_ERRORS_KEPT;

use crate::support::raw::{RawReply, RawServer, json_ok, response};
use crate::support::{TOKEN, within};

const GROUP: &str = "G1";

fn client(server: &RawServer) -> wa_groups::ClientBuilder {
    wa_groups::Client::builder()
        .access_token(TOKEN)
        .base_url(server.base_url())
        .retry_base_delay(Duration::from_millis(2))
        .timeout(Duration::from_secs(20))
}

/// A 200 of about 4 MB whose call-level `errors` holds `items` empty objects.
fn many_errors(items: usize) -> Vec<u8> {
    let mut body = br#"{"approved_join_requests":[],"errors":["#.to_vec();
    body.extend(std::iter::repeat_n(&b"{},"[..], items).flatten());
    body.pop();
    body.extend(b"]}");
    body
}

/// Item 1: 1.3M tiny call-level errors answering 100 IDs it never
/// mentions. Before the fix every ID got a copy of the list (an allocation
/// abort); now the outcome holds a bounded list once.
#[tokio::test]
async fn item1_a_huge_error_list_is_kept_once_and_bounded() {
    within(120, async {
        let body = many_errors(1_300_000);
        assert!(body.len() <= wa_groups::DEFAULT_MAX_RESPONSE_BYTES);
        let server = RawServer::start(move |_, _| json_ok(&body)).await;
        let client = client(&server).build().unwrap();
        let ids: Vec<String> = (0..100).map(|i| format!("id{i}")).collect();
        let out = client.approve_join_requests(GROUP, &ids).await.unwrap();
        assert!(out.approved.is_empty());
        assert_eq!(out.failed.len(), 100);
        assert!(out.failed.iter().all(|f| f.errors.len() == 1));
        assert_eq!(out.errors.len(), MAX_ERRORS_KEPT);
        assert_eq!(out.errors_omitted, 1_300_000 - MAX_ERRORS_KEPT);
        assert_eq!(server.count(), 1);
    })
    .await;
}

/// Item 9: a silent server. The per-attempt timeout is long; the overall
/// deadline ends the call, and the error holds the deadline, not the
/// per-attempt timeout.
#[tokio::test]
async fn item9_total_timeout_bounds_a_call_against_a_silent_server() {
    within(30, async {
        let server = RawServer::start(|_, _| RawReply::Silent).await;
        let total = Duration::from_millis(300);
        let client = client(&server)
            .timeout(Duration::from_secs(600))
            .total_timeout(total)
            .build()
            .unwrap();
        let e = client
            .approve_join_requests(GROUP, ["a"])
            .await
            .unwrap_err();
        assert!(
            matches!(e, wa_groups::Error::Timeout(d) if d == total),
            "{e:?}"
        );
        let e = client
            .list_join_requests(GROUP, wa_groups::ListOptions::default())
            .await
            .unwrap_err();
        assert!(
            matches!(e, wa_groups::Error::Timeout(d) if d == total),
            "{e:?}"
        );
        let e = client.approve_all(GROUP).await.unwrap_err();
        assert!(
            matches!(e, wa_groups::Error::Timeout(d) if d == total),
            "{e:?}"
        );
        let mut stream = Box::pin(client.join_requests(GROUP));
        let e = stream.next().await.unwrap().unwrap_err();
        assert!(
            matches!(e, wa_groups::Error::Timeout(d) if d == total),
            "{e:?}"
        );
    })
    .await;
}

/// Item 9: ten chunks, each answered after a retry wait the server asks
/// for; one deadline covers them all (and the waits).
#[tokio::test]
async fn item9_total_timeout_covers_every_chunk_and_retry_wait() {
    within(30, async {
        let server = RawServer::start(|_, _| {
            response(
                429,
                &[("retry-after", "30"), ("content-type", "application/json")],
                r#"{"error":{"code":4,"message":"slow down"}}"#,
            )
        })
        .await;
        let total = Duration::from_millis(300);
        let client = client(&server)
            .max_ids_per_request(1)
            .max_concurrency(1)
            .total_timeout(total)
            .build()
            .unwrap();
        let ids: Vec<String> = (0..10).map(|i| format!("id{i}")).collect();
        let e = client.reject_join_requests(GROUP, &ids).await.unwrap_err();
        assert!(
            matches!(e, wa_groups::Error::Timeout(d) if d == total),
            "{e:?}"
        );
        assert_eq!(
            server.count(),
            1,
            "the first chunk's wait ran into the deadline"
        );
    })
    .await;
}

#[test]
fn item9_total_timeout_is_validated_naming_the_field() {
    for secs in [-1.0, 0.0, f64::NAN, f64::INFINITY] {
        let e = wa_groups::Client::builder()
            .access_token(TOKEN)
            .total_timeout_secs(secs)
            .build()
            .unwrap_err();
        match e {
            wa_groups::Error::InvalidInput(i) => {
                assert_eq!(i.field(), wa_groups::Field::TotalTimeout);
            }
            other => panic!("{other:?}"),
        }
    }
}

/// Item 7: the server claims five approvals of an ID never sent and one of
/// another; the call sent two IDs and none of them was approved.
#[tokio::test]
async fn item7_ids_never_sent_are_not_counted() {
    within(30, async {
        let server = RawServer::start(|_, _| {
            json_ok(
                r#"{"approved_join_requests":["NEVER_SENT","NEVER_SENT","NEVER_SENT","NEVER_SENT","NEVER_SENT","OTHER"]}"#,
            )
        })
        .await;
        let client = client(&server).build().unwrap();
        let out = client.approve_join_requests(GROUP, ["a", "b"]).await.unwrap();
        assert!(out.approved.is_empty());
        assert_eq!(out.failed.len(), 2);
        assert_eq!(out.unexpected, ["NEVER_SENT", "OTHER"]);
    })
    .await;
}

/// A token holding `/`, `"` and `\`, which JSON, percent-encoding and
/// `Debug` each write differently.
const ODD_TOKEN: &str = r#"EAAB/odd"tok\en-42"#;

/// Every form of [`ODD_TOKEN`] a leak could take.
fn odd_forms() -> Vec<String> {
    let json = serde_json::to_string(ODD_TOKEN).unwrap();
    let json = json[1..json.len() - 1].to_owned();
    let debug = format!("{ODD_TOKEN:?}");
    vec![
        ODD_TOKEN.to_owned(),
        json.replace('/', "\\/"),
        json,
        debug[1..debug.len() - 1].to_owned(),
        "EAAB%2Fodd%22tok%5Cen-42".to_owned(),
        "EAAB%2fodd%22tok%5cen-42".to_owned(),
    ]
}

fn assert_clean(text: &str) {
    for form in odd_forms() {
        assert!(!text.contains(&form), "{form} leaked in {text}");
    }
}

/// Item 3: a 200 echoing the token (in every encoding) in per-ID and
/// call-level errors, the request ID and the join requests' fields.
#[tokio::test]
async fn item3_successful_responses_are_scrubbed_of_the_token() {
    within(30, async {
        // Each string holds every form, as JSON string content.
        let all: String = odd_forms().join(" | ");
        let echo = serde_json::to_string(&all).unwrap();
        let outcome = format!(
            r#"{{"approved_join_requests":["a"],
               "failed_join_requests":[{{"join_request_id":"b","errors":[{{"code":131213,"title":{echo},"message":{echo},"error_data":{{"details":{echo}}}}}]}}],
               "errors":[{{"code":1,"message":{echo}}}],"request_id":{echo}}}"#
        );
        let page = format!(
            r#"{{"data":[{{"join_request_id":"jr1","wa_id":{echo},"username":{echo},"user_id":{echo},"creation_timestamp":1}}]}}"#
        );
        let server = RawServer::start(move |_, req| {
            if req.head.starts_with("GET") {
                json_ok(&page)
            } else {
                json_ok(&outcome)
            }
        })
        .await;
        let client = client(&server).access_token(ODD_TOKEN).build().unwrap();
        let out = client.approve_join_requests(GROUP, ["a", "b"]).await.unwrap();
        assert_eq!(out.approved, ["a"]);
        assert!(format!("{out:?}").contains("[redacted]"));
        assert_clean(&format!("{out:?}"));
        let page = client
            .list_join_requests(GROUP, wa_groups::ListOptions::default())
            .await
            .unwrap();
        assert_eq!(page.data.len(), 1);
        assert_clean(&format!("{page:?}"));
    })
    .await;
}

/// Item 3: a cursor holding the token is refused (it cannot be scrubbed
/// without breaking paging), and the error does not carry it either.
#[tokio::test]
async fn item3_a_cursor_holding_the_token_is_refused() {
    within(30, async {
        let cursor = "EAAB%2Fodd%22tok%5Cen-42";
        let body = format!(
            r#"{{"data":[],"paging":{{"cursors":{{"after":"{cursor}"}},"next":"https://x/?after={cursor}"}}}}"#
        );
        let server = RawServer::start(move |_, _| json_ok(&body)).await;
        let client = client(&server).access_token(ODD_TOKEN).build().unwrap();
        let e = client
            .list_join_requests(GROUP, wa_groups::ListOptions::default())
            .await
            .unwrap_err();
        assert_eq!(e.kind(), wa_groups::ErrorKind::Decode, "{e:?}");
        assert!(e.to_string().contains("access token"), "{e}");
        assert_clean(&format!("{e:?} {e}"));
        let mut stream = Box::pin(client.join_requests(GROUP));
        let e = stream.next().await.unwrap().unwrap_err();
        assert_eq!(e.kind(), wa_groups::ErrorKind::Decode);
        assert_eq!(server.count(), 2, "the cursor was never sent");
    })
    .await;
}

/// Item 3: an error body echoing encoded forms of the token in its
/// excerpt (a non-Graph body) is scrubbed in every form.
#[tokio::test]
async fn item3_excerpts_are_scrubbed_of_every_encoding() {
    within(30, async {
        let body = odd_forms().join(" ");
        let server =
            RawServer::start(move |_, _| response(400, &[("content-type", "text/plain")], &body))
                .await;
        let client = client(&server).access_token(ODD_TOKEN).build().unwrap();
        let e = client
            .approve_join_requests(GROUP, ["a"])
            .await
            .unwrap_err();
        assert_eq!(e.kind(), wa_groups::ErrorKind::Decode);
        assert_clean(&format!("{e:?} {e}"));
    })
    .await;
}
