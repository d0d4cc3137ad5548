//! Every method: the request the server sees, and the result the caller gets.

use futures_util::{StreamExt as _, TryStreamExt as _};
use serde_json::json;
use wa_groups::protocol::server::ServerRequest;
use wa_groups::{Error, Field, ListOptions};

use crate::support::{Reply, Server, TOKEN, client, outcome, page, within};

const GROUP: &str = "Y2FwaV9ncm91cDoxOTUwNTU1MDA3OToxMjAzNjMzOTQzMjAdOTY0MTUZD";

fn assert_common_headers(s: &crate::support::Seen) {
    assert_eq!(s.header("authorization"), format!("Bearer {TOKEN}"));
    assert_eq!(s.header("accept"), "application/json");
    let ua = s.header("user-agent");
    assert_eq!(ua, format!("wa-groups/{} myapp/1.2.3", wa_groups::VERSION));
}

#[tokio::test]
async fn list_sends_the_spec_request_and_parses_the_page() {
    within(10, async {
        let server = Server::queue(vec![Reply::ok(page(
            &["MTY0Njcw", "MTY0Njcx"],
            Some("QVFIUmFmdGVy"),
        ))])
        .await;
        let client = client(&server).user_agent("myapp/1.2.3").build().unwrap();
        let options = ListOptions {
            limit: Some(10),
            after: Some("QVFIUmJlZm9yZQ".to_owned()),
            before: None,
        };
        let page = client.list_join_requests(GROUP, options).await.unwrap();
        assert_eq!(page.data.len(), 2);
        assert_eq!(page.data[0].join_request_id, "MTY0Njcw");
        assert_eq!(page.data[0].wa_id.as_deref(), Some("16505551234"));
        assert_eq!(page.data[0].creation_timestamp, 1_700_000_000);
        assert_eq!(
            page.after.as_ref().map(|c| c.as_str()),
            Some("QVFIUmFmdGVy")
        );

        server.assert_all_valid();
        let seen = server.requests();
        assert_eq!(seen.len(), 1);
        let s = &seen[0];
        assert_eq!(s.method, "GET");
        assert_eq!(
            s.uri.to_string(),
            format!("/v23.0/{GROUP}/join_requests?limit=10&after=QVFIUmJlZm9yZQ")
        );
        assert_common_headers(s);
        assert!(s.headers.get("content-type").is_none());
        assert!(s.body.is_empty());
        assert!(matches!(&s.parsed, Ok(ServerRequest::List { .. })));
    })
    .await;
}

#[tokio::test]
async fn approve_posts_the_json_body() {
    within(10, async {
        let server = Server::start(|s| {
            let ids = s.ids();
            Reply::ok(outcome("approved_join_requests", &ids, &[]))
        })
        .await;
        let client = client(&server).user_agent("myapp/1.2.3").build().unwrap();
        let out = client
            .approve_join_requests(GROUP, ["MTY0Njcw", "MTY/0+Nzc="])
            .await
            .unwrap();
        assert_eq!(out.approved, ["MTY0Njcw", "MTY/0+Nzc="]);
        assert!(out.failed.is_empty() && out.errors.is_empty());

        server.assert_all_valid();
        let s = &server.requests()[0];
        assert_eq!(s.method, "POST");
        assert_eq!(s.uri.path(), format!("/v23.0/{GROUP}/join_requests"));
        assert_common_headers(s);
        assert_eq!(s.header("content-type"), "application/json");
        assert_eq!(
            &s.body[..],
            br#"{"messaging_product":"whatsapp","join_requests":["MTY0Njcw","MTY/0+Nzc="]}"#
        );
    })
    .await;
}

#[tokio::test]
async fn reject_sends_delete_and_reports_partial_failure() {
    within(10, async {
        let server = Server::start(|s| {
            let ids = s.ids();
            Reply::ok(outcome("rejected_join_requests", &ids[..1], &ids[1..]))
        })
        .await;
        let client = client(&server).user_agent("myapp/1.2.3").build().unwrap();
        let out = client
            .reject_join_requests(GROUP, vec!["a1".to_owned(), "b2".to_owned()])
            .await
            .unwrap();
        assert_eq!(out.rejected, ["a1"]);
        assert_eq!(out.failed.len(), 1);
        assert_eq!(out.failed[0].join_request_id, "b2");
        assert_eq!(out.failed[0].errors[0].code, 131_213);

        server.assert_all_valid();
        let s = &server.requests()[0];
        assert_eq!(s.method, "DELETE");
        assert_common_headers(s);
        assert_eq!(s.header("content-type"), "application/json");
        assert_eq!(
            &s.body[..],
            br#"{"messaging_product":"whatsapp","join_requests":["a1","b2"]}"#
        );
    })
    .await;
}

