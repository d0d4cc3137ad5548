//! One error tree for every operation, in every language.
//!
//! The bindings map [`ErrorKind`] 1:1 to Python exception classes and Node
//! error codes, so a new variant here is a new class there.

use std::borrow::Cow;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use crate::codes;

/// Which public input a validation error is about.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Field {
    /// The access token.
    AccessToken,
    /// The Graph API version, such as `v23.0`.
    ApiVersion,
    /// The base URL of the API.
    BaseUrl,
    /// The caller's user agent suffix.
    UserAgent,
    /// A group ID.
    GroupId,
    /// One join request ID (see [`InvalidInput::index`]).
    JoinRequestId,
    /// The list of join request IDs as a whole.
    JoinRequestIds,
    /// A paging cursor given as `after`.
    After,
    /// A paging cursor given as `before`.
    Before,
    /// The page size.
    Limit,
    /// The fields requested from the group info endpoint.
    Fields,
    /// The per-attempt timeout.
    Timeout,
    /// The connect timeout.
    ConnectTimeout,
    /// The overall deadline of one call.
    TotalTimeout,
    /// The number of retries.
    MaxRetries,
    /// The chunk size for approve and reject.
    MaxIdsPerRequest,
    /// The number of requests in flight at once.
    MaxConcurrency,
    /// The number of connections (and requests in flight) a client holds.
    MaxConnections,
    /// The response size cap.
    MaxResponseBytes,
    /// Extra root certificates.
    RootCertificates,
    /// A webhook app secret.
    AppSecret,
    /// A webhook signature header.
    Signature,
    /// A webhook delivery's raw body.
    RawBody,
}

impl Field {
    /// The field's name as the Rust and Python APIs spell it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::AccessToken => "access_token",
            Self::ApiVersion => "api_version",
            Self::BaseUrl => "base_url",
            Self::UserAgent => "user_agent",
            Self::GroupId => "group_id",
            Self::JoinRequestId => "join_request_id",
            Self::JoinRequestIds => "join_request_ids",
            Self::After => "after",
            Self::Before => "before",
            Self::Limit => "limit",
            Self::Fields => "fields",
            Self::Timeout => "timeout",
            Self::ConnectTimeout => "connect_timeout",
            Self::TotalTimeout => "total_timeout",
            Self::MaxRetries => "max_retries",
            Self::MaxIdsPerRequest => "max_ids_per_request",
            Self::MaxConcurrency => "max_concurrency",
            Self::MaxConnections => "max_connections",
            Self::MaxResponseBytes => "max_response_bytes",
            Self::RootCertificates => "root_certificates",
            Self::AppSecret => "app_secret",
            Self::Signature => "signature",
            Self::RawBody => "raw_body",
        }
    }

    /// The field's name in camelCase, as the Node API spells it.
    pub fn camel_case(self) -> String {
        let mut out = String::new();
        let mut upper = false;
        for c in self.as_str().chars() {
            if c == '_' {
                upper = true;
            } else if upper {
                out.push(c.to_ascii_uppercase());
                upper = false;
            } else {
                out.push(c);
            }
        }
        out
    }
}

impl fmt::Display for Field {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A public input broke a rule; nothing was sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvalidInput {
    field: Field,
    index: Option<usize>,
    reason: Cow<'static, str>,
}

impl InvalidInput {
    /// A violation of `field` for `reason`.
    pub fn new(field: Field, reason: impl Into<Cow<'static, str>>) -> Self {
        Self {
            field,
            index: None,
            reason: reason.into(),
        }
    }

    /// The same violation, located at position `index` of a list.
    #[must_use]
    pub fn at(mut self, index: usize) -> Self {
        self.index = Some(index);
        self
    }

    /// The field that broke a rule.
    pub fn field(&self) -> Field {
        self.field
    }

    /// The position in a list input, for list items.
    pub fn index(&self) -> Option<usize> {
        self.index
    }

    /// Why the value was refused; never contains the value of a secret.
    pub fn reason(&self) -> &str {
        &self.reason
    }
}

impl fmt::Display for InvalidInput {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.index {
            Some(i) => write!(f, "invalid {}[{i}]: {}", self.field, self.reason),
            None => write!(f, "invalid {}: {}", self.field, self.reason),
        }
    }
}

impl std::error::Error for InvalidInput {}

/// The error kinds, one per Python exception class and Node error code.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorKind {
    /// Bad input; nothing was sent.
    InvalidInput,
    /// The token was refused (Graph codes 190, 10, 200-299).
    Auth,
    /// Throttled (4, 17, 341, 80007, 130429, 131056, 131208).
    RateLimited,
    /// Unknown group (131041) or join request (131213).
    NotFound,
    /// Any other Graph API error.
    Api,
    /// Connect, TLS or connection failure.
    Transport,
    /// An attempt took longer than the timeout.
    Timeout,
    /// The response was not what the API documents.
    Decode,
}

