//! What every language binding needs to run the engine, written once: the
//! options read by serde from the host's value (each error naming the
//! field as that language spells it), "exactly one of policy and decide",
//! building the [`Moderator`], the start / stop lifecycle of the workers
//! and of an optional listener, the status JSON, a webhook request in the
//! host's terms ([`HostRequest`] → [`HostResponse`]), and a host's decide
//! function as a [`Decider`] ([`host_decider`]). The Python and Node
//! bindings only convert values to and from these.

use std::future::Future;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use bytes::Bytes;
use futures_util::future::BoxFuture;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};
use tokio::sync::{oneshot, watch};
use tokio::task::JoinHandle;

use crate::ledger::Decision;
use crate::moderator::{Decider, Error, Moderator};
use crate::policy::{ModerationRequest, Policy};
use crate::store::Store;

/// The store a host's moderator uses when none is given.
pub const DEFAULT_STORE: &str = "sqlite:wa-groups-moderation.db";

/// The language a binding serves: how it spells option names and in which
/// unit it counts durations.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Host {
    /// snake_case names, durations in seconds (`batch_window=0.2`).
    Python,
    /// camelCase names, durations in milliseconds with an `Ms` suffix
    /// (`batchWindowMs: 200`).
    Node,
}

impl Host {
    /// `name` (snake_case, as Rust spells it) as this host spells it.
    pub fn field(self, name: &str) -> String {
        match self {
            Self::Python => name.to_owned(),
            Self::Node => {
                let mut out = String::with_capacity(name.len());
                let mut upper = false;
                for c in name.chars() {
                    if c == '_' {
                        upper = true;
                    } else if upper {
                        out.extend(c.to_uppercase());
                        upper = false;
                    } else {
                        out.push(c);
                    }
                }
                out
            }
        }
    }

    /// The option name of the duration `name` (`batch_window` or
    /// `batchWindowMs`).
    fn duration_field(self, name: &str) -> String {
        match self {
            Self::Python => name.to_owned(),
            Self::Node => format!("{}Ms", self.field(name)),
        }
    }

    /// A duration given in this host's unit.
    fn duration(self, field: &str, value: f64) -> Result<Duration, HostError> {
        let secs = match self {
            Self::Python => value,
            Self::Node => value / 1000.0,
        };
        Duration::try_from_secs_f64(secs).map_err(|_| {
            let unit = match self {
                Self::Python => "seconds",
                Self::Node => "milliseconds",
            };
            HostError::invalid(field, format!("must be a non-negative number of {unit}"))
        })
    }
}

/// Why a host's moderator could not be built, started or asked.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HostError {
    /// An option or argument is wrong; nothing was started.
    InvalidInput {
        /// The option, as the host spells it (`app_secret`, `appSecret`).
        field: String,
        /// Why it was refused (never quoting a secret).
        reason: String,
    },
    /// The engine failed: the store, the listener, or another engine
    /// already running on the same store.
    Engine(String),
}

impl HostError {
    fn invalid(field: impl Into<String>, reason: impl Into<String>) -> Self {
        Self::InvalidInput {
            field: field.into(),
            reason: reason.into(),
        }
    }

    /// An invalid argument of a binding's own (such as a `decide` that is
    /// not a function), named as `host` spells `name`.
    pub fn invalid_argument(host: Host, name: &str, reason: impl Into<String>) -> Self {
        Self::invalid(host.field(name), reason)
    }
}

impl std::fmt::Display for HostError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::InvalidInput { field, reason } => write!(f, "invalid {field}: {reason}"),
            Self::Engine(m) => write!(f, "moderator: {m}"),
        }
    }
}

impl std::error::Error for HostError {}

