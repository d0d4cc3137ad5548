//! [`Client`]: runs protocol operations over the hyper stack with retries,
//! timeouts, a size cap and chunking.

use std::collections::{HashSet, VecDeque};
use std::fmt;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use bytes::Bytes;
use futures_util::FutureExt as _;
use futures_util::future::Either;
use futures_util::stream::{self, Stream, StreamExt};
use http::{HeaderMap, StatusCode};
use http_body_util::{BodyExt, Full, LengthLimitError, Limited};
use tokio::sync::Semaphore;
use tracing::field::Empty;
use tracing::{Instrument, debug, debug_span};
use wa_groups_protocol::{
    AccessToken, Action, ApproveOutcome, ChunkPlan, DecideJoinRequests, DecisionOutcome,
    DecodeError, Endpoint, GetGroupInfo, GroupId, GroupInfo, JoinRequest, JoinRequestId,
    JoinRequestIds, JoinRequestPage, ListJoinRequests, Listing, Operation, Pacer, PageStep,
    RejectOutcome, RetryDecision, RetryPolicy, usage_percent,
};

use crate::builder::ClientBuilder;
use crate::connect::transport_error;
use crate::options::ListOptions;
use crate::pool::Pool;
use crate::{Error, Result};

pub use wa_groups_protocol::{EXPIRED_CURSOR_CODE, MAX_LISTING_RESTARTS};

/// Everything a client holds; built by [`ClientBuilder::build`].
pub(crate) struct Settings {
    pub(crate) endpoint: Endpoint,
    pub(crate) token: AccessToken,
    pub(crate) http: Pool,
    pub(crate) policy: RetryPolicy,
    pub(crate) timeout: Duration,
    pub(crate) connect_timeout: Duration,
    pub(crate) total_timeout: Option<Duration>,
    pub(crate) max_ids_per_request: usize,
    pub(crate) max_concurrency: usize,
    pub(crate) max_connections: usize,
    pub(crate) max_response_bytes: usize,
    pub(crate) in_flight: Arc<Semaphore>,
    pub(crate) on_retry: Option<RetryHook>,
    /// The pace the usage headers set, shared by every call of the client.
    pub(crate) pacer: Option<Pacing>,
}

/// The callback of [`ClientBuilder::on_retry`], shared by the client's clones.
pub(crate) type RetryHook = Arc<dyn Fn(&RetryEvent<'_>) + Send + Sync>;

/// A retry about to happen, as [`ClientBuilder::on_retry`] reports it:
/// after a failed attempt and before the client sleeps `delay` and tries
/// again. The error is already scrubbed of the access token.
#[derive(Debug)]
#[non_exhaustive]
pub struct RetryEvent<'a> {
    /// The attempt that failed (1 for the first).
    pub attempt: u32,
    /// Retries the client makes at most (`max_retries`), so the retry now
    /// starting is `attempt` of `max_retries`.
    pub max_retries: u32,
    /// How long the client waits before the next attempt (the server's
    /// `Retry-After` when it sent one, else the jittered backoff).
    pub delay: Duration,
    /// Why the attempt failed.
    pub error: &'a Error,
}

/// The client of the group join request API.
///
/// Cheap to clone (the clones share one connection pool) and safe to use
/// from many tasks at once. Its calls must run on a tokio runtime. See the
/// [crate docs](crate) for retries, chunking and `approve_all`.
#[derive(Clone)]
pub struct Client {
    inner: Arc<Settings>,
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = &*self.inner;
        f.debug_struct("Client")
            .field("base_url", s.endpoint.base_url())
            .field("api_version", s.endpoint.api_version())
            .field("user_agent", s.endpoint.user_agent())
            .field("access_token", &s.token)
            .field("timeout", &s.timeout)
            .field("connect_timeout", &s.connect_timeout)
            .field("total_timeout", &s.total_timeout)
            .field("max_retries", &s.policy.max_retries)
            .field("max_ids_per_request", &s.max_ids_per_request)
            .field("max_concurrency", &s.max_concurrency)
            .field("max_connections", &s.max_connections)
            .field("max_response_bytes", &s.max_response_bytes)
            .finish_non_exhaustive()
    }
}

impl Client {
    /// A builder; see [`ClientBuilder`] for the settings and defaults.
    pub fn builder() -> ClientBuilder {
        ClientBuilder::new()
    }

    /// A client with `access_token` and every other setting at its default.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidInput`] if the token is empty or holds spaces or
    /// control characters.
    pub fn new(access_token: impl Into<String>) -> Result<Self> {
        Self::builder().access_token(access_token).build()
    }

