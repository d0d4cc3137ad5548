//! The three workers around the ledger: the decider (pending → decided),
//! the applier (decided → sent → outcome) and the reconciler (listing every
//! known group to catch lost deliveries). Each is a loop that sleeps on a
//! [`Notify`](tokio::sync::Notify) or a timer, never a busy loop, and stops
//! when the stop flag turns true, after finishing the round it is in.

use std::collections::{BTreeMap, HashSet};
use std::future::Future;
use std::time::Duration;

use futures_util::{StreamExt as _, TryStreamExt as _};
use http_body_util::{BodyExt as _, Full};
use tokio::sync::watch;
use tokio::task::JoinHandle;
use wa_groups::protocol::codes;
use wa_groups::{Action, ErrorKind};

use crate::ledger::{Decision, Event, Record, Requester, State};
use crate::moderator::{DecideWith, Moderator, now_ms};
use crate::policy::{AskHook, ModerationRequest, VerdictAction};
use crate::store::{Change, PassMark};

/// Records taken per decider or applier round.
const ROUND: usize = 512;

/// How often idle workers look again without being woken (a `decide` from
/// another process, a backoff that ran out).
const IDLE_POLL: Duration = Duration::from_secs(1);

/// Decisions in progress at once.
const DECIDE_CONCURRENCY: usize = 16;

/// Listed groups whose store work (their open records read, their changes
/// committed) runs at once in a reconcile pass.
const RECONCILE_STORE_CONCURRENCY: usize = 8;

/// The rule recorded for a user's decider callback.
pub const CALLBACK_RULE: &str = "callback";

/// The rule recorded when a user's decider callback panicked (the request
/// is held).
pub const DECIDER_PANICKED_RULE: &str = "decider_panicked";

/// The rule recorded when a user's decider callback did not answer within
/// the decider timeout (the request is held).
pub const DECIDER_TIMEOUT_RULE: &str = "decider_timeout";

pub(crate) fn spawn(m: Moderator, stop: watch::Receiver<bool>) -> Vec<JoinHandle<()>> {
    vec![
        tokio::spawn(decider(m.clone(), stop.clone())),
        tokio::spawn(applier(m.clone(), stop.clone())),
        tokio::spawn(reconciler(m, stop)),
    ]
}

/// Waits for `notify`, `poll` or stop; returns false on stop.
async fn wait(
    notify: &tokio::sync::Notify,
    poll: Duration,
    stop: &mut watch::Receiver<bool>,
) -> bool {
    if *stop.borrow() {
        return false;
    }
    tokio::select! {
        () = notify.notified() => true,
        () = tokio::time::sleep(poll) => true,
        _ = stop.changed() => !*stop.borrow(),
    }
}

pub(crate) fn request_of(r: &Record) -> ModerationRequest {
    ModerationRequest {
        group_id: r.group_id.clone(),
        join_request_id: r.join_request_id.clone(),
        wa_id: r.requester.wa_id.clone(),
        user_id: r.requester.user_id.clone(),
        username: r.requester.username.clone(),
        created_at: r.created_at,
    }
}

// ---------------------------------------------------------------------------
// Decider
// ---------------------------------------------------------------------------

async fn decider(m: Moderator, mut stop: watch::Receiver<bool>) {
    let inner = &m.inner;
    loop {
        loop {
            if *stop.borrow() {
                return;
            }
            let now = now_ms();
            let generation = inner.store.backend().lease_generation();
            let batch = match inner
                .store
                .backend()
                .claim_pending(now, now + lease_ms(&m), ROUND)
                .await
            {
                Ok(b) => b,
                Err(e) => {
                    tracing::error!(error = %e, "decider: cannot read pending records");
                    break;
                }
            };
            if batch.is_empty() {
                break;
            }
            // A short batch took every record that was pending: the next
            // round waits to be woken (a delivery stored since has woken it
            // already) instead of asking the store again at once.
            let short = batch.len() < ROUND;
            if let DecideWith::Policy(p) = &inner.decide
                && let Err(e) = p.lock().await.reload_lists()
            {
                tracing::warn!(error = %e, "policy list not reloaded; keeping its last contents");
            }
            // Deciders may wait on I/O (an ask hook, a user's coroutine):
            // several run at once, and their answers are stored as they
            // come, in commits that gather what is ready, so one slow
            // decide (up to the decider timeout) holds up only itself.
            let keys = keys_of(&batch);
            // By index: a stream of borrowed records would not be `Send`
            // across the spawned task's await points (a rustc limit on
            // higher-ranked closures).
            let deciding = futures_util::stream::iter(batch.iter().map(request_of).enumerate())
                .map(|(i, req)| {
                    let m = m.clone();
                    async move { (i, decide_one(&m, &req).await) }
                })
                .buffer_unordered(DECIDE_CONCURRENCY);
            let stored = with_renewal(
                &m,
                generation,
                keys,
                store_as_decided(&m, generation, &batch, deciding),
            )
            .await;
            if !stored || short {
                break;
            }
        }
        if !wait(&inner.decide_work, IDLE_POLL, &mut stop).await {
            return;
        }
    }
}