#[tokio::test]
async fn group_info_asks_for_the_fields() {
    within(10, async {
        let server = Server::queue(vec![Reply::ok(json!({
            "id": GROUP, "subject": "Team", "total_participant_count": 3, "suspended": false
        }))])
        .await;
        let client = client(&server).user_agent("myapp/1.2.3").build().unwrap();
        let info = client
            .group_info(GROUP, ["subject", "total_participant_count"])
            .await
            .unwrap();
        assert_eq!(info.subject.as_deref(), Some("Team"));
        assert_eq!(info.total_participant_count, Some(3));
        server.assert_all_valid();
        let s = &server.requests()[0];
        assert_eq!(s.method, "GET");
        assert_eq!(
            s.uri.to_string(),
            format!("/v23.0/{GROUP}?fields=subject,total_participant_count")
        );
        assert_common_headers(s);
    })
    .await;
}

#[tokio::test]
async fn the_stream_follows_every_page() {
    within(10, async {
        let server = Server::start(|s| match s.after().as_deref() {
            None => Reply::ok(page(&["r1", "r2", "r3"], Some("c1"))),
            Some("c1") => Reply::ok(page(&["r4", "r5", "r6"], Some("c2"))),
            Some("c2") => Reply::ok(page(&["r7"], None)),
            Some(other) => Reply::graph_error(400, 100, &format!("unknown cursor {other}"), false),
        })
        .await;
        let client = client(&server).build().unwrap();
        let all: Vec<_> = client.join_requests(GROUP).try_collect().await.unwrap();
        let ids: Vec<&str> = all.iter().map(|r| r.join_request_id.as_str()).collect();
        assert_eq!(ids, ["r1", "r2", "r3", "r4", "r5", "r6", "r7"]);
        let afters: Vec<Option<String>> = server.requests().iter().map(|s| s.after()).collect();
        assert_eq!(afters, [None, Some("c1".to_owned()), Some("c2".to_owned())]);
        server.assert_all_valid();

        // With a page size and a starting cursor.
        let rest: Vec<_> = client
            .join_requests_with(GROUP, ListOptions::starting_after("c1").with_limit(3))
            .try_collect()
            .await
            .unwrap();
        assert_eq!(rest.len(), 4);
        assert!(
            server.requests()[3]
                .uri
                .query()
                .unwrap()
                .contains("limit=3")
        );
    })
    .await;
}

#[tokio::test]
async fn the_stream_ends_with_an_error() {
    within(10, async {
        let server = Server::start(|s| match s.after().as_deref() {
            None => Reply::ok(page(&["r1"], Some("c1"))),
            _ => Reply::graph_error(400, 131_041, "group unknown", false),
        })
        .await;
        let client = client(&server).build().unwrap();
        let items: Vec<_> = client.join_requests(GROUP).collect().await;
        assert_eq!(items.len(), 2);
        assert!(items[0].is_ok());
        assert!(matches!(items[1], Err(Error::NotFound(_))));
        assert_eq!(server.count(), 2);
    })
    .await;
}

#[tokio::test]
async fn a_repeated_cursor_stops_the_stream() {
    within(10, async {
        let server = Server::start(|_| Reply::ok(page(&["r1"], Some("same")))).await;
        let client = client(&server).build().unwrap();
        let items: Vec<_> = client.join_requests(GROUP).collect().await;
        assert!(matches!(items.last(), Some(Err(Error::Decode(_)))));
        assert_eq!(server.count(), 2);
    })
    .await;
}

fn field_of(e: Error) -> (Field, Option<usize>) {
    match e {
        Error::InvalidInput(i) => (i.field(), i.index()),
        other => panic!("expected invalid input, got {other:?}"),
    }
}

