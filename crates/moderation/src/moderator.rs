//! [`Moderator`]: the builder, the webhook receiver ([`Moderator::handle`]),
//! and [`Moderator::serve`], which runs the receiver with `/healthz` and
//! `/metrics` beside the decider, applier and reconciler workers.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use futures_util::future::BoxFuture;
use http::{Method, Request, Response, StatusCode, header};
use http_body_util::{BodyExt as _, Full, Limited};
use tokio::net::TcpListener;
use tokio::sync::{Notify, watch};
use wa_groups::Client;
use wa_groups::protocol::webhook::{self, GroupEventKind, JoinRequestEvent};

use crate::ledger::{Decision, Event, Requester};
use crate::metrics::Metrics;
use crate::policy::{ModerationRequest, Policy, PolicyError};
use crate::store::{Change, Status, Store, StoreError};
use crate::workers;

/// The largest webhook body accepted; larger ones are answered 413.
pub const MAX_BODY_BYTES: usize = 1 << 20;

/// The default wait to fill an approve or reject call.
pub const DEFAULT_BATCH_WINDOW: Duration = Duration::from_millis(200);

/// The default time between reconciliation passes.
pub const DEFAULT_RECONCILE_EVERY: Duration = Duration::from_secs(600);

/// The default path of the webhook endpoint in [`Moderator::serve`].
pub const DEFAULT_WEBHOOK_PATH: &str = "/webhook";

/// How long a claim leases records by default (renewed while their work is
/// in flight; on PostgreSQL a dead replica's leases are free at once, and
/// this bounds a replica that hangs while alive).
pub const DEFAULT_LEASE_TIMEOUT: Duration = Duration::from_secs(60);

/// How long a user's decider callback may take for one request by default.
pub const DEFAULT_DECIDER_TIMEOUT: Duration = Duration::from_secs(10);

/// What can stop a moderator from being built or served.
#[non_exhaustive]
#[derive(Debug)]
pub enum Error {
    /// A setting is missing or wrong; the message names it.
    Config(String),
    /// The policy file is bad.
    Policy(PolicyError),
    /// The store failed.
    Store(StoreError),
    /// The listener failed.
    Io(std::io::Error),
}

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Config(m) => write!(f, "moderator: {m}"),
            Self::Policy(e) => e.fmt(f),
            Self::Store(e) => e.fmt(f),
            Self::Io(e) => write!(f, "moderator: {e}"),
        }
    }
}

impl std::error::Error for Error {}

impl From<PolicyError> for Error {
    fn from(e: PolicyError) -> Self {
        Self::Policy(e)
    }
}

impl From<StoreError> for Error {
    fn from(e: StoreError) -> Self {
        Self::Store(e)
    }
}

/// A user's decider: given one request, approve, reject or hold. Any
/// `Fn(&ModerationRequest) -> impl Future<Output = Decision>` is one, so
/// `.decide(|req| async { Decision::Approve })` works; the language
/// bindings implement it over a host callback.
pub trait Decider: Send + Sync + 'static {
    /// Decides `req`. Copy what the future needs out of `req` first.
    fn decide(&self, req: &ModerationRequest) -> BoxFuture<'static, Decision>;
}

impl<F, Fut> Decider for F
where
    F: Fn(&ModerationRequest) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Decision> + Send + 'static,
{
    fn decide(&self, req: &ModerationRequest) -> BoxFuture<'static, Decision> {
        Box::pin(self(req))
    }
}

pub(crate) enum DecideWith {
    Policy(tokio::sync::Mutex<Policy>),
    Callback(Arc<dyn Decider>),
}

/// A secret kept out of every `Debug` and log line.
#[derive(Clone)]
pub(crate) struct Secret(String);

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("<redacted>")
    }
}

#[derive(Debug, Clone)]
pub(crate) struct Config {
    pub(crate) batch_window: Duration,
    pub(crate) reconcile_every: Duration,
    pub(crate) groups: Vec<String>,
    pub(crate) dry_run: bool,
    pub(crate) webhook_path: String,
    pub(crate) concurrency: usize,
    pub(crate) shutdown_grace: Duration,
    pub(crate) decider_timeout: Duration,
    pub(crate) lease_timeout: Duration,
}

