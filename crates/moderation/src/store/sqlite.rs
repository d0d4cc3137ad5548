//! The embedded SQLite backend: one file in WAL mode, one connection used
//! from tokio's blocking pool, migrations numbered by `PRAGMA user_version`.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use futures_util::future::BoxFuture;
use rusqlite::{Connection, OptionalExtension as _, Row, TransactionBehavior, params};

use super::{AuditRow, Backend, Change, Status, StoreError, StoreResult};
use crate::ledger::{self, Decision, Record, Requester, State, Transition};

/// The migrations, in order; `user_version` counts those applied.
const MIGRATIONS: &[&str] = &[include_str!("../../migrations/0001_init.sql")];

const COLUMNS: &str = "group_id, join_request_id, wa_id, user_id, username, created_at, state, \
                       decision, rule, reason, code, attempts, first_seen_at, updated_at, not_before";

pub(super) struct SqliteBackend {
    conn: Arc<Mutex<Connection>>,
    path: PathBuf,
}

fn db_err(e: impl std::fmt::Display) -> StoreError {
    StoreError::new(format!("sqlite: {e}"))
}

fn row_to_record(row: &Row<'_>) -> rusqlite::Result<Record> {
    let state: String = row.get(6)?;
    let decision: Option<String> = row.get(7)?;
    let bad = |i: usize, m: String| {
        rusqlite::Error::FromSqlConversionFailure(i, rusqlite::types::Type::Text, m.into())
    };
    Ok(Record {
        group_id: row.get(0)?,
        join_request_id: row.get(1)?,
        requester: Requester {
            wa_id: row.get(2)?,
            user_id: row.get(3)?,
            username: row.get(4)?,
        },
        created_at: row.get(5)?,
        state: state.parse().map_err(|m| bad(6, m))?,
        decision: decision
            .map(|d| d.parse::<Decision>())
            .transpose()
            .map_err(|m| bad(7, m))?,
        rule: row.get(8)?,
        reason: row.get(9)?,
        code: row.get(10)?,
        attempts: row.get(11)?,
        first_seen_at: row.get(12)?,
        updated_at: row.get(13)?,
        not_before: row.get(14)?,
    })
}

fn load(conn: &Connection, group_id: &str, jr: &str) -> rusqlite::Result<Option<Record>> {
    conn.prepare_cached(&format!(
        "SELECT {COLUMNS} FROM records WHERE group_id = ?1 AND join_request_id = ?2"
    ))?
    .query_row(params![group_id, jr], row_to_record)
    .optional()
}

fn save(conn: &Connection, r: &Record, keep_lease: bool) -> rusqlite::Result<()> {
    conn.prepare_cached(
        "INSERT INTO records (group_id, join_request_id, wa_id, user_id, username, created_at, \
           state, decision, rule, reason, code, attempts, first_seen_at, updated_at, not_before) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15) \
         ON CONFLICT (group_id, join_request_id) DO UPDATE SET \
           wa_id = excluded.wa_id, user_id = excluded.user_id, username = excluded.username, \
           created_at = excluded.created_at, state = excluded.state, decision = excluded.decision, \
           rule = excluded.rule, reason = excluded.reason, code = excluded.code, \
           attempts = excluded.attempts, updated_at = excluded.updated_at, \
           not_before = excluded.not_before, \
           lease_until = CASE WHEN ?16 THEN lease_until ELSE 0 END",
    )?
    .execute(params![
        r.group_id,
        r.join_request_id,
        r.requester.wa_id,
        r.requester.user_id,
        r.requester.username,
        r.created_at,
        r.state.as_str(),
        r.decision.map(Decision::as_str),
        r.rule,
        r.reason,
        r.code,
        r.attempts,
        r.first_seen_at,
        r.updated_at,
        r.not_before,
        keep_lease,
    ])?;
    Ok(())
}

