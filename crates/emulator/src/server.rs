//! The HTTP side: accept loop, routing, the Graph API endpoints and faults.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use bytes::Bytes;
use http::header::{CONTENT_LENGTH, CONTENT_TYPE, RETRY_AFTER, WWW_AUTHENTICATE};
use http::{HeaderValue, Method, Request, Response, StatusCode};
use http_body_util::{BodyExt, Limited};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::GracefulShutdown;
use tokio::net::TcpListener;
use tokio::sync::{Semaphore, mpsc, watch};
use wa_groups_protocol::server::{ServerRequest, bad_request, bearer_token, parse_request};
use wa_groups_protocol::{Action, ApiError};

use crate::body::EmuBody;
use crate::codec::random_token;
use crate::conn::{Activity, Tracked};
use crate::fault::Fault;
use crate::state::{Clock, ListCtx, State};
use crate::stats::{Counters, bump};
use crate::webhook::{self, Delivery};
use crate::{Error, control, graph};

/// Settings fixed at start.
#[derive(Debug, Clone)]
pub(crate) struct Config {
    pub(crate) addr: SocketAddr,
    pub(crate) access_token: String,
    pub(crate) admin_token: Option<String>,
    pub(crate) page_size: u32,
    pub(crate) cursor_ttl: Duration,
    pub(crate) participant_cap: u32,
    pub(crate) fixed_start: Option<i64>,
    pub(crate) phone_number_id: String,
    pub(crate) display_phone_number: String,
    pub(crate) waba_id: String,
    pub(crate) max_request_body: usize,
    pub(crate) max_faults: usize,
    pub(crate) webhook_queue: usize,
    pub(crate) shutdown_grace: Duration,
    pub(crate) header_read_timeout: Duration,
    pub(crate) body_read_timeout: Duration,
    pub(crate) idle_timeout: Duration,
    pub(crate) max_connections: usize,
}

/// Everything the connections share.
pub(crate) struct Shared {
    pub(crate) config: Config,
    pub(crate) base_url: String,
    pub(crate) cursor_key: u64,
    pub(crate) clock: Clock,
    state: Mutex<State>,
    pub(crate) counters: Arc<Counters>,
    /// Mirrors `state.faults.len()` so calls skip the lock when none are queued.
    pub(crate) faults_queued: AtomicUsize,
    pub(crate) webhook_tx: mpsc::Sender<Delivery>,
}

impl Shared {
    pub(crate) fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The first queued fault matching this call, counted down.
    fn take_fault(&self, method: &Method, path: &str) -> Option<Fault> {
        if self.faults_queued.load(Ordering::Acquire) == 0 {
            return None;
        }
        let mut st = self.lock();
        let i = st
            .faults
            .iter()
            .position(|f| f.matcher.matches(method, path))?;
        let entry = &mut st.faults[i];
        entry.remaining -= 1;
        let fault = entry.fault.clone();
        if entry.remaining == 0 {
            st.faults.remove(i);
        }
        self.faults_queued.store(st.faults.len(), Ordering::Release);
        Some(fault)
    }
}

/// The error a service returns to make hyper drop the connection.
#[derive(Debug)]
pub(crate) struct Reset;

impl std::fmt::Display for Reset {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("emulator fault: connection reset")
    }
}

impl std::error::Error for Reset {}

pub(crate) struct Started {
    pub(crate) shared: Arc<Shared>,
    pub(crate) addr: SocketAddr,
    pub(crate) stop: watch::Sender<bool>,
    pub(crate) task: tokio::task::JoinHandle<()>,
}

