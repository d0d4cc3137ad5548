//! Where the ledger lives: a small async [`Backend`] trait (records with
//! their transitions and audit rows in one transaction, claiming work,
//! counts, the audit log) and [`Store`], the handle the engine uses.
//!
//! SQLite (`sqlite:PATH`) is the embedded default: one file, WAL, one
//! process. PostgreSQL (`postgres://...` or `postgresql://...`) serves
//! several replicas on one database: work is leased to one replica at a
//! time, with an owner and an expiry, and one replica reconciles at a time.
//! Both ship their migrations inside the crate. The state machine itself
//! is [`ledger::apply`], which every backend runs inside its transaction,
//! so a backend only loads and saves rows.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;

use futures_util::future::BoxFuture;

use crate::ledger::{Event, Record, State, Transition};

mod postgres;
mod sqlite;

/// A store that cannot be opened, read or written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoreError {
    message: String,
}

impl StoreError {
    /// An error saying `message`.
    pub fn new(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
        }
    }
}

impl fmt::Display for StoreError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "store: {}", self.message)
    }
}

impl std::error::Error for StoreError {}

/// A store result.
pub type StoreResult<T> = Result<T, StoreError>;

/// One event for one join request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    /// The group.
    pub group_id: String,
    /// The join request.
    pub join_request_id: String,
    /// What happened.
    pub event: Event,
}

impl Change {
    /// `event` for `(group_id, join_request_id)`.
    pub fn new(
        group_id: impl Into<String>,
        join_request_id: impl Into<String>,
        event: Event,
    ) -> Self {
        Self {
            group_id: group_id.into(),
            join_request_id: join_request_id.into(),
            event,
        }
    }
}

/// One row of the audit trail: a state change.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct AuditRow {
    /// Its order.
    pub id: i64,
    /// When (Unix ms).
    pub at: i64,
    /// The group.
    pub group_id: String,
    /// The join request.
    pub join_request_id: String,
    /// The state before (`null` for a new record).
    pub from: Option<String>,
    /// The state after.
    pub to: String,
    /// The event that moved it, such as `decided`.
    pub event: String,
    /// The rule of the record after the change.
    pub rule: Option<String>,
    /// The reason of the record after the change.
    pub reason: Option<String>,
}

/// Counts by state; every state is present.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Counts(pub BTreeMap<State, u64>);

impl Default for Counts {
    fn default() -> Self {
        Self(State::ALL.into_iter().map(|s| (s, 0)).collect())
    }
}

impl Counts {
    /// The count of `state`.
    pub fn get(&self, state: State) -> u64 {
        self.0.get(&state).copied().unwrap_or(0)
    }

    fn add(&mut self, state: State, n: u64) {
        *self.0.entry(state).or_insert(0) += n;
    }

    /// `{STATE: n, ...}` with every state.
    pub fn to_json(&self) -> serde_json::Value {
        State::ALL
            .into_iter()
            .map(|s| (s.as_str().to_owned(), serde_json::Value::from(self.get(s))))
            .collect::<serde_json::Map<_, _>>()
            .into()
    }
}

/// What `moderate status` shows: counts in total and per group, and every
/// record.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Status {
    /// Counts over every group.
    pub total: Counts,
    /// Counts per group, by group ID.
    pub groups: BTreeMap<String, Counts>,
    /// Every record, in arrival order.
    pub requests: Vec<Record>,
}

impl Status {
    /// Builds the counts from `requests`.
    pub fn from_records(requests: Vec<Record>) -> Self {
        let mut total = Counts::default();
        let mut groups: BTreeMap<String, Counts> = BTreeMap::new();
        for r in &requests {
            total.add(r.state, 1);
            groups
                .entry(r.group_id.clone())
                .or_default()
                .add(r.state, 1);
        }
        Self {
            total,
            groups,
            requests,
        }
    }