    pub(crate) fn from_settings(settings: Settings) -> Self {
        Self {
            inner: Arc::new(settings),
        }
    }

    /// Where and as whom requests go (base URL, version, user agent).
    pub fn endpoint(&self) -> &Endpoint {
        &self.inner.endpoint
    }

    /// Runs one protocol operation: builds the request, sends it, retries as
    /// [`RetryPolicy`] decides (re-sending the same bytes, at most
    /// `max_retries + 1` attempts, each under the timeout) and parses the
    /// response. Every method of the client goes through here.
    ///
    /// # Errors
    ///
    /// The error of the last attempt, with the access token scrubbed from
    /// it; [`Error::Timeout`] when the call reaches `total_timeout`.
    pub async fn execute<O: Operation>(&self, op: &O) -> Result<O::Output> {
        self.bounded(self.run(op)).await
    }

    /// Runs `call` within the client's overall deadline, if it has one.
    /// Only public entry points go through here, so that the chunks and
    /// pages inside one call share one deadline.
    ///
    /// A combinator rather than an `async fn`: an `async fn` keeps its
    /// future argument twice in its state (once as the argument, once being
    /// awaited), which doubled the size of every call's future, and so the
    /// bytes copied whenever a call is moved into a task.
    fn bounded<T, F>(&self, call: F) -> impl std::future::Future<Output = Result<T>> + use<T, F>
    where
        F: std::future::Future<Output = Result<T>>,
    {
        match self.inner.total_timeout {
            None => Either::Left(call),
            Some(limit) => Either::Right(
                tokio::time::timeout(limit, call)
                    .map(move |out| out.unwrap_or(Err(Error::Timeout(limit)))),
            ),
        }
    }

    /// [`execute`](Self::execute) without the overall deadline.
    async fn run<O: Operation>(&self, op: &O) -> Result<O::Output> {
        let s = &*self.inner;
        let span = debug_span!(
            "wa_groups.call",
            method = %op.method(),
            // Evaluated only when a subscriber wants the span; a cursor or
            // group ID may hold the token, so the path is scrubbed.
            path = %s.endpoint.redactor().scrubbed(&s.endpoint.path(op)),
            attempts = Empty,
            status = Empty,
            elapsed_ms = Empty,
        );
        async move {
            let started = Instant::now();
            let mut attempts: u32 = 0;
            let result = loop {
                attempts += 1;
                let result = self.attempt(op, attempts).await;
                let error = match result {
                    Ok(out) => break Ok(out),
                    Err(e) => e,
                };
                match s.policy.decide(attempts, &error, fastrand::f64()) {
                    RetryDecision::RetryAfter(delay) => {
                        if let Some(hook) = &s.on_retry {
                            hook(&RetryEvent {
                                attempt: attempts,
                                max_retries: s.policy.max_retries,
                                delay,
                                error: &error,
                            });
                        }
                        debug!(
                            attempt = attempts,
                            error.kind = %error.kind(),
                            delay_ms = delay.as_millis() as u64,
                            "retrying"
                        );
                        tokio::time::sleep(delay).await;
                    }
                    RetryDecision::Stop => break Err(error),
                }
            };
            let span = tracing::Span::current();
            span.record("attempts", attempts);
            span.record("elapsed_ms", started.elapsed().as_millis() as u64);
            result.map_err(|mut e| {
                e.redact_with(s.endpoint.redactor());
                if let Some(status) = e.status() {
                    span.record("status", status);
                }
                debug!(error.kind = %e.kind(), "call failed");
                e
            })
        }
        .instrument(span)
        .await
    }

    /// One attempt: waits for a client-wide slot, then sends and reads the
    /// response under the per-attempt timeout.
    async fn attempt<O: Operation>(&self, op: &O, attempt: u32) -> Result<O::Output> {
        let s = &*self.inner;
        let span = debug_span!(
            "wa_groups.attempt",
            attempt,
            status = Empty,
            elapsed_ms = Empty
        );
        async move {
            // The semaphore is never closed.
            let _slot = s.in_flight.acquire().await.ok();
            if let Some(pacer) = &s.pacer {
                pace(pacer).await;
            }
            let started = Instant::now();
            let mut result = match tokio::time::timeout(s.timeout, self.exchange(op)).await {
                Ok(r) => r,
                Err(_) => Err(Error::Timeout(s.timeout)),
            };
            // Scrubbed before the log line below, whatever layer made it.
            if let Err(e) = &mut result {
                e.redact_with(s.endpoint.redactor());
            }
            let span = tracing::Span::current();
            span.record("elapsed_ms", started.elapsed().as_millis() as u64);
            if let Err(e) = &result {
                debug!(error.kind = %e.kind(), error = %e, "attempt failed");
            }
            result
        }
        .instrument(span)
        .await
    }

