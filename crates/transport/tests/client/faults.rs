//! The fault matrix: each ends in success after bounded retries or in the
//! right typed error, with the attempt count the server saw.

use std::time::{Duration, Instant};

use bytes::Bytes;
use serde_json::json;
use wa_groups::{Error, ErrorKind, ListOptions, TransportErrorKind};

use crate::support::{Reply, Server, client, page, within};

const GROUP: &str = "group-1";

fn ok_page() -> Reply {
    Reply::ok(page(&["r1"], None))
}

async fn list(client: &wa_groups::Client) -> wa_groups::Result<wa_groups::JoinRequestPage> {
    client
        .list_join_requests(GROUP, ListOptions::default())
        .await
}

#[tokio::test]
async fn every_rate_limit_code_is_retried_then_succeeds() {
    within(20, async {
        for code in [4, 17, 341, 80_007, 130_429, 131_056, 131_208] {
            let server = Server::queue(vec![
                Reply::graph_error(429, code, "rate limited", false)
                    .with_header("retry-after", "0"),
                Reply::graph_error(429, code, "rate limited", false),
                ok_page(),
            ])
            .await;
            let client = client(&server).build().unwrap();
            let page = list(&client)
                .await
                .unwrap_or_else(|e| panic!("code {code}: {e}"));
            assert_eq!(page.data.len(), 1);
            assert_eq!(server.count(), 3, "code {code}");
        }
    })
    .await;
}

#[tokio::test]
async fn rate_limited_until_retries_run_out() {
    within(10, async {
        let server = Server::start(|_| Reply::graph_error(429, 131_208, "too many", false)).await;
        let client = client(&server).max_retries(2).build().unwrap();
        let e = list(&client).await.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::RateLimited);
        assert_eq!(server.count(), 3);
    })
    .await;
}

#[tokio::test]
async fn retry_after_is_honoured() {
    within(10, async {
        let server = Server::queue(vec![
            Reply::graph_error(429, 131_208, "slow down", false).with_header("retry-after", "0.3"),
            ok_page(),
        ])
        .await;
        let client = client(&server).build().unwrap();
        let started = Instant::now();
        list(&client).await.unwrap();
        assert!(
            started.elapsed() >= Duration::from_millis(300),
            "{:?}",
            started.elapsed()
        );
        assert_eq!(server.count(), 2);
    })
    .await;
}

#[tokio::test]
async fn server_errors_are_retried_with_or_without_is_transient() {
    within(10, async {
        for reply in [
            Reply::graph_error(500, 100, "internal", false),
            Reply::graph_error(503, 100, "unavailable", true),
            Reply::graph_error(400, 100, "try again", true),
            Reply::graph_error(400, 1, "unknown error", false),
            Reply::graph_error(400, 2, "service unavailable", false),
            Reply::raw(502, "text/html", "<html>bad gateway</html>"),
        ] {
            let server = Server::queue(vec![reply.clone(), ok_page()]).await;
            let client = client(&server).build().unwrap();
            list(&client)
                .await
                .unwrap_or_else(|e| panic!("{reply:?}: {e}"));
            assert_eq!(server.count(), 2, "{reply:?}");
        }
    })
    .await;
}

#[tokio::test]
async fn retries_are_bounded_and_return_the_last_error() {
    within(10, async {
        let server = Server::start(|_| Reply::graph_error(500, 100, "internal", true)).await;
        let client = client(&server).build().unwrap();
        let e = list(&client).await.unwrap_err();
        let api = e.api_error().expect("a Graph error");
        assert_eq!((api.status, api.code, api.is_transient), (500, 100, true));
        assert_eq!(server.count(), 4, "max_retries 3 + 1");

        let server = Server::start(|_| Reply::graph_error(500, 100, "internal", true)).await;
        let client = crate::support::client(&server)
            .max_retries(0)
            .build()
            .unwrap();
        list(&client).await.unwrap_err();
        assert_eq!(server.count(), 1);
    })
    .await;
}