/// How long a decision that is ready waits for others of its round to be
/// ready too, so that they share a commit: short beside a decider's
/// timeout, long beside a policy's or a quick callback's answer.
const DECIDED_GATHER: Duration = Duration::from_millis(50);

/// Stores the decisions of a claimed round as `deciding` yields them: each
/// commit takes what is ready, once the oldest decision not yet stored has
/// waited [`DECIDED_GATHER`] or the round is done, and wakes the applier.
/// False when the round stopped early (its leases were lost, or a commit
/// failed): the records not stored stay pending, and the claim loop ends.
async fn store_as_decided(
    m: &Moderator,
    generation: Option<u64>,
    batch: &[Record],
    deciding: impl futures_util::Stream<Item = (usize, Verdict)>,
) -> bool {
    let inner = &m.inner;
    let mut deciding = std::pin::pin!(deciding);
    let mut ready: Vec<(usize, Verdict)> = Vec::new();
    let mut done = false;
    while !done {
        match deciding.next().await {
            Some(d) => ready.push(d),
            None => break,
        }
        // What else is ready within the gather time of the first.
        let deadline = tokio::time::Instant::now() + DECIDED_GATHER;
        loop {
            match tokio::time::timeout_at(deadline, deciding.next()).await {
                Ok(Some(d)) => ready.push(d),
                Ok(None) => {
                    done = true;
                    break;
                }
                Err(_) => break,
            }
        }
        let keys = keys_of(ready.iter().map(|(i, _)| &batch[*i]));
        if !still_owned(m, generation, &keys, "decisions").await {
            return false;
        }
        let mut changes = Vec::with_capacity(ready.len());
        for (i, v) in ready.drain(..) {
            let r = &batch[i];
            let Verdict {
                decision,
                rule,
                reason,
            } = v;
            inner.metrics.decision(decision.as_str(), &rule);
            tracing::debug!(group_id = %r.group_id, join_request_id = %r.join_request_id, %decision, %rule, "decided");
            changes.push(Change::new(
                &r.group_id,
                &r.join_request_id,
                Event::Decided {
                    decision,
                    rule,
                    reason,
                },
            ));
        }
        // The decisions are committed before the applier may send them.
        if let Err(e) = inner.store.apply(changes, now_ms()).await {
            tracing::error!(error = %e, "decider: decisions not stored");
            return false;
        }
        inner.apply_work.notify_one();
    }
    true
}

/// How one request was decided: what `Event::Decided` records.
pub(crate) struct Verdict {
    decision: Decision,
    rule: String,
    /// Why, when the rule alone does not say (a failing callback).
    reason: Option<String>,
}

impl Verdict {
    fn by(decision: Decision, rule: impl Into<String>) -> Self {
        Self {
            decision,
            rule: rule.into(),
            reason: None,
        }
    }
}

/// The longest reason a failing callback leaves on its record: enough for
/// an exception's type and message, never a whole traceback in every row.
const MAX_REASON_BYTES: usize = 500;

/// `text`, cut to at most [`MAX_REASON_BYTES`] at a character boundary.
fn bounded_reason(text: &str) -> String {
    if text.len() <= MAX_REASON_BYTES {
        return text.to_owned();
    }
    let mut end = MAX_REASON_BYTES - '…'.len_utf8();
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &text[..end])
}

/// Decides one request by the policy (asking its hook when a rule says
/// `ask`) or the user's callback.
pub(crate) async fn decide_one(m: &Moderator, req: &ModerationRequest) -> Verdict {
    match &m.inner.decide {
        DecideWith::Callback(f) => callback(m, f.as_ref(), req).await,
        DecideWith::Policy(p) => {
            let (rule, hook) = {
                let policy = p.lock().await;
                let v = policy.evaluate(req);
                match v.action {
                    VerdictAction::Decide(d) => return Verdict::by(d, v.rule),
                    VerdictAction::Ask(h) => (v.rule.to_owned(), h.clone()),
                }
            };
            Verdict::by(ask(&hook, req).await, rule)
        }
    }
}