/// A moderator's settings as a host gives them, read from one JSON-like
/// value (a Python dict of keyword arguments, a JavaScript options object)
/// by [`from_value`](Self::from_value). The decide function is not in it:
/// a binding wraps it with [`host_decider`] and passes it to
/// [`build`](Self::build).
#[derive(Clone)]
pub struct ModeratorOptions {
    host: Host,
    access_token: String,
    app_secret: String,
    verify_token: String,
    store: String,
    policy: Option<PathBuf>,
    base_url: Option<String>,
    batch_window: Option<Duration>,
    reconcile_every: Option<Duration>,
    decider_timeout: Option<Duration>,
    groups: Vec<String>,
    dry_run: bool,
    webhook_path: Option<String>,
}

impl std::fmt::Debug for ModeratorOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The three secrets are left out.
        f.debug_struct("ModeratorOptions")
            .field("host", &self.host)
            .field("store", &self.store)
            .field("policy", &self.policy)
            .field("base_url", &self.base_url)
            .finish_non_exhaustive()
    }
}

/// Takes option `name` out of `map` (absent and `null` are `None`),
/// deserialized by serde; an error names the option.
fn take<T: DeserializeOwned>(
    map: &mut Map<String, Value>,
    field: &str,
) -> Result<Option<T>, HostError> {
    match map.remove(field) {
        None | Some(Value::Null) => Ok(None),
        Some(v) => serde_json::from_value(v)
            .map(Some)
            .map_err(|e| HostError::invalid(field, e.to_string())),
    }
}

/// A required secret: present, a string, not empty. Its value is never
/// quoted.
fn secret(map: &mut Map<String, Value>, field: &str) -> Result<String, HostError> {
    match take::<String>(map, field) {
        Ok(Some(s)) if !s.is_empty() => Ok(s),
        Ok(_) => Err(HostError::invalid(field, "is required")),
        Err(_) => Err(HostError::invalid(field, "must be a string")),
    }
}

impl ModeratorOptions {
    /// Reads the options from `value`, an object whose keys are spelled as
    /// `host` spells them: `access_token`, `app_secret`, `verify_token`
    /// (required), `store` (default [`DEFAULT_STORE`]), `policy` (a path),
    /// `base_url`, `batch_window`, `reconcile_every`, `decider_timeout`
    /// (durations in the host's unit), `groups`, `dry_run`,
    /// `webhook_path`. `null` is the same as absent.
    ///
    /// # Errors
    ///
    /// [`HostError::InvalidInput`] naming the first option that is
    /// missing, of the wrong type, out of range or unknown.
    pub fn from_value(value: Value, host: Host) -> Result<Self, HostError> {
        let Value::Object(mut map) = value else {
            return Err(HostError::invalid("options", "must be an object"));
        };
        let name = |n: &str| host.field(n);
        let duration = |map: &mut Map<String, Value>, n: &str| -> Result<_, HostError> {
            let field = host.duration_field(n);
            take::<f64>(map, &field)?
                .map(|v| host.duration(&field, v))
                .transpose()
        };
        let options = Self {
            host,
            access_token: secret(&mut map, &name("access_token"))?,
            app_secret: secret(&mut map, &name("app_secret"))?,
            verify_token: secret(&mut map, &name("verify_token"))?,
            store: take(&mut map, &name("store"))?.unwrap_or_else(|| DEFAULT_STORE.to_owned()),
            policy: take::<String>(&mut map, &name("policy"))?.map(PathBuf::from),
            base_url: take(&mut map, &name("base_url"))?,
            batch_window: duration(&mut map, "batch_window")?,
            reconcile_every: duration(&mut map, "reconcile_every")?,
            decider_timeout: duration(&mut map, "decider_timeout")?,
            groups: take(&mut map, &name("groups"))?.unwrap_or_default(),
            dry_run: take(&mut map, &name("dry_run"))?.unwrap_or(false),
            webhook_path: take(&mut map, &name("webhook_path"))?,
        };
        if let Some(unknown) = map.keys().next() {
            return Err(HostError::invalid(unknown.clone(), "is not an option"));
        }
        Ok(options)
    }