impl ErrorKind {
    /// The kind for a Graph error `code`.
    pub fn for_graph_code(code: i64) -> Self {
        match code {
            codes::ACCESS_TOKEN
            | codes::PERMISSION_DENIED
            | codes::PERMISSION_FIRST..=codes::PERMISSION_LAST => Self::Auth,
            codes::APP_RATE_LIMIT
            | codes::USER_RATE_LIMIT
            | codes::APP_LIMIT
            | codes::ACCOUNT_RATE_LIMIT
            | codes::THROUGHPUT_LIMIT
            | codes::PAIR_RATE_LIMIT
            | codes::JOIN_REQUEST_RATE_LIMIT => Self::RateLimited,
            codes::GROUP_NOT_FOUND | codes::JOIN_REQUEST_NOT_FOUND => Self::NotFound,
            _ => Self::Api,
        }
    }

    /// A stable name, such as `rate_limited`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::InvalidInput => "invalid_input",
            Self::Auth => "auth",
            Self::RateLimited => "rate_limited",
            Self::NotFound => "not_found",
            Self::Api => "api",
            Self::Transport => "transport",
            Self::Timeout => "timeout",
            Self::Decode => "decode",
        }
    }
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An error the Graph API reported, with every field it gave.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    /// HTTP status of the response.
    pub status: u16,
    /// Graph error code (`error.code`).
    pub code: i64,
    /// Graph error subcode (`error.error_subcode`).
    pub subcode: Option<i64>,
    /// Graph error type, such as `OAuthException`.
    pub error_type: Option<String>,
    /// Short title (`error.title` or `error.error_user_title`).
    pub title: Option<String>,
    /// Message (`error.message`).
    pub message: String,
    /// Details (`error.error_data.details`).
    pub details: Option<String>,
    /// Meta's trace ID, for support requests.
    pub fbtrace_id: Option<String>,
    /// Whether Meta says a retry may succeed.
    pub is_transient: bool,
    /// How long the server asked us to wait (`Retry-After`), when it said.
    pub retry_after: Option<Duration>,
}

impl ApiError {
    /// A Graph error with `code` and `message`, everything else empty.
    pub fn new(status: u16, code: i64, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            subcode: None,
            error_type: None,
            title: None,
            message: message.into(),
            details: None,
            fbtrace_id: None,
            is_transient: false,
            retry_after: None,
        }
    }

    /// The kind this error is classified as, from its code.
    pub fn kind(&self) -> ErrorKind {
        ErrorKind::for_graph_code(self.code)
    }
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Graph API error {} (HTTP {})", self.code, self.status)?;
        if let Some(sub) = self.subcode {
            write!(f, ", subcode {sub}")?;
        }
        write!(f, ": {}", self.message)?;
        if let Some(details) = &self.details {
            write!(f, " ({details})")?;
        }
        Ok(())
    }
}

/// What went wrong below HTTP.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TransportErrorKind {
    /// Could not connect (refused, unreachable, DNS).
    Connect,
    /// The TLS handshake failed.
    Tls,
    /// The connection closed or was reset mid-exchange.
    ConnectionReset,
    /// Any other I/O or HTTP framing failure.
    Other,
}

impl TransportErrorKind {
    /// A stable name, such as `connection_reset`, for bindings and logs.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Connect => "connect",
            Self::Tls => "tls",
            Self::ConnectionReset => "connection_reset",
            Self::Other => "other",
        }
    }
}

/// A failure to exchange bytes with the server.
#[derive(Debug, Clone)]
pub struct TransportError {
    kind: TransportErrorKind,
    message: String,
    source: Option<Arc<dyn std::error::Error + Send + Sync>>,
}

impl TransportError {
    /// A transport failure of `kind`; `message` must not hold secrets.
    pub fn new(kind: TransportErrorKind, message: impl Into<String>) -> Self {
        Self {
            kind,
            message: message.into(),
            source: None,
        }
    }

    /// The same failure with its underlying cause kept for `source()`.
    #[must_use]
    pub fn with_source(mut self, source: impl std::error::Error + Send + Sync + 'static) -> Self {
        self.source = Some(Arc::new(source));
        self
    }

    /// What kind of failure.
    pub fn kind(&self) -> TransportErrorKind {
        self.kind
    }

    /// A description of the failure.
    pub fn message(&self) -> &str {
        &self.message
    }
}

