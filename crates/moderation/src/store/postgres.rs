//! The PostgreSQL backend (`postgres://...`): several `moderate serve`
//! replicas on one database. tokio-postgres over a bounded deadpool pool,
//! TLS by rustls as `sslmode` says, migrations run at open under an
//! advisory lock.
//!
//! Leases: each open store is one lease owner (`host:pid:random`). The
//! decider's and the applier's work is claimed with `FOR UPDATE SKIP
//! LOCKED`, so replicas never take the same records, and leased until a
//! time; a lease is renewed while its work is in flight and released by
//! any change that moves the record. A dead replica's leases simply run
//! out and the records return to the pool. Records are changed under
//! `SELECT ... FOR UPDATE`, in key order, so concurrent replicas serialize
//! per record and never deadlock one another.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use deadpool_postgres::{Manager, ManagerConfig, Object, Pool, RecyclingMethod, Runtime};
use futures_util::future::BoxFuture;
use tokio_postgres::Row;
use tokio_postgres::error::SqlState;

use super::{AuditRow, Backend, Change, EngineGuard, Status, StoreError, StoreResult};
use crate::ledger::{self, Decision, Record, Requester, State, Transition};

/// The migrations, in order, by version; `wa_groups_migrations` lists those
/// applied.
const MIGRATIONS: &[(i32, &str)] = &[(1, include_str!("../../migrations/postgres/0001_init.sql"))];

/// First keys of our advisory locks; the second key is the schema's hash,
/// so stores in different schemas of one database never contend.
const MIGRATE_LOCK: i32 = 0x7761_6701;
const RECONCILE_LOCK: i32 = 0x7761_6702;

/// Connections per store unless the URL says `pool_max_size`.
pub(super) const DEFAULT_POOL_MAX_SIZE: usize = 16;