pub(crate) struct Inner {
    pub(crate) client: Client,
    pub(crate) store: Store,
    pub(crate) decide: DecideWith,
    app_secret: Secret,
    verify_token: Secret,
    pub(crate) config: Config,
    pub(crate) metrics: Metrics,
    /// Wakes the decider: new pending records.
    pub(crate) decide_work: Notify,
    /// Wakes the applier: new decisions.
    pub(crate) apply_work: Notify,
}

impl Inner {
    /// `text` with the access token, the app secret and the verify token
    /// scrubbed out (in every encoding the redactor knows): for text that
    /// comes from a user's code, such as a failing decider's message, on
    /// its way into a record, which `status` and `log` show.
    pub(crate) fn scrub_secrets(&self, text: &mut String) {
        self.client.endpoint().redactor().scrub(text);
        for secret in [&self.app_secret.0, &self.verify_token.0] {
            wa_groups::protocol::Redactor::new(secret).scrub(text);
        }
    }
}

/// The moderation engine. Cheap to clone (all clones share one engine).
#[derive(Clone)]
pub struct Moderator {
    pub(crate) inner: Arc<Inner>,
}

impl std::fmt::Debug for Moderator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Moderator")
            .field("config", &self.inner.config)
            .finish_non_exhaustive()
    }
}

/// Settings of a [`Moderator`]; [`build`](Self::build) checks them.
#[must_use]
pub struct ModeratorBuilder {
    client: Option<Client>,
    store: Option<Store>,
    decide: Option<DecideWith>,
    app_secret: Option<String>,
    verify_token: Option<String>,
    config: Config,
}

impl std::fmt::Debug for ModeratorBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ModeratorBuilder")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

/// Now, in Unix milliseconds.
pub(crate) fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

impl Moderator {
    /// A builder with the defaults: batch window 200 ms, reconcile every
    /// 10 min, webhook path `/webhook`, the client's chunk size and
    /// concurrency.
    pub fn builder() -> ModeratorBuilder {
        ModeratorBuilder {
            client: None,
            store: None,
            decide: None,
            app_secret: None,
            verify_token: None,
            config: Config {
                batch_window: DEFAULT_BATCH_WINDOW,
                reconcile_every: DEFAULT_RECONCILE_EVERY,
                groups: Vec::new(),
                dry_run: false,
                webhook_path: DEFAULT_WEBHOOK_PATH.to_owned(),
                concurrency: wa_groups::DEFAULT_MAX_CONCURRENCY,
                shutdown_grace: Duration::from_secs(10),
                decider_timeout: DEFAULT_DECIDER_TIMEOUT,
                lease_timeout: DEFAULT_LEASE_TIMEOUT,
            },
        }
    }

    /// The store.
    pub fn store(&self) -> &Store {
        &self.inner.store
    }

    /// Counts by state, per group and in total, and every record.
    ///
    /// # Errors
    ///
    /// The store's error.
    pub async fn status(&self) -> Result<Status, StoreError> {
        self.inner.store.status().await
    }

    /// Answers one webhook request, for users who mount the endpoint in
    /// their own server (axum, actix): `GET` is Meta's subscription
    /// handshake; `POST` is a delivery, answered 200 only once its join
    /// request events are committed. Run the workers beside it with
    /// [`run_workers`](Self::run_workers).
    ///
    /// Answers: 200; 403 (handshake refused); 401 (signature missing or
    /// wrong; nothing stored); 413 (body over 1 MiB); 400 (not a webhook
    /// payload); 405 (another method); 503 (the store failed or is
    /// unreachable: nothing stored, and Meta redelivers).
    pub async fn handle(&self, request: Request<Bytes>) -> Response<Bytes> {
        let started = Instant::now();
        let (parts, body) = request.into_parts();
        let response = match parts.method {
            Method::GET => self.handshake(parts.uri.query().unwrap_or_default()),
            Method::POST => self.receive(&parts.headers, &body).await,
            _ => text(StatusCode::METHOD_NOT_ALLOWED, "GET or POST only\n"),
        };
        if parts.method == Method::POST {
            self.inner
                .metrics
                .delivery(response.status().as_u16(), started.elapsed());
        }
        response
    }