impl SqliteBackend {
    pub(super) async fn open(path: PathBuf) -> StoreResult<Self> {
        let db_path = path.clone();
        let (conn, checkpoints) = tokio::task::spawn_blocking(move || -> StoreResult<(Connection, Connection)> {
            let mut conn = Connection::open(&path).map_err(|e| {
                StoreError::new(format!("cannot open sqlite:{}: {e}", path.display()))
            })?;
            conn.pragma_update(None, "journal_mode", "WAL")
                .map_err(db_err)?;
            conn.pragma_update(None, "synchronous", "NORMAL")
                .map_err(db_err)?;
            conn.pragma_update(None, "foreign_keys", true)
                .map_err(db_err)?;
            // `moderate status` and `decide` may run beside `moderate serve`.
            conn.busy_timeout(std::time::Duration::from_secs(10))
                .map_err(db_err)?;
            let version: i64 = conn
                .pragma_query_value(None, "user_version", |r| r.get(0))
                .map_err(db_err)?;
            let applied = usize::try_from(version).unwrap_or(0);
            if applied > MIGRATIONS.len() {
                return Err(StoreError::new(format!(
                    "sqlite:{} has schema version {version}, newer than this wa-groups knows ({})",
                    path.display(),
                    MIGRATIONS.len()
                )));
            }
            for (i, sql) in MIGRATIONS.iter().enumerate().skip(applied) {
                let tx = conn
                    .transaction_with_behavior(TransactionBehavior::Immediate)
                    .map_err(db_err)?;
                tx.execute_batch(sql).map_err(db_err)?;
                tx.pragma_update(None, "user_version", i + 1)
                    .map_err(db_err)?;
                tx.commit().map_err(db_err)?;
            }
            // Checkpoints (and their fsync) run on a thread of their own, not
            // inside a commit that a webhook acknowledgement waits for.
            conn.pragma_update(None, "wal_autocheckpoint", 0)
                .map_err(db_err)?;
            let checkpoints = Connection::open(&path).map_err(db_err)?;
            checkpoints
                .busy_timeout(std::time::Duration::from_secs(1))
                .map_err(db_err)?;
            Ok((conn, checkpoints))
        })
        .await
        .map_err(db_err)??;
        let conn = Arc::new(Mutex::new(conn));
        spawn_checkpointer(checkpoints, Arc::downgrade(&conn));
        Ok(Self {
            conn,
            path: db_path,
        })
    }

    /// Runs `f` on the connection in the blocking pool.
    fn run<T, F>(&self, f: F) -> BoxFuture<'_, StoreResult<T>>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection) -> rusqlite::Result<T> + Send + 'static,
    {
        let conn = Arc::clone(&self.conn);
        Box::pin(async move {
            tokio::task::spawn_blocking(move || {
                let mut guard = conn
                    .lock()
                    .map_err(|_| StoreError::new("sqlite connection poisoned by a panic"))?;
                f(&mut guard).map_err(db_err)
            })
            .await
            .map_err(db_err)?
        })
    }
}

fn query_records(
    conn: &Connection,
    sql: &str,
    params: impl rusqlite::Params,
) -> rusqlite::Result<Vec<Record>> {
    let mut stmt = conn.prepare_cached(sql)?;
    let rows = stmt.query_map(params, row_to_record)?;
    rows.collect()
}

impl Backend for SqliteBackend {
    fn apply(&self, changes: Vec<Change>, now: i64) -> BoxFuture<'_, StoreResult<Vec<Transition>>> {
        self.run(move |conn| {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let mut out = Vec::new();
            let mut groups = std::collections::BTreeSet::new();
            for c in &changes {
                groups.insert(c.group_id.as_str());
                let current = load(&tx, &c.group_id, &c.join_request_id)?;
                let Some(t) = ledger::apply(current.as_ref(), &c.group_id, &c.join_request_id, &c.event, now)
                else {
                    continue;
                };
                if !t.changed {
                    continue;
                }
                save(&tx, &t.record, matches!(c.event, ledger::Event::Sending))?;
                if t.state_changed() {
                    tx.prepare_cached(
                        "INSERT INTO audit (at, group_id, join_request_id, from_state, to_state, event, rule, reason) \
                         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                    )?
                    .execute(params![
                        now,
                        t.record.group_id,
                        t.record.join_request_id,
                        t.from.map(State::as_str),
                        t.record.state.as_str(),
                        c.event.name(),
                        t.record.rule,
                        t.record.reason,
                    ])?;
                }
                out.push(t);
            }
            for g in groups {
                tx.prepare_cached("INSERT OR IGNORE INTO groups (group_id) VALUES (?1)")?
                    .execute([g])?;
            }
            tx.commit()?;
            Ok(out)
        })
    }