#[tokio::test]
async fn invalid_input_is_refused_before_sending() {
    within(10, async {
        let server = Server::start(|_| Reply::ok(json!({}))).await;
        let client = client(&server).build().unwrap();

        let e = client
            .approve_join_requests("a/b", ["x"])
            .await
            .unwrap_err();
        assert_eq!(field_of(e), (Field::GroupId, None));
        let e = client.approve_join_requests("..", ["x"]).await.unwrap_err();
        assert_eq!(field_of(e), (Field::GroupId, None));
        let e = client
            .reject_join_requests(GROUP, Vec::<String>::new())
            .await
            .unwrap_err();
        assert_eq!(field_of(e), (Field::JoinRequestIds, None));
        let e = client
            .reject_join_requests(GROUP, ["ok", "bad id"])
            .await
            .unwrap_err();
        assert_eq!(field_of(e), (Field::JoinRequestId, Some(1)));
        let e = client.approve_all("g?x").await.unwrap_err();
        assert_eq!(field_of(e), (Field::GroupId, None));
        let e = client.reject_all("").await.unwrap_err();
        assert_eq!(field_of(e), (Field::GroupId, None));

        let list = |o: ListOptions| client.list_join_requests(GROUP, o);
        let e = list(ListOptions::new().with_limit(0)).await.unwrap_err();
        assert_eq!(field_of(e), (Field::Limit, None));
        let e = list(ListOptions::new().with_limit(1001)).await.unwrap_err();
        assert_eq!(field_of(e), (Field::Limit, None));
        let e = list(ListOptions::starting_after("has space"))
            .await
            .unwrap_err();
        assert_eq!(field_of(e), (Field::After, None));
        let bad_before = ListOptions {
            before: Some("x\ny".to_owned()),
            ..ListOptions::default()
        };
        assert_eq!(
            field_of(list(bad_before).await.unwrap_err()),
            (Field::Before, None)
        );
        let both = ListOptions {
            after: Some("a".to_owned()),
            before: Some("b".to_owned()),
            limit: None,
        };
        assert_eq!(
            field_of(list(both).await.unwrap_err()),
            (Field::Before, None)
        );
        let e = client
            .list_join_requests("", ListOptions::default())
            .await
            .unwrap_err();
        assert_eq!(field_of(e), (Field::GroupId, None));

        let e = client
            .group_info(GROUP, ["subject", "nope"])
            .await
            .unwrap_err();
        assert_eq!(field_of(e), (Field::Fields, Some(1)));

        let items: Vec<_> = client.join_requests("a b").collect().await;
        assert_eq!(items.len(), 1);
        assert_eq!(
            field_of(items.into_iter().next().unwrap().unwrap_err()),
            (Field::GroupId, None)
        );
        let items: Vec<_> = client
            .join_requests_with(
                GROUP,
                ListOptions {
                    before: Some("b".into()),
                    ..ListOptions::default()
                },
            )
            .collect()
            .await;
        assert_eq!(
            field_of(items.into_iter().next().unwrap().unwrap_err()),
            (Field::Before, None)
        );

        assert_eq!(server.count(), 0, "nothing may be sent for invalid input");
    })
    .await;
}

#[tokio::test]
async fn a_binding_adds_its_runtime_to_the_user_agent() {
    within(10, async {
        let server = Server::start(|_| Reply::ok(page(&[], None))).await;
        let client = client(&server)
            .runtime("python", "3.11.7")
            .user_agent("myapp/1.2.3")
            .api_version("v22.0")
            .build()
            .unwrap();
        client
            .list_join_requests(GROUP, ListOptions::default())
            .await
            .unwrap();
        let s = &server.requests()[0];
        let ua = s.header("user-agent");
        assert_eq!(
            ua,
            format!("wa-groups/{};python=3.11.7 myapp/1.2.3", wa_groups::VERSION)
        );
        assert!(s.uri.path().starts_with("/v22.0/"));

        let plain = crate::support::client(&server).build().unwrap();
        plain
            .list_join_requests(GROUP, ListOptions::default())
            .await
            .unwrap();
        assert_eq!(
            server.requests()[1].header("user-agent"),
            format!("wa-groups/{}", wa_groups::VERSION)
        );
    })
    .await;
}