/// Runs a user's callback so that its faults stay its own: a panic or an
/// answer slower than the decider timeout holds this one request (logged,
/// and with the panic's message or the timeout as the record's reason)
/// instead of ending the decider task or stalling its round.
async fn callback(
    m: &Moderator,
    f: &dyn crate::moderator::Decider,
    req: &ModerationRequest,
) -> Verdict {
    use futures_util::FutureExt as _;
    // The call itself sits inside the future, so a panic before the
    // callback's first await is caught too.
    let run = std::panic::AssertUnwindSafe(async { f.decide(req).await }).catch_unwind();
    match tokio::time::timeout(m.inner.config.decider_timeout, run).await {
        Ok(Ok(d)) => Verdict::by(d, CALLBACK_RULE),
        Ok(Err(panic)) => {
            let mut reason = panic
                .downcast_ref::<&str>()
                .map(|s| (*s).to_owned())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .filter(|s| !s.is_empty())
                .unwrap_or_else(|| "the decider panicked".to_owned());
            // What a user's code raised may quote anything, a secret too.
            m.inner.scrub_secrets(&mut reason);
            tracing::error!(group_id = %req.group_id, join_request_id = %req.join_request_id, panic = %reason, "decider callback panicked; request held");
            Verdict {
                reason: Some(bounded_reason(&reason)),
                ..Verdict::by(Decision::Hold, DECIDER_PANICKED_RULE)
            }
        }
        Err(_) => {
            tracing::error!(group_id = %req.group_id, join_request_id = %req.join_request_id, timeout = ?m.inner.config.decider_timeout, "decider callback timed out; request held");
            Verdict {
                reason: Some(format!(
                    "no answer within {:?}",
                    m.inner.config.decider_timeout
                )),
                ..Verdict::by(Decision::Hold, DECIDER_TIMEOUT_RULE)
            }
        }
    }
}

/// POSTs `req` as JSON to the hook; its answer is
/// `{"decision": "approve" | "reject" | "hold"}`. Anything else, an error
/// status or no answer within the timeout gives `on_error`.
pub(crate) async fn ask(hook: &AskHook, req: &ModerationRequest) -> Decision {
    match tokio::time::timeout(hook.timeout, ask_inner(&hook.url, req)).await {
        Ok(Ok(d)) => d,
        Ok(Err(e)) => {
            tracing::warn!(url = %hook.url, error = %e, fallback = %hook.on_error, "ask hook failed");
            hook.on_error
        }
        Err(_) => {
            tracing::warn!(url = %hook.url, fallback = %hook.on_error, "ask hook timed out");
            hook.on_error
        }
    }
}

async fn ask_inner(url: &str, req: &ModerationRequest) -> Result<Decision, String> {
    let body = serde_json::to_vec(req).map_err(|e| e.to_string())?;
    let request = http::Request::post(url)
        .header(http::header::CONTENT_TYPE, "application/json")
        .body(Full::new(bytes::Bytes::from(body)))
        .map_err(|e| e.to_string())?;
    let client = hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
        .build_http::<Full<bytes::Bytes>>();
    let resp = client.request(request).await.map_err(|e| e.to_string())?;
    if !resp.status().is_success() {
        return Err(format!("HTTP {}", resp.status()));
    }
    let body = http_body_util::Limited::new(resp.into_body(), 64 * 1024)
        .collect()
        .await
        .map_err(|e| e.to_string())?
        .to_bytes();
    #[derive(serde::Deserialize)]
    struct Answer {
        decision: String,
    }
    let a: Answer = serde_json::from_slice(&body).map_err(|e| format!("bad answer: {e}"))?;
    a.decision.parse()
}

// ---------------------------------------------------------------------------
// Applier
// ---------------------------------------------------------------------------

