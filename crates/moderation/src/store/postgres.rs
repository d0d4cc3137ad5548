//! The PostgreSQL backend (`postgres://...`): several `moderate serve`
//! replicas on one database. tokio-postgres over a bounded deadpool pool,
//! TLS by rustls as `sslmode` says, migrations run at open under an
//! advisory lock.
//!
//! Leases: each store that claims work is one lease owner
//! (`host:pid:random`) and proves it is alive by holding a session-level
//! advisory lock named by the owner (the schema's hash and the owner's
//! hash) on a connection of its own, outside the pool. The decider's and
//! the applier's work is claimed with `FOR UPDATE SKIP LOCKED`, so replicas
//! never take the same records, and leased until a time; a lease is renewed
//! while its work is in flight and released by any change that moves the
//! record. A claim treats a lease as free when it has run out *or* when
//! its owner's lock is held by no session: when a replica dies, PostgreSQL
//! ends its session, drops the lock, and the replica's records return to
//! the pool at once instead of after the lease timeout. Liveness is asked
//! of the lock manager one key at a time (a shared try-lock on the owner's
//! key, see [`owner_dead`]), and only for another owner's lease that has
//! not run out; `pg_locks` is never read, because reading it takes every
//! lock-manager partition lock and stalls every other session's locking,
//! the webhook deliveries' commits included.
//!
//! If the lock's connection is lost while the process lives (a terminated
//! backend, a server restart), the other replicas may take this owner's
//! records, so the store says its leases are lost
//! ([`Backend::lease_generation`] turns `None`): the workers stop renewing
//! and sending what they claimed, and claims fail, until a background task
//! takes a lock again, with backoff, under a *new* owner (a fresh random
//! part), so nothing claimed before the loss can be mistaken for this
//! owner's again. Records are changed under `SELECT ... FOR UPDATE`, in key
//! order, so concurrent replicas serialize per record and never deadlock
//! one another.

use std::collections::{HashMap, HashSet};
use std::path::PathBuf;
use std::sync::{Arc, LazyLock};
use std::time::Duration;

use deadpool_postgres::{Manager, ManagerConfig, Object, Pool, RecyclingMethod, Runtime};
use futures_util::future::BoxFuture;
use tokio::sync::watch;
use tokio_postgres::Row;
use tokio_postgres::error::SqlState;

mod tls;

use super::{
    AuditRow, Backend, Change, EngineGuard, ListedGroup, PassMark, Status, StoreError, StoreResult,
};
use crate::ledger::{self, Decision, Record, Requester, State, Transition};

/// The migrations, in order, by version; `wa_groups_migrations` lists those
/// applied.
const MIGRATIONS: &[(i32, &str)] = &[
    (1, include_str!("../../migrations/postgres/0001_init.sql")),
    (
        2,
        include_str!("../../migrations/postgres/0002_reconcile_progress.sql"),
    ),
    (
        3,
        include_str!("../../migrations/postgres/0003_records_fillfactor.sql"),
    ),
];

/// First keys of our advisory locks; the second key is the schema's hash,
/// so stores in different schemas of one database never contend.
const MIGRATE_LOCK: i32 = 0x7761_6701;
const RECONCILE_LOCK: i32 = 0x7761_6702;

/// The owner lock's key for the owner in SQL expression `owner`: the
/// one-`bigint` form of advisory lock, so it never meets the two-key locks
/// above; its high half is the schema's hash, its low half the owner's.
fn owner_lock_key(owner: &str) -> String {
    format!(
        "((hashtext(current_schema())::BIGINT << 32) | (hashtext({owner})::BIGINT & 4294967295))"
    )
}

/// An SQL condition: true when no session holds the lock of the owner in
/// SQL expression `owner` (the owner is dead). It asks the lock manager for
/// that one key (a shared try-lock, which conflicts only with the owner's
/// exclusive session lock, never waits, and when it succeeds lasts until
/// the transaction ends; owners are never reused, and a new owner whose key
/// collides fails its own try and picks another). Unlike a read of
/// `pg_locks`, which takes every lock-manager partition lock at once and so
/// stalls every transaction's lock acquisition (each commit's included),
/// this touches one partition like any other lock.
fn owner_dead(owner: &str) -> String {
    format!(
        "pg_try_advisory_xact_lock_shared({})",
        owner_lock_key(owner)
    )
}

/// An SQL condition on a `records` row: its lease is free for owner `me`
/// (an SQL expression). Free: never leased or released, run out, or held
/// by another owner that is dead. The owner's liveness is asked only for
/// another owner's lease that has not run out (`CASE` keeps that order),
/// so a claim on records nobody else holds asks the lock manager nothing.
fn lease_free(now: &str, me: &str) -> String {
    format!(
        "CASE WHEN records.lease_until <= {now} OR records.lease_owner IS NULL THEN TRUE \
              WHEN records.lease_owner = {me} THEN FALSE \
              ELSE {} END",
        owner_dead("records.lease_owner")
    )
}

/// An SQL condition evaluated once per statement (an uncorrelated
/// subquery): the lock of owner `me` (an SQL expression) is held by some
/// session, which is this store's lock connection (another owner's key
/// colliding aside, which `hold_once` refuses to take).
fn owner_alive(me: &str) -> String {
    format!("(SELECT NOT {})", owner_dead(me))
}

/// How often the owner lock's connection is checked with a query, so a
/// connection that died without a word (a half-open socket) is noticed.
const OWNER_LOCK_PING: Duration = Duration::from_secs(2);

/// Backoff between attempts to take the owner lock again: from the first
/// to the last, doubling.
const OWNER_LOCK_RETRY: (Duration, Duration) = (Duration::from_millis(100), Duration::from_secs(5));

/// Connections per store unless the URL says `pool_max_size`.
pub(super) const DEFAULT_POOL_MAX_SIZE: usize = 16;

/// How long a caller waits for a pooled connection, and for a new one to
/// connect, before the operation fails (a receiver then answers 503).
const POOL_WAIT: Duration = Duration::from_secs(10);
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// Connections made (with the apply's statements prepared) at open.
const WARM_CONNECTIONS: usize = 8;

/// Planner settings for every pooled connection. The ledger's tables grow
/// from empty far faster than autovacuum analyzes them, and plans are
/// cached per connection. Planned while `records` was small, a keyed
/// lookup became a sequential scan (hashed, or filtered row by row for
/// each key) and stayed one as the table grew, so every delivery read the
/// whole table; and a claim became a bitmap scan, which never marks the
/// index entries of dead row versions (every state change leaves one) as
/// dead, so each claim visited all of them again. Every statement of this
/// store is a lookup by key, a claim in index order or a read in index
/// order, for which index scans in nested loops are right at any size.
/// A statement that has to scan the table anyway (taking back leases at
/// start) is then costed as a disabled plan, far above the JIT thresholds,
/// and compiling it took over 100 ms, so JIT is off too (nothing of ours
/// runs long enough to gain from it).
const SESSION_SETTINGS: &str = "SET enable_seqscan = off; SET enable_hashjoin = off; \
     SET enable_mergejoin = off; SET enable_bitmapscan = off; SET jit = off";

/// Transactions retried after a deadlock or serialization failure.
const TX_ATTEMPTS: usize = 5;

/// Webhook deliveries committed together in one transaction at most.
const MAX_GROUP_COMMIT: usize = 256;

/// The most changes a reconciled group's call may have to be committed
/// with the deliveries (see [`is_group_committed`]).
const GROUPED_RECONCILE_CHANGES: usize = 64;

/// Transactions of deliveries in flight at once: one commits while the
/// next gathers the deliveries that arrive meanwhile. More would only
/// split the same deliveries into more commits.
const DELIVERY_COMMITTERS: usize = 2;

const COLUMNS: &str = "group_id, join_request_id, wa_id, user_id, username, created_at, state, \
                       decision, rule, reason, code, attempts, first_seen_at, updated_at, not_before";

/// How TLS is used, from `sslmode`.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Tls {
    /// In clear.
    Disable,
    /// Encrypted when the server offers it, else in clear; the certificate
    /// is not checked (as libpq does).
    Prefer,
    /// Always encrypted; the certificate is not checked (as libpq does
    /// without a root certificate).
    Require,
    /// Always encrypted, the certificate checked against the web PKI roots
    /// or `sslrootcert`, and the host name against it.
    VerifyFull { root_cert: Option<PathBuf> },
}

/// A parsed `postgres://` URL: the connection settings and ours.
struct PgUrl {
    config: tokio_postgres::Config,
    tls: Tls,
    pool_max_size: usize,
}

/// The URL with any password replaced by `***`, for messages and logs.
pub(crate) fn redact(url: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (url, None),
    };
    let mut out = String::with_capacity(url.len());
    match base.split_once("://") {
        Some((scheme, rest)) => {
            let (authority, path) = rest.find('/').map_or((rest, ""), |i| rest.split_at(i));
            out.push_str(scheme);
            out.push_str("://");
            match authority.rsplit_once('@') {
                Some((userinfo, host)) => {
                    match userinfo.split_once(':') {
                        Some((user, _password)) => {
                            out.push_str(user);
                            out.push_str(":***");
                        }
                        None => out.push_str(userinfo),
                    }
                    out.push('@');
                    out.push_str(host);
                }
                None => out.push_str(authority),
            }
            out.push_str(path);
        }
        None => out.push_str(base),
    }
    if let Some(q) = query {
        out.push('?');
        let pieces: Vec<String> = q
            .split('&')
            .map(|piece| match piece.split_once('=') {
                Some((k, _)) if decoded(k).eq_ignore_ascii_case("password") => format!("{k}=***"),
                _ => piece.to_owned(),
            })
            .collect();
        out.push_str(&pieces.join("&"));
    }
    out
}

