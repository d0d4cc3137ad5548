//! A small scripted HTTP server on 127.0.0.1 for the client's tests.
//!
//! Every request is read whole, checked with the protocol crate's
//! `server::parse_request`, recorded (with the TCP connection it came on
//! and its HTTP version), and answered with what the test's script says: a
//! response, or a fault (the connection dropped before the response, a body
//! cut short of its `Content-Length`, a stall, a long streamed body).
//! `start_tls` serves the same over rustls with a fresh self-signed
//! certificate, offering h2 and http/1.1 by ALPN.

#![allow(dead_code, unreachable_pub)]

use std::collections::VecDeque;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use futures_util::stream;
use http::{HeaderMap, Method, Request, Response, StatusCode, Uri, Version};
use http_body_util::combinators::BoxBody;
use http_body_util::{BodyExt, Full, StreamBody};
use hyper::body::{Frame, Incoming};
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo};
use serde_json::{Value, json};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use wa_groups_protocol::ApiError;
use wa_groups_protocol::server::{ServerRequest, parse_request};

pub mod raw;

/// The token the test clients send.
pub const TOKEN: &str = "EAAB-test-token-0123456789";

type BoxError = Box<dyn std::error::Error + Send + Sync>;
type Body = BoxBody<Bytes, BoxError>;

/// One request as the server saw it.
#[derive(Debug, Clone)]
pub struct Seen {
    pub method: Method,
    pub uri: Uri,
    pub version: Version,
    pub headers: HeaderMap,
    pub body: Bytes,
    /// What `server::parse_request` made of it.
    pub parsed: Result<ServerRequest, ApiError>,
    /// Which accepted TCP connection it came on (0, 1, ...).
    pub connection: usize,
}

impl Seen {
    pub fn header(&self, name: &str) -> &str {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
    }

    /// The IDs of an approve or reject request.
    pub fn ids(&self) -> Vec<String> {
        match &self.parsed {
            Ok(ServerRequest::Decide { op, .. }) => op
                .ids()
                .as_slice()
                .iter()
                .map(|i| i.as_str().to_owned())
                .collect(),
            _ => Vec::new(),
        }
    }

    /// The `after` cursor of a list request.
    pub fn after(&self) -> Option<String> {
        match &self.parsed {
            Ok(ServerRequest::List { op, .. }) => {
                op.options().after.as_ref().map(|c| c.as_str().to_owned())
            }
            _ => None,
        }
    }
}

/// What the server does with one request.
#[derive(Debug, Clone)]
pub enum Reply {
    /// A complete response.
    Respond {
        status: u16,
        headers: Vec<(String, String)>,
        body: Bytes,
    },
    /// Drop the connection without answering.
    Drop,
    /// Declare `declared` bytes of body, send `sent`, then drop the connection.
    Truncated { declared: usize, sent: Bytes },
    /// A chunked body of `count` chunks of `chunk`, without `Content-Length`.
    Stream { chunk: Bytes, count: usize },
    /// Wait, then reply.
    Delayed(Duration, Box<Reply>),
}

impl Reply {
    pub fn json(status: u16, value: Value) -> Self {
        Self::raw(status, "application/json", value.to_string())
    }

    pub fn ok(value: Value) -> Self {
        Self::json(200, value)
    }

    pub fn raw(status: u16, content_type: &str, body: impl Into<Bytes>) -> Self {
        Self::Respond {
            status,
            headers: vec![("content-type".to_owned(), content_type.to_owned())],
            body: body.into(),
        }
    }

    /// A Graph error envelope.
    pub fn graph_error(status: u16, code: i64, message: &str, is_transient: bool) -> Self {
        Self::json(
            status,
            json!({"error": {
                "message": message,
                "type": "OAuthException",
                "code": code,
                "is_transient": is_transient,
                "fbtrace_id": "AbCdEf"
            }}),
        )
    }

    #[must_use]
    pub fn with_header(mut self, name: &str, value: &str) -> Self {
        if let Self::Respond { headers, .. } = &mut self {
            headers.push((name.to_owned(), value.to_owned()));
        }
        self
    }

    #[must_use]
    pub fn after(self, delay: Duration) -> Self {
        Self::Delayed(delay, Box::new(self))
    }
}

/// A list page body: `ids`, and `next` when there is a next page.
pub fn page(ids: &[&str], next: Option<&str>) -> Value {
    let data: Vec<Value> = ids
        .iter()
        .map(|id| json!({"join_request_id": id, "wa_id": "16505551234", "creation_timestamp": 1_700_000_000}))
        .collect();
    match next {
        Some(after) => json!({
            "data": data,
            "paging": {
                "cursors": {"before": "QkVGT1JF", "after": after},
                "next": format!("https://graph.facebook.com/v23.0/g/join_requests?after={after}")
            }
        }),
        None => {
            json!({"data": data, "paging": {"cursors": {"before": "QkVGT1JF", "after": "TEFTVA"}}})
        }
    }
}