async fn applier(m: Moderator, mut stop: watch::Receiver<bool>) {
    let inner = &m.inner;
    if inner.config.dry_run {
        tracing::info!("dry run: decisions are recorded, nothing is sent");
        return;
    }
    let window = i64::try_from(inner.config.batch_window.as_millis()).unwrap_or(i64::MAX);
    let lease = lease_ms(&m);
    loop {
        if !wait(&inner.apply_work, IDLE_POLL, &mut stop).await {
            return;
        }
        loop {
            if *stop.borrow() {
                return;
            }
            let now = now_ms();
            let generation = inner.store.backend().lease_generation();
            let mut claimed = match inner.store.backend().claim(now, now + lease, ROUND).await {
                Ok(c) => c,
                Err(e) => {
                    tracing::error!(error = %e, "applier: cannot claim records");
                    break;
                }
            };
            if claimed.is_empty() {
                break;
            }
            // Let more decisions arrive to fill the calls, until the oldest
            // claimed decision has waited the batch window (decisions that
            // already waited, behind the previous round, go at once).
            let oldest = claimed.iter().map(|r| r.updated_at).min().unwrap_or(now);
            let wait_ms = oldest.saturating_add(window).saturating_sub(now_ms());
            if wait_ms > 0 && claimed.len() < ROUND {
                // The claim is held while the call fills: renewed like any
                // work in flight, or a batch window longer than a third of
                // the lease would let another replica take these records.
                let fill = async {
                    tokio::select! {
                        () = tokio::time::sleep(Duration::from_millis(wait_ms.unsigned_abs())) => {}
                        _ = stop.changed() => {}
                    }
                };
                with_renewal(&m, generation, keys_of(&claimed), fill).await;
                if *stop.borrow() {
                    let keys = claimed
                        .iter()
                        .map(|r| (r.group_id.clone(), r.join_request_id.clone()))
                        .collect();
                    let _ = inner.store.backend().release(keys).await;
                    return;
                }
                let now = now_ms();
                match inner
                    .store
                    .backend()
                    .claim(now, now + lease, ROUND - claimed.len())
                    .await
                {
                    Ok(more) => claimed.extend(more),
                    Err(e) => tracing::error!(error = %e, "applier: cannot claim records"),
                }
            }
            // As in the decider: a short round took all that was ready.
            let short = claimed.len() < ROUND;
            apply_round(&m, generation, claimed).await;
            if short {
                break;
            }
        }
    }
}

/// Sends one round of claimed records: marks them `Sending` (committed
/// before any call, so a crash mid-call is known on restart), calls the
/// API per group and action, and records each ID's outcome.
///
/// `generation` is the store's [`lease_generation`] when the records were
/// claimed: if it changed (the leases were lost, and others may be sending
/// these records), nothing is marked or sent.
///
/// [`lease_generation`]: crate::store::Backend::lease_generation
async fn apply_round(m: &Moderator, generation: Option<u64>, claimed: Vec<Record>) {
    let inner = &m.inner;
    if !still_owned(m, generation, &keys_of(&claimed), "claimed records").await {
        return;
    }
    let mut batches: BTreeMap<(String, bool), (Action, Vec<Record>)> = BTreeMap::new();
    for r in claimed {
        if let Some(action) = r.sendable() {
            batches
                .entry((r.group_id.clone(), action == Action::Approve))
                .or_insert_with(|| (action, Vec::new()))
                .1
                .push(r);
        }
    }
    let sending: Vec<Change> = batches
        .values()
        .flat_map(|(_, rs)| rs.iter())
        .map(|r| Change::new(&r.group_id, &r.join_request_id, Event::Sending))
        .collect();
    let keys: Vec<(String, String)> = sending
        .iter()
        .map(|c| (c.group_id.clone(), c.join_request_id.clone()))
        .collect();
    if let Err(e) = inner.store.apply(sending, now_ms()).await {
        tracing::error!(error = %e, "applier: attempts not stored; sending nothing");
        let _ = inner.store.backend().release(keys).await;
        return;
    }
    let sends = futures_util::stream::iter(batches)
        .map(|((group, _), (action, records))| send(m, group, action, records))
        .buffer_unordered(inner.config.concurrency)
        .collect::<Vec<Vec<Change>>>();
    // Checked again as late as can be, right before the calls (the
    // `Sending` commit took a round trip).
    if !still_owned(m, generation, &keys, "records marked sending").await {
        return;
    }
    let results = with_renewal(m, generation, keys, sends).await;
    let changes: Vec<Change> = results.into_iter().flatten().collect();
    if let Err(e) = inner.store.apply(changes, now_ms()).await {
        // The records stay approving/rejecting with their attempt counted:
        // the next round's 131213 confirms them (`confirmed_by_retry`).
        tracing::error!(error = %e, "applier: outcomes not stored; they will be confirmed by retry");
    }
}

/// The lease timeout in milliseconds.
fn lease_ms(m: &Moderator) -> i64 {
    i64::try_from(m.inner.config.lease_timeout.as_millis()).unwrap_or(i64::MAX)
}

fn keys_of<'a>(records: impl IntoIterator<Item = &'a Record>) -> Vec<(String, String)> {
    records
        .into_iter()
        .map(|r| (r.group_id.clone(), r.join_request_id.clone()))
        .collect()
}