    fn handshake(&self, query: &str) -> Response<Bytes> {
        let mut mode = None;
        let mut token = None;
        let mut challenge = None;
        for (k, v) in form_pairs(query) {
            match k.as_str() {
                "hub.mode" => mode = Some(v),
                "hub.verify_token" => token = Some(v),
                "hub.challenge" => challenge = Some(v),
                _ => {}
            }
        }
        let token_ok = token
            .as_deref()
            .is_some_and(|t| constant_time_eq(t.as_bytes(), self.inner.verify_token.0.as_bytes()));
        match (mode.as_deref(), token_ok, challenge) {
            (Some("subscribe"), true, Some(challenge)) => {
                tracing::info!("webhook subscription handshake accepted");
                text(StatusCode::OK, challenge)
            }
            _ => {
                tracing::warn!("webhook subscription handshake refused");
                text(StatusCode::FORBIDDEN, "handshake refused\n")
            }
        }
    }

    async fn receive(&self, headers: &http::HeaderMap, body: &Bytes) -> Response<Bytes> {
        if body.len() > MAX_BODY_BYTES {
            return text(StatusCode::PAYLOAD_TOO_LARGE, "body over 1 MiB\n");
        }
        if let Err(e) =
            webhook::verify_signature_headers(self.inner.app_secret.0.as_bytes(), headers, body)
        {
            tracing::warn!(error = %e, "webhook delivery refused: bad signature");
            return text(
                StatusCode::UNAUTHORIZED,
                "bad or missing X-Hub-Signature-256\n",
            );
        }
        let payload = match webhook::parse(body) {
            Ok(p) => p,
            Err(e) => {
                tracing::warn!(error = %e, "webhook delivery is not a webhook payload");
                return text(StatusCode::BAD_REQUEST, "not a webhook payload\n");
            }
        };
        let mut changes = Vec::new();
        for ev in payload.events() {
            let (event, jr) = match ev.kind() {
                GroupEventKind::JoinRequestCreated(jr) => (
                    Event::Created {
                        requester: requester_of(jr),
                        created_at: ev.timestamp(),
                    },
                    jr,
                ),
                GroupEventKind::JoinRequestRevoked(jr) => (Event::Revoked, jr),
                _ => continue,
            };
            self.inner.metrics.event(ev.kind().event_type());
            changes.push(Change::new(ev.group_id(), &jr.join_request_id, event));
        }
        if changes.is_empty() {
            return text(StatusCode::OK, "");
        }
        let n = changes.len();
        match self.inner.store.apply(changes, now_ms()).await {
            Ok(_) => {
                tracing::debug!(events = n, "webhook delivery committed");
                self.inner.decide_work.notify_one();
                text(StatusCode::OK, "")
            }
            Err(e) => {
                tracing::error!(error = %e, "webhook delivery not stored; answering 503 so Meta redelivers");
                text(StatusCode::SERVICE_UNAVAILABLE, "not stored\n")
            }
        }
    }

    /// Runs the decider, applier and reconciler until `shutdown` resolves;
    /// then lets in-flight calls finish and their outcomes be recorded.
    ///
    /// # Errors
    ///
    /// [`Error::Store`] when the engine cannot start on the store (another
    /// engine runs on the same SQLite file).
    pub async fn run_workers(
        &self,
        shutdown: impl Future<Output = ()> + Send,
    ) -> Result<(), Error> {
        let _engine = self.inner.store.backend().start_engine(now_ms()).await?;
        let (stop_tx, stop_rx) = watch::channel(false);
        let tasks = workers::spawn(self.clone(), stop_rx);
        shutdown.await;
        let _ = stop_tx.send(true);
        for t in tasks {
            let _ = t.await;
        }
        Ok(())
    }