    fn pending(&self, limit: usize) -> BoxFuture<'_, StoreResult<Vec<Record>>> {
        self.run(move |conn| {
            query_records(
                conn,
                &format!(
                    "SELECT {COLUMNS} FROM records WHERE state = 'pending' ORDER BY id LIMIT ?1"
                ),
                [limit as i64],
            )
        })
    }

    fn claim(
        &self,
        now: i64,
        lease_until: i64,
        limit: usize,
    ) -> BoxFuture<'_, StoreResult<Vec<Record>>> {
        self.run(move |conn| {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let records = query_records(
                &tx,
                &format!(
                    "SELECT {COLUMNS} FROM records WHERE state IN ('approving', 'rejecting') \
                     AND not_before <= ?1 AND lease_until <= ?1 ORDER BY id LIMIT ?2"
                ),
                params![now, limit as i64],
            )?;
            for r in &records {
                tx.execute(
                    "UPDATE records SET lease_until = ?3 WHERE group_id = ?1 AND join_request_id = ?2",
                    params![r.group_id, r.join_request_id, lease_until],
                )?;
            }
            tx.commit()?;
            Ok(records)
        })
    }

    fn start_engine(&self, _now: i64) -> BoxFuture<'_, StoreResult<super::EngineGuard>> {
        let lock_path = engine_lock_path(&self.path);
        let shown = self.path.display().to_string();
        Box::pin(async move {
            let lock = tokio::task::spawn_blocking(move || lock_engine(&lock_path, &shown))
                .await
                .map_err(db_err)??;
            // With the engine lock held no other engine uses the file, so
            // every lease left is a dead engine's.
            let taken = self.run(take_back_leases).await?;
            if taken > 0 {
                tracing::info!(leases = taken, "took back the leases a stopped engine left");
            }
            Ok(super::EngineGuard::new(Mutex::new(lock)))
        })
    }

    fn release(&self, keys: Vec<(String, String)>) -> BoxFuture<'_, StoreResult<()>> {
        self.run(move |conn| {
            let tx = conn.transaction()?;
            for (g, j) in &keys {
                tx.execute(
                    "UPDATE records SET lease_until = 0 WHERE group_id = ?1 AND join_request_id = ?2",
                    params![g, j],
                )?;
            }
            tx.commit()
        })
    }

    fn renew(
        &self,
        keys: Vec<(String, String)>,
        lease_until: i64,
    ) -> BoxFuture<'_, StoreResult<usize>> {
        self.run(move |conn| {
            let tx = conn.transaction()?;
            let mut held = 0;
            for (g, j) in &keys {
                held += tx.execute(
                    "UPDATE records SET lease_until = ?3 \
                     WHERE group_id = ?1 AND join_request_id = ?2 AND lease_until <> 0",
                    params![g, j, lease_until],
                )?;
            }
            tx.commit()?;
            Ok(held)
        })
    }

    fn records_in(
        &self,
        group_id: String,
        states: Vec<State>,
    ) -> BoxFuture<'_, StoreResult<Vec<Record>>> {
        self.run(move |conn| {
            let mut out = Vec::new();
            for s in states {
                out.extend(query_records(
                    conn,
                    &format!("SELECT {COLUMNS} FROM records WHERE group_id = ?1 AND state = ?2 ORDER BY id"),
                    params![group_id, s.as_str()],
                )?);
            }
            Ok(out)
        })
    }

    fn held_group_full(&self) -> BoxFuture<'_, StoreResult<Vec<Record>>> {
        self.run(move |conn| {
            query_records(
                conn,
                &format!(
                    "SELECT {COLUMNS} FROM records WHERE state = 'held' AND reason = ?1 ORDER BY id"
                ),
                [ledger::GROUP_FULL],
            )
        })
    }

    fn get(
        &self,
        group_id: String,
        join_request_id: String,
    ) -> BoxFuture<'_, StoreResult<Option<Record>>> {
        self.run(move |conn| load(conn, &group_id, &join_request_id))
    }

    fn add_groups(&self, groups: Vec<String>) -> BoxFuture<'_, StoreResult<()>> {
        self.run(move |conn| {
            let tx = conn.transaction()?;
            for g in &groups {
                tx.execute("INSERT OR IGNORE INTO groups (group_id) VALUES (?1)", [g])?;
            }
            tx.commit()
        })
    }

    fn groups(&self) -> BoxFuture<'_, StoreResult<Vec<String>>> {
        self.run(move |conn| {
            let mut stmt = conn.prepare_cached("SELECT group_id FROM groups ORDER BY group_id")?;
            let rows = stmt.query_map([], |r| r.get(0))?;
            rows.collect()
        })
    }

    fn status(&self) -> BoxFuture<'_, StoreResult<Status>> {
        self.run(move |conn| {
            let records = query_records(
                conn,
                &format!("SELECT {COLUMNS} FROM records ORDER BY id"),
                [],
            )?;
            Ok(Status::from_records(records))
        })
    }

    fn audit(&self, group_id: Option<String>) -> BoxFuture<'_, StoreResult<Vec<AuditRow>>> {
        self.run(move |conn| {
            let mut stmt = conn.prepare_cached(
                "SELECT id, at, group_id, join_request_id, from_state, to_state, event, rule, reason \
                 FROM audit WHERE ?1 IS NULL OR group_id = ?1 ORDER BY id",
            )?;
            let rows = stmt.query_map([group_id], |r| {
                Ok(AuditRow {
                    id: r.get(0)?,
                    at: r.get(1)?,
                    group_id: r.get(2)?,
                    join_request_id: r.get(3)?,
                    from: r.get(4)?,
                    to: r.get(5)?,
                    event: r.get(6)?,
                    rule: r.get(7)?,
                    reason: r.get(8)?,
                })
            })?;
            rows.collect()
        })
    }
}