    /// The status as docs/design.md's JSON: `{"total", "groups", "requests"}`,
    /// every state key present.
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::json!({
            "total": self.total.to_json(),
            "groups": self.groups.iter().map(|(g, c)| serde_json::json!({
                "group_id": g, "counts": c.to_json(),
            })).collect::<Vec<_>>(),
            "requests": self.requests.iter().map(|r| serde_json::json!({
                "group_id": r.group_id,
                "join_request_id": r.join_request_id,
                "state": r.state.as_str(),
                "decision": r.decision.map(|d| d.as_str()),
                "rule": r.rule,
                "reason": r.reason,
                "attempts": r.attempts,
                "updated_at": r.updated_at,
            })).collect::<Vec<_>>(),
        })
    }
}

/// A known group and when its last complete listing began, in Unix
/// milliseconds (`None` when none is recorded); see
/// [`Backend::groups_listed`].
pub type ListedGroup = (String, Option<i64>);

/// The last reconcile pass begun on a store (see [`Backend::last_pass`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PassMark {
    /// When the pass began, in Unix milliseconds.
    pub started_at: i64,
    /// Whether it went through every group it meant to list (a crash or a
    /// stop cuts a pass short and leaves this false).
    pub finished: bool,
}

/// A ledger backend. Each method is one transaction. A backend instance is
/// one lease owner: its claims lease records to it, and only it renews or
/// releases them. PostgreSQL takes leases with `FOR UPDATE SKIP LOCKED`, so
/// replicas on one database never claim the same record.
pub trait Backend: Send + Sync + 'static {
    /// Applies each change with [`ledger::apply`](crate::ledger::apply) to
    /// the current record, saves the changed records and an audit row per
    /// state change, and commits once; returns the transitions that changed
    /// something. A change to an unknown record that the ledger does not
    /// create is skipped. Every group named is remembered (see
    /// [`groups`](Self::groups)).
    fn apply(&self, changes: Vec<Change>, now: i64) -> BoxFuture<'_, StoreResult<Vec<Transition>>>;

    /// Up to `limit` `pending` records, in arrival order.
    fn pending(&self, limit: usize) -> BoxFuture<'_, StoreResult<Vec<Record>>>;

    /// The decider's work: up to `limit` `pending` records without a live
    /// lease, in arrival order, leased until `lease_until` so another
    /// replica's decider does not decide them too. The decision (any
    /// change that moves the record) releases the lease.
    ///
    /// The default, for a backend with one engine (SQLite), is
    /// [`pending`](Self::pending) without leases.
    fn claim_pending(
        &self,
        now: i64,
        lease_until: i64,
        limit: usize,
    ) -> BoxFuture<'_, StoreResult<Vec<Record>>> {
        let _ = (now, lease_until);
        self.pending(limit)
    }

    /// Claims up to `limit` `approving` / `rejecting` records due at `now`
    /// (`not_before` passed, no live lease), in arrival order, leasing them
    /// until `lease_until`. A change that moves a record releases its lease.
    fn claim(
        &self,
        now: i64,
        lease_until: i64,
        limit: usize,
    ) -> BoxFuture<'_, StoreResult<Vec<Record>>>;

    /// Called once as an engine (the workers of `moderate serve`) starts,
    /// before any claim: takes back the leases a dead engine left, and
    /// returns a guard the engine keeps while it runs. Only an engine does
    /// this; opening a store (`moderate status`, `decide`, `log` beside a
    /// running serve) leaves every lease alone.
    ///
    /// SQLite allows one engine per file: the guard holds the file's engine
    /// lock (a second engine gets an error naming the file), so any lease
    /// found at start-up is a dead engine's and all are taken back. A
    /// shared-database backend with replicas must instead take back only
    /// leases that have expired (`lease_until <= now`) or whose owner it
    /// knows to be dead (PostgreSQL: its owner lock is held by no session):
    /// the others are live replicas'.
    fn start_engine(&self, now: i64) -> BoxFuture<'_, StoreResult<EngineGuard>>;

    /// Releases the leases this owner holds on these records (shutdown, a
    /// round that sent nothing).
    fn release(&self, keys: Vec<(String, String)>) -> BoxFuture<'_, StoreResult<()>>;

    /// Extends to `lease_until` the leases this owner still holds on these
    /// records, while their work is in flight; returns how many it held. A
    /// lease that ran out and went to another owner is not taken back.
    fn renew(
        &self,
        keys: Vec<(String, String)>,
        lease_until: i64,
    ) -> BoxFuture<'_, StoreResult<usize>>;

    /// Whether this owner can still stand behind the leases it claimed:
    /// `Some(generation)` while it can, the same value for as long as the
    /// leases claimed under it stay provably its own; `None` while it
    /// cannot (PostgreSQL: the session holding its owner lock is gone, so
    /// other replicas may take its records). Workers read it before a
    /// claim and check it again before they send or store what they
    /// claimed: work claimed under another generation is dropped, not
    /// sent. The default, for a backend with one engine whose lock cannot
    /// be lost while the process lives (SQLite), is always `Some(0)`.
    fn lease_generation(&self) -> Option<u64> {
        Some(0)
    }

    /// Taken around each reconciliation pass: `Some` guard when this engine
    /// may reconcile now, `None` when another replica is reconciling (the
    /// pass is skipped). PostgreSQL uses an advisory lock; the default, for
    /// a backend with one engine, always allows it.
    fn reconciler_lock(&self) -> BoxFuture<'_, StoreResult<Option<EngineGuard>>> {
        Box::pin(async { Ok(Some(EngineGuard::new(()))) })
    }

    /// The records of `group_id` in any of `states`.
    fn records_in(
        &self,
        group_id: String,
        states: Vec<State>,
    ) -> BoxFuture<'_, StoreResult<Vec<Record>>>;

    /// Every `held` record whose reason is `group_full`.
    fn held_group_full(&self) -> BoxFuture<'_, StoreResult<Vec<Record>>>;

    /// One record.
    fn get(
        &self,
        group_id: String,
        join_request_id: String,
    ) -> BoxFuture<'_, StoreResult<Option<Record>>>;

    /// Remembers groups to reconcile.
    fn add_groups(&self, groups: Vec<String>) -> BoxFuture<'_, StoreResult<()>>;

    /// Every group known (seen in a change or added), with when its last
    /// complete listing began (in Unix milliseconds; `None` when none is
    /// recorded), by group ID.
    fn groups_listed(&self) -> BoxFuture<'_, StoreResult<Vec<ListedGroup>>>;

    /// Records that these groups' complete listings, begun at the times
    /// given, have their changes stored. A time never moves back. It need
    /// not be durable: one lost in a crash only has the group listed again.
    fn mark_listed(&self, listed: Vec<(String, i64)>) -> BoxFuture<'_, StoreResult<()>>;

    /// The last reconcile pass begun on this store, if any.
    fn last_pass(&self) -> BoxFuture<'_, StoreResult<Option<PassMark>>>;

    /// Records `mark` as the last pass, unless a pass begun later is
    /// already recorded.
    fn mark_pass(&self, mark: PassMark) -> BoxFuture<'_, StoreResult<()>>;

    /// Counts and every record.
    fn status(&self) -> BoxFuture<'_, StoreResult<Status>>;

    /// The audit trail (of one group, or all), oldest first.
    fn audit(&self, group_id: Option<String>) -> BoxFuture<'_, StoreResult<Vec<AuditRow>>>;
}