    /// Sends the request and reads the whole response under the size cap.
    async fn exchange<O: Operation>(&self, op: &O) -> Result<O::Output> {
        let s = &*self.inner;
        // Built afresh for each attempt: the operation is deterministic (a
        // multipart boundary is part of it), so a retry sends the same bytes.
        let request = s.endpoint.request(op).map(Full::new);
        let (response, connection) = s.http.send(request).await?;
        let (head, body) = response.into_parts();
        let status = head.status;
        if let Some(pacer) = &s.pacer
            && let Some(usage) = usage_percent(&head.headers)
        {
            observe(pacer, usage);
        }
        tracing::Span::current().record("status", status.as_u16());
        let body = read_body(body, status, &head.headers, s.max_response_bytes).await?;
        // Read to the end: the connection may serve the next request.
        connection.release();
        s.endpoint.parse_response(op, status, &head.headers, &body)
    }

    /// One page of the group's pending join requests.
    ///
    /// ```no_run
    /// # async fn run(client: wa_groups::Client) -> wa_groups::Result<()> {
    /// use wa_groups::ListOptions;
    ///
    /// let first = client.list_join_requests("GROUP_ID", ListOptions::default()).await?;
    /// if let Some(after) = &first.after {
    ///     let next = client
    ///         .list_join_requests("GROUP_ID", ListOptions::starting_after(after))
    ///         .await?;
    ///     # let _ = next;
    /// }
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    ///
    /// [`Error::InvalidInput`] naming `group_id`, `limit`, `after` or
    /// `before` before anything is sent; otherwise the call's error.
    pub async fn list_join_requests(
        &self,
        group_id: &str,
        options: ListOptions,
    ) -> Result<JoinRequestPage> {
        let op = ListJoinRequests::new(GroupId::new(group_id)?, options.validate()?)?;
        self.bounded(self.run(&op)).await
    }