/// Whether the leases claimed under `generation` are still this store's.
/// When they are not, logs what is dropped and releases `keys`: a release
/// touches only the current owner's leases, so it frees records a claim
/// that raced a new lock leased to the new owner (they would otherwise sit
/// out the lease timeout) and leaves alone those another replica took.
async fn still_owned(
    m: &Moderator,
    generation: Option<u64>,
    keys: &[(String, String)],
    what: &str,
) -> bool {
    let backend = m.inner.store.backend();
    if generation.is_some() && backend.lease_generation() == generation {
        return true;
    }
    tracing::warn!(
        records = keys.len(),
        "leases lost while working (the store's lease owner lock went); {what} dropped, not sent: another replica takes them"
    );
    if let Err(e) = backend.release(keys.to_vec()).await {
        tracing::debug!(error = %e, "leases not released");
    }
    false
}

/// Runs `work` while renewing the leases on `keys` every third of the
/// lease timeout, so a slow round (an ask hook, a throttled API call) keeps
/// its records and no other replica takes them meanwhile. A renewal that
/// fails is logged; the work goes on (the API's idempotence covers a
/// record another replica then sends too). Once the store's lease
/// generation is no longer `generation` (the leases were lost), nothing is
/// renewed: the records may be another replica's.
async fn with_renewal<T>(
    m: &Moderator,
    generation: Option<u64>,
    keys: Vec<(String, String)>,
    work: impl Future<Output = T>,
) -> T {
    let every = m.inner.config.lease_timeout / 3;
    let renew = async {
        loop {
            tokio::time::sleep(every).await;
            if m.inner.store.backend().lease_generation() != generation {
                continue;
            }
            let until = now_ms() + lease_ms(m);
            match m.inner.store.backend().renew(keys.clone(), until).await {
                Ok(held) if held < keys.len() => {
                    tracing::debug!(held, of = keys.len(), "leases renewed; some had ended");
                }
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "leases not renewed"),
            }
        }
    };
    tokio::select! {
        out = work => out,
        () = renew => unreachable!("the renewal loop never ends"),
    }
}

/// Backoff before the next attempt: 1 s doubling per attempt, capped at
/// 5 min, with up to 25 % jitter so many records do not retry in step.
fn backoff_until(attempts: u32) -> i64 {
    let base = 1000_i64
        .saturating_mul(1_i64 << attempts.min(9))
        .min(300_000);
    now_ms() + base + i64::try_from(fastrand::u64(0..=(base as u64 / 4))).unwrap_or(0)
}

fn classify(code: i64) -> &'static str {
    match code {
        codes::GROUP_FULL => "group_full",
        codes::JOIN_REQUEST_NOT_FOUND => "not_found",
        codes::API_UNKNOWN | codes::API_SERVICE => "transient",
        c if ErrorKind::for_graph_code(c) == ErrorKind::RateLimited => "rate_limited",
        _ => "failed",
    }
}

async fn send(m: &Moderator, group: String, action: Action, records: Vec<Record>) -> Vec<Change> {
    let inner = &m.inner;
    let ids: Vec<&str> = records.iter().map(|r| r.join_request_id.as_str()).collect();
    tracing::debug!(group_id = %group, action = action.as_str(), ids = ids.len(), "sending");
    let result = match action {
        Action::Approve => inner
            .client
            .approve_join_requests(&group, &ids)
            .await
            .map(|o| (o.approved, o.failed)),
        Action::Reject => inner
            .client
            .reject_join_requests(&group, &ids)
            .await
            .map(|o| (o.rejected, o.failed)),
    };
    // Attempts as stored by the `Sending` change.
    let attempts = |r: &Record| r.attempts + 1;
    let mut out = Vec::with_capacity(records.len());
    match result {
        Ok((succeeded, failed)) => {
            let ok: HashSet<&str> = succeeded
                .iter()
                .map(wa_groups::JoinRequestId::as_str)
                .collect();
            let failed: BTreeMap<&str, i64> = failed
                .iter()
                .map(|f| {
                    (
                        f.join_request_id.as_str(),
                        f.errors.first().map_or(1, |e| e.code),
                    )
                })
                .collect();
            for r in &records {
                let jr = r.join_request_id.as_str();
                let (event, outcome) = if ok.contains(jr) {
                    (Event::Applied, "applied")
                } else if let Some(&code) = failed.get(jr) {
                    let kind = classify(code);
                    let event = match kind {
                        "group_full" if action == Action::Approve => Event::GroupFull,
                        "not_found" => Event::NotFound,
                        "transient" | "rate_limited" => Event::Backoff {
                            until: backoff_until(attempts(r)),
                            reason: format!("{kind} ({code})"),
                        },
                        _ => Event::Failed {
                            code,
                            reason: format!("Graph error {code}"),
                        },
                    };
                    (event, kind)
                } else {
                    // Neither succeeded nor failed: the call-level errors
                    // left it undecided; try again later.
                    (
                        Event::Backoff {
                            until: backoff_until(attempts(r)),
                            reason: "no outcome for this ID".into(),
                        },
                        "unknown",
                    )
                };
                inner.metrics.api(action.as_str(), outcome, 1);
                out.push(Change::new(&group, jr, event));
            }
        }
        Err(e) => {
            let code = e.api_error().map(|a| a.code);
            let permanent =
                matches!(e.kind(), ErrorKind::InvalidInput) || code == Some(codes::GROUP_NOT_FOUND);
            tracing::warn!(group_id = %group, action = action.as_str(), error = %e, permanent, "call failed");
            let outcome = e.kind().as_str();
            for r in &records {
                let event = if permanent {
                    Event::Failed {
                        code: code.unwrap_or(codes::INVALID_PARAMETER),
                        reason: e.kind().as_str().to_owned(),
                    }
                } else {
                    Event::Backoff {
                        until: backoff_until(attempts(r)),
                        reason: e.kind().as_str().to_owned(),
                    }
                };
                out.push(Change::new(&group, &r.join_request_id, event));
            }
            inner
                .metrics
                .api(action.as_str(), outcome, records.len() as u64);
        }
    }
    out
}

