//! 1,000 concurrent calls on one client: all succeed, and the connections
//! open at once at the server stay within the client's bound (`max_connections`,
//! default 64); over HTTP/2 they share one connection.

use std::time::Duration;

use futures_util::future::join_all;
use wa_groups::{DEFAULT_MAX_CONNECTIONS, ListOptions};

use crate::support::{Reply, Server, TOKEN, client, page, within};

const CALLS: usize = 1000;

async fn run_calls(client: &wa_groups::Client) {
    let calls = (0..CALLS).map(|i| {
        let client = client.clone();
        tokio::spawn(async move {
            let group = format!("group-{i}");
            client
                .list_join_requests(&group, ListOptions::default())
                .await
        })
    });
    let results = join_all(calls).await;
    let failures: Vec<String> = results
        .into_iter()
        .filter_map(|r| match r {
            Ok(Ok(_)) => None,
            Ok(Err(e)) => Some(e.to_string()),
            Err(e) => Some(e.to_string()),
        })
        .collect();
    assert!(
        failures.is_empty(),
        "{} failed, first: {:?}",
        failures.len(),
        failures.first()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_concurrent_http1_calls_stay_within_the_connection_bound() {
    within(60, async {
        let server =
            Server::start(|_| Reply::ok(page(&["r1"], None)).after(Duration::from_millis(2))).await;
        let client = client(&server)
            .timeout(Duration::from_secs(30))
            .build()
            .unwrap();
        run_calls(&client).await;
        assert_eq!(server.count(), CALLS);
        // The bound is on connections open at once. hyper-util's pool may
        // close a connection it handed to a checkout that lost its race with
        // a new connect, so the count accepted over the whole run can pass
        // the bound by such replacements; the count open at once cannot.
        let peak = server.peak_open();
        assert!(
            peak <= DEFAULT_MAX_CONNECTIONS,
            "{peak} connections open at once for a bound of {DEFAULT_MAX_CONNECTIONS}; closed: {:?}",
            server.closed()
        );
        assert!(
            server
                .requests()
                .iter()
                .all(|s| s.version == http::Version::HTTP_11)
        );

        // A smaller bound holds too.
        let server = Server::start(|_| Reply::ok(page(&[], None))).await;
        let client = crate::support::client(&server)
            .max_connections(8)
            .build()
            .unwrap();
        run_calls(&client).await;
        assert!(server.peak_open() <= 8, "{}", server.peak_open());
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_concurrent_http2_calls_share_one_connection() {
    within(60, async {
        let (server, root) = Server::start_tls(|_| Reply::ok(page(&["r1"], None))).await;
        let client = wa_groups::Client::builder()
            .access_token(TOKEN)
            .base_url(server.base_url())
            .add_root_certificate(root)
            .build()
            .unwrap();
        run_calls(&client).await;
        assert_eq!(server.count(), CALLS);
        assert!(
            server
                .requests()
                .iter()
                .all(|s| s.version == http::Version::HTTP_2)
        );
        // The first connect shows the host speaks HTTP/2; every call then
        // multiplexes over that one connection.
        assert_eq!(server.connections(), 1);
    })
    .await;
}
