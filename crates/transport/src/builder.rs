//! [`ClientBuilder`]: every setting of a [`Client`], validated in one place.
//!
//! Setters take raw values (strings, numbers) and never fail; [`ClientBuilder::build`]
//! checks them all and names the first bad one in an [`InvalidInput`]. The
//! bindings pass their users' arguments straight through and get the same
//! typed errors as Rust callers.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use rustls::RootCertStore;
use rustls::pki_types::CertificateDer;
use wa_groups_protocol::{
    AccessToken, ApiVersion, BaseUrl, Endpoint, Field, InvalidInput, RetryPolicy, UserAgent,
};

use crate::client::{Client, RetryEvent, Settings};
use crate::connect;
use crate::{Error, Result};

/// Per-attempt timeout when none is set.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);
/// Connect timeout when none is set.
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// Retries after the first attempt when none is set.
pub const DEFAULT_MAX_RETRIES: u32 = 3;
/// Join request IDs per approve or reject request when none is set.
pub const DEFAULT_MAX_IDS_PER_REQUEST: usize = 100;
/// Chunks of one approve or reject call in flight at once when none is set.
pub const DEFAULT_MAX_CONCURRENCY: usize = 4;
/// Requests in flight and connections open at once, client-wide, when none is set.
pub const DEFAULT_MAX_CONNECTIONS: usize = 64;
/// The largest response body read, when none is set: 4 MiB.
pub const DEFAULT_MAX_RESPONSE_BYTES: usize = 4 * 1024 * 1024;

/// A duration as given: exact from Rust, or seconds as a float from a binding.
#[derive(Debug, Clone, Copy)]
enum RawDuration {
    Exact(Duration),
    Secs(f64),
}

impl RawDuration {
    fn resolve(self, field: Field) -> Result<Duration, InvalidInput> {
        let d = match self {
            Self::Exact(d) => d,
            Self::Secs(s) => Duration::try_from_secs_f64(s).map_err(|_| {
                InvalidInput::new(field, "must be a finite, non-negative number of seconds")
            })?,
        };
        if d.is_zero() {
            return Err(InvalidInput::new(field, "must be greater than zero"));
        }
        Ok(d)
    }
}

/// The most retries a client may be set to; more would only hide an outage.
pub const MAX_RETRIES_LIMIT: u32 = 100;

/// A default count as the builder stores it.
fn count(n: usize) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

/// Builds a [`Client`]. Start with [`Client::builder`].
///
/// ```
/// use std::time::Duration;
///
/// let client = wa_groups::Client::builder()
///     .access_token("EAAB-token")
///     .user_agent("myapp/1.2.3")
///     .timeout(Duration::from_secs(10))
///     .max_retries(5)
///     .build()?;
/// # let _ = client;
/// # Ok::<(), wa_groups::Error>(())
/// ```
#[derive(Clone)]
#[must_use]
pub struct ClientBuilder {
    access_token: Option<String>,
    api_version: Option<String>,
    base_url: Option<String>,
    user_agent: Option<String>,
    runtime: Option<(String, String)>,
    timeout: RawDuration,
    connect_timeout: RawDuration,
    total_timeout: Option<RawDuration>,
    // Counts are kept as given and checked in `build`, so that bindings can
    // pass their users' numbers (negative ones included) straight through.
    max_retries: i64,
    retry_base_delay: Duration,
    max_ids_per_request: i64,
    max_concurrency: i64,
    max_connections: i64,
    max_response_bytes: i64,
    root_certificates: Vec<Vec<u8>>,
    on_retry: Option<crate::client::RetryHook>,
    pace_by_usage: bool,
}

