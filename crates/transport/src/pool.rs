//! The connections of one client. A client talks to one origin (its base
//! URL), so the pool is a stack of idle HTTP/1 connections and at most one
//! HTTP/2 connection, over hyper's connection API: no per-request task, no
//! per-request pool key, the `Host` header made once.
//!
//! An HTTP/1 connection goes back to the pool only after its response body
//! was read to the end ([`Checkout::release`]); one dropped mid-response
//! closes. The connector ([`LimitedConnector`]) holds the limit on open
//! connections; the client's in-flight semaphore, of the same size, keeps
//! callers from waiting on a connect while a connection sits idle.

use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::{HeaderValue, Request, Response, Uri};
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::client::conn::{http1, http2};
use hyper_util::client::legacy::connect::Connection as _;
use hyper_util::rt::{TokioExecutor, TokioTimer};
use tower_service::Service as _;
use wa_groups_protocol::TransportError;

use crate::connect::{LimitedConnector, transport_error};

type Body = Full<Bytes>;

/// How long an idle connection is kept.
const IDLE_TIMEOUT: Duration = Duration::from_secs(90);

const UNKNOWN: u8 = 0;
const HTTP1: u8 = 1;
const HTTP2: u8 = 2;

pub(crate) struct Pool {
    connector: LimitedConnector,
    /// `scheme://authority/`, what the connector dials.
    origin: Uri,
    host: HeaderValue,
    idle: Mutex<Vec<(http1::SendRequest<Body>, Instant)>>,
    h2: Mutex<Option<http2::SendRequest<Body>>>,
    /// What the host spoke last; until it is known to be HTTP/1, connects
    /// run one at a time so that a burst shares one HTTP/2 connection.
    protocol: AtomicU8,
    connecting: tokio::sync::Mutex<()>,
}

/// An HTTP/1 connection lent out for one exchange.
pub(crate) struct Checkout<'a> {
    pool: &'a Pool,
    sender: Option<http1::SendRequest<Body>>,
}

impl Checkout<'_> {
    /// The response body was read to the end: the connection can serve
    /// another request.
    pub(crate) fn release(mut self) {
        if let Some(sender) = self.sender.take().filter(|s| !s.is_closed()) {
            lock(&self.pool.idle).push((sender, Instant::now()));
        }
    }
}