    /// Builds the moderator: opens the store and reads the policy file.
    /// Give `decider` exactly when no `policy` path was given.
    ///
    /// # Errors
    ///
    /// [`HostError::InvalidInput`] naming `policy` or `decide` when not
    /// exactly one of them is given or the policy file is bad, `store`
    /// when the store cannot be opened, and any setting the client or the
    /// engine refuses.
    pub async fn build(
        self,
        decider: Option<Arc<dyn Decider>>,
    ) -> Result<HostModerator, HostError> {
        let host = self.host;
        let name = |n: &str| host.field(n);
        let mut builder = Moderator::builder();
        builder = match (self.policy, decider) {
            (Some(_), Some(_)) => {
                return Err(HostError::invalid(
                    name("decide"),
                    format!("give {} or decide, not both", name("policy")),
                ));
            }
            (None, None) => {
                return Err(HostError::invalid(
                    name("policy"),
                    "give policy (a path) or decide (a function)",
                ));
            }
            (Some(path), None) => {
                let policy = Policy::from_file(&path)
                    .map_err(|e| HostError::invalid(name("policy"), e.to_string()))?;
                builder.policy(policy)
            }
            (None, Some(d)) => builder.decider(d),
        };
        let mut client = wa_groups::Client::builder().access_token(self.access_token);
        if let Some(url) = self.base_url {
            client = client.base_url(url);
        }
        let client = client.build().map_err(|e| match e {
            wa_groups::Error::InvalidInput(i) => {
                HostError::invalid(name(i.field().as_str()), i.reason().to_owned())
            }
            other => HostError::Engine(other.to_string()),
        })?;
        let store = Store::open(&self.store)
            .await
            .map_err(|e| HostError::invalid(name("store"), e.to_string()))?;
        builder = builder
            .client(client)
            .store(store)
            .app_secret(self.app_secret)
            .verify_token(self.verify_token)
            .groups(self.groups)
            .dry_run(self.dry_run);
        if let Some(d) = self.batch_window {
            builder = builder.batch_window(d);
        }
        if let Some(d) = self.reconcile_every {
            builder = builder.reconcile_every(d);
        }
        if let Some(d) = self.decider_timeout {
            builder = builder.decider_timeout(d);
        }
        if let Some(p) = self.webhook_path {
            builder = builder.webhook_path(p);
        }
        let moderator = builder.build().map_err(|e| config_error(host, e))?;
        Ok(HostModerator {
            moderator,
            running: tokio::sync::Mutex::new(None),
            address: Mutex::new(None),
            stopped: watch::channel(true).0,
        })
    }
}

/// The builder's error as invalid input naming the setting: its message
/// begins with the setting's name (`reconcile_every must be more than 0`).
fn config_error(host: Host, e: Error) -> HostError {
    match e {
        Error::Config(message) => {
            let (setting, rest) = message.split_once(' ').unwrap_or((&message, ""));
            let field = if ["batch_window", "reconcile_every", "decider_timeout"].contains(&setting)
            {
                host.duration_field(setting)
            } else {
                host.field(setting)
            };
            HostError::invalid(field, rest.to_owned())
        }
        other => HostError::Engine(other.to_string()),
    }
}

/// One webhook request as a host's server saw it: the method, the target
/// (path and query), the headers and the raw body.
#[derive(Debug, Clone)]
pub struct HostRequest {
    /// `GET`, `POST`...
    pub method: String,
    /// The path and query, such as `/webhook?hub.mode=subscribe&...`.
    pub target: String,
    /// Every header, names in any case, values as bytes.
    pub headers: Vec<(String, Vec<u8>)>,
    /// The raw body, exactly as received (the signature covers it).
    pub body: Bytes,
}

/// The answer to a [`HostRequest`].
#[derive(Debug, Clone)]
pub struct HostResponse {
    /// The HTTP status.
    pub status: u16,
    /// Its reason phrase, such as `OK`, for servers that want one (WSGI).
    pub reason: &'static str,
    /// The headers, names lower case.
    pub headers: Vec<(String, Vec<u8>)>,
    /// The body.
    pub body: Bytes,
}