/// An approve (or reject, with `key`) body: `ok` succeeded, `failed` failed with 131213.
pub fn outcome(key: &str, ok: &[String], failed: &[String]) -> Value {
    let failed: Vec<Value> = failed
        .iter()
        .map(|id| json!({"join_request_id": id, "errors": [{"code": 131213, "title": "Not found", "message": "join request does not exist"}]}))
        .collect();
    json!({"messaging_product": "whatsapp", key: ok, "failed_join_requests": failed, "errors": []})
}

type Handler = Arc<dyn Fn(&Seen) -> Reply + Send + Sync>;

/// A running scripted server; stops when dropped.
pub struct Server {
    addr: SocketAddr,
    tls: bool,
    seen: Arc<Mutex<Vec<Seen>>>,
    connections: Arc<AtomicUsize>,
    closed: Arc<Mutex<Vec<String>>>,
    peak: Arc<AtomicUsize>,
    task: JoinHandle<()>,
}

impl Drop for Server {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Server {
    /// Serves plain HTTP, answering each request with `handler`.
    pub async fn start(handler: impl Fn(&Seen) -> Reply + Send + Sync + 'static) -> Self {
        Self::spawn(Arc::new(handler), None).await
    }

    /// Answers the requests with `replies` in order, then with a
    /// non-retryable 418 once they run out.
    pub async fn queue(replies: Vec<Reply>) -> Self {
        Self::start(queue(replies)).await
    }

    /// Serves HTTPS with a fresh self-signed certificate for 127.0.0.1 and
    /// localhost; returns the certificate (DER) to trust.
    pub async fn start_tls(
        handler: impl Fn(&Seen) -> Reply + Send + Sync + 'static,
    ) -> (Self, Vec<u8>) {
        let cert = rcgen::generate_simple_self_signed(vec![
            "127.0.0.1".to_owned(),
            "localhost".to_owned(),
        ])
        .expect("self-signed certificate");
        let der = cert.cert.der().to_vec();
        let key = rustls::pki_types::PrivateKeyDer::try_from(cert.signing_key.serialize_der())
            .expect("key");
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .expect("protocol versions")
            .with_no_client_auth()
            .with_single_cert(
                vec![rustls::pki_types::CertificateDer::from(der.clone())],
                key,
            )
            .expect("server config");
        config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
        let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
        (Self::spawn(Arc::new(handler), Some(acceptor)).await, der)
    }

    async fn spawn(handler: Handler, tls: Option<tokio_rustls::TlsAcceptor>) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("local addr");
        let seen = Arc::new(Mutex::new(Vec::new()));
        let connections = Arc::new(AtomicUsize::new(0));
        let is_tls = tls.is_some();
        let closed = Arc::new(Mutex::new(Vec::new()));
        let open = Arc::new(AtomicUsize::new(0));
        let peak = Arc::new(AtomicUsize::new(0));
        let task = tokio::spawn({
            let seen = Arc::clone(&seen);
            let connections = Arc::clone(&connections);
            let closed = Arc::clone(&closed);
            let peak = Arc::clone(&peak);
            async move {
                loop {
                    let Ok((tcp, _)) = listener.accept().await else {
                        continue;
                    };
                    let connection = connections.fetch_add(1, Ordering::SeqCst);
                    let now_open = open.fetch_add(1, Ordering::SeqCst) + 1;
                    peak.fetch_max(now_open, Ordering::SeqCst);
                    let open = Arc::clone(&open);
                    let handler = Arc::clone(&handler);
                    let seen = Arc::clone(&seen);
                    let tls = tls.clone();
                    let closed = Arc::clone(&closed);
                    tokio::spawn(async move {
                        let service = service_fn(move |req| {
                            handle(req, connection, Arc::clone(&handler), Arc::clone(&seen))
                        });
                        let builder =
                            hyper_util::server::conn::auto::Builder::new(TokioExecutor::new());
                        match tls {
                            Some(acceptor) => {
                                if let Ok(stream) = acceptor.accept(tcp).await {
                                    let _ = builder
                                        .serve_connection(TokioIo::new(stream), service)
                                        .await;
                                }
                            }
                            None => {
                                let r = builder.serve_connection(TokioIo::new(tcp), service).await;
                                closed
                                    .lock()
                                    .unwrap()
                                    .push(format!("conn {connection}: {r:?}"));
                            }
                        }
                        open.fetch_sub(1, Ordering::SeqCst);
                    });
                }
            }
        });
        Self {
            addr,
            tls: is_tls,
            seen,
            connections,
            closed,
            peak,
            task,
        }
    }