    /// Every pending join request of the group, page after page, following
    /// each page's `after` until the last page. The stream owns a clone of
    /// the client. An error (invalid `group_id` included) is its last item.
    pub fn join_requests(
        &self,
        group_id: &str,
    ) -> impl Stream<Item = Result<JoinRequest>> + Send + 'static {
        self.join_requests_with(group_id, ListOptions::default())
    }

    /// [`join_requests`](Self::join_requests) with a page size (`limit`)
    /// and an optional `after` cursor to start from; `before` is refused.
    pub fn join_requests_with(
        &self,
        group_id: &str,
        options: ListOptions,
    ) -> impl Stream<Item = Result<JoinRequest>> + Send + 'static {
        let start = GroupId::new(group_id)
            .map_err(Error::from)
            .and_then(|group| Ok(Listing::new(group, options.validate()?, 0)?));
        let state = match start {
            Ok(listing) => PageWalk {
                client: self.clone(),
                listing: Some(listing),
                buffered: VecDeque::new(),
                error: None,
            },
            Err(e) => PageWalk {
                client: self.clone(),
                listing: None,
                buffered: VecDeque::new(),
                error: Some(e),
            },
        };
        stream::unfold(state, |mut walk| async move {
            loop {
                if let Some(item) = walk.buffered.pop_front() {
                    return Some((Ok(item), walk));
                }
                if let Some(e) = walk.error.take() {
                    walk.listing = None;
                    return Some((Err(e), walk));
                }
                let listing = walk.listing.as_mut()?;
                let client = walk.client.clone();
                let step = match client.bounded(client.run(&listing.request())).await {
                    Ok(page) => listing.on_page(page).map(|(data, step)| {
                        walk.buffered = data.into();
                        step
                    }),
                    Err(e) => listing.on_error(e),
                };
                match step {
                    Ok(PageStep::Fetch { .. }) => {}
                    Ok(PageStep::Done) => walk.listing = None,
                    Err(e) => walk.error = Some(e),
                }
            }
        })
    }

    /// Approves `ids`: one request per `max_ids_per_request` IDs,
    /// `max_concurrency` at a time, merged in input order; duplicates are
    /// sent once. Partial failure is a result: see [`ApproveOutcome::failed`].
    ///
    /// Safe to repeat: a repeat reports already handled IDs as 131213
    /// failures, so after a lost response an ID the server did approve may
    /// be reported in `failed`.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidInput`] naming `group_id`, `join_request_ids` (empty)
    /// or `join_request_id` (with its index) before anything is sent; the
    /// call's error when every chunk failed with the same error.
    pub async fn approve_join_requests<I>(&self, group_id: &str, ids: I) -> Result<ApproveOutcome>
    where
        I: IntoIterator,
        I::Item: AsRef<str>,
    {
        self.bounded(self.decide(Action::Approve, group_id, ids))
            .await
            .map(ApproveOutcome::from)
    }

    /// Rejects `ids`, like [`approve_join_requests`](Self::approve_join_requests).
    ///
    /// # Errors
    ///
    /// As [`approve_join_requests`](Self::approve_join_requests).
    pub async fn reject_join_requests<I>(&self, group_id: &str, ids: I) -> Result<RejectOutcome>
    where
        I: IntoIterator,
        I::Item: AsRef<str>,
    {
        self.bounded(self.decide(Action::Reject, group_id, ids))
            .await
            .map(RejectOutcome::from)
    }

    /// Approves every join request pending when the call starts: lists every
    /// page first, then approves the IDs in chunks. See the crate docs.
    ///
    /// # Errors
    ///
    /// An invalid `group_id`; a listing error (the approvals have not
    /// started then); or the error every chunk failed with.
    pub async fn approve_all(&self, group_id: &str) -> Result<ApproveOutcome> {
        self.bounded(self.decide_all(Action::Approve, group_id))
            .await
            .map(ApproveOutcome::from)
    }

    /// Rejects every join request pending when the call starts, like
    /// [`approve_all`](Self::approve_all).
    ///
    /// # Errors
    ///
    /// As [`approve_all`](Self::approve_all).
    pub async fn reject_all(&self, group_id: &str) -> Result<RejectOutcome> {
        self.bounded(self.decide_all(Action::Reject, group_id))
            .await
            .map(RejectOutcome::from)
    }

    /// The group's info (`GET /{version}/{group_id}?fields=...`); an empty
    /// `fields` asks for the API's default fields.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidInput`] naming `group_id` or `fields` (with the index
    /// of an unknown field) before anything is sent; otherwise the call's error.
    pub async fn group_info<I>(&self, group_id: &str, fields: I) -> Result<GroupInfo>
    where
        I: IntoIterator,
        I::Item: AsRef<str>,
    {
        let op = GetGroupInfo::new(GroupId::new(group_id)?, fields)?;
        self.bounded(self.run(&op)).await
    }

    /// Validates, then approves or rejects in chunks.
    async fn decide<I>(&self, action: Action, group_id: &str, ids: I) -> Result<DecisionOutcome>
    where
        I: IntoIterator,
        I::Item: AsRef<str>,
    {
        let group = GroupId::new(group_id)?;
        let ids = JoinRequestIds::new(ids)?;
        self.decide_ids(action, &group, &ids).await
    }

    /// Plans the chunks (dropping duplicates), runs them `max_concurrency`
    /// at a time in order, and merges their results.
    async fn decide_ids(
        &self,
        action: Action,
        group: &GroupId,
        ids: &JoinRequestIds,
    ) -> Result<DecisionOutcome> {
        let plan = ChunkPlan::new(action, ids, self.inner.max_ids_per_request);
        if let [only] = plan.chunks() {
            // The common case needs no stream machinery.
            let op = DecideJoinRequests::new(action, group.clone(), only.clone());
            return plan.merge(vec![self.run(&op).await]);
        }
        let results: Vec<Result<DecisionOutcome>> = stream::iter(plan.chunks().iter().cloned())
            .map(|chunk| {
                let op = DecideJoinRequests::new(action, group.clone(), chunk);
                async move { self.run(&op).await }
            })
            .buffered(self.inner.max_concurrency)
            .collect()
            .await;
        plan.merge(results)
    }

    async fn decide_all(&self, action: Action, group_id: &str) -> Result<DecisionOutcome> {
        let group = GroupId::new(group_id)?;
        let pending = self.collect_pending(&group).await?;
        match JoinRequestIds::from_ids(pending) {
            Ok(ids) => self.decide_ids(action, &group, &ids).await,
            // Nothing pending: nothing to send.
            Err(_) => Ok(DecisionOutcome::new(action)),
        }
    }

    /// Every pending ID, in listing order, each once. A cursor that expires
    /// (131059) restarts the listing from the first page (see [`Listing`]);
    /// the seen set keeps IDs listed before the restart from being counted
    /// twice.
    async fn collect_pending(&self, group: &GroupId) -> Result<Vec<JoinRequestId>> {
        let mut listing = Listing::new(
            group.clone(),
            wa_groups_protocol::ListQuery::default(),
            MAX_LISTING_RESTARTS,
        )?;
        let mut seen = HashSet::new();
        let mut ids = Vec::new();
        loop {
            let step = match self.run(&listing.request()).await {
                Ok(page) => {
                    let (data, step) = listing.on_page(page)?;
                    for request in data {
                        if seen.insert(request.join_request_id.clone()) {
                            ids.push(request.join_request_id);
                        }
                    }
                    step
                }
                Err(e) => listing.on_error(e)?,
            };
            match step {
                PageStep::Fetch { restarted: true } => {
                    debug!("cursor expired; listing again from the first page");
                }
                PageStep::Fetch { restarted: false } => {}
                PageStep::Done => return Ok(ids),
            }
        }
    }
}