impl Default for ClientBuilder {
    fn default() -> Self {
        Self {
            access_token: None,
            api_version: None,
            base_url: None,
            user_agent: None,
            runtime: None,
            timeout: RawDuration::Exact(DEFAULT_TIMEOUT),
            connect_timeout: RawDuration::Exact(DEFAULT_CONNECT_TIMEOUT),
            total_timeout: None,
            max_retries: i64::from(DEFAULT_MAX_RETRIES),
            retry_base_delay: RetryPolicy::default().base_delay,
            max_ids_per_request: count(DEFAULT_MAX_IDS_PER_REQUEST),
            max_concurrency: count(DEFAULT_MAX_CONCURRENCY),
            max_connections: count(DEFAULT_MAX_CONNECTIONS),
            max_response_bytes: count(DEFAULT_MAX_RESPONSE_BYTES),
            root_certificates: Vec::new(),
            on_retry: None,
            pace_by_usage: true,
        }
    }
}

impl fmt::Debug for ClientBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientBuilder")
            .field(
                "access_token",
                &self.access_token.as_ref().map(|_| "[redacted]"),
            )
            .field("api_version", &self.api_version)
            .field("base_url", &self.base_url)
            .field("user_agent", &self.user_agent)
            .field("runtime", &self.runtime)
            .field("timeout", &self.timeout)
            .field("connect_timeout", &self.connect_timeout)
            .field("total_timeout", &self.total_timeout)
            .field("max_retries", &self.max_retries)
            .field("retry_base_delay", &self.retry_base_delay)
            .field("max_ids_per_request", &self.max_ids_per_request)
            .field("max_concurrency", &self.max_concurrency)
            .field("max_connections", &self.max_connections)
            .field("max_response_bytes", &self.max_response_bytes)
            .field("root_certificates", &self.root_certificates.len())
            .field("on_retry", &self.on_retry.is_some())
            .field("pace_by_usage", &self.pace_by_usage)
            .finish()
    }
}

impl ClientBuilder {
    /// A builder with every default; only the access token must be set.
    pub fn new() -> Self {
        Self::default()
    }

    /// The access token (required), sent as `Authorization: Bearer`.
    /// It never appears in `Debug`, `Display`, errors or logs.
    pub fn access_token(mut self, token: impl Into<String>) -> Self {
        self.access_token = Some(token.into());
        self
    }

    /// The Graph API version, such as `v23.0` (the default).
    pub fn api_version(mut self, version: impl Into<String>) -> Self {
        self.api_version = Some(version.into());
        self
    }

    /// The API's base URL (default `https://graph.facebook.com`).
    /// `http://` is accepted only for a loopback host, such as the emulator.
    pub fn base_url(mut self, url: impl Into<String>) -> Self {
        self.base_url = Some(url.into());
        self
    }

    /// Your own `product/version` (such as `myapp/1.2.3`), appended to the
    /// library's `wa-groups/<version>` user agent after one space.
    pub fn user_agent(mut self, product: impl Into<String>) -> Self {
        self.user_agent = Some(product.into());
        self
    }

    /// For language bindings: the runtime segment of the user agent, such as
    /// `("python", "3.11.7")`, giving `wa-groups/0.1.0;python=3.11.7`.
    pub fn runtime(mut self, name: impl Into<String>, version: impl Into<String>) -> Self {
        self.runtime = Some((name.into(), version.into()));
        self
    }