impl fmt::Display for TransportError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let what = match self.kind {
            TransportErrorKind::Connect => "connect error",
            TransportErrorKind::Tls => "TLS error",
            TransportErrorKind::ConnectionReset => "connection reset",
            TransportErrorKind::Other => "transport error",
        };
        write!(f, "{what}: {}", self.message)
    }
}

impl std::error::Error for TransportError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.source
            .as_deref()
            .map(|e| e as &(dyn std::error::Error + 'static))
    }
}

/// The most a [`DecodeError`] keeps of a body.
pub const EXCERPT_LIMIT: usize = 256;

/// A response that was not what the API documents.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecodeError {
    status: Option<u16>,
    reason: String,
    excerpt: String,
    retry_after: Option<Duration>,
}

impl DecodeError {
    /// A decode failure of a body received with `status`; keeps at most
    /// [`EXCERPT_LIMIT`] bytes of `body`.
    pub fn new(status: Option<u16>, reason: impl Into<String>, body: &[u8]) -> Self {
        Self {
            status,
            reason: reason.into(),
            excerpt: excerpt(body),
            retry_after: None,
        }
    }

    /// The same error with the `Retry-After` its response carried (a 503
    /// from a load balancer, say), for the retry policy to honour.
    #[must_use]
    pub fn with_retry_after(mut self, wait: Option<Duration>) -> Self {
        self.retry_after = wait;
        self
    }

    /// How long the server asked us to wait (`Retry-After`), when it said.
    pub fn retry_after(&self) -> Option<Duration> {
        self.retry_after
    }

    /// A body larger than the `limit` the client reads.
    pub fn body_too_large(status: Option<u16>, limit: usize) -> Self {
        Self::new(
            status,
            format!("response body exceeds the {limit}-byte limit"),
            b"",
        )
    }

    /// HTTP status of the response, when there was one.
    pub fn status(&self) -> Option<u16> {
        self.status
    }

    /// What was wrong.
    pub fn reason(&self) -> &str {
        &self.reason
    }

    /// The start of the body, lossily decoded, at most [`EXCERPT_LIMIT`] bytes.
    pub fn excerpt(&self) -> &str {
        &self.excerpt
    }
}

fn excerpt(body: &[u8]) -> String {
    let mut end = body.len().min(EXCERPT_LIMIT);
    // Cut on a char boundary when the body is UTF-8, so the excerpt stays readable.
    while end > 0 && end < body.len() && (body[end] & 0xC0) == 0x80 {
        end -= 1;
    }
    // An invalid byte decodes to U+FFFD, three bytes: stop at the limit in the text too.
    String::from_utf8_lossy(&body[..end])
        .chars()
        .scan(0, |len, c| {
            *len += c.len_utf8();
            (*len <= EXCERPT_LIMIT).then_some(c)
        })
        .collect()
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.status {
            Some(s) => write!(f, "unexpected response (HTTP {s}): {}", self.reason)?,
            None => write!(f, "unexpected response: {}", self.reason)?,
        }
        if !self.excerpt.is_empty() {
            write!(f, "; body starts {:?}", self.excerpt)?;
        }
        Ok(())
    }
}

impl std::error::Error for DecodeError {}

/// The shortest secret [`Error::redact`] scrubs.
pub(crate) const MIN_REDACTED_LEN: usize = 4;

/// Any failure of a wa-groups operation.
#[non_exhaustive]
#[derive(Debug, Clone)]
pub enum Error {
    /// Bad input; nothing was sent.
    InvalidInput(InvalidInput),
    /// The access token was refused.
    Auth(Box<ApiError>),
    /// The API throttled the call.
    RateLimited(Box<ApiError>),
    /// The group or join request does not exist.
    NotFound(Box<ApiError>),
    /// Any other Graph API error.
    Api(Box<ApiError>),
    /// Connect, TLS or connection failure.
    Transport(TransportError),
    /// An attempt took longer than the per-attempt timeout, or a call ran
    /// past its overall deadline (`total_timeout`); holds that limit.
    Timeout(Duration),
    /// The response was not what the API documents.
    Decode(DecodeError),
}

impl Error {
    /// The kind of this error.
    pub fn kind(&self) -> ErrorKind {
        match self {
            Self::InvalidInput(_) => ErrorKind::InvalidInput,
            Self::Auth(_) => ErrorKind::Auth,
            Self::RateLimited(_) => ErrorKind::RateLimited,
            Self::NotFound(_) => ErrorKind::NotFound,
            Self::Api(_) => ErrorKind::Api,
            Self::Transport(_) => ErrorKind::Transport,
            Self::Timeout(_) => ErrorKind::Timeout,
            Self::Decode(_) => ErrorKind::Decode,
        }
    }

