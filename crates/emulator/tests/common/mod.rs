//! Shared test helpers: a plain-HTTP client and request builders.
#![allow(
    dead_code,
    unreachable_pub,
    reason = "each test file uses a different part of the helpers"
)]

use bytes::Bytes;
use http::{HeaderMap, Method, Request, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use serde_json::Value;
use wa_groups_emulator::EmulatorHandle;
use wa_groups_protocol::{AccessToken, ApiVersion, BaseUrl, Endpoint, UserAgent};

pub type HttpClient = Client<HttpConnector, Full<Bytes>>;

pub fn client() -> HttpClient {
    Client::builder(TokioExecutor::new()).build_http()
}

pub fn h2_client() -> HttpClient {
    Client::builder(TokioExecutor::new())
        .http2_only(true)
        .build_http()
}

pub struct Answer {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Bytes,
}

impl Answer {
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {:?}", String::from_utf8_lossy(&self.body)))
    }

    /// The Graph error code of an error envelope.
    pub fn code(&self) -> i64 {
        self.json()["error"]["code"]
            .as_i64()
            .expect("error envelope")
    }
}

pub async fn send(client: &HttpClient, req: Request<Bytes>) -> Answer {
    try_send(client, req).await.expect("request failed")
}

pub async fn try_send(
    client: &HttpClient,
    req: Request<Bytes>,
) -> Result<Answer, Box<dyn std::error::Error + Send + Sync>> {
    let (parts, body) = req.into_parts();
    let req = Request::from_parts(parts, Full::new(body));
    let resp = client.request(req).await?;
    let (parts, body) = resp.into_parts();
    let body = body.collect().await?.to_bytes();
    Ok(Answer {
        status: parts.status,
        headers: parts.headers,
        body,
    })
}

/// The protocol crate's endpoint for this emulator.
pub fn endpoint(emu: &EmulatorHandle) -> Endpoint {
    Endpoint::new(
        BaseUrl::new(emu.base_url()).unwrap(),
        ApiVersion::default(),
        AccessToken::new(emu.access_token()).unwrap(),
        UserAgent::library(),
    )
}

/// A request to the emulator's control API.
pub fn control(
    emu: &EmulatorHandle,
    method: Method,
    path: &str,
    body: Option<Value>,
) -> Request<Bytes> {
    let body = body.map(|v| Bytes::from(v.to_string())).unwrap_or_default();
    Request::builder()
        .method(method)
        .uri(format!("{}{path}", emu.base_url()))
        .header("content-type", "application/json")
        .body(body)
        .unwrap()
}

/// A raw Graph request with the right token.
pub fn graph(
    emu: &EmulatorHandle,
    method: Method,
    path_and_query: &str,
    body: Option<&str>,
) -> Request<Bytes> {
    let mut b = Request::builder()
        .method(method)
        .uri(format!("{}{path_and_query}", emu.base_url()))
        .header("authorization", format!("Bearer {}", emu.access_token()));
    if body.is_some() {
        b = b.header("content-type", "application/json");
    }
    b.body(body.map(|s| Bytes::from(s.to_owned())).unwrap_or_default())
        .unwrap()
}