    /// Time allowed for one attempt: sending the request and reading the whole
    /// response (default 30 s). Retries get their own. Must be non-zero.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = RawDuration::Exact(timeout);
        self
    }

    /// [`timeout`](Self::timeout) in seconds, for bindings: a negative, NaN,
    /// infinite or zero value is refused by [`build`](Self::build).
    pub fn timeout_secs(mut self, secs: f64) -> Self {
        self.timeout = RawDuration::Secs(secs);
        self
    }

    /// An overall deadline for each call (default none): every attempt,
    /// retry wait and chunk of one call (one page, for the listing streams)
    /// runs within it, and a call that reaches it ends with
    /// [`Error::Timeout`] holding this duration, not retried. Beside it,
    /// [`timeout`](Self::timeout) bounds each attempt alone. Must be non-zero.
    pub fn total_timeout(mut self, deadline: Duration) -> Self {
        self.total_timeout = Some(RawDuration::Exact(deadline));
        self
    }

    /// [`total_timeout`](Self::total_timeout) in seconds, for bindings: a
    /// negative, NaN, infinite or zero value is refused by [`build`](Self::build).
    pub fn total_timeout_secs(mut self, secs: f64) -> Self {
        self.total_timeout = Some(RawDuration::Secs(secs));
        self
    }

    /// Time allowed for a TCP connect (default 10 s). Must be non-zero.
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = RawDuration::Exact(timeout);
        self
    }

    /// [`connect_timeout`](Self::connect_timeout) in seconds, for bindings.
    pub fn connect_timeout_secs(mut self, secs: f64) -> Self {
        self.connect_timeout = RawDuration::Secs(secs);
        self
    }

    /// Calls `hook` before each retry, with the failed attempt, its error
    /// (scrubbed of the token) and the wait before the next attempt, so a
    /// caller can tell people why a call is slow (the CLI prints one line
    /// per retry). The hook runs on the calling task and should return
    /// quickly; none is set by default.
    pub fn on_retry(mut self, hook: impl Fn(&RetryEvent<'_>) + Send + Sync + 'static) -> Self {
        self.on_retry = Some(Arc::new(hook));
        self
    }

    /// Retries after the first attempt (default 3); a call makes at most
    /// this plus one attempts. 0 disables retries.
    pub fn max_retries(mut self, retries: impl Into<i64>) -> Self {
        self.max_retries = retries.into();
        self
    }

    /// The backoff before the first retry, before jitter (default 0.5 s);
    /// it doubles per retry up to 8 s, and each sleep is a random fraction
    /// of it ("full jitter"). A server's `Retry-After` (up to 60 s) takes
    /// precedence. Zero retries at once. Tests set it small; production code
    /// rarely needs to.
    pub fn retry_base_delay(mut self, delay: Duration) -> Self {
        self.retry_base_delay = delay;
        self
    }

    /// Join request IDs sent per approve or reject request (default 100);
    /// longer lists are split into chunks. Must be at least 1.
    pub fn max_ids_per_request(mut self, n: impl Into<i64>) -> Self {
        self.max_ids_per_request = n.into();
        self
    }

    /// Chunks of one approve or reject call sent at once (default 4).
    /// Must be at least 1.
    pub fn max_concurrency(mut self, n: impl Into<i64>) -> Self {
        self.max_concurrency = n.into();
        self
    }

    /// Client-wide bound on requests in flight and on connections open at
    /// once (default 64); further calls wait for a slot (the wait does not
    /// count against the timeout). Must be at least 1.
    pub fn max_connections(mut self, n: impl Into<i64>) -> Self {
        self.max_connections = n.into();
        self
    }

    /// The largest response body read (default 4 MiB); a larger one is a
    /// [`Decode`](Error::Decode) error and is never buffered. Must be at least 1.
    pub fn max_response_bytes(mut self, n: impl Into<i64>) -> Self {
        self.max_response_bytes = n.into();
        self
    }

    /// Whether calls are paced by the usage Meta's responses report
    /// (`X-Business-Use-Case-Usage`, `X-App-Usage`; default on). From 80%
    /// of a limit used, a client whose calls make the usage rise slows
    /// down, so that it stays below 100 (where calls are refused with a
    /// `Retry-After` of a second or more) instead of running into it;
    /// below 80% nothing is paced. Clones of a client share one pace.
    /// The wait counts against `total_timeout`, not the per-attempt
    /// timeout. See [`Pacer`](wa_groups_protocol::Pacer).
    pub fn pace_by_usage(mut self, on: bool) -> Self {
        self.pace_by_usage = on;
        self
    }

    /// Trusts one more root certificate (DER bytes) for HTTPS, besides the
    /// built-in roots: for a TLS-intercepting proxy or a test server.
    pub fn add_root_certificate(mut self, der: impl Into<Vec<u8>>) -> Self {
        self.root_certificates.push(der.into());
        self
    }

    /// Validates every setting and builds the client. Needs no runtime;
    /// the client's calls must run on a tokio runtime.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidInput`] naming the first setting that is missing or
    /// breaks a rule (see [`Field`]).
    pub fn build(self) -> Result<Client> {
        self.build_inner().map_err(Error::InvalidInput)
    }

    fn build_inner(self) -> Result<Client, InvalidInput> {
        let token = AccessToken::new(
            self.access_token
                .as_deref()
                .ok_or_else(|| InvalidInput::new(Field::AccessToken, "is required"))?,
        )?;
        let version = match self.api_version {
            Some(v) => ApiVersion::new(v)?,
            None => ApiVersion::default(),
        };
        let base = match self.base_url {
            Some(u) => BaseUrl::new(u)?,
            None => BaseUrl::default(),
        };
        let runtime = self.runtime.as_ref().map(|(n, v)| (n.as_str(), v.as_str()));
        let user_agent = UserAgent::build(runtime, self.user_agent.as_deref())?;
        let timeout = self.timeout.resolve(Field::Timeout)?;
        let connect_timeout = self.connect_timeout.resolve(Field::ConnectTimeout)?;
        let total_timeout = self
            .total_timeout
            .map(|t| t.resolve(Field::TotalTimeout))
            .transpose()?;
        let max_retries = u32::try_from(self.max_retries)
            .ok()
            .filter(|n| *n <= MAX_RETRIES_LIMIT)
            .ok_or_else(|| InvalidInput::new(Field::MaxRetries, "must be between 0 and 100"))?;
        let at_least_one = |n: i64, field: Field| {
            usize::try_from(n)
                .ok()
                .filter(|n| *n >= 1)
                .ok_or_else(|| InvalidInput::new(field, "must be at least 1"))
        };
        let max_ids_per_request = at_least_one(self.max_ids_per_request, Field::MaxIdsPerRequest)?;
        let max_concurrency = at_least_one(self.max_concurrency, Field::MaxConcurrency)?;
        let max_connections = at_least_one(self.max_connections, Field::MaxConnections)?;
        let max_response_bytes = at_least_one(self.max_response_bytes, Field::MaxResponseBytes)?;

        let mut roots = base_roots();
        for (i, der) in self.root_certificates.into_iter().enumerate() {
            roots.add(CertificateDer::from(der)).map_err(|e| {
                InvalidInput::new(
                    Field::RootCertificates,
                    format!("is not a usable DER certificate: {e}"),
                )
                .at(i)
            })?;
        }
        let connector = connect::connector(roots, connect_timeout, max_connections)
            .map_err(|e| InvalidInput::new(Field::RootCertificates, e))?;
        let base_uri: http::Uri = base
            .as_str()
            .parse()
            .map_err(|_| InvalidInput::new(Field::BaseUrl, "is not a valid URL"))?;
        let http = crate::pool::Pool::new(connector, &base_uri)
            .map_err(|e| InvalidInput::new(Field::BaseUrl, e))?;

        let policy = RetryPolicy {
            max_retries,
            base_delay: self.retry_base_delay,
            ..RetryPolicy::default()
        };
        let endpoint = Endpoint::new(base, version, token.clone(), user_agent);
        Ok(Client::from_settings(Settings {
            endpoint,
            token,
            http,
            policy,
            timeout,
            connect_timeout,
            total_timeout,
            max_ids_per_request,
            max_concurrency,
            max_connections,
            max_response_bytes,
            in_flight: Arc::new(tokio::sync::Semaphore::new(max_connections)),
            on_retry: self.on_retry,
            pacer: self.pace_by_usage.then(crate::client::Pacing::default),
        }))
    }
}

/// The roots trusted before any added with [`ClientBuilder::add_root_certificate`].
#[cfg(not(feature = "native-roots"))]
fn base_roots() -> RootCertStore {
    RootCertStore {
        roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
    }
}

/// The platform's roots; the bundled webpki roots when it has none.
#[cfg(feature = "native-roots")]
fn base_roots() -> RootCertStore {
    let mut roots = RootCertStore::empty();
    let native = rustls_native_certs::load_native_certs();
    let (added, _ignored) = roots.add_parsable_certificates(native.certs);
    if added == 0 {
        roots.roots = webpki_roots::TLS_SERVER_ROOTS.to_vec();
    }
    roots
}