// ---------------------------------------------------------------------------
// Reconciler
// ---------------------------------------------------------------------------

async fn reconciler(m: Moderator, mut stop: watch::Receiver<bool>) {
    let inner = &m.inner;
    if let Err(e) = inner
        .store
        .backend()
        .add_groups(inner.config.groups.clone())
        .await
    {
        tracing::error!(error = %e, "reconciler: cannot store the configured groups");
    }
    let mut at_start = true;
    loop {
        reconcile_pass(&m, &stop, at_start).await;
        at_start = false;
        tokio::select! {
            () = tokio::time::sleep(inner.config.reconcile_every) => {}
            _ = stop.changed() => {}
        }
        if *stop.borrow() {
            return;
        }
    }
}

/// One pass: every known group listed in full; lost requests added, those
/// no longer pending marked gone, group-full holds retried.
///
/// Groups are listed `concurrency` at once (a pass over thousands of
/// groups one at a time is bound by the round trip, not by the rate limit),
/// and the decider is woken as soon as a group's lost requests are stored,
/// not at the end of the pass.
///
/// A pass resumes the store's last pass when a crash or a stop cut it
/// short and its last progress is less than `reconcile_every` old: it
/// lists only the groups that pass had not listed (see [`resumed_pass`]).
/// That is the pass at a restarted engine's start, or, with replicas,
/// another replica's next pass after the one reconciling died.
///
/// A periodic pass (not `at_start`) is skipped when the store's last pass
/// finished and began less than `reconcile_every` ago: another replica
/// listed every group since, so replicas together list each group about
/// once per `reconcile_every`, not once each. (This engine's own passes are
/// `reconcile_every` apart from one's end to the next's start, so a single
/// engine never skips its own.)
async fn reconcile_pass(m: &Moderator, stop: &watch::Receiver<bool>, at_start: bool) {
    let inner = &m.inner;
    let backend = inner.store.backend();
    // One replica reconciles at a time; the others skip this pass.
    let _lock = match backend.reconciler_lock().await {
        Ok(Some(lock)) => lock,
        Ok(None) => {
            tracing::debug!("reconciler: another replica is reconciling; pass skipped");
            return;
        }
        Err(e) => {
            tracing::error!(error = %e, "reconciler: cannot take the reconcile lock");
            return;
        }
    };
    let last = match backend.last_pass().await {
        Ok(last) => last,
        Err(e) => {
            // Without it the pass lists every group, as passes always did.
            tracing::warn!(error = %e, "reconciler: the last pass not read; listing every group");
            None
        }
    };
    let every = i64::try_from(inner.config.reconcile_every.as_millis()).unwrap_or(i64::MAX);
    if !at_start && listed_recently(last, now_ms(), every) {
        tracing::debug!(
            "reconciler: another replica finished a pass within reconcile_every; pass skipped"
        );
        return;
    }
    let groups = match backend.groups_listed().await {
        Ok(g) => g,
        Err(e) => {
            tracing::error!(error = %e, "reconciler: cannot read the groups");
            return;
        }
    };
    let now = now_ms();
    let resumed = resumed_pass(last, &groups, now, every);
    let started_at = resumed.unwrap_or(now);
    let groups: Vec<String> = match resumed {
        Some(began) => {
            let left: Vec<String> = groups
                .into_iter()
                .filter(|(_, listed)| listed.is_none_or(|at| at < began))
                .map(|(g, _)| g)
                .collect();
            tracing::info!(
                groups = left.len(),
                "reconciler: resuming the pass a crash or a stop cut short; listing the groups it had not listed"
            );
            left
        }
        None => {
            mark_pass(m, started_at, false).await;
            groups.into_iter().map(|(g, _)| g).collect()
        }
    };
    // Groups whose listings are stored, not yet marked listed: marked in
    // batches, off the listings' path.
    let listed = std::sync::Mutex::new(Vec::new());
    // Two stages: the listings, `concurrency` at a time (the API's
    // budget), and the store work of listed groups, up to
    // `RECONCILE_STORE_CONCURRENCY` at a time, so a listing never waits for
    // another group's store round trips (on PostgreSQL several times the
    // listing's own latency) and concurrent groups share commits.
    let added: usize = futures_util::stream::iter(groups)
        .map(|group| list_group(m, stop, group))
        .buffer_unordered(inner.config.concurrency)
        .map(|listing| store_listing(m, listing, &listed))
        .buffer_unordered(RECONCILE_STORE_CONCURRENCY)
        .fold(0, |sum, n| async move { sum + n })
        .await;
    mark_listed(m, &listed, 0).await;
    if *stop.borrow() {
        return;
    }
    mark_pass(m, started_at, true).await;
    // Group-full holds get another try now that time has passed.
    match backend.held_group_full().await {
        Ok(held) if !held.is_empty() => {
            let retry = held
                .iter()
                .map(|r| Change::new(&r.group_id, &r.join_request_id, Event::Retry))
                .collect();
            if let Err(e) = inner.store.apply(retry, now_ms()).await {
                tracing::error!(error = %e, "reconciler: retries not stored");
            }
        }
        Ok(_) => {}
        Err(e) => tracing::error!(error = %e, "reconciler: cannot read held records"),
    }
    if added > 0 {
        tracing::info!(
            added,
            "reconciler: found join requests no webhook announced"
        );
    }
    inner.decide_work.notify_one();
    inner.apply_work.notify_one();
}