impl HostResponse {
    fn from_http(r: http::Response<Bytes>) -> Self {
        let (parts, body) = r.into_parts();
        Self {
            status: parts.status.as_u16(),
            reason: parts.status.canonical_reason().unwrap_or(""),
            headers: parts
                .headers
                .iter()
                .map(|(k, v)| (k.as_str().to_owned(), v.as_bytes().to_vec()))
                .collect(),
            body,
        }
    }

    fn bad_request(why: &str) -> Self {
        Self {
            status: 400,
            reason: "Bad Request",
            headers: vec![("content-type".into(), b"text/plain; charset=utf-8".to_vec())],
            body: Bytes::from(format!("{why}\n")),
        }
    }
}

struct Running {
    stop: oneshot::Sender<()>,
    task: JoinHandle<Result<(), Error>>,
}

/// A moderator run by a host: the engine, and whether its workers (and
/// its listener, when it has one) are running.
pub struct HostModerator {
    moderator: Moderator,
    running: tokio::sync::Mutex<Option<Running>>,
    address: Mutex<Option<SocketAddr>>,
    /// `true` while nothing runs; [`wait`](Self::wait) watches it.
    stopped: watch::Sender<bool>,
}

impl std::fmt::Debug for HostModerator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HostModerator")
            .field("moderator", &self.moderator)
            .field("address", &self.address())
            .finish_non_exhaustive()
    }
}

impl HostModerator {
    /// The engine.
    pub fn moderator(&self) -> &Moderator {
        &self.moderator
    }

    /// The address the listener is bound to, while it runs.
    pub fn address(&self) -> Option<SocketAddr> {
        *self.address.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Whether the workers run.
    pub fn is_running(&self) -> bool {
        !*self.stopped.borrow()
    }

    /// Starts the workers, and with `listen` (`host:port`; port 0 picks a
    /// free one) serves the webhook path, `/healthz` and `/metrics` there;
    /// returns once the engine holds the store, with the bound address.
    /// Must be called on a tokio runtime, which runs the engine.
    ///
    /// # Errors
    ///
    /// [`HostError::InvalidInput`] naming `listen` when it is not an
    /// address; [`HostError::Engine`] when it is already running, the
    /// address cannot be bound, or another engine holds the store.
    pub async fn start(&self, listen: Option<&str>) -> Result<Option<SocketAddr>, HostError> {
        let mut running = self.running.lock().await;
        if running.is_some() {
            return Err(HostError::Engine("already started; stop it first".into()));
        }
        let listener =
            match listen {
                None => None,
                Some(addr) => {
                    let parsed: SocketAddr = addr.parse().map_err(|_| {
                        HostError::invalid("listen", format!("{addr:?} is not an IP:port address"))
                    })?;
                    Some(tokio::net::TcpListener::bind(parsed).await.map_err(|e| {
                        HostError::Engine(format!("cannot listen on {parsed}: {e}"))
                    })?)
                }
            };
        let address = listener.as_ref().and_then(|l| l.local_addr().ok());
        let (stop_tx, stop_rx) = oneshot::channel::<()>();
        let (started_tx, started_rx) = oneshot::channel::<()>();
        // The engine polls its shutdown future only once it holds the store
        // and its workers run: the first poll says "started".
        let shutdown = async move {
            let _ = started_tx.send(());
            let _ = stop_rx.await;
        };
        let m = self.moderator.clone();
        let task = tokio::spawn(async move {
            match listener {
                Some(l) => m.serve_until(l, shutdown).await,
                None => m.run_workers(shutdown).await,
            }
        });
        if started_rx.await.is_err() {
            // The engine ended before it started: say why.
            return Err(match task.await {
                Ok(Err(e)) => HostError::Engine(e.to_string()),
                Ok(Ok(())) => HostError::Engine("the engine stopped at start".into()),
                Err(e) => HostError::Engine(format!("the engine failed at start: {e}")),
            });
        }
        *running = Some(Running {
            stop: stop_tx,
            task,
        });
        *self.address.lock().unwrap_or_else(PoisonError::into_inner) = address;
        self.stopped.send_replace(false);
        Ok(address)
    }

    /// Stops taking deliveries, lets the calls in flight finish and their
    /// outcomes be recorded, releases the store and the port. Nothing
    /// happens when it is not running.
    ///
    /// # Errors
    ///
    /// [`HostError::Engine`] when the engine failed while it ran.
    pub async fn stop(&self) -> Result<(), HostError> {
        let Some(Running { stop, task }) = self.running.lock().await.take() else {
            return Ok(());
        };
        let _ = stop.send(());
        let outcome = task.await;
        *self.address.lock().unwrap_or_else(PoisonError::into_inner) = None;
        self.stopped.send_replace(true);
        match outcome {
            Ok(Ok(())) => Ok(()),
            Ok(Err(e)) => Err(HostError::Engine(e.to_string())),
            Err(e) => Err(HostError::Engine(format!("the engine failed: {e}"))),
        }
    }

    /// Resolves once the moderator is stopped (at once when it is).
    pub fn wait(&self) -> impl Future<Output = ()> + Send + 'static {
        let mut rx = self.stopped.subscribe();
        async move {
            let _ = rx.wait_for(|stopped| *stopped).await;
        }
    }