/// The side file whose SQLite lock marks the one engine on a store.
fn engine_lock_path(db: &std::path::Path) -> PathBuf {
    let mut name = db.as_os_str().to_owned();
    name.push(".engine-lock");
    PathBuf::from(name)
}

/// Takes the engine lock: an exclusive-mode SQLite connection on the side
/// file, kept open while the engine runs. The OS drops the lock when the
/// process dies (even by SIGKILL), so a restart always gets it.
fn lock_engine(lock_path: &std::path::Path, shown: &str) -> StoreResult<Connection> {
    let conn = Connection::open(lock_path).map_err(db_err)?;
    conn.pragma_update(None, "locking_mode", "EXCLUSIVE")
        .map_err(db_err)?;
    let taken = conn
        .execute_batch("BEGIN EXCLUSIVE; CREATE TABLE IF NOT EXISTS engine (pid INTEGER); COMMIT;");
    match taken {
        Ok(()) => Ok(conn),
        Err(rusqlite::Error::SqliteFailure(e, _))
            if e.code == rusqlite::ErrorCode::DatabaseBusy =>
        {
            Err(StoreError::new(format!(
                "sqlite:{shown} is in use by another running engine (moderate serve); \
                 one engine per SQLite file"
            )))
        }
        Err(e) => Err(db_err(e)),
    }
}

/// Leases belong to the one engine that uses an SQLite store: when an
/// engine starts, with the engine lock held, any lease left is a dead
/// engine's and is taken back.
fn take_back_leases(conn: &mut Connection) -> rusqlite::Result<usize> {
    conn.execute(
        "UPDATE records SET lease_until = 0 WHERE lease_until <> 0",
        [],
    )
}

/// Checkpoints the WAL every second on its own connection (PASSIVE: it
/// never blocks writers), until the backend is dropped.
fn spawn_checkpointer(cp: Connection, owner: std::sync::Weak<Mutex<Connection>>) {
    let _ = std::thread::Builder::new()
        .name("wa-groups-sqlite-checkpoint".into())
        .spawn(move || {
            while owner.strong_count() > 0 {
                std::thread::sleep(std::time::Duration::from_secs(1));
                if let Err(e) = cp.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(())) {
                    tracing::warn!(error = %e, "sqlite checkpoint failed; retrying");
                }
            }
        });
}