/// When the pass to resume began: the store's last
/// pass, if a crash or a stop cut it short, and its last stored progress
/// (the latest listing it marked, or its start) is less than
/// `reconcile_every` before `now`. `None`: the pass lists every group.
///
/// Why skipping the groups that pass listed loses nothing: a request is
/// found by the first complete listing of its group that begins after it
/// was created. For a group the cut pass listed (its changes stored, then
/// its time marked), a request created before that listing is in the
/// ledger; one created since (its delivery lost before the crash or while
/// the engine was down) is found by the next periodic pass, which begins
/// `reconcile_every` after the resumed one ends, as it would have after
/// the cut pass. So each group's listings stay at most a pass and
/// `reconcile_every` apart, plus the time the engine was down: the bound
/// the reconciler gives a delivery lost while the engine runs, plus the
/// downtime, which is why a downtime of `reconcile_every` or more (the
/// groups are due anyway) gets a full pass. A pass that finished is not
/// resumed either: the pass after it lists every group, as passes always
/// did (at a start it stands for the periodic passes missed since).
fn resumed_pass(
    last: Option<PassMark>,
    groups: &[(String, Option<i64>)],
    now: i64,
    every: i64,
) -> Option<i64> {
    let Some(PassMark {
        started_at: began,
        finished: false,
    }) = last
    else {
        return None;
    };
    let progress = groups
        .iter()
        .filter_map(|(_, listed)| *listed)
        .filter(|&at| at >= began)
        .max()
        .unwrap_or(began);
    (began <= now && progress <= now && now - progress < every).then_some(began)
}

/// Whether the store's `last` pass listed every group and began less than
/// `every` milliseconds before `now`.
fn listed_recently(last: Option<PassMark>, now: i64, every: i64) -> bool {
    matches!(last, Some(PassMark { started_at, finished: true })
        if started_at <= now && now - started_at < every)
}

/// Stores the pass begun at `started_at` as begun or finished. A failure
/// is only logged: without the mark a later restart lists every group, as
/// a pass always did, and the next pass is not skipped by another replica.
async fn mark_pass(m: &Moderator, started_at: i64, finished: bool) {
    let mark = PassMark {
        started_at,
        finished,
    };
    if let Err(e) = m.inner.store.backend().mark_pass(mark).await {
        let what = if finished { "end" } else { "start" };
        tracing::warn!(error = %e, "reconciler: the pass's {what} not stored");
    }
}

