//! The HTTP side: the accept loop with its connection limits, and the
//! routing to the Graph API and control routes.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use http::{Request, Response, StatusCode};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::GracefulShutdown;
use tokio::net::TcpListener;
use tokio::sync::{Semaphore, watch};

use crate::body::EmuBody;
use crate::config::Config;
use crate::conn::{Activity, Tracked};
use crate::core::Core;
use crate::respond::{Reset, read_body};
use crate::stats::bump;
use crate::{Error, control, graph, webhook};

pub(crate) struct Started {
    pub(crate) core: Arc<Core>,
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
    let (core, webhook_rx) = Core::new(config, format!("http://{addr}"));
    let core = Arc::new(core);
    let (stop, stop_rx) = watch::channel(false);
    let worker = rt.spawn(webhook::worker(webhook::Worker {
        rx: webhook_rx,
        counters: Arc::clone(&core.counters),
        retries: core.config.webhook_retries,
        backoff: core.config.webhook_backoff,
        max_in_flight: core.config.webhook_queue,
        concurrency: core.config.webhook_concurrency,
    }));
    let task = rt.spawn(serve(listener, Arc::clone(&core), stop_rx, worker));
    Ok(Started {
        core,
        addr,
        stop,
        task,
    })
}

async fn serve(
    listener: TcpListener,
    shared: Arc<Core>,
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

async fn route(shared: &Arc<Core>, req: Request<Incoming>) -> Result<Response<EmuBody>, Reset> {
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
    let resp = graph::graph_api(shared, req).await;
    // Every 429 served counts, the rate limiter's and injected ones alike.
    if resp
        .as_ref()
        .is_ok_and(|r| r.status() == StatusCode::TOO_MANY_REQUESTS)
    {
        bump(&shared.counters.rate_limited);
    }
    resp
}