#[tokio::test]
async fn auth_not_found_and_client_errors_are_never_retried() {
    within(10, async {
        for (reply, kind) in [
            (
                Reply::graph_error(500, 131_213, "join request does not exist", true),
                ErrorKind::NotFound,
            ),
            (
                Reply::graph_error(500, 190, "token expired", true),
                ErrorKind::Auth,
            ),
            (
                Reply::graph_error(503, 10, "permission", true),
                ErrorKind::Auth,
            ),
            (
                Reply::graph_error(401, 190, "token expired", false),
                ErrorKind::Auth,
            ),
            (
                Reply::graph_error(400, 131_041, "unknown group", false),
                ErrorKind::NotFound,
            ),
            (
                Reply::graph_error(400, 100, "invalid parameter", false),
                ErrorKind::Api,
            ),
        ] {
            let server = Server::start(move |_| reply.clone()).await;
            let client = client(&server).build().unwrap();
            let e = list(&client).await.unwrap_err();
            assert_eq!(e.kind(), kind, "{e}");
            assert_eq!(server.count(), 1, "{e}");
        }
    })
    .await;
}

#[tokio::test]
async fn a_dropped_connection_is_retried() {
    within(10, async {
        let server = Server::queue(vec![Reply::Drop, ok_page()]).await;
        let client = client(&server).build().unwrap();
        list(&client).await.unwrap();
        assert_eq!(server.count(), 2);
        assert_eq!(server.connections(), 2);

        let server = Server::start(|_| Reply::Drop).await;
        let client = crate::support::client(&server).build().unwrap();
        match list(&client).await.unwrap_err() {
            Error::Transport(t) => assert_eq!(t.kind(), TransportErrorKind::ConnectionReset, "{t}"),
            other => panic!("{other:?}"),
        }
        assert_eq!(server.count(), 4);
    })
    .await;
}