    pub fn base_url(&self) -> String {
        let scheme = if self.tls { "https" } else { "http" };
        format!("{scheme}://{}", self.addr)
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Every request so far, in arrival order.
    pub fn requests(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }

    /// How many requests arrived.
    pub fn count(&self) -> usize {
        self.seen.lock().unwrap().len()
    }

    /// How many TCP connections were accepted.
    pub fn connections(&self) -> usize {
        self.connections.load(Ordering::SeqCst)
    }

    /// The most connections that were open at once.
    pub fn peak_open(&self) -> usize {
        self.peak.load(Ordering::SeqCst)
    }

    /// The plain-HTTP connections that ended, with how.
    pub fn closed(&self) -> Vec<String> {
        self.closed.lock().unwrap().clone()
    }

    /// Asserts that every request parsed as the API expects.
    pub fn assert_all_valid(&self) {
        for s in self.requests() {
            if let Err(e) = &s.parsed {
                panic!("{} {} did not parse: {e}", s.method, s.uri);
            }
        }
    }
}

/// A handler answering with `replies` in order, then a 418.
pub fn queue(replies: Vec<Reply>) -> impl Fn(&Seen) -> Reply + Send + Sync + 'static {
    let replies = Mutex::new(VecDeque::from(replies));
    move |_| {
        replies
            .lock()
            .unwrap()
            .pop_front()
            .unwrap_or_else(|| Reply::graph_error(418, 100, "script exhausted", false))
    }
}

async fn handle(
    req: Request<Incoming>,
    connection: usize,
    handler: Handler,
    seen: Arc<Mutex<Vec<Seen>>>,
) -> Result<Response<Body>, BoxError> {
    let (parts, body) = req.into_parts();
    let body = body.collect().await?.to_bytes();
    let parsed = parse_request(&parts.method, &parts.uri, &parts.headers, &body);
    let s = Seen {
        method: parts.method,
        uri: parts.uri,
        version: parts.version,
        headers: parts.headers,
        body,
        parsed,
        connection,
    };
    let mut reply = handler(&s);
    seen.lock().unwrap().push(s);
    loop {
        match reply {
            Reply::Delayed(d, next) => {
                tokio::time::sleep(d).await;
                reply = *next;
            }
            Reply::Respond {
                status,
                headers,
                body,
            } => {
                let mut resp =
                    Response::new(Full::new(body).map_err(|e: Infallible| match e {}).boxed());
                *resp.status_mut() = StatusCode::from_u16(status).expect("status");
                for (k, v) in headers {
                    resp.headers_mut().append(
                        http::HeaderName::try_from(k).expect("header name"),
                        http::HeaderValue::try_from(v).expect("header value"),
                    );
                }
                return Ok(resp);
            }
            Reply::Drop => return Err("scripted: drop the connection".into()),
            Reply::Truncated { declared, sent } => {
                let frames = stream::unfold(Some(sent), |state| async move {
                    match state {
                        Some(bytes) => Some((Ok(Frame::data(bytes)), None)),
                        None => {
                            tokio::time::sleep(Duration::from_millis(20)).await;
                            let err: BoxError = "scripted: body cut short".into();
                            Some((Err(err), None))
                        }
                    }
                });
                let mut resp = Response::new(BodyExt::boxed(StreamBody::new(frames)));
                resp.headers_mut()
                    .insert("content-type", "application/json".parse().expect("value"));
                resp.headers_mut().insert(
                    "content-length",
                    declared.to_string().parse().expect("value"),
                );
                return Ok(resp);
            }
            Reply::Stream { chunk, count } => {
                let frames = stream::iter(
                    (0..count).map(move |_| Ok::<_, BoxError>(Frame::data(chunk.clone()))),
                );
                let mut resp = Response::new(BodyExt::boxed(StreamBody::new(frames)));
                resp.headers_mut()
                    .insert("content-type", "application/json".parse().expect("value"));
                return Ok(resp);
            }
        }
    }
}

/// A client for `server` with short backoff and timeout, so tests are quick.
pub fn client(server: &Server) -> wa_groups::ClientBuilder {
    wa_groups::Client::builder()
        .access_token(TOKEN)
        .base_url(server.base_url())
        .retry_base_delay(Duration::from_millis(2))
        .timeout(Duration::from_secs(5))
}

/// Runs a test body under a deadline, so no test hangs.
pub async fn within<T>(secs: u64, fut: impl std::future::Future<Output = T>) -> T {
    tokio::time::timeout(Duration::from_secs(secs), fut)
        .await
        .expect("test did not finish in time")
}