/// How long a caller waits for a pooled connection, and for a new one to
/// connect, before the operation fails (a receiver then answers 503).
const POOL_WAIT: Duration = Duration::from_secs(10);
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// Transactions retried after a deadlock or serialization failure.
const TX_ATTEMPTS: usize = 5;

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
fn connector(tls: &Tls) -> StoreResult<tokio_postgres_rustls::MakeRustlsConnect> {
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
    Ok(tokio_postgres_rustls::MakeRustlsConnect::new(config))
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

/// Whether retrying the whole transaction may succeed.
fn retryable(e: &tokio_postgres::Error) -> bool {
    e.code().is_some_and(|c| {
        *c == SqlState::T_R_DEADLOCK_DETECTED || *c == SqlState::T_R_SERIALIZATION_FAILURE
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

pub(super) struct PostgresBackend {
    pool: Pool,
    /// This store's lease owner: `host:pid:random`.
    owner: String,
}

fn owner_id() -> String {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .map(|h| h.trim().to_owned())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "host".to_owned());
    format!("{host}:{}:{:08x}", std::process::id(), fastrand::u32(..))
}

impl PostgresBackend {
    /// Connects (bounded pool) and migrates under the migration lock.
    pub(super) async fn open(url: &str) -> StoreResult<Self> {
        let parsed = parse_url(url)?;
        let shown = redact(url);
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
            .build()
            .map_err(|e| StoreError::new(format!("postgres pool: {e}")))?;
        let backend = Self {
            pool,
            owner: owner_id(),
        };
        backend
            .migrate()
            .await
            .map_err(|e| StoreError::new(format!("cannot open {shown}: {}", e.message)))?;
        Ok(backend)
    }

    async fn conn(&self) -> StoreResult<Object> {
        self.pool.get().await.map_err(|e| pool_err(&e))
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

    /// Runs `f` in a transaction on a pooled connection, again (up to
    /// [`TX_ATTEMPTS`]) when it fails by a deadlock or serialization failure.
    fn with_tx<'a, T, F>(&'a self, f: F) -> BoxFuture<'a, StoreResult<T>>
    where
        T: Send + 'a,
        F: for<'c> Fn(&'c deadpool_postgres::Transaction<'c>) -> BoxFuture<'c, Result<T, TxError>>
            + Send
            + Sync
            + 'a,
    {
        Box::pin(async move {
            let mut attempt = 0;
            loop {
                attempt += 1;
                let mut conn = self.conn().await?;
                let tx = conn.transaction().await.map_err(|e| pg_err(&e))?;
                let result = match f(&tx).await {
                    Ok(v) => tx.commit().await.map(|()| v).map_err(TxError::Pg),
                    Err(e) => Err(e),
                };
                match result {
                    Ok(v) => return Ok(v),
                    Err(TxError::Pg(e)) if retryable(&e) && attempt < TX_ATTEMPTS => {
                        tracing::debug!(error = %pg_err(&e), attempt, "postgres: transaction retried");
                        tokio::time::sleep(Duration::from_millis(fastrand::u64(1..20))).await;
                    }
                    Err(TxError::Pg(e)) => return Err(pg_err(&e)),
                    Err(TxError::Store(e)) => return Err(e),
                }
            }
        })
    }

    /// Leases up to `limit` records in `states` that are due and unleased,
    /// skipping rows another replica has locked, in arrival order.
    fn lease(
        &self,
        states: &'static str,
        now: i64,
        lease_until: i64,
        limit: usize,
    ) -> BoxFuture<'_, StoreResult<Vec<Record>>> {
        Box::pin(async move {
            let conn = self.conn().await?;
            let sql = format!(
                "WITH c AS (SELECT id FROM records WHERE state IN ({states}) \
                   AND not_before <= $1 AND lease_until <= $1 ORDER BY id LIMIT $3 \
                   FOR UPDATE SKIP LOCKED) \
                 UPDATE records r SET lease_until = $2, lease_owner = $4 FROM c WHERE r.id = c.id \
                 RETURNING r.id, {}",
                COLUMNS
                    .split(", ")
                    .map(|c| format!("r.{}", c.trim()))
                    .collect::<Vec<_>>()
                    .join(", ")
            );
            let stmt = conn.prepare_cached(&sql).await.map_err(|e| pg_err(&e))?;
            let limit = i64::try_from(limit).unwrap_or(i64::MAX);
            let mut rows = conn
                .query(&stmt, &[&now, &lease_until, &limit, &self.owner])
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

/// One attempt at [`Backend::apply`] inside `tx`.
async fn apply_in(
    tx: &deadpool_postgres::Transaction<'_>,
    changes: &[Change],
    now: i64,
) -> Result<Vec<Transition>, TxError> {
    let load = tx
        .prepare_cached(&format!(
            "SELECT {COLUMNS} FROM records WHERE group_id = $1 AND join_request_id = $2 FOR UPDATE"
        ))
        .await?;
    let insert = tx
        .prepare_cached(
            "INSERT INTO records (group_id, join_request_id, wa_id, user_id, username, created_at, \
               state, decision, rule, reason, code, attempts, first_seen_at, updated_at, not_before) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15) \
             ON CONFLICT (group_id, join_request_id) DO NOTHING",
        )
        .await?;
    let update = tx
        .prepare_cached(
            "UPDATE records SET wa_id = $3, user_id = $4, username = $5, created_at = $6, \
               state = $7, decision = $8, rule = $9, reason = $10, code = $11, attempts = $12, \
               updated_at = $13, not_before = $14, \
               lease_until = CASE WHEN $15 THEN lease_until ELSE 0 END, \
               lease_owner = CASE WHEN $15 THEN lease_owner ELSE NULL END \
             WHERE group_id = $1 AND join_request_id = $2",
        )
        .await?;
    let audit = tx
        .prepare_cached(
            "INSERT INTO audit (at, group_id, join_request_id, from_state, to_state, event, rule, reason) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .await?;
    let group = tx
        .prepare_cached("INSERT INTO groups (group_id) VALUES ($1) ON CONFLICT DO NOTHING")
        .await?;
    // Rows are locked in key order (a stable sort keeps each record's own
    // events in order), so two replicas' transactions never wait on each
    // other in a cycle; the transitions are returned in the input order.
    let mut order: Vec<usize> = (0..changes.len()).collect();
    order.sort_by(|&a, &b| {
        (&changes[a].group_id, &changes[a].join_request_id)
            .cmp(&(&changes[b].group_id, &changes[b].join_request_id))
    });
    let mut out: Vec<(usize, Transition)> = Vec::new();
    for i in order {
        let c = &changes[i];
        // At most twice: a record another replica created after our look
        // (the insert then finds it) is loaded, locked, and changed again.
        let mut t = None;
        for _ in 0..2 {
            let current = tx
                .query_opt(&load, &[&c.group_id, &c.join_request_id])
                .await?
                .map(|r| row_to_record(&r))
                .transpose()?;
            let Some(next) = ledger::apply(
                current.as_ref(),
                &c.group_id,
                &c.join_request_id,
                &c.event,
                now,
            ) else {
                break;
            };
            if !next.changed {
                break;
            }
            let r = &next.record;
            let attempts = i32::try_from(r.attempts).unwrap_or(i32::MAX);
            let keep_lease = matches!(c.event, ledger::Event::Sending);
            let state = r.state.as_str();
            let decision = r.decision.map(Decision::as_str);
            let common: [&Param; 12] = [
                &r.group_id,
                &r.join_request_id,
                &r.requester.wa_id,
                &r.requester.user_id,
                &r.requester.username,
                &r.created_at,
                &state,
                &decision,
                &r.rule,
                &r.reason,
                &r.code,
                &attempts,
            ];
            let written = if current.is_none() {
                let mut params = common.to_vec();
                params.extend::<[&Param; 3]>([&r.first_seen_at, &r.updated_at, &r.not_before]);
                tx.execute(&insert, &params).await?
            } else {
                let mut params = common.to_vec();
                params.extend::<[&Param; 3]>([&r.updated_at, &r.not_before, &keep_lease]);
                tx.execute(&update, &params).await?
            };
            if written == 1 {
                t = Some(next);
                break;
            }
        }
        let Some(t) = t else { continue };
        if t.state_changed() {
            tx.execute(
                &audit,
                &[
                    &now,
                    &t.record.group_id,
                    &t.record.join_request_id,
                    &t.from.map(State::as_str),
                    &t.record.state.as_str(),
                    &c.event.name(),
                    &t.record.rule,
                    &t.record.reason,
                ],
            )
            .await?;
        }
        out.push((i, t));
    }
    let mut groups: Vec<&str> = changes.iter().map(|c| c.group_id.as_str()).collect();
    groups.sort_unstable();
    groups.dedup();
    for g in groups {
        tx.execute(&group, &[&g]).await?;
    }
    out.sort_by_key(|(i, _)| *i);
    Ok(out.into_iter().map(|(_, t)| t).collect())
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
        let changes = Arc::new(changes);
        self.with_tx(move |tx| {
            let changes = Arc::clone(&changes);
            Box::pin(async move { apply_in(tx, &changes, now).await })
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
            let conn = self.conn().await?;
            let (groups, jrs) = key_arrays(&keys);
            let stmt = conn
                .prepare_cached(
                    "UPDATE records r SET lease_until = $3 FROM unnest($1::TEXT[], $2::TEXT[]) AS k(g, j) \
                     WHERE r.group_id = k.g AND r.join_request_id = k.j AND r.lease_owner = $4 \
                       AND r.lease_until > 0",
                )
                .await
                .map_err(|e| pg_err(&e))?;
            let n = conn
                .execute(&stmt, &[&groups, &jrs, &lease_until, &self.owner])
                .await
                .map_err(|e| pg_err(&e))?;
            Ok(usize::try_from(n).unwrap_or(usize::MAX))
        })
    }

    fn start_engine(&self, now: i64) -> BoxFuture<'_, StoreResult<EngineGuard>> {
        Box::pin(async move {
            // Other replicas' live leases are theirs; only expired ones are
            // cleared (claims would take them anyway).
            let conn = self.conn().await?;
            let n = conn
                .execute(
                    "UPDATE records SET lease_until = 0, lease_owner = NULL \
                     WHERE lease_until <> 0 AND lease_until <= $1",
                    &[&now],
                )
                .await
                .map_err(|e| pg_err(&e))?;
            if n > 0 {
                tracing::info!(
                    leases = n,
                    "took back the expired leases of stopped replicas"
                );
            }
            tracing::info!(owner = %self.owner, "engine started on the postgres store");
            Ok(EngineGuard::new(()))
        })
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
            conn.execute(&stmt, &[&groups, &jrs, &self.owner])
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
            conn.execute(
                "INSERT INTO groups (group_id) SELECT DISTINCT unnest($1::TEXT[]) ON CONFLICT DO NOTHING",
                &[&groups],
            )
            .await
            .map_err(|e| pg_err(&e))?;
            Ok(())
        })
    }

    fn groups(&self) -> BoxFuture<'_, StoreResult<Vec<String>>> {
        Box::pin(async move {
            let conn = self.conn().await?;
            let rows = conn
                .query("SELECT group_id FROM groups ORDER BY group_id", &[])
                .await
                .map_err(|e| pg_err(&e))?;
            Ok(rows.iter().map(|r| r.get(0)).collect())
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

#[cfg(test)]
mod tests {
    use super::*;

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