/// Held by a running engine (see [`Backend::start_engine`]); dropping it
/// lets another engine start on the store.
pub struct EngineGuard {
    _held: Box<dyn Send + Sync>,
}

impl EngineGuard {
    /// Wraps whatever the backend must keep while the engine runs (a lock,
    /// a connection).
    pub fn new(held: impl Send + Sync + 'static) -> Self {
        Self {
            _held: Box::new(held),
        }
    }
}

impl fmt::Debug for EngineGuard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EngineGuard").finish_non_exhaustive()
    }
}

/// The ledger's storage: a cheap, cloneable handle on a [`Backend`].
#[derive(Clone)]
pub struct Store {
    backend: Arc<dyn Backend>,
}

impl fmt::Debug for Store {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Store").finish_non_exhaustive()
    }
}

impl Store {
    /// Opens the store at `url`: `sqlite:PATH` (the file is created, and
    /// migrated, when needed) or `postgres://[USER[:PASSWORD]@]HOST[:PORT]/DB`
    /// (also `postgresql://`; migrated at open under an advisory lock, so
    /// replicas may start at once). A PostgreSQL URL takes tokio-postgres's
    /// parameters (`options=-c search_path=...`, `connect_timeout`, ...)
    /// and `sslmode` (`disable`, `prefer` (default), `require`: encrypted,
    /// the certificate unchecked, as libpq does; `verify-ca` /
    /// `verify-full`: checked against the web PKI roots or
    /// `sslrootcert=PATH`), and `pool_max_size` (connections, default 16).
    ///
    /// # Errors
    ///
    /// A [`StoreError`] naming the URL scheme when it is not supported, the
    /// parameter that is wrong, or why the database could not be opened or
    /// migrated. A password in the URL never appears in it.
    pub async fn open(url: &str) -> StoreResult<Self> {
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            let backend = postgres::PostgresBackend::open(url).await?;
            return Ok(Self::from_backend(backend));
        }
        if let Some(path) = url.strip_prefix("sqlite:") {
            let path = path.strip_prefix("//").unwrap_or(path);
            if path.is_empty() {
                return Err(StoreError::new(
                    "sqlite: needs a file path, as in sqlite:moderation.db",
                ));
            }
            let backend = sqlite::SqliteBackend::open(path.into()).await?;
            return Ok(Self::from_backend(backend));
        }
        let scheme = url.split(':').next().unwrap_or_default();
        Err(StoreError::new(format!(
            "unsupported store URL scheme {scheme:?} (expected sqlite:PATH or postgres://...)"
        )))
    }

    /// `url` as it may be shown: any password replaced by `***`.
    pub fn redacted_url(url: &str) -> String {
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            postgres::redact(url)
        } else {
            url.to_owned()
        }
    }

    /// A store over any backend.
    pub fn from_backend(backend: impl Backend) -> Self {
        Self {
            backend: Arc::new(backend),
        }
    }

    /// The backend.
    pub fn backend(&self) -> &dyn Backend {
        &*self.backend
    }

    /// See [`Backend::apply`].
    ///
    /// # Errors
    ///
    /// The backend's error; nothing is stored then.
    pub async fn apply(&self, changes: Vec<Change>, now: i64) -> StoreResult<Vec<Transition>> {
        if changes.is_empty() {
            return Ok(Vec::new());
        }
        self.backend.apply(changes, now).await
    }

    /// See [`Backend::status`].
    ///
    /// # Errors
    ///
    /// The backend's error.
    pub async fn status(&self) -> StoreResult<Status> {
        self.backend.status().await
    }

    /// See [`Backend::audit`].
    ///
    /// # Errors
    ///
    /// The backend's error.
    pub async fn audit(&self, group_id: Option<&str>) -> StoreResult<Vec<AuditRow>> {
        self.backend.audit(group_id.map(str::to_owned)).await
    }

    /// See [`Backend::get`].
    ///
    /// # Errors
    ///
    /// The backend's error.
    pub async fn get(&self, group_id: &str, join_request_id: &str) -> StoreResult<Option<Record>> {
        self.backend
            .get(group_id.to_owned(), join_request_id.to_owned())
            .await
    }
}