fn decoded(s: &str) -> String {
    form_urlencoded::parse(s.as_bytes())
        .next()
        .map(|(k, _)| k.into_owned())
        .unwrap_or_default()
}

/// Parses `postgres://` / `postgresql://` URLs: tokio-postgres's settings
/// (user, password, host, port, dbname, `options`, `connect_timeout`, ...)
/// plus `sslmode` (`disable`, `prefer` (default), `require`, `verify-ca`,
/// `verify-full`), `sslrootcert=PATH` and `pool_max_size=N`, which are ours.
fn parse_url(url: &str) -> StoreResult<PgUrl> {
    let shown = redact(url);
    let bad = |what: String| StoreError::new(format!("{what} in store URL {shown}"));
    let (base, query) = url.split_once('?').unwrap_or((url, ""));
    let mut kept = Vec::new();
    let mut sslmode = None;
    let mut root_cert = None;
    let mut pool_max_size = DEFAULT_POOL_MAX_SIZE;
    for piece in query.split('&').filter(|p| !p.is_empty()) {
        let (k, v) = piece.split_once('=').unwrap_or((piece, ""));
        let value = || {
            form_urlencoded::parse(format!("v={v}").as_bytes())
                .next()
                .map(|(_, v)| v.into_owned())
                .unwrap_or_default()
        };
        match decoded(k).as_str() {
            "sslmode" => sslmode = Some(value()),
            "sslrootcert" => root_cert = Some(PathBuf::from(value())),
            "pool_max_size" => {
                pool_max_size = value()
                    .parse::<usize>()
                    .ok()
                    .filter(|n| (1..=1000).contains(n))
                    .ok_or_else(|| bad(format!("pool_max_size {:?} is not 1 to 1000", value())))?;
            }
            // Kept verbatim: tokio-postgres percent-decodes it itself.
            _ => kept.push(piece),
        }
    }
    let rebuilt = if kept.is_empty() {
        base.to_owned()
    } else {
        format!("{base}?{}", kept.join("&"))
    };
    let mut config: tokio_postgres::Config = rebuilt.parse().map_err(|e| bad(format!("{e}")))?;
    let tls = match sslmode.as_deref() {
        None | Some("prefer") => Tls::Prefer,
        Some("disable") => Tls::Disable,
        Some("require") => Tls::Require,
        // rustls always checks the host name, so verify-ca is verify-full.
        Some("verify-ca" | "verify-full") => Tls::VerifyFull { root_cert },
        Some(other) => {
            return Err(bad(format!(
                "sslmode {other:?} is not supported (expected disable, prefer, require, verify-ca or verify-full)"
            )));
        }
    };
    config.ssl_mode(match tls {
        Tls::Disable => tokio_postgres::config::SslMode::Disable,
        Tls::Prefer => tokio_postgres::config::SslMode::Prefer,
        Tls::Require | Tls::VerifyFull { .. } => tokio_postgres::config::SslMode::Require,
    });
    if config.get_connect_timeout().is_none() {
        config.connect_timeout(CONNECT_TIMEOUT);
    }
    if config.get_application_name().is_none() {
        config.application_name("wa-groups-moderation");
    }
    Ok(PgUrl {
        config,
        tls,
        pool_max_size,
    })
}

/// The rustls connector for `tls` (unused by `disable`).
fn connector(tls: &Tls) -> StoreResult<tls::MakeRustlsConnect> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = rustls::ClientConfig::builder_with_provider(Arc::clone(&provider))
        .with_safe_default_protocol_versions()
        .map_err(|e| StoreError::new(format!("postgres TLS: {e}")))?;
    let config = match tls {
        Tls::VerifyFull { root_cert } => {
            let mut roots = rustls::RootCertStore::empty();
            match root_cert {
                Some(path) => {
                    use rustls::pki_types::{CertificateDer, pem::PemObject as _};
                    let certs = CertificateDer::pem_file_iter(path).map_err(|e| {
                        StoreError::new(format!("sslrootcert {}: {e}", path.display()))
                    })?;
                    for cert in certs {
                        let cert = cert.map_err(|e| {
                            StoreError::new(format!("sslrootcert {}: {e}", path.display()))
                        })?;
                        roots.add(cert).map_err(|e| {
                            StoreError::new(format!("sslrootcert {}: {e}", path.display()))
                        })?;
                    }
                }
                None => roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned()),
            }
            builder.with_root_certificates(roots).with_no_client_auth()
        }
        Tls::Disable | Tls::Prefer | Tls::Require => builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(Unverified(provider)))
            .with_no_client_auth(),
    };
    Ok(tls::MakeRustlsConnect::new(config))
}

/// `sslmode=prefer` / `require` as libpq means them: the session is
/// encrypted, the server's certificate is not checked (its handshake
/// signatures are). `verify-full` checks it.
#[derive(Debug)]
struct Unverified(Arc<rustls::crypto::CryptoProvider>);

