//! The access token never shows: not in Debug, not in errors, even when the
//! server echoes it back.

use serde_json::json;
use wa_groups::{Error, ListOptions};

use crate::support::{Reply, Seen, Server, TOKEN, within};

fn echo_token_in_error(s: &Seen) -> Reply {
    let auth = s.header("authorization").to_owned();
    Reply::json(
        400,
        json!({"error": {
            "message": format!("bad request with {auth}"),
            "type": format!("OAuthException {auth}"),
            "code": 100,
            "error_user_title": format!("title {auth}"),
            "error_data": {"details": format!("you sent {auth}")},
            "fbtrace_id": auth,
        }}),
    )
}

fn assert_clean(e: &Error) {
    let shown = format!("{e} / {e:?}");
    assert!(!shown.contains(TOKEN), "token leaked: {shown}");
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        assert!(!s.to_string().contains(TOKEN));
        source = s.source();
    }
}

#[tokio::test]
async fn debug_never_shows_the_token() {
    let builder = wa_groups::Client::builder().access_token(TOKEN);
    assert!(!format!("{builder:?}").contains(TOKEN));
    let client = builder.build().unwrap();
    let debug = format!("{client:?}");
    assert!(!debug.contains(TOKEN), "{debug}");
    assert!(debug.contains("redacted"), "{debug}");
    assert!(!format!("{:?}", client.endpoint()).contains(TOKEN));
}

#[tokio::test]
async fn errors_echoing_the_token_are_scrubbed() {
    within(10, async {
        let server = Server::start(echo_token_in_error).await;
        let client = crate::support::client(&server).build().unwrap();
        let e = client
            .list_join_requests("group-1", ListOptions::default())
            .await
            .unwrap_err();
        assert!(matches!(e, Error::Api(_)));
        assert!(e.api_error().unwrap().message.contains("[redacted]"));
        assert_clean(&e);
        let e = client
            .approve_join_requests("group-1", ["a"])
            .await
            .unwrap_err();
        assert_clean(&e);

        // Bodies that are not Graph errors keep an excerpt: scrubbed too.
        for status in [200, 502] {
            let server = Server::start(move |s| {
                Reply::raw(
                    status,
                    "text/plain",
                    format!("echo: {}", s.header("authorization")),
                )
            })
            .await;
            let client = crate::support::client(&server)
                .max_retries(1)
                .build()
                .unwrap();
            let e = client
                .list_join_requests("group-1", ListOptions::default())
                .await
                .unwrap_err();
            assert!(matches!(e, Error::Decode(_)), "{e:?}");
            assert_clean(&e);
        }

        // Transport failures carry no request data.
        let server = Server::start(|_| Reply::Drop).await;
        let client = crate::support::client(&server)
            .max_retries(0)
            .build()
            .unwrap();
        let e = client.reject_all("group-1").await.unwrap_err();
        assert_clean(&e);
    })
    .await;
}