/// The state of [`Client::join_requests`]: the listing (`None` once it
/// ended), the page being handed out, and an error to end with.
struct PageWalk {
    client: Client,
    listing: Option<Listing>,
    buffered: VecDeque<JoinRequest>,
    error: Option<Error>,
}

/// Reads a body under `cap` bytes: a declared larger `Content-Length` is
/// refused before reading, and a body that grows past the cap is abandoned
/// as soon as it does.
async fn read_body(
    body: hyper::body::Incoming,
    status: StatusCode,
    headers: &HeaderMap,
    cap: usize,
) -> Result<Bytes> {
    let declared = headers
        .get(http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    if declared.is_some_and(|len| len > cap as u64) {
        return Err(DecodeError::body_too_large(Some(status.as_u16()), cap).into());
    }
    match Limited::new(body, cap).collect().await {
        Ok(collected) => Ok(collected.to_bytes()),
        Err(e) if e.is::<LengthLimitError>() => {
            Err(DecodeError::body_too_large(Some(status.as_u16()), cap).into())
        }
        Err(e) => {
            let mut t = transport_error(&*e, false);
            if t.kind() == wa_groups_protocol::TransportErrorKind::Other {
                t = wa_groups_protocol::TransportError::new(
                    wa_groups_protocol::TransportErrorKind::ConnectionReset,
                    format!("response body cut short: {}", t.message()),
                );
            }
            Err(Error::Transport(t))
        }
    }
}

/// The longest single sleep of a paced call: it asks again after it, as
/// the pace may have eased meanwhile.
const MAX_PACING_NAP: Duration = Duration::from_millis(50);

/// A client's [`Pacer`], and whether any response has carried a usage
/// header: until one has, calls skip the lock (most servers send none).
#[derive(Debug, Default)]
pub(crate) struct Pacing {
    seen: AtomicBool,
    pacer: Mutex<Pacer>,
}

/// Waits until the pacer lets a call go, and books it.
async fn pace(pacing: &Pacing) {
    if !pacing.seen.load(Ordering::Relaxed) {
        return;
    }
    let pacer = &pacing.pacer;
    loop {
        let wait = {
            let mut p = pacer.lock().unwrap_or_else(PoisonError::into_inner);
            let now = Instant::now();
            let wait = p.delay(now);
            if wait.is_zero() {
                p.sent(now);
                return;
            }
            wait
        };
        tokio::time::sleep(wait.min(MAX_PACING_NAP)).await;
    }
}

/// Gives the pacer a response's usage; logs when pacing starts or ends.
fn observe(pacing: &Pacing, usage: u8) {
    pacing.seen.store(true, Ordering::Relaxed);
    let mut p = pacing.pacer.lock().unwrap_or_else(PoisonError::into_inner);
    let was = p.rate().is_some();
    p.observe(Instant::now(), usage);
    match (was, p.rate()) {
        (false, Some(rate)) => {
            debug!(
                usage,
                rate = rate as u64,
                "usage rising near the limit; pacing calls"
            );
        }
        (true, None) => debug!(usage, "usage below the pacing mark; calls no longer paced"),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A call's future is moved whole into a task (by the bindings, for
    /// every call) and through wrappers: its size is bytes copied per call.
    /// Connecting is boxed and the deadline is a combinator, so that it
    /// stays near 2 KB (it was 16 KB).
    #[test]
    fn a_call_future_stays_small() {
        let client = Client::builder()
            .access_token("EAAGtoken")
            .base_url("http://127.0.0.1:9")
            .total_timeout(Duration::from_secs(5))
            .build()
            .expect("client");
        let approve = client.approve_join_requests("G1", ["a"]);
        let list = client.list_join_requests("G1", ListOptions::default());
        for (what, size) in [
            ("approve", std::mem::size_of_val(&approve)),
            ("list", std::mem::size_of_val(&list)),
        ] {
            assert!(size <= 4096, "{what}: a future of {size} bytes");
        }
    }
}