impl rustls::client::danger::ServerCertVerifier for Unverified {
    fn verify_server_cert(
        &self,
        _end_entity: &rustls::pki_types::CertificateDer<'_>,
        _intermediates: &[rustls::pki_types::CertificateDer<'_>],
        _server_name: &rustls::pki_types::ServerName<'_>,
        _ocsp_response: &[u8],
        _now: rustls::pki_types::UnixTime,
    ) -> Result<rustls::client::danger::ServerCertVerified, rustls::Error> {
        Ok(rustls::client::danger::ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &rustls::pki_types::CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &rustls::pki_types::CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

/// A database error as a store error: the server's message when there is
/// one (tokio-postgres's own Display says only "db error").
fn pg_err(e: &tokio_postgres::Error) -> StoreError {
    match e.as_db_error() {
        Some(db) => StoreError::new(format!("postgres: {}: {}", db.severity(), db.message())),
        None => {
            let mut msg = format!("postgres: {e}");
            let mut source = std::error::Error::source(e);
            while let Some(s) = source {
                msg.push_str(&format!(": {s}"));
                source = s.source();
            }
            StoreError::new(msg)
        }
    }
}

fn pool_err(e: &deadpool_postgres::PoolError) -> StoreError {
    match e {
        deadpool_postgres::PoolError::Backend(e) => pg_err(e),
        other => StoreError::new(format!("postgres pool: {other}")),
    }
}

/// Whether retrying the whole transaction may succeed: a deadlock, a
/// serialization failure, or a record another replica created after our
/// load (the insert's unique violation).
fn retryable(e: &tokio_postgres::Error) -> bool {
    e.code().is_some_and(|c| {
        *c == SqlState::T_R_DEADLOCK_DETECTED
            || *c == SqlState::T_R_SERIALIZATION_FAILURE
            || *c == SqlState::UNIQUE_VIOLATION
    })
}

fn row_to_record(row: &Row) -> StoreResult<Record> {
    row_to_record_at(row, 0)
}

fn records(rows: &[Row]) -> StoreResult<Vec<Record>> {
    rows.iter().map(row_to_record).collect()
}

/// A query parameter.
type Param = dyn tokio_postgres::types::ToSql + Sync;

/// Query parameters borrowed for `'a`.
type Params<'a> = Vec<&'a (dyn tokio_postgres::types::ToSql + Sync + 'a)>;

/// The failure of one transaction attempt: worth retrying, or not.
enum TxError {
    Pg(tokio_postgres::Error),
    Store(StoreError),
}

impl From<tokio_postgres::Error> for TxError {
    fn from(e: tokio_postgres::Error) -> Self {
        Self::Pg(e)
    }
}

impl From<StoreError> for TxError {
    fn from(e: StoreError) -> Self {
        Self::Store(e)
    }
}

/// This store's standing as a lease owner, published by the task that
/// holds its owner lock.
#[derive(Debug, Clone)]
struct Holder {
    /// The current owner, `host:pid:random`: a new one each time the lock
    /// is taken, so leases claimed before a loss are never this owner's
    /// again.
    owner: Arc<str>,
    /// Counts the locks taken: the leases claimed under one generation are
    /// this store's while it lasts and the lock is held.
    generation: u64,
    /// Whether the lock is held now.
    held: bool,
}

pub(super) struct PostgresBackend {
    pool: Pool,
    /// How the owner lock's own connection is made (outside the pool, so a
    /// recycled connection never carries the lock to another use).
    lock_config: tokio_postgres::Config,
    tls: Tls,
    /// Published by the owner-lock task.
    holder: Arc<watch::Sender<Holder>>,
    /// The owner-lock task: started by the first claim or engine start (a
    /// store that only reads, such as `moderate status`, holds no lock and
    /// no extra connection), aborted when the store is dropped, which
    /// closes its connection and so frees the lock.
    lock_task: std::sync::Mutex<Option<tokio::task::JoinHandle<()>>>,
    /// Webhook deliveries waiting to be committed together.
    deliveries: Arc<std::sync::Mutex<Deliveries>>,
}

impl Drop for PostgresBackend {
    fn drop(&mut self) {
        let task = self
            .lock_task
            .get_mut()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(task) = task.take() {
            task.abort();
        }
    }
}

/// One [`Backend::apply`] call: its changes and its time.
type Call<'a> = (&'a [Change], i64);

/// A webhook delivery waiting for the group commit.
struct Delivery {
    changes: Vec<Change>,
    now: i64,
    reply: tokio::sync::oneshot::Sender<StoreResult<Vec<Transition>>>,
}

/// The deliveries queued for the group commit and how many committers
/// (tasks committing them) run.
#[derive(Default)]
struct Deliveries {
    queued: std::collections::VecDeque<Delivery>,
    committers: usize,
}

/// Whether the call is committed with others (group commit): every change
/// is a webhook delivery's (`created`, `revoked`), whose 200 waits for it,
/// or a reconciled group's (`listed`, `absent`) when there are at most
/// [`GROUPED_RECONCILE_CHANGES`] of them. Both come many at once, each
/// small, so they share transactions and WAL flushes instead of taking a
/// connection and a flush each; a large group's listing commits alone, so
/// no delivery's acknowledgement waits for its transaction.
fn is_group_committed(changes: &[Change]) -> bool {
    let delivery = |c: &Change| {
        matches!(
            c.event,
            ledger::Event::Created { .. } | ledger::Event::Revoked
        )
    };
    let reconciled = |c: &Change| {
        delivery(c)
            || matches!(
                c.event,
                ledger::Event::Listed { .. } | ledger::Event::Absent { .. }
            )
    };
    changes.iter().all(delivery)
        || (changes.len() <= GROUPED_RECONCILE_CHANGES && changes.iter().all(reconciled))
}

/// Why [`apply_calls`] stored nothing.
enum ApplyError {
    /// The server refused a statement (a value it will not store, a
    /// constraint): the fault may be one call's, so calls that were
    /// together are run again one by one.
    Refused(StoreError),
    /// No connection, or it was lost: every call fails alike.
    Unavailable(StoreError),
}

impl ApplyError {
    fn into_store(self) -> StoreError {
        match self {
            Self::Refused(e) | Self::Unavailable(e) => e,
        }
    }
}

fn owner_id() -> String {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .map(|h| h.trim().to_owned())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "host".to_owned());
    format!("{host}:{}:{:08x}", std::process::id(), fastrand::u32(..))
}

/// The owner-lock task: takes the lock under a fresh owner, holds it while
/// its connection lives, and when the connection is lost says so at once
/// (before anything else: other replicas may already be taking this
/// owner's records) and takes a new one, with backoff. It runs until the
/// store drops it.
async fn hold_owner_lock(
    config: tokio_postgres::Config,
    tls: Tls,
    holder: Arc<watch::Sender<Holder>>,
) {
    let mut backoff = OWNER_LOCK_RETRY.0;
    loop {
        let owner: Arc<str> = owner_id().into();
        let taken = || {
            holder.send_modify(|h| {
                h.owner = Arc::clone(&owner);
                h.generation += 1;
                h.held = true;
            });
            tracing::info!(%owner, "lease owner lock taken");
        };
        match hold_once(&config, &tls, &owner, taken).await {
            Ok(why) => {
                holder.send_modify(|h| h.held = false);
                tracing::warn!(%owner, reason = %why, "lease owner lock lost: other replicas may take this replica's leases, so its claimed work is dropped and nothing is claimed until a new lock is taken");
                backoff = OWNER_LOCK_RETRY.0;
            }
            Err(why) => {
                tracing::warn!(reason = %why, retry_in = ?backoff, "cannot take the lease owner lock");
            }
        }
        let jitter = Duration::from_millis(fastrand::u64(0..=backoff.as_millis() as u64 / 4));
        tokio::time::sleep(backoff + jitter).await;
        backoff = (backoff * 2).min(OWNER_LOCK_RETRY.1);
    }
}

/// Connects, takes `owner`'s lock (calling `taken`) and holds it until the
/// connection ends or stops answering: `Ok` with why it was lost, or `Err`
/// with why it was never taken.
async fn hold_once(
    config: &tokio_postgres::Config,
    tls: &Tls,
    owner: &str,
    taken: impl FnOnce(),
) -> Result<String, String> {
    let connector = connector(tls).map_err(|e| e.message)?;
    let (client, connection) = config
        .connect(connector)
        .await
        .map_err(|e| pg_err(&e).message)?;
    let mut connection = std::pin::pin!(connection);
    let ended = |r: Result<(), tokio_postgres::Error>| match r {
        Ok(()) => "the server closed the connection".to_owned(),
        Err(e) => pg_err(&e).message,
    };
    let sql = format!("SELECT pg_try_advisory_lock({})", owner_lock_key("$1"));
    let params: Params<'_> = vec![&owner];
    let got: bool = tokio::select! {
        r = client.query_one(&sql, &params) => r.map_err(|e| pg_err(&e).message)?.get(0),
        r = &mut connection => return Err(ended(r)),
    };
    if !got {
        // Owners are random, so only another owner's hash can hold it.
        return Err(
            "the lock's key is another owner's (a hash collision); trying another owner".into(),
        );
    }
    taken();
    loop {
        // The connection is polled while the ping waits for its answer.
        let ping = async {
            tokio::time::sleep(OWNER_LOCK_PING).await;
            tokio::time::timeout(OWNER_LOCK_PING, client.simple_query("SELECT 1")).await
        };
        tokio::select! {
            r = &mut connection => return Ok(ended(r)),
            r = ping => match r {
                Ok(Ok(_)) => {}
                Ok(Err(e)) => return Ok(pg_err(&e).message),
                Err(_) => return Ok(format!("no answer to a ping within {OWNER_LOCK_PING:?}")),
            },
        }
    }
}

impl PostgresBackend {
    /// Connects (bounded pool) and migrates under the migration lock.
    pub(super) async fn open(url: &str) -> StoreResult<Self> {
        let parsed = parse_url(url)?;
        let shown = redact(url);
        let lock_config = parsed.config.clone();
        let tls = parsed.tls.clone();
        let manager = Manager::from_config(
            parsed.config,
            connector(&parsed.tls)?,
            ManagerConfig {
                // A connection the server closed (pg_terminate_backend, a
                // restart) is dropped at checkout instead of handed out.
                recycling_method: RecyclingMethod::Fast,
            },
        );
        let pool = Pool::builder(manager)
            .max_size(parsed.pool_max_size)
            .wait_timeout(Some(POOL_WAIT))
            .create_timeout(Some(POOL_WAIT))
            .recycle_timeout(Some(CONNECT_TIMEOUT))
            .runtime(Runtime::Tokio1)
            .post_create(deadpool_postgres::Hook::async_fn(|client, _| {
                Box::pin(async move {
                    client
                        .batch_execute(SESSION_SETTINGS)
                        .await
                        .map_err(deadpool_postgres::HookError::Backend)
                })
            }))
            .build()
            .map_err(|e| StoreError::new(format!("postgres pool: {e}")))?;
        let backend = Self {
            pool,
            lock_config,
            tls,
            holder: Arc::new(
                watch::channel(Holder {
                    owner: "".into(),
                    generation: 0,
                    held: false,
                })
                .0,
            ),
            lock_task: std::sync::Mutex::new(None),
            deliveries: Arc::default(),
        };
        backend
            .migrate()
            .await
            .map_err(|e| StoreError::new(format!("cannot open {shown}: {}", e.message)))?;
        // Connect a few now: a first burst of deliveries should not wait
        // for connections (and TLS handshakes) to be made.
        let warm = parsed.pool_max_size.min(WARM_CONNECTIONS);
        let warmed = futures_util::future::join_all((0..warm).map(|_| async {
            let conn = backend.pool.get().await.ok()?;
            // Prepared now, so a delivery never pays a cold backend's
            // parse and plan.
            Statements::prepare(&conn).await.ok()?;
            Some(conn)
        }))
        .await;
        drop(warmed);
        Ok(backend)
    }

    async fn conn(&self) -> StoreResult<Object> {
        self.pool.get().await.map_err(|e| pool_err(&e))
    }

    /// This store as a lease owner, once its owner lock is held: starts
    /// the owner-lock task on first use and waits (up to [`POOL_WAIT`]) for
    /// the first lock, so no lease is ever taken by an owner whose death
    /// other replicas could not see; fails at once while a lock that was
    /// held is lost.
    async fn holder(&self) -> StoreResult<Holder> {
        {
            let mut task = self
                .lock_task
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            if task.is_none() {
                *task = Some(tokio::spawn(hold_owner_lock(
                    self.lock_config.clone(),
                    self.tls.clone(),
                    Arc::clone(&self.holder),
                )));
            }
        }
        let mut rx = self.holder.subscribe();
        {
            let h = rx.borrow();
            if h.held {
                return Ok(h.clone());
            }
            if h.generation > 0 {
                // Lost after it was held: fail now rather than hold a
                // worker; the task is already taking a new one.
                return Err(StoreError::new(
                    "postgres: this replica's lease owner lock was lost (it is being taken again); nothing is claimed meanwhile",
                ));
            }
        }
        // The first lock: wait for it (a store's first claim).
        match tokio::time::timeout(POOL_WAIT, rx.wait_for(|h| h.held)).await {
            Ok(Ok(h)) => Ok(h.clone()),
            _ => Err(StoreError::new(
                "postgres: this replica's lease owner lock is not held (it is being taken again); nothing is claimed meanwhile",
            )),
        }
    }

    /// Applies the missing migrations in one transaction under a
    /// transaction-scoped advisory lock: replicas starting at once wait for
    /// the first, then find nothing left to do.
    async fn migrate(&self) -> StoreResult<()> {
        let mut conn = self.conn().await?;
        let tx = conn.transaction().await.map_err(|e| pg_err(&e))?;
        tx.execute(
            "SELECT pg_advisory_xact_lock($1, hashtext(current_schema()))",
            &[&MIGRATE_LOCK],
        )
        .await
        .map_err(|e| pg_err(&e))?;
        tx.batch_execute(
            "CREATE TABLE IF NOT EXISTS wa_groups_migrations (\
               version INTEGER PRIMARY KEY, applied_at TIMESTAMPTZ NOT NULL DEFAULT now())",
        )
        .await
        .map_err(|e| pg_err(&e))?;
        let applied: i32 = tx
            .query_one(
                "SELECT COALESCE(MAX(version), 0) FROM wa_groups_migrations",
                &[],
            )
            .await
            .map_err(|e| pg_err(&e))?
            .get(0);
        let known = MIGRATIONS.last().map_or(0, |m| m.0);
        if applied > known {
            return Err(StoreError::new(format!(
                "the schema has version {applied}, newer than this wa-groups knows ({known})"
            )));
        }
        for (version, sql) in MIGRATIONS.iter().filter(|m| m.0 > applied) {
            tx.batch_execute(sql).await.map_err(|e| pg_err(&e))?;
            tx.execute(
                "INSERT INTO wa_groups_migrations (version) VALUES ($1)",
                &[version],
            )
            .await
            .map_err(|e| pg_err(&e))?;
            tracing::info!(version, "postgres store migrated");
        }
        tx.commit().await.map_err(|e| pg_err(&e))
    }

    /// A webhook delivery's [`Backend::apply`], by group commit: the
    /// deliveries that arrive while a transaction of them commits wait in a
    /// queue and are committed together by the next, so concurrent
    /// deliveries share one transaction, its round trips and its WAL flush
    /// instead of queueing for connections and flushes of their own. The
    /// commit runs in a task of its own, so a caller that goes away (a
    /// dropped webhook connection) never cuts short the others' commit.
    async fn apply_delivery(&self, changes: Vec<Change>, now: i64) -> StoreResult<Vec<Transition>> {
        let (reply, answer) = tokio::sync::oneshot::channel();
        let start = {
            let mut q = self
                .deliveries
                .lock()
                .map_err(|_| StoreError::new("postgres: delivery queue poisoned"))?;
            q.queued.push_back(Delivery {
                changes,
                now,
                reply,
            });
            let start = q.committers < DELIVERY_COMMITTERS;
            if start {
                q.committers += 1;
            }
            start
        };
        if start {
            tokio::spawn(commit_deliveries(
                self.pool.clone(),
                Arc::clone(&self.deliveries),
            ));
        }
        answer
            .await
            .map_err(|_| StoreError::new("postgres: the delivery's commit was abandoned"))?
    }

    /// Leases up to `limit` records in `states` that are due and free,
    /// skipping rows another replica has locked, in arrival order. Free:
    /// never leased, its lease run out, or its owner's lock held by no
    /// session (a dead replica). Nothing is leased unless this owner's own
    /// lock is held as the statement runs.
    fn lease(
        &self,
        states: &'static str,
        now: i64,
        lease_until: i64,
        limit: usize,
    ) -> BoxFuture<'_, StoreResult<Vec<Record>>> {
        Box::pin(async move {
            let holder = self.holder().await?;
            let conn = self.conn().await?;
            let sql = format!(
                "WITH c AS (SELECT id FROM records WHERE state IN ({states}) \
                   AND not_before <= $1 AND {} AND {} \
                   ORDER BY id LIMIT $3 FOR UPDATE OF records SKIP LOCKED) \
                 UPDATE records r SET lease_until = $2, lease_owner = $4 FROM c WHERE r.id = c.id \
                 RETURNING r.id, {}",
                lease_free("$1", "$4"),
                owner_alive("$4"),
                COLUMNS
                    .split(", ")
                    .map(|c| format!("r.{}", c.trim()))
                    .collect::<Vec<_>>()
                    .join(", ")
            );
            let stmt = conn.prepare_cached(&sql).await.map_err(|e| pg_err(&e))?;
            let limit = i64::try_from(limit).unwrap_or(i64::MAX);
            let owner: &str = &holder.owner;
            let mut rows = lease_write(
                &conn,
                conn.query(&stmt, &[&now, &lease_until, &limit, &owner]),
            )
            .await
            .map_err(|e| pg_err(&e))?;
            // RETURNING keeps no order.
            rows.sort_by_key(|r| r.get::<_, i64>(0));
            rows.iter()
                .map(|r| {
                    // Skip the leading id: the record's columns follow it.
                    row_to_record_at(r, 1)
                })
                .collect()
        })
    }

    async fn query_records(&self, sql: &str, params: &[&Param]) -> StoreResult<Vec<Record>> {
        let conn = self.conn().await?;
        let stmt = conn.prepare_cached(sql).await.map_err(|e| pg_err(&e))?;
        let rows = conn.query(&stmt, params).await.map_err(|e| pg_err(&e))?;
        records(&rows)
    }
}

/// A committer of queued deliveries: takes what is queued (up to
/// [`MAX_GROUP_COMMIT`]), commits it in one transaction and answers each
/// caller, until the queue is empty. When the server refuses the
/// transaction, its deliveries are committed again one by one, so only the
/// delivery at fault gets the error (and its 503) and the others commit.
async fn commit_deliveries(pool: Pool, queue: Arc<std::sync::Mutex<Deliveries>>) {
    /// Gives the committer's place back even if it panics, so later
    /// deliveries still find a committer.
    struct Running(Arc<std::sync::Mutex<Deliveries>>, bool);
    impl Drop for Running {
        fn drop(&mut self) {
            if self.1
                && let Ok(mut q) = self.0.lock()
            {
                q.committers -= 1;
            }
        }
    }
    let mut running = Running(Arc::clone(&queue), true);
    loop {
        let batch: Vec<Delivery> = {
            let Ok(mut q) = queue.lock() else { return };
            if q.queued.is_empty() {
                // Under the lock that `apply_delivery` pushes under: a
                // delivery queued after this finds a place to start one.
                q.committers -= 1;
                running.1 = false;
                return;
            }
            let n = q.queued.len().min(MAX_GROUP_COMMIT);
            q.queued.drain(..n).collect()
        };
        let calls: Vec<Call<'_>> = batch.iter().map(|d| (&d.changes[..], d.now)).collect();
        match apply_calls(&pool, &calls).await {
            Ok(outs) => {
                for (d, out) in batch.into_iter().zip(outs) {
                    // The caller may have gone; its delivery stands.
                    let _ = d.reply.send(Ok(out));
                }
            }
            Err(ApplyError::Refused(e)) if batch.len() > 1 => {
                tracing::debug!(error = %e, deliveries = batch.len(), "postgres: a group commit was refused; committing its deliveries one by one");
                for d in batch {
                    let out = apply_calls(&pool, &[(&d.changes[..], d.now)])
                        .await
                        .map(|mut outs| outs.pop().unwrap_or_default())
                        .map_err(ApplyError::into_store);
                    let _ = d.reply.send(out);
                }
            }
            Err(e) => {
                let e = e.into_store();
                for d in batch {
                    let _ = d.reply.send(Err(e.clone()));
                }
            }
        }
    }
}

/// `calls` applied in order in one transaction on a pooled connection
/// (each call's transitions returned to it), run again (up to
/// [`TX_ATTEMPTS`]) after a deadlock, a serialization failure or a record
/// another replica created meanwhile.
async fn apply_calls(pool: &Pool, calls: &[Call<'_>]) -> Result<Vec<Vec<Transition>>, ApplyError> {
    let mut attempt = 0;
    loop {
        attempt += 1;
        let conn = pool
            .get()
            .await
            .map_err(|e| ApplyError::Unavailable(pool_err(&e)))?;
        match apply_in(&conn, calls).await {
            Ok(v) => return Ok(v),
            Err(TxError::Pg(e)) if retryable(&e) && attempt < TX_ATTEMPTS => {
                tracing::debug!(error = %pg_err(&e), attempt, "postgres: transaction retried");
                tokio::time::sleep(Duration::from_millis(fastrand::u64(1..20))).await;
            }
            Err(TxError::Pg(e)) if e.as_db_error().is_some() => {
                return Err(ApplyError::Refused(pg_err(&e)));
            }
            Err(TxError::Pg(e)) => return Err(ApplyError::Unavailable(pg_err(&e))),
            Err(TxError::Store(e)) => return Err(ApplyError::Refused(e)),
        }
    }
}

/// [`row_to_record`] for a row whose record columns start at `offset`.
fn row_to_record_at(row: &Row, offset: usize) -> StoreResult<Record> {
    let bad = |m: String| StoreError::new(format!("postgres: bad record: {m}"));
    let at = |i: usize| i + offset;
    let state: String = row.get(at(6));
    let decision: Option<String> = row.get(at(7));
    let attempts: i32 = row.get(at(11));
    Ok(Record {
        group_id: row.get(at(0)),
        join_request_id: row.get(at(1)),
        requester: Requester {
            wa_id: row.get(at(2)),
            user_id: row.get(at(3)),
            username: row.get(at(4)),
        },
        created_at: row.get(at(5)),
        state: state.parse().map_err(bad)?,
        decision: decision
            .map(|d| d.parse::<Decision>())
            .transpose()
            .map_err(bad)?,
        rule: row.get(at(8)),
        reason: row.get(at(9)),
        code: row.get(at(10)),
        attempts: u32::try_from(attempts).unwrap_or(0),
        first_seen_at: row.get(at(12)),
        updated_at: row.get(at(13)),
        not_before: row.get(at(14)),
    })
}

/// One attempt at `calls` (one or more [`Backend::apply`] calls, in order)
/// on `conn`. Calls that only announce requests (webhook deliveries of
/// `Created` events) go through [`insert_new`] first, in one round trip;
/// everything else, and the announcements of requests already stored,
/// through [`load_and_apply`].
async fn apply_in(conn: &Object, calls: &[Call<'_>]) -> Result<Vec<Vec<Transition>>, TxError> {
    let statements = Statements::prepare(conn).await?;
    let mut changes = calls.iter().flat_map(|(changes, _)| changes.iter());
    let announcements = changes.clone().count() <= MAX_ANNOUNCEMENTS_AT_ONCE
        && changes.all(|c| matches!(c.event, ledger::Event::Created { .. }));
    if !announcements {
        return load_and_apply(conn, &statements, calls).await;
    }
    let (mut outs, stored) = insert_new(conn, &statements, calls).await?;
    if stored.is_empty() {
        return Ok(outs);
    }
    let rest: Vec<(Vec<Change>, i64)> = calls
        .iter()
        .map(|&(changes, now)| {
            let of_stored = changes
                .iter()
                .filter(|c| stored.contains(&(c.group_id.clone(), c.join_request_id.clone())))
                .cloned()
                .collect();
            (of_stored, now)
        })
        .collect();
    let rest: Vec<Call<'_>> = rest.iter().map(|(c, now)| (&c[..], *now)).collect();
    let more = load_and_apply(conn, &statements, &rest).await?;
    for (out, more) in outs.iter_mut().zip(more) {
        out.extend(more);
    }
    Ok(outs)
}

/// The most changes [`insert_new`] takes at once. Its audit rows are kept
/// by a semi-join with the keys the statement inserted, which the planner
/// settings (no hash or merge joins) make a nested loop over them: cheap
/// for the few events of a delivery or a small group commit, quadratic
/// beyond (by hand: 64 keys 2.1 ms against 0.9 ms for a plain insert,
/// 1,000 keys 54 ms, 5,000 keys 1 s), where one round trip saved is worth
/// less than that anyway.
const MAX_ANNOUNCEMENTS_AT_ONCE: usize = 64;

/// Announcements of requests, which are almost always new: the records
/// the ledger makes of them, with their audit rows and groups, inserted by
/// one statement between `BEGIN` and `COMMIT`, all three sent at once, with
/// no load first. The statement skips a key that is stored already (a
/// repeated delivery, a request the reconciler found first, another
/// replica's insert); the skipped keys are returned with the transitions
/// of the others, and their changes then run on the stored records (see
/// [`apply_in`]). A failed statement aborts the transaction, so that
/// `COMMIT` rolls it back.
async fn insert_new(
    conn: &Object,
    statements: &Statements,
    calls: &[Call<'_>],
) -> Result<(Vec<Vec<Transition>>, HashSet<(String, String)>), TxError> {
    let plan = Plan::new(&[], calls)?;
    let new = plan.inserts();
    let mut params = new.params();
    params.extend(plan.audit.params());
    let (begun, inserted, committed) = futures_util::future::join3(
        conn.batch_execute("BEGIN"),
        conn.query(&statements.insert_new, &params),
        conn.batch_execute("COMMIT"),
    )
    .await;
    begun?;
    let inserted = inserted?;
    committed?;
    // The usual case, every key new: nothing to sort out.
    if inserted.len() == plan.current.len() {
        return Ok((plan.out, HashSet::new()));
    }
    let inserted: HashSet<(String, String)> = inserted
        .iter()
        .map(|r| (r.get::<_, String>(0), r.get::<_, String>(1)))
        .collect();
    let stored: HashSet<(String, String)> = plan
        .current
        .keys()
        .filter(|k| !inserted.contains(*k))
        .cloned()
        .collect();
    let outs = plan
        .out
        .into_iter()
        .map(|ts| {
            ts.into_iter()
                .filter(|t| {
                    !stored.contains(&(t.record.group_id.clone(), t.record.join_request_id.clone()))
                })
                .collect()
        })
        .collect();
    Ok((outs, stored))
}

/// `calls` on the stored records: one transaction in two round trips
/// whatever the number of calls and changes. `BEGIN` and the load (which
/// locks the records) go out together; the ledger runs in memory; then the
/// writes and `COMMIT` go out together. A failed write aborts the
/// transaction, so that `COMMIT` rolls it back: nothing half-done is kept.
async fn load_and_apply(
    conn: &Object,
    statements: &Statements,
    calls: &[Call<'_>],
) -> Result<Vec<Vec<Transition>>, TxError> {
    let mut keys: Vec<(&str, &str)> = calls
        .iter()
        .flat_map(|(changes, _)| changes.iter())
        .map(|c| (c.group_id.as_str(), c.join_request_id.as_str()))
        .collect();
    keys.sort_unstable();
    keys.dedup();
    let (groups, jrs): (Vec<&str>, Vec<&str>) = keys.iter().copied().unzip();
    // In order on the wire: `BEGIN`, then the load.
    let (begun, loaded) = futures_util::future::join(
        conn.batch_execute("BEGIN"),
        conn.query(&statements.load, &[&groups, &jrs]),
    )
    .await;
    let rows = match begun.and(loaded) {
        Ok(rows) => rows,
        Err(e) => {
            let _ = conn.batch_execute("ROLLBACK").await;
            return Err(e.into());
        }
    };
    let plan = match Plan::new(&rows, calls) {
        Ok(plan) => plan,
        Err(e) => {
            let _ = conn.batch_execute("ROLLBACK").await;
            return Err(e.into());
        }
    };
    let new = plan.inserts();
    // A group is known from its first record on, so only the new records
    // can name a group the table lacks.
    let new_groups = &new.group_id;
    let (updates, keep_lease) = plan.updates();
    let audit = &plan.audit;
    let inserted = async {
        if new.len() == 0 {
            Ok(0)
        } else {
            conn.execute(&statements.insert, &new.params()).await
        }
    };
    let updated = async {
        if updates.len() == 0 {
            Ok(0)
        } else {
            let mut p = updates.params();
            p.push(&keep_lease);
            conn.execute(&statements.update, &p).await
        }
    };
    let audited = async {
        if audit.len() == 0 {
            Ok(0)
        } else {
            conn.execute(&statements.audit, &audit.params()).await
        }
    };
    let group_params: Params<'_> = vec![new_groups];
    let grouped = async {
        if new_groups.is_empty() {
            Ok(0)
        } else {
            conn.execute(&statements.group, &group_params).await
        }
    };
    // Every future runs to its end (`join`, not `try_join`), so `COMMIT`
    // has been sent and answered whatever failed before it.
    let ((inserted, updated, audited, grouped), committed) = futures_util::future::join(
        futures_util::future::join4(inserted, updated, audited, grouped),
        conn.batch_execute("COMMIT"),
    )
    .await;
    inserted?;
    updated?;
    audited?;
    grouped?;
    committed?;
    Ok(plan.out)
}

/// Loads and locks the records of the keys in `$1`, `$2` (group and join
/// request IDs), in key order, so two replicas' transactions never wait on
/// each other in a cycle (the sort comes before the lock).
fn load_sql() -> String {
    format!(
        "SELECT {} FROM records r JOIN unnest($1::TEXT[], $2::TEXT[]) AS k(g, j) \
           ON r.group_id = k.g AND r.join_request_id = k.j \
         ORDER BY r.group_id, r.join_request_id FOR UPDATE OF r",
        prefixed("r")
    )
}

/// Adds the groups in `$1` the table lacks.
const INSERT_GROUPS_SQL: &str =
    "INSERT INTO groups (group_id) SELECT DISTINCT unnest($1::TEXT[]) ON CONFLICT DO NOTHING";

/// Inserts the records in `$1`..`$15` (the columns of
/// [`RecordColumns::params`]), in order.
const INSERT_RECORDS_SQL: &str = "\
    INSERT INTO records (group_id, join_request_id, wa_id, user_id, username, created_at, \
      state, decision, rule, reason, code, attempts, first_seen_at, updated_at, not_before) \
    SELECT * FROM unnest($1::TEXT[], $2::TEXT[], $3::TEXT[], $4::TEXT[], $5::TEXT[], \
      $6::BIGINT[], $7::TEXT[], $8::TEXT[], $9::TEXT[], $10::TEXT[], $11::BIGINT[], \
      $12::INTEGER[], $13::BIGINT[], $14::BIGINT[], $15::BIGINT[])";

/// Inserts the audit rows in the eight parameters from `$first` on (the
/// columns of [`AuditColumns::params`]), in order, those that `filter`
/// (empty, or a `WHERE` on `a.g` and `a.j`) keeps.
fn insert_audit_sql(first: usize, filter: &str) -> String {
    let [at, g, j, f, t, e, ru, re] = std::array::from_fn::<usize, 8, _>(|i| first + i);
    format!(
        "INSERT INTO audit (at, group_id, join_request_id, from_state, to_state, event, rule, reason) \
         SELECT a.at, a.g, a.j, a.f, a.t, a.e, a.ru, a.re FROM unnest(${at}::BIGINT[], ${g}::TEXT[], \
           ${j}::TEXT[], ${f}::TEXT[], ${t}::TEXT[], ${e}::TEXT[], ${ru}::TEXT[], ${re}::TEXT[]) \
           WITH ORDINALITY AS a(at, g, j, f, t, e, ru, re, n) {filter} ORDER BY a.n"
    )
}

/// The new records in `$1`..`$15` (as [`INSERT_RECORDS_SQL`]), the audit
/// rows in `$16`..`$23` of those records only, and their groups, skipping
/// every key that is stored already; returns the keys inserted.
fn insert_new_sql() -> String {
    format!(
        "WITH ins AS ({INSERT_RECORDS_SQL} \
           ON CONFLICT (group_id, join_request_id) DO NOTHING \
           RETURNING group_id, join_request_id), \
         aud AS ({}), \
         grp AS (INSERT INTO groups (group_id) SELECT DISTINCT group_id FROM ins \
           ON CONFLICT DO NOTHING) \
         SELECT group_id, join_request_id FROM ins",
        insert_audit_sql(
            16,
            "WHERE EXISTS (SELECT 1 FROM ins WHERE ins.group_id = a.g AND ins.join_request_id = a.j)"
        )
    )
}

/// Writes changed records back by key, each keeping its lease or not.
const UPDATE_SQL: &str = "\
    UPDATE records r SET wa_id = u.wa_id, user_id = u.user_id, username = u.username, \
           created_at = u.created_at, state = u.state, decision = u.decision, rule = u.rule, \
           reason = u.reason, code = u.code, attempts = u.attempts, updated_at = u.updated_at, \
           not_before = u.not_before, \
           lease_until = CASE WHEN u.keep THEN r.lease_until ELSE 0 END, \
           lease_owner = CASE WHEN u.keep THEN r.lease_owner ELSE NULL END \
         FROM unnest($1::TEXT[], $2::TEXT[], $3::TEXT[], $4::TEXT[], $5::TEXT[], \
           $6::BIGINT[], $7::TEXT[], $8::TEXT[], $9::TEXT[], $10::TEXT[], $11::BIGINT[], \
           $12::INTEGER[], $13::BIGINT[], $14::BIGINT[], $15::BIGINT[], $16::BOOLEAN[]) \
           AS u(group_id, join_request_id, wa_id, user_id, username, created_at, state, \
                decision, rule, reason, code, attempts, first_seen_at, updated_at, not_before, keep) \
         WHERE r.group_id = u.group_id AND r.join_request_id = u.join_request_id";

/// The prepared statements of [`apply_in`] (cached per connection).
struct Statements {
    load: tokio_postgres::Statement,
    insert: tokio_postgres::Statement,
    insert_new: tokio_postgres::Statement,
    update: tokio_postgres::Statement,
    audit: tokio_postgres::Statement,
    group: tokio_postgres::Statement,
}

impl Statements {
    async fn prepare(conn: &Object) -> Result<Self, tokio_postgres::Error> {
        // Built once per process: this runs for every transaction.
        static LOAD: LazyLock<String> = LazyLock::new(load_sql);
        static INSERT_NEW: LazyLock<String> = LazyLock::new(insert_new_sql);
        static AUDIT: LazyLock<String> = LazyLock::new(|| insert_audit_sql(1, ""));
        let load = conn.prepare_cached(&LOAD).await?;
        // No ON CONFLICT: a record another replica created after our load
        // is a unique violation, which aborts (and retries) the transaction.
        let insert = conn.prepare_cached(INSERT_RECORDS_SQL).await?;
        let insert_new = conn.prepare_cached(&INSERT_NEW).await?;
        let update = conn.prepare_cached(UPDATE_SQL).await?;
        let audit = conn.prepare_cached(&AUDIT).await?;
        let group = conn.prepare_cached(INSERT_GROUPS_SQL).await?;
        Ok(Self {
            load,
            insert,
            insert_new,
            update,
            audit,
            group,
        })
    }
}

/// What one [`apply_in`] writes: the ledger run in memory over the loaded
/// records, in the calls' and their changes' order (as if each call were a
/// transaction of its own, one after the other).
struct Plan {
    /// Every record as it ends, by key.
    current: HashMap<(String, String), Record>,
    /// The keys that were loaded (updated) rather than new (inserted).
    existed: HashSet<(String, String)>,
    /// Per record written: whether its lease stays (only when every change
    /// to it was `Sending`), and its first change's index.
    written: HashMap<(String, String), (bool, usize)>,
    audit: AuditColumns,
    /// Each call's transitions.
    out: Vec<Vec<Transition>>,
}

impl Plan {
    fn new(rows: &[Row], calls: &[Call<'_>]) -> StoreResult<Self> {
        let mut current: HashMap<(String, String), Record> = HashMap::new();
        for row in rows {
            let r = row_to_record(row)?;
            current.insert((r.group_id.clone(), r.join_request_id.clone()), r);
        }
        let mut plan = Self {
            existed: current.keys().cloned().collect(),
            current,
            written: HashMap::new(),
            audit: AuditColumns::default(),
            out: Vec::with_capacity(calls.len()),
        };
        // Every change is numbered across the calls: new records get their
        // ids (the arrival order) in this order.
        let mut i = 0;
        for &(changes, now) in calls {
            let mut out = Vec::new();
            for c in changes {
                if let Some(t) = plan.change(c, now, i) {
                    out.push(t);
                }
                i += 1;
            }
            plan.out.push(out);
        }
        Ok(plan)
    }

    /// Runs the ledger for `c` (the `i`th change) on its record as it
    /// stands; the transition when it changed something.
    fn change(&mut self, c: &Change, now: i64, i: usize) -> Option<Transition> {
        let key = (c.group_id.clone(), c.join_request_id.clone());
        let t = ledger::apply(
            self.current.get(&key),
            &c.group_id,
            &c.join_request_id,
            &c.event,
            now,
        )?;
        if !t.changed {
            return None;
        }
        if t.state_changed() {
            self.audit.push(&t, c.event.name(), now);
        }
        let sending = matches!(c.event, ledger::Event::Sending);
        self.written
            .entry(key.clone())
            .and_modify(|(keep, _)| *keep &= sending)
            .or_insert((sending, i));
        self.current.insert(key, t.record.clone());
        Some(t)
    }

    /// The new records, in the order of their first change (their ids are
    /// the arrival order).
    fn inserts(&self) -> RecordColumns<'_> {
        let mut new: Vec<(usize, &Record)> = self
            .written
            .iter()
            .filter(|(key, _)| !self.existed.contains(*key))
            .map(|(key, &(_, first))| (first, &self.current[key]))
            .collect();
        new.sort_by_key(|(first, _)| *first);
        let mut cols = RecordColumns::default();
        for (_, r) in new {
            cols.push(r);
        }
        cols
    }

    /// The changed existing records, with whether each keeps its lease.
    fn updates(&self) -> (RecordColumns<'_>, Vec<bool>) {
        let mut cols = RecordColumns::default();
        let mut keep_lease = Vec::new();
        for (key, &(keep, _)) in &self.written {
            if self.existed.contains(key) {
                cols.push(&self.current[key]);
                keep_lease.push(keep);
            }
        }
        (cols, keep_lease)
    }
}

/// `r.group_id, r.join_request_id, ...`: the record columns of alias `a`.
fn prefixed(a: &str) -> String {
    COLUMNS
        .split(',')
        .map(|c| format!("{a}.{}", c.trim()))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Records as column arrays, for `unnest`.
#[derive(Default)]
struct RecordColumns<'a> {
    group_id: Vec<&'a str>,
    join_request_id: Vec<&'a str>,
    wa_id: Vec<Option<&'a str>>,
    user_id: Vec<Option<&'a str>>,
    username: Vec<Option<&'a str>>,
    created_at: Vec<Option<i64>>,
    state: Vec<&'static str>,
    decision: Vec<Option<&'static str>>,
    rule: Vec<Option<&'a str>>,
    reason: Vec<Option<&'a str>>,
    code: Vec<Option<i64>>,
    attempts: Vec<i32>,
    first_seen_at: Vec<i64>,
    updated_at: Vec<i64>,
    not_before: Vec<i64>,
}

impl<'a> RecordColumns<'a> {
    fn push(&mut self, r: &'a Record) {
        self.group_id.push(&r.group_id);
        self.join_request_id.push(&r.join_request_id);
        self.wa_id.push(r.requester.wa_id.as_deref());
        self.user_id.push(r.requester.user_id.as_deref());
        self.username.push(r.requester.username.as_deref());
        self.created_at.push(r.created_at);
        self.state.push(r.state.as_str());
        self.decision.push(r.decision.map(Decision::as_str));
        self.rule.push(r.rule.as_deref());
        self.reason.push(r.reason.as_deref());
        self.code.push(r.code);
        self.attempts
            .push(i32::try_from(r.attempts).unwrap_or(i32::MAX));
        self.first_seen_at.push(r.first_seen_at);
        self.updated_at.push(r.updated_at);
        self.not_before.push(r.not_before);
    }

    fn len(&self) -> usize {
        self.group_id.len()
    }

    fn params(&self) -> Params<'_> {
        vec![
            &self.group_id,
            &self.join_request_id,
            &self.wa_id,
            &self.user_id,
            &self.username,
            &self.created_at,
            &self.state,
            &self.decision,
            &self.rule,
            &self.reason,
            &self.code,
            &self.attempts,
            &self.first_seen_at,
            &self.updated_at,
            &self.not_before,
        ]
    }
}

/// Audit rows as column arrays, in order.
#[derive(Default)]
struct AuditColumns {
    at: Vec<i64>,
    group_id: Vec<String>,
    join_request_id: Vec<String>,
    from: Vec<Option<&'static str>>,
    to: Vec<&'static str>,
    event: Vec<&'static str>,
    rule: Vec<Option<String>>,
    reason: Vec<Option<String>>,
}

impl AuditColumns {
    fn push(&mut self, t: &Transition, event: &'static str, at: i64) {
        self.at.push(at);
        self.group_id.push(t.record.group_id.clone());
        self.join_request_id.push(t.record.join_request_id.clone());
        self.from.push(t.from.map(State::as_str));
        self.to.push(t.record.state.as_str());
        self.event.push(event);
        self.rule.push(t.record.rule.clone());
        self.reason.push(t.record.reason.clone());
    }

    fn len(&self) -> usize {
        self.to.len()
    }

    fn params(&self) -> Params<'_> {
        vec![
            &self.at,
            &self.group_id,
            &self.join_request_id,
            &self.from,
            &self.to,
            &self.event,
            &self.rule,
            &self.reason,
        ]
    }
}

/// Runs `statement`, which changes only leases, in a transaction whose
/// commit does not wait for the WAL to reach the disk (one round trip,
/// pipelined). A lease lost in a database crash only frees a record early,
/// as an expired lease does, and the API's idempotence covers a second
/// send; the records' states and the audit trail are always committed
/// durably, so the webhook acknowledgements they gate do not share the disk
/// with lease bookkeeping.
async fn lease_write<T>(
    conn: &Object,
    statement: impl std::future::Future<Output = Result<T, tokio_postgres::Error>>,
) -> Result<T, tokio_postgres::Error> {
    // In order on the wire; every one answered (a failed statement aborts
    // the transaction, and COMMIT then rolls it back).
    let (begun, result, committed) = futures_util::future::join3(
        conn.batch_execute("BEGIN; SET LOCAL synchronous_commit TO OFF"),
        statement,
        conn.batch_execute("COMMIT"),
    )
    .await;
    begun?;
    let v = result?;
    committed?;
    Ok(v)
}

/// The `(group_id, join_request_id)` pairs as two arrays, for `unnest`.
fn key_arrays(keys: &[(String, String)]) -> (Vec<&str>, Vec<&str>) {
    let mut keys: Vec<&(String, String)> = keys.iter().collect();
    keys.sort();
    keys.iter().map(|(g, j)| (g.as_str(), j.as_str())).unzip()
}

/// Held while a replica reconciles: the session-level advisory lock lives
/// on this connection, which is closed (not returned to the pool) when the
/// guard drops, so the server releases the lock even if no unlock could be
/// sent.
struct ReconcileLock(Option<Object>);

impl Drop for ReconcileLock {
    fn drop(&mut self) {
        if let Some(conn) = self.0.take() {
            drop(Object::take(conn));
        }
    }
}

impl Backend for PostgresBackend {
    fn apply(&self, changes: Vec<Change>, now: i64) -> BoxFuture<'_, StoreResult<Vec<Transition>>> {
        Box::pin(async move {
            if is_group_committed(&changes) {
                return self.apply_delivery(changes, now).await;
            }
            apply_calls(&self.pool, &[(&changes[..], now)])
                .await
                .map(|mut outs| outs.pop().unwrap_or_default())
                .map_err(ApplyError::into_store)
        })
    }

    fn pending(&self, limit: usize) -> BoxFuture<'_, StoreResult<Vec<Record>>> {
        Box::pin(async move {
            let limit = i64::try_from(limit).unwrap_or(i64::MAX);
            self.query_records(
                &format!(
                    "SELECT {COLUMNS} FROM records WHERE state = 'pending' ORDER BY id LIMIT $1"
                ),
                &[&limit],
            )
            .await
        })
    }

    fn claim_pending(
        &self,
        now: i64,
        lease_until: i64,
        limit: usize,
    ) -> BoxFuture<'_, StoreResult<Vec<Record>>> {
        self.lease("'pending'", now, lease_until, limit)
    }

    fn claim(
        &self,
        now: i64,
        lease_until: i64,
        limit: usize,
    ) -> BoxFuture<'_, StoreResult<Vec<Record>>> {
        self.lease("'approving', 'rejecting'", now, lease_until, limit)
    }