/// Binds and starts serving on `rt`.
pub(crate) fn start(config: Config, rt: &tokio::runtime::Handle) -> Result<Started, Error> {
    let std_listener = std::net::TcpListener::bind(config.addr).map_err(Error::Bind)?;
    std_listener.set_nonblocking(true).map_err(Error::Bind)?;
    let addr = std_listener.local_addr().map_err(Error::Bind)?;
    let listener = {
        let _guard = rt.enter();
        TcpListener::from_std(std_listener).map_err(Error::Bind)?
    };
    let (webhook_tx, webhook_rx) = mpsc::channel(config.webhook_queue.max(1));
    let counters = Arc::new(Counters::default());
    let shared = Arc::new(Shared {
        base_url: format!("http://{addr}"),
        cursor_key: fastrand::u64(..),
        clock: Clock::new(config.fixed_start),
        state: Mutex::new(State::new()),
        counters: Arc::clone(&counters),
        faults_queued: AtomicUsize::new(0),
        webhook_tx,
        config,
    });
    let (stop, stop_rx) = watch::channel(false);
    let worker = rt.spawn(webhook::worker(webhook_rx, counters));
    let task = rt.spawn(serve(listener, Arc::clone(&shared), stop_rx, worker));
    Ok(Started {
        shared,
        addr,
        stop,
        task,
    })
}

async fn serve(
    listener: TcpListener,
    shared: Arc<Shared>,
    mut stop: watch::Receiver<bool>,
    worker: tokio::task::JoinHandle<()>,
) {
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .keep_alive(true)
        .header_read_timeout(shared.config.header_read_timeout);
    builder
        .http2()
        .timer(TokioTimer::new())
        .max_concurrent_streams(256);
    let graceful = GracefulShutdown::new();
    let slots = Arc::new(Semaphore::new(shared.config.max_connections.max(1)));
    let idle_timeout = shared.config.idle_timeout;
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let stream = match accepted {
                    Ok((stream, _)) => stream,
                    Err(e) => {
                        // Out of file descriptors and the like: back off, keep serving.
                        tracing::warn!(error = %e, "emulator accept failed");
                        tokio::time::sleep(Duration::from_millis(20)).await;
                        continue;
                    }
                };
                // Over the cap, the connection is closed at once: a
                // flood of sockets cannot exhaust the process's files.
                let Ok(slot) = Arc::clone(&slots).try_acquire_owned() else {
                    bump(&shared.counters.connections_refused);
                    drop(stream);
                    continue;
                };
                let _ = stream.set_nodelay(true);
                bump(&shared.counters.connections);
                let activity = Activity::new();
                let service = {
                    let shared = Arc::clone(&shared);
                    let activity = Arc::clone(&activity);
                    service_fn(move |req| {
                        let shared = Arc::clone(&shared);
                        let in_flight = activity.request();
                        async move {
                            let resp = route(&shared, req).await;
                            drop(in_flight);
                            resp
                        }
                    })
                };
                let io = TokioIo::new(Tracked::new(stream, Arc::clone(&activity)));
                let conn = builder.serve_connection(io, service).into_owned();
                let conn = graceful.watch(conn);
                let counters = Arc::clone(&shared.counters);
                tokio::spawn(async move {
                    let _slot = slot;
                    tokio::pin!(conn);
                    loop {
                        let wait = match activity.idle_for() {
                            Some(idle) if idle >= idle_timeout => {
                                // Dropping the connection closes the socket.
                                bump(&counters.connections_timed_out);
                                tracing::debug!("emulator closed an idle connection");
                                return;
                            }
                            Some(idle) => idle_timeout - idle,
                            None => idle_timeout,
                        };
                        tokio::select! {
                            ended = &mut conn => {
                                if let Err(e) = ended {
                                    tracing::debug!(error = %e, "emulator connection ended with an error");
                                }
                                return;
                            }
                            () = tokio::time::sleep(wait) => {}
                        }
                    }
                });
            }
            _ = stop.changed() => break,
        }
    }
    drop(listener);
    let grace = shared.config.shutdown_grace;
    if tokio::time::timeout(grace, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::debug!("emulator shutdown: connections still open after the grace period");
    }
    worker.abort();
}

async fn route(shared: &Arc<Shared>, req: Request<Incoming>) -> Result<Response<EmuBody>, Reset> {
    let path = req.uri().path();
    if path == "/_emulator" || path.starts_with("/_emulator/") {
        bump(&shared.counters.control);
        let (parts, body) = req.into_parts();
        let body = match read_body(shared, body).await? {
            Ok(b) => b,
            Err(resp) => return Ok(resp),
        };
        return Ok(control::handle(shared, &parts, &body));
    }
    let resp = graph_api(shared, req).await;
    // Every 429 served counts, the rate limiter's and injected ones alike.
    if resp
        .as_ref()
        .is_ok_and(|r| r.status() == StatusCode::TOO_MANY_REQUESTS)
    {
        bump(&shared.counters.rate_limited);
    }
    resp
}