    /// The status as `moderate status --json` prints it: `{"total",
    /// "groups", "requests"}`, every state present.
    ///
    /// # Errors
    ///
    /// [`HostError::Engine`] when the store cannot be read.
    pub async fn status(&self) -> Result<Value, HostError> {
        self.moderator
            .status()
            .await
            .map(|s| s.to_json())
            .map_err(|e| HostError::Engine(e.to_string()))
    }

    /// Answers one webhook request with [`Moderator::handle`]; a method or
    /// target that is not HTTP is answered 400.
    pub async fn handle(&self, request: HostRequest) -> HostResponse {
        let mut builder = http::Request::builder()
            .method(request.method.as_str())
            .uri(request.target.as_str());
        for (name, value) in &request.headers {
            builder = builder.header(name.as_str(), value.as_slice());
        }
        match builder.body(request.body) {
            Ok(req) => HostResponse::from_http(self.moderator.handle(req).await),
            Err(e) => HostResponse::bad_request(&format!("not an HTTP request: {e}")),
        }
    }
}

/// A host language's decide function: called with one request, it answers
/// the host's string (`"approve"`, `"reject"`, `"hold"`), or fails with a
/// description (the exception, the rejection).
pub trait HostDecide: Send + Sync + 'static {
    /// Calls the host's function for `req`.
    fn call(&self, req: ModerationRequest) -> BoxFuture<'static, Result<String, String>>;
}

/// A host's answer as a decision: exactly `approve`, `reject` or `hold`.
///
/// # Errors
///
/// What was wrong with it, quoting it.
pub fn parse_answer(answer: &str) -> Result<Decision, String> {
    answer.parse().map_err(|_| {
        format!("decide returned {answer:?}; expected \"approve\", \"reject\" or \"hold\"")
    })
}

struct HostDecider<F>(F);

impl<F: HostDecide> Decider for HostDecider<F> {
    fn decide(&self, req: &ModerationRequest) -> BoxFuture<'static, Decision> {
        let answer = self.0.call(req.clone());
        Box::pin(async move {
            match answer.await.and_then(|a| parse_answer(&a)) {
                Ok(d) => d,
                // The engine treats a fault of the user's function as it
                // treats a panic of a Rust decider: this request is held
                // (rule `decider_panicked`), the description logged and
                // recorded as its reason.
                // `resume_unwind` skips the panic hook: nothing is printed.
                Err(why) => std::panic::resume_unwind(Box::new(why)),
            }
        })
    }
}