    fn renew(
        &self,
        keys: Vec<(String, String)>,
        lease_until: i64,
    ) -> BoxFuture<'_, StoreResult<usize>> {
        Box::pin(async move {
            // A lost lock renews nothing: others may hold these records now.
            let holder = self.holder.borrow().clone();
            if !holder.held {
                return Ok(0);
            }
            let conn = self.conn().await?;
            let (groups, jrs) = key_arrays(&keys);
            // The owner's lock is checked in the statement too: the task
            // may not have seen its connection end yet.
            let stmt = conn
                .prepare_cached(&format!(
                    "UPDATE records r SET lease_until = $3 FROM unnest($1::TEXT[], $2::TEXT[]) AS k(g, j) \
                     WHERE r.group_id = k.g AND r.join_request_id = k.j AND r.lease_owner = $4 \
                       AND r.lease_until > 0 AND {}",
                    owner_alive("$4")
                ))
                .await
                .map_err(|e| pg_err(&e))?;
            let owner: &str = &holder.owner;
            let n = lease_write(
                &conn,
                conn.execute(&stmt, &[&groups, &jrs, &lease_until, &owner]),
            )
            .await
            .map_err(|e| pg_err(&e))?;
            Ok(usize::try_from(n).unwrap_or(usize::MAX))
        })
    }

    fn start_engine(&self, now: i64) -> BoxFuture<'_, StoreResult<EngineGuard>> {
        Box::pin(async move {
            // This engine's own lock first, so its claims are seen as live.
            let holder = self.holder().await?;
            // Other replicas' live leases are theirs; only expired ones and
            // those of owners whose lock is gone (dead replicas, this
            // process's previous life) are cleared (claims would take them
            // anyway).
            let conn = self.conn().await?;
            let me: &str = &holder.owner;
            let n = conn
                .execute(
                    &format!(
                        "UPDATE records SET lease_until = 0, lease_owner = NULL \
                         WHERE lease_until <> 0 AND {}",
                        lease_free("$1", "$2")
                    ),
                    &[&now, &me],
                )
                .await
                .map_err(|e| pg_err(&e))?;
            if n > 0 {
                tracing::info!(
                    leases = n,
                    "took back the leases of stopped or dead replicas"
                );
            }
            tracing::info!(owner = %holder.owner, "engine started on the postgres store");
            // The owner lock lives as long as the store, which outlives its
            // engine.
            Ok(EngineGuard::new(()))
        })
    }

    fn lease_generation(&self) -> Option<u64> {
        let h = self.holder.borrow();
        h.held.then_some(h.generation)
    }

    fn release(&self, keys: Vec<(String, String)>) -> BoxFuture<'_, StoreResult<()>> {
        Box::pin(async move {
            let conn = self.conn().await?;
            let (groups, jrs) = key_arrays(&keys);
            let stmt = conn
                .prepare_cached(
                    "UPDATE records r SET lease_until = 0, lease_owner = NULL \
                     FROM unnest($1::TEXT[], $2::TEXT[]) AS k(g, j) \
                     WHERE r.group_id = k.g AND r.join_request_id = k.j AND r.lease_owner = $3",
                )
                .await
                .map_err(|e| pg_err(&e))?;
            let owner = self.holder.borrow().owner.clone();
            let owner: &str = &owner;
            lease_write(&conn, conn.execute(&stmt, &[&groups, &jrs, &owner]))
                .await
                .map_err(|e| pg_err(&e))?;
            Ok(())
        })
    }

    fn reconciler_lock(&self) -> BoxFuture<'_, StoreResult<Option<EngineGuard>>> {
        Box::pin(async move {
            let conn = self.conn().await?;
            let taken: bool = conn
                .query_one(
                    "SELECT pg_try_advisory_lock($1, hashtext(current_schema()))",
                    &[&RECONCILE_LOCK],
                )
                .await
                .map_err(|e| pg_err(&e))?
                .get(0);
            if taken {
                Ok(Some(EngineGuard::new(std::sync::Mutex::new(
                    ReconcileLock(Some(conn)),
                ))))
            } else {
                Ok(None)
            }
        })
    }

    fn records_in(
        &self,
        group_id: String,
        states: Vec<State>,
    ) -> BoxFuture<'_, StoreResult<Vec<Record>>> {
        Box::pin(async move {
            let states: Vec<&str> = states.iter().map(|s| s.as_str()).collect();
            self.query_records(
                &format!(
                    "SELECT {COLUMNS} FROM records WHERE group_id = $1 AND state = ANY($2) ORDER BY id"
                ),
                &[&group_id, &states],
            )
            .await
        })
    }

    fn held_group_full(&self) -> BoxFuture<'_, StoreResult<Vec<Record>>> {
        Box::pin(async move {
            self.query_records(
                &format!(
                    "SELECT {COLUMNS} FROM records WHERE state = 'held' AND reason = $1 ORDER BY id"
                ),
                &[&ledger::GROUP_FULL],
            )
            .await
        })
    }

    fn get(
        &self,
        group_id: String,
        join_request_id: String,
    ) -> BoxFuture<'_, StoreResult<Option<Record>>> {
        Box::pin(async move {
            Ok(self
                .query_records(
                    &format!(
                        "SELECT {COLUMNS} FROM records WHERE group_id = $1 AND join_request_id = $2"
                    ),
                    &[&group_id, &join_request_id],
                )
                .await?
                .pop())
        })
    }

    fn add_groups(&self, groups: Vec<String>) -> BoxFuture<'_, StoreResult<()>> {
        Box::pin(async move {
            if groups.is_empty() {
                return Ok(());
            }
            let conn = self.conn().await?;
            conn.execute(INSERT_GROUPS_SQL, &[&groups])
                .await
                .map_err(|e| pg_err(&e))?;
            Ok(())
        })
    }

    fn groups_listed(&self) -> BoxFuture<'_, StoreResult<Vec<ListedGroup>>> {
        Box::pin(async move {
            let conn = self.conn().await?;
            let rows = conn
                .query(
                    "SELECT group_id, listed_at FROM groups ORDER BY group_id",
                    &[],
                )
                .await
                .map_err(|e| pg_err(&e))?;
            Ok(rows.iter().map(|r| (r.get(0), r.get(1))).collect())
        })
    }

    fn mark_listed(&self, listed: Vec<(String, i64)>) -> BoxFuture<'_, StoreResult<()>> {
        Box::pin(async move {
            if listed.is_empty() {
                return Ok(());
            }
            let (groups, at): (Vec<&str>, Vec<i64>) =
                listed.iter().map(|(g, t)| (g.as_str(), *t)).unzip();
            let conn = self.conn().await?;
            // Not flushed before the answer, as lease writes: a mark lost in
            // a database crash only has its group listed again.
            lease_write(
                &conn,
                conn.execute(
                    "UPDATE groups SET listed_at = GREATEST(groups.listed_at, v.at) \
                     FROM unnest($1::TEXT[], $2::BIGINT[]) AS v(group_id, at) \
                     WHERE groups.group_id = v.group_id",
                    &[&groups, &at],
                ),
            )
            .await
            .map_err(|e| pg_err(&e))?;
            Ok(())
        })
    }

    fn last_pass(&self) -> BoxFuture<'_, StoreResult<Option<PassMark>>> {
        Box::pin(async move {
            let conn = self.conn().await?;
            let row = conn
                .query_opt(
                    "SELECT started_at, finished FROM reconcile_pass WHERE id = 1",
                    &[],
                )
                .await
                .map_err(|e| pg_err(&e))?;
            Ok(row.map(|r| PassMark {
                started_at: r.get(0),
                finished: r.get(1),
            }))
        })
    }

    fn mark_pass(&self, mark: PassMark) -> BoxFuture<'_, StoreResult<()>> {
        Box::pin(async move {
            let conn = self.conn().await?;
            conn.execute(
                "INSERT INTO reconcile_pass (id, started_at, finished) VALUES (1, $1, $2) \
                 ON CONFLICT (id) DO UPDATE SET started_at = EXCLUDED.started_at, finished = EXCLUDED.finished \
                 WHERE EXCLUDED.started_at >= reconcile_pass.started_at",
                &[&mark.started_at, &mark.finished],
            )
            .await
            .map_err(|e| pg_err(&e))?;
            Ok(())
        })
    }

    fn status(&self) -> BoxFuture<'_, StoreResult<Status>> {
        Box::pin(async move {
            let records = self
                .query_records(&format!("SELECT {COLUMNS} FROM records ORDER BY id"), &[])
                .await?;
            Ok(Status::from_records(records))
        })
    }

    fn audit(&self, group_id: Option<String>) -> BoxFuture<'_, StoreResult<Vec<AuditRow>>> {
        Box::pin(async move {
            let conn = self.conn().await?;
            let stmt = conn
                .prepare_cached(
                    "SELECT id, at, group_id, join_request_id, from_state, to_state, event, rule, reason \
                     FROM audit WHERE $1::TEXT IS NULL OR group_id = $1 ORDER BY id",
                )
                .await
                .map_err(|e| pg_err(&e))?;
            let rows = conn
                .query(&stmt, &[&group_id])
                .await
                .map_err(|e| pg_err(&e))?;
            Ok(rows
                .iter()
                .map(|r| AuditRow {
                    id: r.get(0),
                    at: r.get(1),
                    group_id: r.get(2),
                    join_request_id: r.get(3),
                    from: r.get(4),
                    to: r.get(5),
                    event: r.get(6),
                    rule: r.get(7),
                    reason: r.get(8),
                })
                .collect())
        })
    }
}