/// Reads a request body under the size cap and the body read timeout; a
/// body that does not arrive in time closes the connection (`Err`).
async fn read_body(
    shared: &Shared,
    body: Incoming,
) -> Result<Result<Bytes, Response<EmuBody>>, Reset> {
    let max = shared.config.max_request_body;
    let read = Limited::new(body, max).collect();
    let Ok(read) = tokio::time::timeout(shared.config.body_read_timeout, read).await else {
        bump(&shared.counters.connections_timed_out);
        tracing::debug!("emulator closed a connection whose request body was too slow");
        return Err(Reset);
    };
    Ok(match read {
        Ok(b) => Ok(b.to_bytes()),
        Err(e) if e.is::<http_body_util::LengthLimitError>() => {
            let mut err = bad_request(format!("(#100) Request body larger than {max} bytes"));
            err.status = 413;
            Err(api_error(err))
        }
        Err(_) => Err(api_error(bad_request(
            "(#100) Could not read the request body",
        ))),
    })
}

pub(crate) fn json(status: StatusCode, body: impl Into<Bytes>) -> Response<EmuBody> {
    let mut resp = Response::new(EmuBody::full(body));
    *resp.status_mut() = status;
    resp.headers_mut().insert(
        CONTENT_TYPE,
        HeaderValue::from_static("application/json; charset=UTF-8"),
    );
    resp
}

/// The Graph error envelope for `e`, with a trace ID, and `Retry-After` or
/// `WWW-Authenticate` where they belong.
pub(crate) fn api_error(mut e: ApiError) -> Response<EmuBody> {
    if e.fbtrace_id.is_none() {
        e.fbtrace_id = Some(random_token(11));
    }
    let status = StatusCode::from_u16(e.status).unwrap_or(StatusCode::BAD_REQUEST);
    let mut resp = json(status, e.to_envelope());
    if let Some(after) = e.retry_after {
        resp.headers_mut()
            .insert(RETRY_AFTER, HeaderValue::from(after.as_secs()));
    }
    if e.status == 401 {
        resp.headers_mut().insert(
            WWW_AUTHENTICATE,
            HeaderValue::from_static(
                "OAuth \"Facebook Platform\" \"invalid_token\" \"Invalid OAuth access token\"",
            ),
        );
    }
    resp
}

fn fault_response(fault: Fault) -> Result<Response<EmuBody>, Reset> {
    Ok(match fault {
        Fault::Latency(_) => unreachable_latency(),
        Fault::ServerError {
            status,
            code,
            is_transient,
        } => api_error(graph::server_error(
            status,
            code.unwrap_or(if is_transient { 2 } else { 1 }),
            is_transient,
        )),
        Fault::RateLimited { code, retry_after } => api_error(graph::rate_limited(
            code,
            retry_after.map(Duration::from_secs),
        )),
        Fault::ConnectionReset => return Err(Reset),
        Fault::TruncatedBody => {
            let mut resp = json(StatusCode::OK, Bytes::new());
            *resp.body_mut() =
                EmuBody::truncated(Bytes::from_static(b"{\"data\":[{\"join_request_id\":\""));
            resp.headers_mut()
                .insert(CONTENT_LENGTH, HeaderValue::from_static("4096"));
            resp
        }
        Fault::MalformedJson => json(
            StatusCode::OK,
            Bytes::from_static(b"{\"data\": [{\"join_request_id\": \"MTox\",, }"),
        ),
        Fault::OversizeBody { bytes } => {
            let mut resp = json(StatusCode::OK, Bytes::new());
            *resp.body_mut() = EmuBody::oversize(bytes);
            resp
        }
        Fault::Response {
            status,
            headers,
            body,
        } => {
            // Validated when queued.
            let mut resp = json(StatusCode::from_u16(status).unwrap_or(StatusCode::OK), body);
            for (name, value) in headers {
                if let (Ok(n), Ok(v)) = (
                    http::HeaderName::from_bytes(name.as_bytes()),
                    HeaderValue::from_str(&value),
                ) {
                    resp.headers_mut().insert(n, v);
                }
            }
            resp
        }
    })
}