enum Sender {
    H1 {
        sender: http1::SendRequest<Body>,
        reused: bool,
    },
    H2(http2::SendRequest<Body>),
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Pool {
    pub(crate) fn new(connector: LimitedConnector, base: &Uri) -> Result<Self, String> {
        let authority = base
            .authority()
            .ok_or_else(|| "the base URL has no host".to_owned())?
            .clone();
        let origin = Uri::builder()
            .scheme(base.scheme().cloned().unwrap_or(http::uri::Scheme::HTTPS))
            .authority(authority.clone())
            .path_and_query("/")
            .build()
            .map_err(|e| format!("base URL: {e}"))?;
        let host =
            HeaderValue::from_str(authority.as_str()).map_err(|e| format!("base URL host: {e}"))?;
        Ok(Self {
            connector,
            origin,
            host,
            idle: Mutex::new(Vec::new()),
            h2: Mutex::new(None),
            protocol: AtomicU8::new(UNKNOWN),
            connecting: tokio::sync::Mutex::new(()),
        })
    }

    /// Sends `req` (an absolute URI) and returns the response head with the
    /// body still to read, and the connection to release after reading it.
    pub(crate) async fn send(
        &self,
        mut req: Request<Body>,
    ) -> Result<(Response<Incoming>, Checkout<'_>), TransportError> {
        loop {
            match self.sender().await? {
                Sender::H2(mut sender) => {
                    sender
                        .ready()
                        .await
                        .map_err(|e| transport_error(&e, false))?;
                    let resp = sender
                        .send_request(req)
                        .await
                        .map_err(|e| transport_error(&e, false))?;
                    return Ok((
                        resp,
                        Checkout {
                            pool: self,
                            sender: None,
                        },
                    ));
                }
                Sender::H1 { mut sender, reused } => {
                    if sender.ready().await.is_err() && reused {
                        // Closed while idle: try the next one.
                        continue;
                    }
                    let h1 = origin_form(req, &self.host);
                    match sender.try_send_request(h1).await {
                        Ok(resp) => {
                            return Ok((
                                resp,
                                Checkout {
                                    pool: self,
                                    sender: Some(sender),
                                },
                            ));
                        }
                        // The server closed an idle connection as we picked it:
                        // the request was not sent, so send it on another.
                        Err(mut e) if reused && e.message().is_some() => {
                            let Some(back) = e.take_message() else {
                                return Err(transport_error(&e.into_error(), false));
                            };
                            req = absolute_form(back, &self.origin);
                        }
                        Err(e) => return Err(transport_error(&e.into_error(), false)),
                    }
                }
            }
        }
    }

    fn h2_ready(&self) -> Option<http2::SendRequest<Body>> {
        let mut slot = lock(&self.h2);
        match &*slot {
            Some(s) if !s.is_closed() => Some(s.clone()),
            Some(_) => {
                *slot = None;
                None
            }
            None => None,
        }
    }

    fn idle(&self) -> Option<http1::SendRequest<Body>> {
        let mut idle = lock(&self.idle);
        while let Some((sender, since)) = idle.pop() {
            if !sender.is_closed() && since.elapsed() < IDLE_TIMEOUT {
                return Some(sender);
            }
        }
        None
    }

    async fn sender(&self) -> Result<Sender, TransportError> {
        if let Some(s) = self.h2_ready() {
            return Ok(Sender::H2(s));
        }
        if let Some(sender) = self.idle() {
            return Ok(Sender::H1 {
                sender,
                reused: true,
            });
        }
        // Boxed: connecting (TCP, TLS, the HTTP/2 handshake) is a future of
        // about 7 KB, which would otherwise sit inside every call's future
        // and be copied each time a call is moved (into a task, a binding's
        // wrapper), though calls on a warm pool never connect.
        Box::pin(self.connect()).await
    }

    /// A new connection (no idle one was at hand).
    async fn connect(&self) -> Result<Sender, TransportError> {
        let _one_at_a_time = if self.protocol.load(Ordering::Acquire) == HTTP1 {
            None
        } else {
            let guard = self.connecting.lock().await;
            // Someone else may have connected while we waited.
            if let Some(s) = self.h2_ready() {
                return Ok(Sender::H2(s));
            }
            if let Some(sender) = self.idle() {
                return Ok(Sender::H1 {
                    sender,
                    reused: true,
                });
            }
            Some(guard)
        };
        let io = self
            .connector
            .clone()
            .call(self.origin.clone())
            .await
            .map_err(|e| transport_error(&*e, true))?;
        if io.connected().is_negotiated_h2() {
            let (sender, conn) = http2::Builder::new(TokioExecutor::new())
                .timer(TokioTimer::new())
                .handshake(io)
                .await
                .map_err(|e| transport_error(&e, true))?;
            tokio::spawn(conn);
            self.protocol.store(HTTP2, Ordering::Release);
            *lock(&self.h2) = Some(sender.clone());
            Ok(Sender::H2(sender))
        } else {
            let (sender, conn) = http1::Builder::new()
                .handshake(io)
                .await
                .map_err(|e| transport_error(&e, true))?;
            tokio::spawn(conn);
            self.protocol.store(HTTP1, Ordering::Release);
            Ok(Sender::H1 {
                sender,
                reused: false,
            })
        }
    }
}

/// HTTP/1 wants the path in the request line and the host in a header.
fn origin_form(req: Request<Body>, host: &HeaderValue) -> Request<Body> {
    let (mut parts, body) = req.into_parts();
    if let Some(pq) = parts.uri.path_and_query() {
        parts.uri = Uri::from(pq.clone());
    }
    parts
        .headers
        .entry(http::header::HOST)
        .or_insert_with(|| host.clone());
    Request::from_parts(parts, body)
}

/// The request made absolute again, for another connection.
fn absolute_form(req: Request<Body>, origin: &Uri) -> Request<Body> {
    let (mut parts, body) = req.into_parts();
    let mut uri = http::uri::Parts::default();
    uri.scheme = origin.scheme().cloned();
    uri.authority = origin.authority().cloned();
    uri.path_and_query = parts.uri.path_and_query().cloned();
    if let Ok(u) = Uri::from_parts(uri) {
        parts.uri = u;
    }
    parts.headers.remove(http::header::HOST);
    Request::from_parts(parts, body)
}