    /// Serves `listener` (the webhook path, `GET /healthz`, `GET /metrics`)
    /// and runs the workers until SIGINT or SIGTERM; then stops taking
    /// deliveries, finishes in-flight work and returns.
    ///
    /// # Errors
    ///
    /// [`Error::Io`] when the signal handlers cannot be installed;
    /// [`Error::Store`] as for [`serve_until`](Self::serve_until).
    pub async fn serve(&self, listener: TcpListener) -> Result<(), Error> {
        let signal = shutdown_signal().map_err(Error::Io)?;
        self.serve_until(listener, signal).await
    }

    /// [`serve`](Self::serve) until `shutdown` resolves instead of a signal.
    ///
    /// # Errors
    ///
    /// [`Error::Store`] when the engine cannot start on the store (another
    /// engine runs on the same SQLite file); nothing is served then.
    pub async fn serve_until(
        &self,
        listener: TcpListener,
        shutdown: impl Future<Output = ()> + Send,
    ) -> Result<(), Error> {
        let _engine = self.inner.store.backend().start_engine(now_ms()).await?;
        let (stop_tx, stop_rx) = watch::channel(false);
        let tasks = workers::spawn(self.clone(), stop_rx);
        let graceful = hyper_util::server::graceful::GracefulShutdown::new();
        let builder =
            hyper_util::server::conn::auto::Builder::new(hyper_util::rt::TokioExecutor::new());
        tokio::pin!(shutdown);
        loop {
            let (stream, peer) = tokio::select! {
                () = &mut shutdown => break,
                accepted = listener.accept() => match accepted {
                    Ok(a) => a,
                    Err(e) => {
                        // Out of file descriptors and the like: wait, do not spin.
                        tracing::warn!(error = %e, "accept failed");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        continue;
                    }
                },
            };
            let this = self.clone();
            let service = hyper::service::service_fn(move |req| {
                let this = this.clone();
                async move { Ok::<_, std::convert::Infallible>(this.route(req, peer).await) }
            });
            let conn = builder.serve_connection(hyper_util::rt::TokioIo::new(stream), service);
            let conn = graceful.watch(conn.into_owned());
            tokio::spawn(async move {
                let _ = conn.await;
            });
        }
        drop(listener);
        tracing::info!("shutting down: no new deliveries; finishing in-flight work");
        if tokio::time::timeout(self.inner.config.shutdown_grace, graceful.shutdown())
            .await
            .is_err()
        {
            tracing::warn!("some connections were still open after the grace period");
        }
        let _ = stop_tx.send(true);
        for t in tasks {
            let _ = t.await;
        }
        tracing::info!("stopped");
        Ok(())
    }

    async fn route(
        &self,
        req: Request<hyper::body::Incoming>,
        _peer: SocketAddr,
    ) -> Response<Full<Bytes>> {
        let path = req.uri().path().to_owned();
        let response = if path == self.inner.config.webhook_path {
            let (parts, body) = req.into_parts();
            match Limited::new(body, MAX_BODY_BYTES).collect().await {
                Ok(collected) => {
                    self.handle(Request::from_parts(parts, collected.to_bytes()))
                        .await
                }
                Err(e) if e.is::<http_body_util::LengthLimitError>() => {
                    self.inner.metrics.delivery(413, Duration::ZERO);
                    text(StatusCode::PAYLOAD_TOO_LARGE, "body over 1 MiB\n")
                }
                Err(_) => text(StatusCode::BAD_REQUEST, "could not read the body\n"),
            }
        } else if path == "/healthz" && req.method() == Method::GET {
            text(StatusCode::OK, "ok\n")
        } else if path == "/metrics" && req.method() == Method::GET {
            match self.inner.store.status().await {
                Ok(status) => {
                    let mut r = text(StatusCode::OK, self.inner.metrics.render(&status.total));
                    r.headers_mut().insert(
                        header::CONTENT_TYPE,
                        http::HeaderValue::from_static("text/plain; version=0.0.4"),
                    );
                    r
                }
                Err(e) => {
                    tracing::error!(error = %e, "metrics: store unavailable");
                    text(StatusCode::SERVICE_UNAVAILABLE, "store unavailable\n")
                }
            }
        } else {
            text(StatusCode::NOT_FOUND, "not found\n")
        };
        response.map(Full::new)
    }
}