/// Latency is applied before the call is served, never turned into a response.
fn unreachable_latency() -> Response<EmuBody> {
    api_error(graph::server_error(500, 1, false))
}

fn token_ok(shared: &Shared, parts: &http::request::Parts) -> Result<(), ApiError> {
    let query_token = parts.uri.query().and_then(|q| {
        q.split('&')
            .find_map(|kv| kv.strip_prefix("access_token="))
            .map(str::to_owned)
    });
    let token = bearer_token(&parts.headers)
        .map(str::to_owned)
        .or(query_token);
    match token {
        None => Err(graph::invalid_token(true)),
        Some(t) if t == shared.config.access_token => Ok(()),
        Some(_) => Err(graph::invalid_token(false)),
    }
}

async fn graph_api(
    shared: &Arc<Shared>,
    req: Request<Incoming>,
) -> Result<Response<EmuBody>, Reset> {
    let counters = &shared.counters;
    bump(&counters.requests);
    let (parts, body) = req.into_parts();
    if let Some(fault) = shared.take_fault(&parts.method, parts.uri.path()) {
        bump(&counters.faults_applied);
        match fault {
            Fault::Latency(d) => tokio::time::sleep(d).await,
            other => return fault_response(other),
        }
    }
    let body = match read_body(shared, body).await? {
        Ok(b) => b,
        Err(resp) => return Ok(resp),
    };
    if let Err(e) = token_ok(shared, &parts) {
        bump(&counters.auth_failures);
        return Ok(api_error(e));
    }
    let request = match parse_request(&parts.method, &parts.uri, &parts.headers, &body) {
        Ok(r) => r,
        Err(e) => {
            bump(&counters.invalid);
            return Ok(api_error(e));
        }
    };
    let result = match request {
        ServerRequest::List { version, op } => {
            bump(&counters.list);
            let ctx = ListCtx {
                base_url: &shared.base_url,
                version: version.as_str(),
                page_size: shared.config.page_size,
                cursor_ttl_ms: i64::try_from(shared.config.cursor_ttl.as_millis())
                    .unwrap_or(i64::MAX),
                cursor_key: shared.cursor_key,
                now_ms: shared.clock.now_ms(),
            };
            let page = shared
                .lock()
                .list(op.group_id().as_str(), op.options(), &ctx);
            page.map(|p| json(StatusCode::OK, serde_json::to_vec(&p).unwrap_or_default()))
        }
        ServerRequest::Decide { op, .. } => {
            let (counter, done) = match op.action() {
                Action::Approve => (&counters.approve, &counters.approved),
                Action::Reject => (&counters.reject, &counters.rejected),
            };
            bump(counter);
            let request_id = random_token(24);
            let now = shared.clock.now_secs();
            let decided = shared.lock().decide(
                op.group_id().as_str(),
                op.action(),
                op.ids(),
                now,
                &request_id,
            );
            decided.map(|(outcome, events)| {
                crate::stats::add(done, outcome.succeeded.len() as u64);
                crate::stats::add(&counters.failed_items, outcome.failed.len() as u64);
                if let Some((target, events)) = events {
                    webhook::enqueue(shared, &target, &events);
                }
                json(StatusCode::OK, outcome.to_json())
            })
        }
        ServerRequest::GroupInfo { op, .. } => {
            bump(&counters.group_info);
            let info = shared
                .lock()
                .group_info(op.group_id().as_str(), op.fields());
            info.map(|i| json(StatusCode::OK, serde_json::to_vec(&i).unwrap_or_default()))
        }
        _ => {
            bump(&counters.invalid);
            Err(bad_request("(#100) Unsupported request"))
        }
    };
    Ok(result.unwrap_or_else(|e| {
        if e.code == 131_041 {
            bump(&counters.unknown_group);
        }
        api_error(e)
    }))
}