/// A host's decide function as the engine's [`Decider`]: its answer is
/// read by [`parse_answer`]; an error, or an answer that is not one of the
/// three, holds the request with rule
/// [`DECIDER_PANICKED_RULE`](crate::DECIDER_PANICKED_RULE), logs why and
/// records it as the request's reason; one slower than the decider timeout
/// holds it with
/// [`DECIDER_TIMEOUT_RULE`](crate::DECIDER_TIMEOUT_RULE).
pub fn host_decider(f: impl HostDecide) -> Arc<dyn Decider> {
    Arc::new(HostDecider(f))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn base(host: Host) -> Map<String, Value> {
        let mut m = Map::new();
        for k in ["access_token", "app_secret", "verify_token"] {
            m.insert(host.field(k), json!("s3cret-value"));
        }
        m
    }

    fn field_of(r: Result<ModeratorOptions, HostError>) -> String {
        match r {
            Err(HostError::InvalidInput { field, .. }) => field,
            other => panic!("expected invalid input, got {other:?}"),
        }
    }

    #[test]
    fn names_follow_the_host() {
        assert_eq!(Host::Node.field("app_secret"), "appSecret");
        assert_eq!(Host::Node.duration_field("batch_window"), "batchWindowMs");
        assert_eq!(Host::Python.duration_field("batch_window"), "batch_window");
    }

    #[test]
    fn errors_name_the_field_in_the_hosts_spelling() {
        let mut m = base(Host::Node);
        m.remove("verifyToken");
        assert_eq!(
            field_of(ModeratorOptions::from_value(Value::Object(m), Host::Node)),
            "verifyToken"
        );

        let mut m = base(Host::Python);
        m.insert("batch_window".into(), json!("soon"));
        assert_eq!(
            field_of(ModeratorOptions::from_value(Value::Object(m), Host::Python)),
            "batch_window"
        );

        let mut m = base(Host::Node);
        m.insert("batchWindowMs".into(), json!(-1));
        assert_eq!(
            field_of(ModeratorOptions::from_value(Value::Object(m), Host::Node)),
            "batchWindowMs"
        );

        let mut m = base(Host::Node);
        m.insert("batch_window".into(), json!(1));
        assert_eq!(
            field_of(ModeratorOptions::from_value(Value::Object(m), Host::Node)),
            "batch_window"
        );

        let mut m = base(Host::Python);
        m.insert("groups".into(), json!("G1"));
        assert_eq!(
            field_of(ModeratorOptions::from_value(Value::Object(m), Host::Python)),
            "groups"
        );
    }

    #[test]
    fn a_secret_is_never_quoted() {
        let mut m = base(Host::Python);
        m.insert("app_secret".into(), json!(12345));
        let e = ModeratorOptions::from_value(Value::Object(m), Host::Python).unwrap_err();
        assert!(!e.to_string().contains("12345"), "{e}");
        let o =
            ModeratorOptions::from_value(Value::Object(base(Host::Python)), Host::Python).unwrap();
        assert!(!format!("{o:?}").contains("s3cret"));
    }

    #[test]
    fn answers() {
        assert_eq!(parse_answer("approve"), Ok(Decision::Approve));
        assert_eq!(parse_answer("hold"), Ok(Decision::Hold));
        assert!(parse_answer("Approve").unwrap_err().contains("\"Approve\""));
    }

    #[test]
    fn config_errors_name_the_setting() {
        let e = config_error(
            Host::Node,
            Error::Config("reconcile_every must be more than 0".into()),
        );
        assert_eq!(
            e,
            HostError::InvalidInput {
                field: "reconcileEveryMs".into(),
                reason: "must be more than 0".into()
            }
        );
    }

    struct Answer(Result<&'static str, &'static str>);

    impl HostDecide for Answer {
        fn call(&self, _req: ModerationRequest) -> BoxFuture<'static, Result<String, String>> {
            let a = self.0.map(str::to_owned).map_err(str::to_owned);
            Box::pin(async move { a })
        }
    }

    fn request() -> ModerationRequest {
        ModerationRequest {
            group_id: "G1".into(),
            join_request_id: "JR1".into(),
            wa_id: Some("447700900123".into()),
            user_id: None,
            username: None,
            created_at: Some(1_700_000_000),
        }
    }

    #[tokio::test]
    async fn a_failing_host_function_unwinds_with_its_description() {
        use futures_util::FutureExt as _;
        let ok = host_decider(Answer(Ok("reject")));
        assert_eq!(ok.decide(&request()).await, Decision::Reject);
        for (answer, says) in [
            (Err("ValueError: boom"), "ValueError: boom"),
            (Ok("maybe"), "\"maybe\""),
        ] {
            let d = host_decider(Answer(answer));
            let caught = std::panic::AssertUnwindSafe(d.decide(&request()))
                .catch_unwind()
                .await
                .unwrap_err();
            let text = caught.downcast_ref::<String>().unwrap();
            assert!(text.contains(says), "{text}");
        }
    }

    fn options(store: &str, policy: Option<&str>) -> ModeratorOptions {
        let mut m = base(Host::Python);
        m.insert("store".into(), json!(store));
        m.insert("policy".into(), json!(policy));
        ModeratorOptions::from_value(Value::Object(m), Host::Python).unwrap()
    }

    #[tokio::test]
    async fn exactly_one_of_policy_and_decide_one_engine_per_store() {
        let dir = tempfile::tempdir().unwrap();
        let store = format!("sqlite:{}", dir.path().join("m.db").display());
        let policy = dir.path().join("p.toml");
        std::fs::write(&policy, "default = \"hold\"\n").unwrap();
        let policy = policy.to_str().unwrap();
        let decider = || Some(host_decider(Answer(Ok("approve"))));

        let e = options(&store, None).build(None).await.unwrap_err();
        assert!(
            matches!(e, HostError::InvalidInput { ref field, .. } if field == "policy"),
            "{e}"
        );
        let e = options(&store, Some(policy))
            .build(decider())
            .await
            .unwrap_err();
        assert!(
            matches!(e, HostError::InvalidInput { ref field, .. } if field == "decide"),
            "{e}"
        );
        let e = options("redis://x", Some(policy))
            .build(None)
            .await
            .unwrap_err();
        assert!(
            matches!(e, HostError::InvalidInput { ref field, .. } if field == "store"),
            "{e}"
        );

        let first = options(&store, Some(policy)).build(None).await.unwrap();
        let second = options(&store, None).build(decider()).await.unwrap();
        assert_eq!(first.start(None).await.unwrap(), None);
        assert!(first.is_running());
        assert!(matches!(first.start(None).await, Err(HostError::Engine(_))));
        // One engine per SQLite file: the second cannot start until the
        // first stops.
        assert!(matches!(
            second.start(Some("127.0.0.1:0")).await,
            Err(HostError::Engine(_))
        ));
        first.stop().await.unwrap();
        first.wait().await;
        let addr = second.start(Some("127.0.0.1:0")).await.unwrap().unwrap();
        assert_eq!(second.address(), Some(addr));
        let r = second
            .handle(HostRequest {
                method: "GET".into(),
                target:
                    "/webhook?hub.mode=subscribe&hub.verify_token=s3cret-value&hub.challenge=c42"
                        .into(),
                headers: vec![],
                body: Bytes::new(),
            })
            .await;
        assert_eq!((r.status, r.reason, &r.body[..]), (200, "OK", &b"c42"[..]));
        let status = second.status().await.unwrap();
        assert_eq!(status["total"]["held"], 0);
        second.stop().await.unwrap();
        assert_eq!(second.address(), None);
        // The port is released.
        tokio::net::TcpListener::bind(addr).await.unwrap();
    }
}