/// Groups marked listed at once (one write for many listings).
const MARK_LISTED_BATCH: usize = 64;

/// Marks the listed groups in `pending` once there are at least `at_least`
/// of them (and at least one).
async fn mark_listed(
    m: &Moderator,
    pending: &std::sync::Mutex<Vec<(String, i64)>>,
    at_least: usize,
) {
    let batch = {
        let mut p = pending
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if p.is_empty() || p.len() < at_least {
            return;
        }
        std::mem::take(&mut *p)
    };
    if let Err(e) = m.inner.store.backend().mark_listed(batch).await {
        // The groups are listed again by a restart that resumes this pass.
        tracing::warn!(error = %e, "reconciler: listed groups not marked");
    }
}

/// One group's complete listing, and when it started.
struct Listing {
    group: String,
    started_at: i64,
    listed: Vec<wa_groups::JoinRequest>,
}

/// Lists one group in full: `None` when stopping, or when the listing
/// failed (an incomplete listing proves nothing about absence).
async fn list_group(m: &Moderator, stop: &watch::Receiver<bool>, group: String) -> Option<Listing> {
    let inner = &m.inner;
    if *stop.borrow() {
        return None;
    }
    let started_at = now_ms();
    match inner.client.join_requests(&group).try_collect().await {
        Ok(listed) => Some(Listing {
            group,
            started_at,
            listed,
        }),
        Err(e) => {
            tracing::warn!(group_id = %group, error = %e, "reconciler: listing failed; group skipped this pass");
            None
        }
    }
}

/// Stores what one group's listing shows: requests the ledger lacks, and
/// open records the group no longer holds. Returns how many records it
/// added.
async fn store_listing(
    m: &Moderator,
    listing: Option<Listing>,
    stored: &std::sync::Mutex<Vec<(String, i64)>>,
) -> usize {
    let inner = &m.inner;
    let Some(Listing {
        group,
        started_at: started,
        listed,
    }) = listing
    else {
        return 0;
    };
    let seen: HashSet<&str> = listed.iter().map(|j| j.join_request_id.as_str()).collect();
    let mut changes: Vec<Change> = listed
        .iter()
        .map(|j| {
            Change::new(
                &group,
                j.join_request_id.as_str(),
                Event::Listed {
                    requester: Requester {
                        wa_id: j.wa_id.clone(),
                        user_id: j.user_id.clone(),
                        username: j.username.clone(),
                    },
                    created_at: j.creation_timestamp,
                },
            )
        })
        .collect();
    let mut complete = true;
    match inner
        .store
        .backend()
        .records_in(group.clone(), vec![State::Pending, State::Held])
        .await
    {
        Ok(open) => changes.extend(
            open.iter()
                .filter(|r| !seen.contains(r.join_request_id.as_str()))
                .map(|r| {
                    Change::new(
                        &group,
                        &r.join_request_id,
                        Event::Absent {
                            listing_started_at: started,
                        },
                    )
                }),
        ),
        Err(e) => {
            complete = false;
            tracing::error!(error = %e, "reconciler: cannot read open records");
        }
    }
    match inner.store.apply(changes, now_ms()).await {
        Ok(ts) => {
            let added = ts.iter().filter(|t| t.from.is_none()).count();
            if added > 0 {
                inner.decide_work.notify_one();
            }
            // Only now that all its changes are stored: a restart that
            // resumes this pass skips the group on the strength of this mark.
            if complete {
                stored
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner)
                    .push((group, started));
                mark_listed(m, stored, MARK_LISTED_BATCH).await;
            }
            added
        }
        Err(e) => {
            tracing::error!(group_id = %group, error = %e, "reconciler: changes not stored");
            0
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{MAX_REASON_BYTES, bounded_reason};

    #[test]
    fn a_long_reason_is_cut_at_a_character_boundary() {
        assert_eq!(bounded_reason("ValueError: boom"), "ValueError: boom");
        let exact = "x".repeat(MAX_REASON_BYTES);
        assert_eq!(bounded_reason(&exact), exact);
        // Three-byte characters that straddle the limit: the cut backs off
        // to the last whole one and says that it cut.
        let long = "€".repeat(MAX_REASON_BYTES);
        let cut = bounded_reason(&long);
        assert!(cut.len() <= MAX_REASON_BYTES, "{}", cut.len());
        assert!(cut.ends_with('…'));
        assert!(cut.trim_end_matches('…').chars().all(|c| c == '€'));
    }
}