fn requester_of(jr: &JoinRequestEvent) -> Requester {
    Requester {
        wa_id: jr.wa_id.clone(),
        user_id: jr.user_id.clone(),
        username: jr.username.clone(),
    }
}

fn text(status: StatusCode, body: impl Into<Bytes>) -> Response<Bytes> {
    let mut r = Response::new(body.into());
    *r.status_mut() = status;
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        http::HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    r
}

/// `k=v` pairs of a query string, percent-decoded (`+` is a space).
fn form_pairs(query: &str) -> Vec<(String, String)> {
    form_urlencoded::parse(query.as_bytes())
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Resolves on the first SIGINT or SIGTERM (SIGINT only off Unix).
fn shutdown_signal() -> std::io::Result<impl Future<Output = ()> + Send> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let mut term = signal(SignalKind::terminate())?;
        let mut int = signal(SignalKind::interrupt())?;
        Ok(async move {
            tokio::select! {
                _ = term.recv() => {}
                _ = int.recv() => {}
            }
        })
    }
    #[cfg(not(unix))]
    {
        Ok(async move {
            let _ = tokio::signal::ctrl_c().await;
        })
    }
}

impl ModeratorBuilder {
    /// The API client approvals and rejections go through (required).
    pub fn client(mut self, client: Client) -> Self {
        self.client = Some(client);
        self
    }

    /// The ledger's store (required).
    pub fn store(mut self, store: Store) -> Self {
        self.store = Some(store);
        self
    }

    /// Decide by a policy file (this or [`decide`](Self::decide)).
    pub fn policy(mut self, policy: Policy) -> Self {
        self.decide = Some(DecideWith::Policy(tokio::sync::Mutex::new(policy)));
        self
    }

    /// Decide by a function of the request (this or [`policy`](Self::policy)):
    /// `.decide(|req| async { Decision::Approve })`. Its decisions are
    /// recorded with rule `callback`.
    pub fn decide<F, Fut>(mut self, decider: F) -> Self
    where
        // The `Fn` bound (rather than `impl Decider`) lets a bare closure
        // such as `|req| async { .. }` be inferred for every lifetime of `req`.
        F: Fn(&ModerationRequest) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Decision> + Send + 'static,
    {
        self.decide = Some(DecideWith::Callback(Arc::new(decider)));
        self
    }

    /// [`decide`](Self::decide) with a shared decider.
    pub fn decider(mut self, decider: Arc<dyn Decider>) -> Self {
        self.decide = Some(DecideWith::Callback(decider));
        self
    }

    /// The app secret that signs deliveries (required; never logged).
    pub fn app_secret(mut self, secret: impl Into<String>) -> Self {
        self.app_secret = Some(secret.into());
        self
    }

    /// The verify token of the subscription handshake (required; never
    /// logged).
    pub fn verify_token(mut self, token: impl Into<String>) -> Self {
        self.verify_token = Some(token.into());
        self
    }

    /// How long to wait to fill an approve or reject call (default 200 ms).
    pub fn batch_window(mut self, window: Duration) -> Self {
        self.config.batch_window = window;
        self
    }

    /// Time between reconciliation passes (default 10 min); one also runs
    /// at start.
    pub fn reconcile_every(mut self, every: Duration) -> Self {
        self.config.reconcile_every = every;
        self
    }

    /// Groups to reconcile besides those seen in webhooks.
    pub fn groups<I, S>(mut self, groups: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.config
            .groups
            .extend(groups.into_iter().map(Into::into));
        self
    }