/// The scratch schemas of the integration tests, for the tests below that
/// need a real server.
#[cfg(test)]
#[path = "../../tests/support/pg.rs"]
mod test_pg;

#[cfg(test)]
mod tests {
    use super::*;

    use super::test_pg as pg;

    /// A plan made while the ledger is empty (a new database's first
    /// deliveries) is cached and used as the table grows: a keyed
    /// statement's plans, generic or for one key, must go through the
    /// unique index, never read the table.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn keyed_statements_use_the_unique_index_when_planned_on_an_empty_table() {
        let Some(scratch) = pg::PgScratch::create("plans") else {
            return;
        };
        let backend = PostgresBackend::open(&scratch.url).await.unwrap();
        let conn = backend.conn().await.unwrap();
        // A statement that must scan (taking back leases) is costed as a
        // disabled plan: JIT would compile it.
        let jit: String = conn.query_one("SHOW jit", &[]).await.unwrap().get(0);
        assert_eq!(jit, "off");
        for mode in ["force_generic_plan", "force_custom_plan"] {
            conn.batch_execute(&format!("SET plan_cache_mode = {mode}"))
                .await
                .unwrap();
            assert_keyed_plans(&conn, mode).await;
        }
    }

    async fn assert_keyed_plans(conn: &Object, mode: &str) {
        // Several keys: for a few rows, reading a small table once per key
        // is what the planner likes best.
        let n = 8;
        let array = |v: &str| format!("'{{{}}}'", vec![v; n].join(","));
        let load_args = [array("g"), array("j")].join(", ");
        let update_args = [
            "g", "j", "w", "u", "n", "1", "pending", "approve", "r", "x", "1", "0", "1", "1", "0",
            "f",
        ]
        .map(array)
        .join(", ");
        let keyed = [
            ("load", load_sql(), load_args),
            ("update", UPDATE_SQL.to_owned(), update_args),
        ];
        for (name, sql, args) in keyed {
            conn.batch_execute(&format!("PREPARE wa_plan_{name}_{mode} AS {sql}"))
                .await
                .unwrap();
            let plan: Vec<String> = conn
                .query(
                    &format!("EXPLAIN EXECUTE wa_plan_{name}_{mode}({args})"),
                    &[],
                )
                .await
                .unwrap()
                .iter()
                .map(|r| r.get(0))
                .collect();
            let plan = plan.join("\n");
            assert!(
                plan.contains("records_group_id_join_request_id_key")
                    && !plan.contains("Seq Scan on records")
                    && !plan.contains("Hash Join"),
                "{name}, {mode}: {plan}"
            );
        }
    }

    #[test]
    fn passwords_are_redacted() {
        assert_eq!(
            redact("postgres://app:s3cret@db.example:5432/m?sslmode=require"),
            "postgres://app:***@db.example:5432/m?sslmode=require"
        );
        assert_eq!(
            redact("postgresql://db/m?user=app&password=s3cret&x=1"),
            "postgresql://db/m?user=app&password=***&x=1"
        );
        assert_eq!(
            redact("postgres://app@127.0.0.1/test"),
            "postgres://app@127.0.0.1/test"
        );
    }

    #[test]
    fn our_parameters_are_taken_out_and_checked() {
        let p = parse_url("postgres://u:pw@h:5433/d?sslmode=disable&pool_max_size=3&options=-c%20search_path%3Ds1")
            .unwrap();
        assert_eq!((p.tls, p.pool_max_size), (Tls::Disable, 3));
        assert_eq!(p.config.get_options(), Some("-c search_path=s1"));
        assert_eq!(p.config.get_dbname(), Some("d"));
        assert_eq!(parse_url("postgresql://h/d").unwrap().tls, Tls::Prefer);
        assert!(matches!(
            parse_url("postgres://h/d?sslmode=verify-full").unwrap().tls,
            Tls::VerifyFull { root_cert: None }
        ));
        for bad in [
            "postgres://u:pw@h/d?sslmode=allow",
            "postgres://u:pw@h/d?pool_max_size=0",
            "postgres://u:pw@h/d?nonsense=1",
        ] {
            let e = parse_url(bad).err().expect(bad).to_string();
            assert!(!e.contains("pw@"), "{e}");
            assert!(e.contains("u:***@h"), "{e}");
        }
        let e = parse_url("postgres://h/d?sslmode=allow")
            .err()
            .unwrap()
            .to_string();
        assert!(e.contains("sslmode \"allow\""), "{e}");
        let e = parse_url("postgres://h/d?pool_max_size=x")
            .err()
            .unwrap()
            .to_string();
        assert!(e.contains("pool_max_size"), "{e}");
    }
}
