//! Every setting is validated by `build()`, and the error names it.

use std::time::Duration;

use wa_groups::{Client, ClientBuilder, Error, Field};

fn field(b: ClientBuilder) -> (Field, String) {
    match b.build() {
        Err(Error::InvalidInput(e)) => (e.field(), e.to_string()),
        Err(other) => panic!("expected invalid input, got {other:?}"),
        Ok(c) => panic!("expected an error, built {c:?}"),
    }
}

fn ok() -> ClientBuilder {
    Client::builder().access_token("EAAB-token")
}

#[test]
fn defaults_build() {
    let client = ok().build().unwrap();
    let e = client.endpoint();
    assert_eq!(e.base_url().as_str(), "https://graph.facebook.com");
    assert_eq!(e.api_version().as_str(), "v23.0");
    assert_eq!(
        e.user_agent().as_str(),
        format!("wa-groups/{}", wa_groups::VERSION)
    );
    let debug = format!("{client:?}");
    assert!(debug.contains("max_connections: 64"), "{debug}");
    assert!(debug.contains("max_ids_per_request: 100"), "{debug}");
    assert!(debug.contains("max_concurrency: 4"), "{debug}");
    assert!(debug.contains("max_response_bytes: 4194304"), "{debug}");
    assert!(debug.contains("timeout: 30s"), "{debug}");
    assert!(debug.contains("connect_timeout: 10s"), "{debug}");
    assert!(debug.contains("max_retries: 3"), "{debug}");
    // Loopback http is fine.
    ok().base_url("http://127.0.0.1:8080").build().unwrap();
    ok().base_url("http://localhost:1/prefix/").build().unwrap();
    ok().base_url("http://[::1]:8080").build().unwrap();
    Client::new("EAAB-token").unwrap();
}

#[test]
fn each_bad_setting_is_named() {
    assert_eq!(field(Client::builder()).0, Field::AccessToken);
    assert_eq!(
        field(Client::builder().access_token("")).0,
        Field::AccessToken
    );
    assert_eq!(
        field(Client::builder().access_token("a\r\nb")).0,
        Field::AccessToken
    );
    assert_eq!(field(ok().api_version("23.0")).0, Field::ApiVersion);
    assert_eq!(field(ok().base_url("http://example.com")).0, Field::BaseUrl);
    assert_eq!(field(ok().base_url("ftp://127.0.0.1")).0, Field::BaseUrl);
    assert_eq!(field(ok().user_agent("my app")).0, Field::UserAgent);
    assert_eq!(field(ok().runtime("py thon", "3")).0, Field::UserAgent);
    assert_eq!(field(ok().timeout(Duration::ZERO)).0, Field::Timeout);
    assert_eq!(field(ok().timeout_secs(-1.0)).0, Field::Timeout);
    assert_eq!(field(ok().timeout_secs(f64::NAN)).0, Field::Timeout);
    assert_eq!(
        field(ok().connect_timeout(Duration::ZERO)).0,
        Field::ConnectTimeout
    );
    assert_eq!(
        field(ok().connect_timeout_secs(f64::INFINITY)).0,
        Field::ConnectTimeout
    );
    assert_eq!(
        field(ok().max_ids_per_request(0)).0,
        Field::MaxIdsPerRequest
    );
    assert_eq!(field(ok().max_concurrency(0)).0, Field::MaxConcurrency);
    // Bindings pass their users' numbers through: negative and huge ones are named too.
    assert_eq!(field(ok().max_retries(-1)).0, Field::MaxRetries);
    assert_eq!(field(ok().max_retries(101)).0, Field::MaxRetries);
    assert_eq!(field(ok().max_concurrency(-4)).0, Field::MaxConcurrency);
    assert_eq!(
        field(ok().max_ids_per_request(i64::MIN)).0,
        Field::MaxIdsPerRequest
    );
    let (f, text) = field(ok().max_connections(0));
    assert_eq!(f, Field::MaxConnections);
    assert!(text.contains("max_connections"), "{text}");
    assert_eq!(field(ok().max_response_bytes(0)).0, Field::MaxResponseBytes);
    let (f, text) = field(ok().add_root_certificate(b"not DER".to_vec()));
    assert_eq!(f, Field::RootCertificates);
    assert!(text.contains("root_certificates[0]"), "{text}");
}

#[test]
fn seconds_from_bindings_are_accepted() {
    ok().timeout_secs(0.25)
        .connect_timeout_secs(2.0)
        .build()
        .unwrap();
}

#[test]
fn client_is_send_sync_clone() {
    fn assert_traits<T: Send + Sync + Clone + 'static>() {}
    assert_traits::<Client>();
    fn assert_send<T: Send>(_: &T) {}
    let client = ok().build().unwrap();
    assert_send(&client.approve_all("g"));
    assert_send(&client.list_join_requests("g", wa_groups::ListOptions::default()));
    assert_send(&client.join_requests("g"));
}
