//! HTTPS against a local rustls server with a self-signed root.

use http::Version;
use wa_groups::{Error, ListOptions, TransportErrorKind};

use crate::support::{Reply, Server, TOKEN, page, within};

#[tokio::test]
async fn https_negotiates_http2_and_reuses_the_connection() {
    within(20, async {
        let (server, root) = Server::start_tls(|_| Reply::ok(page(&["r1"], None))).await;
        let client = wa_groups::Client::builder()
            .access_token(TOKEN)
            .base_url(server.base_url())
            .add_root_certificate(root)
            .build()
            .unwrap();
        for _ in 0..5 {
            client
                .list_join_requests("group-1", ListOptions::default())
                .await
                .unwrap();
        }
        let out = client.approve_join_requests("group-1", ["a", "b"]).await;
        assert!(out.is_ok());
        server.assert_all_valid();
        assert!(
            server
                .requests()
                .iter()
                .all(|s| s.version == Version::HTTP_2)
        );
        assert_eq!(server.connections(), 1);
        assert_eq!(
            server.requests()[5].header("authorization"),
            format!("Bearer {TOKEN}")
        );
    })
    .await;
}

#[tokio::test]
async fn an_untrusted_certificate_is_a_tls_error() {
    within(20, async {
        let (server, _root) = Server::start_tls(|_| Reply::ok(page(&[], None))).await;
        let client = wa_groups::Client::builder()
            .access_token(TOKEN)
            .base_url(server.base_url())
            .max_retries(1)
            .retry_base_delay(std::time::Duration::from_millis(1))
            .build()
            .unwrap();
        match client
            .list_join_requests("group-1", ListOptions::default())
            .await
            .unwrap_err()
        {
            Error::Transport(t) => {
                assert_eq!(t.kind(), TransportErrorKind::Tls, "{t}");
                assert!(!t.to_string().contains(TOKEN));
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(server.count(), 0);
    })
    .await;
}