    /// The Graph error, for the kinds that carry one.
    pub fn api_error(&self) -> Option<&ApiError> {
        match self {
            Self::Auth(e) | Self::RateLimited(e) | Self::NotFound(e) | Self::Api(e) => Some(e),
            _ => None,
        }
    }

    /// How long the server asked us to wait (`Retry-After`), when it said.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            Self::Decode(e) => e.retry_after(),
            _ => self.api_error().and_then(|e| e.retry_after),
        }
    }

    /// The HTTP status of the response that caused this error, if any.
    pub fn status(&self) -> Option<u16> {
        match self {
            Self::Decode(e) => e.status(),
            _ => self.api_error().map(|e| e.status),
        }
    }

    /// Whether two errors are the same failure: same kind and, for Graph
    /// errors, same code and status. Used to decide whether a chunked call
    /// failed as a whole.
    pub fn same_failure(&self, other: &Self) -> bool {
        if self.kind() != other.kind() {
            return false;
        }
        match (self.api_error(), other.api_error()) {
            (Some(a), Some(b)) => a.code == b.code && a.status == b.status,
            _ => self.status() == other.status(),
        }
    }

    /// Replaces every occurrence of `secret` in the error's text with
    /// `[redacted]`. Servers may echo what they were sent. Secrets shorter
    /// than `MIN_REDACTED_LEN` (4 bytes) are left alone: no real token is that
    /// short, and scrubbing one would shred every message (`"t"`).
    /// Every encoding of it is scrubbed too; see [`Redactor`](crate::Redactor).
    pub fn redact(&mut self, secret: &str) {
        self.redact_with(&crate::Redactor::new(secret));
    }

    /// [`redact`](Self::redact) with a [`Redactor`](crate::Redactor) made once.
    pub fn redact_with(&mut self, redactor: &crate::Redactor) {
        match self {
            Self::Auth(e) | Self::RateLimited(e) | Self::NotFound(e) | Self::Api(e) => {
                redactor.scrub(&mut e.message);
                for s in [
                    &mut e.title,
                    &mut e.details,
                    &mut e.error_type,
                    &mut e.fbtrace_id,
                ] {
                    redactor.scrub_opt(s);
                }
            }
            Self::Decode(e) => {
                redactor.scrub(&mut e.excerpt);
                redactor.scrub(&mut e.reason);
                // The excerpt was cut from the body: a token (in any of its
                // forms) crossing the cut leaves its first characters at the end.
                for form in redactor.forms() {
                    let cut = (1..form.len())
                        .rev()
                        .filter(|&n| form.is_char_boundary(n))
                        .find(|&n| e.excerpt.ends_with(&form[..n]));
                    if let Some(n) = cut {
                        let keep = e.excerpt.len() - n;
                        e.excerpt.truncate(keep);
                    }
                }
                // `[redacted]` may be longer than what it replaced.
                let excerpt = std::mem::take(&mut e.excerpt);
                e.excerpt = self::excerpt(excerpt.as_bytes());
            }
            Self::Transport(e) => redactor.scrub(&mut e.message),
            Self::InvalidInput(_) | Self::Timeout(_) => {}
        }
    }
}

impl From<ApiError> for Error {
    fn from(e: ApiError) -> Self {
        match e.kind() {
            ErrorKind::Auth => Self::Auth(Box::new(e)),
            ErrorKind::RateLimited => Self::RateLimited(Box::new(e)),
            ErrorKind::NotFound => Self::NotFound(Box::new(e)),
            _ => Self::Api(Box::new(e)),
        }
    }
}

impl From<InvalidInput> for Error {
    fn from(e: InvalidInput) -> Self {
        Self::InvalidInput(e)
    }
}

impl From<TransportError> for Error {
    fn from(e: TransportError) -> Self {
        Self::Transport(e)
    }
}

impl From<DecodeError> for Error {
    fn from(e: DecodeError) -> Self {
        Self::Decode(e)
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::InvalidInput(e) => e.fmt(f),
            Self::Auth(e) => write!(f, "authentication failed: {e}"),
            Self::RateLimited(e) => write!(f, "rate limited: {e}"),
            Self::NotFound(e) => write!(f, "not found: {e}"),
            Self::Api(e) => e.fmt(f),
            Self::Transport(e) => e.fmt(f),
            Self::Timeout(d) => write!(f, "request timed out after {} ms", d.as_millis()),
            Self::Decode(e) => e.fmt(f),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::InvalidInput(e) => Some(e),
            Self::Transport(e) => Some(e),
            Self::Decode(e) => Some(e),
            _ => None,
        }
    }
}