#[tokio::test]
async fn a_truncated_body_is_retried() {
    let truncated = || Reply::Truncated {
        declared: 500,
        sent: Bytes::from_static(br#"{"data":[{"join_request_id":"r1""#),
    };
    within(10, async {
        let server = Server::queue(vec![truncated(), ok_page()]).await;
        let client = client(&server).build().unwrap();
        list(&client).await.unwrap();
        assert_eq!(server.count(), 2);

        let server = Server::start(move |_| truncated()).await;
        let client = crate::support::client(&server).build().unwrap();
        match list(&client).await.unwrap_err() {
            Error::Transport(t) => assert_eq!(t.kind(), TransportErrorKind::ConnectionReset, "{t}"),
            other => panic!("{other:?}"),
        }
        assert_eq!(server.count(), 4);
    })
    .await;
}

#[tokio::test]
async fn malformed_json_is_a_decode_error_and_not_retried() {
    within(10, async {
        let server =
            Server::start(|_| Reply::raw(200, "application/json", "{\"data\": [ nope")).await;
        let client = client(&server).build().unwrap();
        match list(&client).await.unwrap_err() {
            Error::Decode(d) => {
                assert_eq!(d.status(), Some(200));
                assert!(d.excerpt().contains("nope"));
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(server.count(), 1);

        let server = Server::start(|_| Reply::raw(200, "application/json", "[1,2]")).await;
        let client = crate::support::client(&server).build().unwrap();
        let e = client
            .approve_join_requests(GROUP, ["a"])
            .await
            .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Decode);
        assert_eq!(server.count(), 1);
    })
    .await;
}

#[tokio::test]
async fn a_body_over_the_cap_is_a_decode_error() {
    within(10, async {
        // Declared too large: refused before reading.
        let big = json!({"data": [], "pad": "x".repeat(64 * 1024)}).to_string();
        let server = Server::start(move |_| Reply::raw(200, "application/json", big.clone())).await;
        let client = client(&server).max_response_bytes(1024).build().unwrap();
        match list(&client).await.unwrap_err() {
            Error::Decode(d) => {
                assert!(d.reason().contains("1024-byte limit"), "{d}");
                assert_eq!(d.status(), Some(200));
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(server.count(), 1);

        // Streamed without a length (64 MiB offered): abandoned at the cap.
        let server = Server::start(|_| Reply::Stream {
            chunk: Bytes::from(vec![b' '; 64 * 1024]),
            count: 1024,
        })
        .await;
        let client = crate::support::client(&server)
            .max_response_bytes(100_000)
            .build()
            .unwrap();
        let started = Instant::now();
        match list(&client).await.unwrap_err() {
            Error::Decode(d) => assert!(d.reason().contains("100000-byte limit"), "{d}"),
            other => panic!("{other:?}"),
        }
        assert!(started.elapsed() < Duration::from_secs(3));
        assert_eq!(server.count(), 1);
    })
    .await;
}

#[tokio::test]
async fn a_slow_response_times_out_after_bounded_retries() {
    within(10, async {
        let server = Server::start(|_| ok_page().after(Duration::from_secs(3))).await;
        let client = client(&server)
            .timeout(Duration::from_millis(150))
            .max_retries(2)
            .build()
            .unwrap();
        let started = Instant::now();
        match list(&client).await.unwrap_err() {
            Error::Timeout(d) => assert_eq!(d, Duration::from_millis(150)),
            other => panic!("{other:?}"),
        }
        let elapsed = started.elapsed();
        assert!(
            elapsed >= Duration::from_millis(450) && elapsed < Duration::from_secs(2),
            "{elapsed:?}"
        );
        assert_eq!(server.count(), 3);

        // Slow once, then fast: the retry succeeds.
        let server = Server::queue(vec![ok_page().after(Duration::from_secs(3)), ok_page()]).await;
        let client = crate::support::client(&server)
            .timeout(Duration::from_millis(150))
            .build()
            .unwrap();
        list(&client).await.unwrap();
        assert_eq!(server.count(), 2);
    })
    .await;
}

#[tokio::test]
async fn a_refused_connection_is_a_connect_error() {
    within(10, async {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        drop(listener);
        let client = wa_groups::Client::builder()
            .access_token(crate::support::TOKEN)
            .base_url(format!("http://{addr}"))
            .retry_base_delay(Duration::from_millis(1))
            .build()
            .unwrap();
        match list(&client).await.unwrap_err() {
            Error::Transport(t) => {
                assert_eq!(t.kind(), TransportErrorKind::Connect, "{t}");
                // The OS error stays reachable, for callers and bindings to chain.
                let source = std::error::Error::source(&t).expect("a source");
                let io = source
                    .downcast_ref::<std::io::Error>()
                    .expect("an io::Error");
                assert_eq!(io.kind(), std::io::ErrorKind::ConnectionRefused);
            }
            other => panic!("{other:?}"),
        }
    })
    .await;
}

/// Issue 15: retries are observable. The hook sees each retry once, in
/// order, with the failed attempt's error and the wait (the server's
/// `Retry-After` here), and never on the final success.
#[tokio::test]
async fn on_retry_reports_each_retry_with_its_reason_and_wait() {
    within(20, async {
        let server = Server::queue(vec![
            Reply::graph_error(429, 131_208, "too many", false).with_header("retry-after", "0"),
            Reply::graph_error(503, 2, "unavailable", true),
            ok_page(),
        ])
        .await;
        let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let sink = seen.clone();
        let client = client(&server)
            .max_retries(4)
            .on_retry(move |e| {
                sink.lock()
                    .unwrap()
                    .push((e.attempt, e.max_retries, e.error.kind(), e.delay));
            })
            .build()
            .unwrap();
        list(&client).await.unwrap();
        let seen = seen.lock().unwrap().clone();
        assert_eq!(seen.len(), 2, "{seen:?}");
        assert_eq!(
            (seen[0].0, seen[0].1, seen[0].2, seen[0].3),
            (1, 4, ErrorKind::RateLimited, Duration::ZERO)
        );
        assert_eq!((seen[1].0, seen[1].1), (2, 4));
        assert_ne!(seen[1].2, ErrorKind::RateLimited);
    })
    .await;
}