    /// Decide and record, but send nothing.
    pub fn dry_run(mut self, dry_run: bool) -> Self {
        self.config.dry_run = dry_run;
        self
    }

    /// The webhook path [`Moderator::serve`] answers on (default `/webhook`).
    pub fn webhook_path(mut self, path: impl Into<String>) -> Self {
        self.config.webhook_path = path.into();
        self
    }

    /// Approve or reject calls in flight at once across groups (default:
    /// the client's default concurrency).
    pub fn concurrency(mut self, n: usize) -> Self {
        self.config.concurrency = n.max(1);
        self
    }

    /// How long shutdown waits for open connections (default 10 s).
    pub fn shutdown_grace(mut self, grace: Duration) -> Self {
        self.config.shutdown_grace = grace;
        self
    }

    /// How long a user's [`decide`](Self::decide) callback may take for one
    /// request (default 10 s). One that takes longer, or panics, leaves
    /// the request held with rule `decider_timeout` / `decider_panicked`.
    pub fn decider_timeout(mut self, timeout: Duration) -> Self {
        self.config.decider_timeout = timeout;
        self
    }

    /// How long the decider's and the applier's claims lease their records
    /// (default 60 s). Leases are renewed every third of it while the work
    /// is in flight. On a shared PostgreSQL store a dead replica's records
    /// return to the other replicas at once (its owner lock went with its
    /// session); the timeout bounds a replica that hangs while alive.
    pub fn lease_timeout(mut self, timeout: Duration) -> Self {
        self.config.lease_timeout = timeout;
        self
    }

    /// Checks the settings and builds the moderator.
    ///
    /// # Errors
    ///
    /// [`Error::Config`] naming the missing or bad setting: `client`,
    /// `store`, `policy` or `decide`, `app_secret`, `verify_token` (empty
    /// counts as missing), `webhook_path`, `batch_window`, `reconcile_every`,
    /// `decider_timeout`, `lease_timeout`.
    pub fn build(self) -> Result<Moderator, Error> {
        let missing = |what: &str| Error::Config(format!("{what} is required"));
        let client = self.client.ok_or_else(|| missing("client"))?;
        let store = self.store.ok_or_else(|| missing("store"))?;
        let decide = self.decide.ok_or_else(|| missing("policy or decide"))?;
        let app_secret = self
            .app_secret
            .filter(|s| !s.is_empty())
            .ok_or_else(|| missing("app_secret"))?;
        let verify_token = self
            .verify_token
            .filter(|s| !s.is_empty())
            .ok_or_else(|| missing("verify_token"))?;
        if !self.config.webhook_path.starts_with('/') {
            return Err(Error::Config(format!(
                "webhook_path {:?} must start with /",
                self.config.webhook_path
            )));
        }
        if self.config.reconcile_every.is_zero() {
            return Err(Error::Config("reconcile_every must be more than 0".into()));
        }
        if self.config.decider_timeout.is_zero() {
            return Err(Error::Config("decider_timeout must be more than 0".into()));
        }
        if self.config.lease_timeout < Duration::from_millis(300) {
            return Err(Error::Config(
                "lease_timeout must be at least 300 ms".into(),
            ));
        }
        if self.config.batch_window > Duration::from_secs(60) {
            return Err(Error::Config("batch_window must be at most 60 s".into()));
        }
        Ok(Moderator {
            inner: Arc::new(Inner {
                client,
                store,
                decide,
                app_secret: Secret(app_secret),
                verify_token: Secret(verify_token),
                config: self.config,
                metrics: Metrics::default(),
                decide_work: Notify::new(),
                apply_work: Notify::new(),
            }),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_decoding() {
        assert_eq!(
            form_pairs("hub.mode=subscribe&hub.challenge=a%2Bb+c&x"),
            vec![
                ("hub.mode".into(), "subscribe".into()),
                ("hub.challenge".into(), "a+b c".into()),
                ("x".into(), String::new())
            ]
        );
    }
}
