//! The embedded SQLite backend: one file in WAL mode, migrations numbered
//! by `PRAGMA user_version`.
//!
//! Every write goes through one writer thread that owns the write
//! connection and commits the calls queued while it was busy together, in
//! one transaction (group commit), each call under its own savepoint so
//! one failing call fails alone. Webhook deliveries (calls whose changes
//! are all `created` / `revoked`) go ahead of the workers' calls, and a
//! transaction holds a bounded number of worker calls, so an
//! acknowledgement waits for a few of them, never a queue. The workers' small
//! reads run on the same thread; reads of the whole ledger (`status`,
//! `audit`) use connections of their own (WAL readers never wait for the
//! writer), so a `/metrics` scrape never holds up a delivery.

use std::collections::VecDeque;
use std::path::PathBuf;
use std::sync::{Arc, Condvar, Mutex};

use futures_util::future::BoxFuture;
use rusqlite::{Connection, OptionalExtension as _, Row, TransactionBehavior, params};

use super::{AuditRow, Backend, Change, ListedGroup, PassMark, Status, StoreError, StoreResult};
use crate::ledger::{self, Decision, Event, Record, Requester, State, Transition};

/// The migrations, in order; `user_version` counts those applied.
const MIGRATIONS: &[&str] = &[
    include_str!("../../migrations/0001_init.sql"),
    include_str!("../../migrations/0002_reconcile_progress.sql"),
];

const COLUMNS: &str = "group_id, join_request_id, wa_id, user_id, username, created_at, state, \
                       decision, rule, reason, code, attempts, first_seen_at, updated_at, not_before";

/// Deliveries committed together in one transaction at most.
const MAX_GROUP_COMMIT: usize = 512;

/// Worker calls committed together in one transaction at most: enough
/// that a reconcile pass's many small calls share commits (each commit
/// rewrites every page it touched into the WAL), few enough that a delivery
/// never waits behind a long queue of them.
const MAX_OTHERS_TOGETHER: usize = 16;

/// Idle read connections kept open.
const MAX_IDLE_READERS: usize = 4;

/// How long a connection waits for another process's lock (`moderate
/// status`, `decide` beside `moderate serve`).
const BUSY_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

pub(super) struct SqliteBackend {
    writer: Arc<Writer>,
    /// `None` for `:memory:`, whose every connection is a database of its
    /// own: reads go through the writer then.
    readers: Option<Arc<Readers>>,
    path: PathBuf,
}

impl Drop for SqliteBackend {
    fn drop(&mut self) {
        // The writer thread finishes what is queued, then closes its connection.
        self.writer.close();
    }
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
            conn.busy_timeout(BUSY_TIMEOUT).map_err(db_err)?;
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
        let writer = Writer::spawn(conn)?;
        spawn_checkpointer(checkpoints, Arc::downgrade(&writer));
        let in_memory = db_path.as_os_str() == ":memory:";
        Ok(Self {
            writer,
            readers: (!in_memory).then(|| {
                Arc::new(Readers {
                    path: db_path.clone(),
                    idle: Mutex::new(Vec::new()),
                })
            }),
            path: db_path,
        })
    }

    /// Runs `f` on the writer thread, inside the transaction of its group
    /// commit, and answers once that transaction is committed.
    /// `delivery` puts it ahead of the workers' calls.
    fn write<T, F>(&self, delivery: bool, f: F) -> BoxFuture<'_, StoreResult<T>>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> rusqlite::Result<T> + Send + 'static,
    {
        Box::pin(async move {
            let (reply, answer) = tokio::sync::oneshot::channel();
            self.writer.push(
                Box::new(Call {
                    f: Some(f),
                    out: None,
                    reply,
                }),
                delivery,
            )?;
            answer
                .await
                .map_err(|_| StoreError::new("sqlite writer stopped"))?
        })
    }

    /// Runs the small read `f` (an indexed lookup or a page of work) on
    /// the writer thread: one warm connection and no thread of its own,
    /// which measured cheaper than a pool of readers (each WAL reader
    /// re-validates its cache after every commit).
    fn read<T, F>(&self, f: F) -> BoxFuture<'_, StoreResult<T>>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> rusqlite::Result<T> + Send + 'static,
    {
        self.write(false, f)
    }

    /// Runs `f`, a read of the whole ledger (`status`, `audit`), on a read
    /// connection in the blocking pool, so that no delivery waits behind it.
    fn scan<T, F>(&self, f: F) -> BoxFuture<'_, StoreResult<T>>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> rusqlite::Result<T> + Send + 'static,
    {
        let Some(readers) = self.readers.clone() else {
            return self.write(false, f);
        };
        Box::pin(async move {
            tokio::task::spawn_blocking(move || {
                let conn = readers.take()?;
                let out = f(&conn).map_err(db_err);
                readers.put(conn);
                out
            })
            .await
            .map_err(db_err)?
        })
    }
}

/// Read connections, opened when needed and kept for reuse.
struct Readers {
    path: PathBuf,
    idle: Mutex<Vec<Connection>>,
}

impl Readers {
    fn take(&self) -> StoreResult<Connection> {
        if let Some(c) = self.idle.lock().ok().and_then(|mut idle| idle.pop()) {
            return Ok(c);
        }
        let conn = Connection::open(&self.path).map_err(db_err)?;
        conn.busy_timeout(BUSY_TIMEOUT).map_err(db_err)?;
        conn.pragma_update(None, "query_only", true)
            .map_err(db_err)?;
        Ok(conn)
    }

    fn put(&self, conn: Connection) {
        if let Ok(mut idle) = self.idle.lock()
            && idle.len() < MAX_IDLE_READERS
        {
            idle.push(conn);
        }
    }
}

/// One call queued for the writer thread.
trait Job: Send {
    /// Does the call's work on the writer's connection, inside the open
    /// transaction.
    fn run(&mut self, conn: &Connection) -> rusqlite::Result<()>;
    /// Answers the caller: `Ok` once the work is committed, or why not.
    fn finish(self: Box<Self>, result: StoreResult<()>);
}

struct Call<T, F> {
    f: Option<F>,
    out: Option<T>,
    reply: tokio::sync::oneshot::Sender<StoreResult<T>>,
}

impl<T, F> Job for Call<T, F>
where
    T: Send,
    F: FnOnce(&Connection) -> rusqlite::Result<T> + Send,
{
    fn run(&mut self, conn: &Connection) -> rusqlite::Result<()> {
        if let Some(f) = self.f.take() {
            self.out = Some(f(conn)?);
        }
        Ok(())
    }

    fn finish(self: Box<Self>, result: StoreResult<()>) {
        let Self { out, reply, .. } = *self;
        let answer =
            result.and_then(|()| out.ok_or_else(|| StoreError::new("sqlite: call not run")));
        // The caller may have gone (a dropped connection); the work stands.
        let _ = reply.send(answer);
    }
}

#[derive(Default)]
struct Queue {
    deliveries: VecDeque<Box<dyn Job>>,
    others: VecDeque<Box<dyn Job>>,
    closed: bool,
}

/// The writer thread's queue.
struct Writer {
    queue: Mutex<Queue>,
    ready: Condvar,
}

impl Writer {
    fn spawn(conn: Connection) -> StoreResult<Arc<Self>> {
        let writer = Arc::new(Self {
            queue: Mutex::new(Queue::default()),
            ready: Condvar::new(),
        });
        let w = Arc::clone(&writer);
        std::thread::Builder::new()
            .name("wa-groups-sqlite-writer".into())
            .spawn(move || w.run(conn))
            .map_err(|e| StoreError::new(format!("cannot start the sqlite writer: {e}")))?;
        Ok(writer)
    }

    fn push(&self, job: Box<dyn Job>, delivery: bool) -> StoreResult<()> {
        let mut q = self
            .queue
            .lock()
            .map_err(|_| StoreError::new("sqlite writer poisoned by a panic"))?;
        if q.closed {
            return Err(StoreError::new("sqlite store closed"));
        }
        if delivery {
            q.deliveries.push_back(job);
        } else {
            q.others.push_back(job);
        }
        drop(q);
        self.ready.notify_one();
        Ok(())
    }

    fn close(&self) {
        if let Ok(mut q) = self.queue.lock() {
            q.closed = true;
        }
        self.ready.notify_one();
    }

    /// The writer thread: waits for calls, commits the queued deliveries and
    /// a few other calls per transaction, until closed and drained.
    fn run(&self, mut conn: Connection) {
        loop {
            let batch = {
                let Ok(mut q) = self.queue.lock() else { return };
                while q.deliveries.is_empty() && q.others.is_empty() && !q.closed {
                    q = match self.ready.wait(q) {
                        Ok(q) => q,
                        Err(_) => return,
                    };
                }
                if q.deliveries.is_empty() && q.others.is_empty() {
                    return;
                }
                let n = q.deliveries.len().min(MAX_GROUP_COMMIT);
                let mut batch: Vec<Box<dyn Job>> = q.deliveries.drain(..n).collect();
                let n = q.others.len().min(MAX_OTHERS_TOGETHER);
                batch.extend(q.others.drain(..n));
                batch
            };
            commit_together(&mut conn, batch);
        }
    }
}

/// Runs `jobs` in one transaction, each under its own savepoint when there
/// are several (a call that fails, or panics, is rolled back alone), and
/// answers each after the commit.
fn commit_together(conn: &mut Connection, mut jobs: Vec<Box<dyn Job>>) {
    let mut results: Vec<StoreResult<()>> = Vec::with_capacity(jobs.len());
    let single = jobs.len() == 1;
    let committed = (|| -> rusqlite::Result<()> {
        let mut tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        for job in &mut jobs {
            if single {
                let r = run_caught(job.as_mut(), &tx);
                if let Err(e) = r {
                    results.push(Err(e));
                    return tx.rollback();
                }
                results.push(Ok(()));
                continue;
            }
            let sp = tx.savepoint()?;
            match run_caught(job.as_mut(), &sp) {
                Ok(()) => {
                    sp.commit()?;
                    results.push(Ok(()));
                }
                Err(e) => {
                    // Rolls back to the savepoint, keeping the others' work.
                    sp.finish()?;
                    results.push(Err(e));
                }
            }
        }
        tx.commit()
    })();
    match committed {
        Ok(()) => {
            for (job, r) in jobs.into_iter().zip(results) {
                job.finish(r);
            }
        }
        Err(e) => {
            let e = db_err(e);
            for (i, job) in jobs.into_iter().enumerate() {
                // A call's own error says more than the rollback's.
                let r = match results.get(i) {
                    Some(Err(own)) => Err(own.clone()),
                    _ => Err(e.clone()),
                };
                job.finish(r);
            }
        }
    }
}

fn run_caught(job: &mut dyn Job, conn: &Connection) -> StoreResult<()> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| job.run(conn)))
        .map_err(|_| StoreError::new("sqlite: a store call panicked"))?
        .map_err(db_err)
}

/// Whether every change is a webhook delivery's (`created`, `revoked`):
/// such calls come from the receiver, whose answer waits for them.
fn is_delivery(changes: &[Change]) -> bool {
    changes
        .iter()
        .all(|c| matches!(c.event, Event::Created { .. } | Event::Revoked))
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
        let delivery = is_delivery(&changes);
        self.write(delivery, move |tx| {
            let mut out = Vec::new();
            let mut groups = std::collections::BTreeSet::new();
            for c in &changes {
                let current = load(tx, &c.group_id, &c.join_request_id)?;
                let Some(t) = ledger::apply(current.as_ref(), &c.group_id, &c.join_request_id, &c.event, now)
                else {
                    continue;
                };
                if !t.changed {
                    continue;
                }
                // A group is known from its first record on, so only a new
                // record can name a group the table lacks.
                if current.is_none() {
                    groups.insert(c.group_id.as_str());
                }
                save(tx, &t.record, matches!(c.event, ledger::Event::Sending))?;
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
            Ok(out)
        })
    }

    fn pending(&self, limit: usize) -> BoxFuture<'_, StoreResult<Vec<Record>>> {
        self.read(move |conn| {
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
        self.write(false, move |tx| {
            let records = query_records(
                tx,
                &format!(
                    "SELECT {COLUMNS} FROM records WHERE state IN ('approving', 'rejecting') \
                     AND not_before <= ?1 AND lease_until <= ?1 ORDER BY id LIMIT ?2"
                ),
                params![now, limit as i64],
            )?;
            let mut lease = tx.prepare_cached(
                "UPDATE records SET lease_until = ?3 WHERE group_id = ?1 AND join_request_id = ?2",
            )?;
            for r in &records {
                lease.execute(params![r.group_id, r.join_request_id, lease_until])?;
            }
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
            let taken = self.write(false, take_back_leases).await?;
            if taken > 0 {
                tracing::info!(leases = taken, "took back the leases a stopped engine left");
            }
            Ok(super::EngineGuard::new(Mutex::new(lock)))
        })
    }

    fn release(&self, keys: Vec<(String, String)>) -> BoxFuture<'_, StoreResult<()>> {
        self.write(false, move |tx| {
            let mut release = tx.prepare_cached(
                "UPDATE records SET lease_until = 0 WHERE group_id = ?1 AND join_request_id = ?2",
            )?;
            for (g, j) in &keys {
                release.execute(params![g, j])?;
            }
            Ok(())
        })
    }

    fn renew(
        &self,
        keys: Vec<(String, String)>,
        lease_until: i64,
    ) -> BoxFuture<'_, StoreResult<usize>> {
        self.write(false, move |tx| {
            let mut renew = tx.prepare_cached(
                "UPDATE records SET lease_until = ?3 \
                 WHERE group_id = ?1 AND join_request_id = ?2 AND lease_until <> 0",
            )?;
            let mut held = 0;
            for (g, j) in &keys {
                held += renew.execute(params![g, j, lease_until])?;
            }
            Ok(held)
        })
    }

    fn records_in(
        &self,
        group_id: String,
        states: Vec<State>,
    ) -> BoxFuture<'_, StoreResult<Vec<Record>>> {
        self.read(move |conn| {
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
        self.read(move |conn| {
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
        self.read(move |conn| load(conn, &group_id, &join_request_id))
    }

    fn add_groups(&self, groups: Vec<String>) -> BoxFuture<'_, StoreResult<()>> {
        self.write(false, move |tx| {
            let mut add =
                tx.prepare_cached("INSERT OR IGNORE INTO groups (group_id) VALUES (?1)")?;
            for g in &groups {
                add.execute([g])?;
            }
            Ok(())
        })
    }

    fn groups_listed(&self) -> BoxFuture<'_, StoreResult<Vec<ListedGroup>>> {
        self.read(move |conn| {
            let mut stmt =
                conn.prepare_cached("SELECT group_id, listed_at FROM groups ORDER BY group_id")?;
            let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
            rows.collect()
        })
    }

    fn mark_listed(&self, listed: Vec<(String, i64)>) -> BoxFuture<'_, StoreResult<()>> {
        self.write(false, move |tx| {
            let mut mark = tx.prepare_cached(
                "UPDATE groups SET listed_at = MAX(COALESCE(listed_at, ?2), ?2) WHERE group_id = ?1",
            )?;
            for (g, at) in &listed {
                mark.execute(params![g, at])?;
            }
            Ok(())
        })
    }

    fn last_pass(&self) -> BoxFuture<'_, StoreResult<Option<PassMark>>> {
        self.read(move |conn| {
            conn.prepare_cached("SELECT started_at, finished FROM reconcile_pass WHERE id = 1")?
                .query_row([], |r| {
                    Ok(PassMark {
                        started_at: r.get(0)?,
                        finished: r.get(1)?,
                    })
                })
                .optional()
        })
    }

    fn mark_pass(&self, mark: PassMark) -> BoxFuture<'_, StoreResult<()>> {
        self.write(false, move |tx| {
            tx.prepare_cached(
                "INSERT INTO reconcile_pass (id, started_at, finished) VALUES (1, ?1, ?2) \
                 ON CONFLICT (id) DO UPDATE SET started_at = excluded.started_at, finished = excluded.finished \
                 WHERE excluded.started_at >= reconcile_pass.started_at",
            )?
            .execute(params![mark.started_at, mark.finished])?;
            Ok(())
        })
    }

    fn status(&self) -> BoxFuture<'_, StoreResult<Status>> {
        self.scan(move |conn| {
            let records = query_records(
                conn,
                &format!("SELECT {COLUMNS} FROM records ORDER BY id"),
                [],
            )?;
            Ok(Status::from_records(records))
        })
    }

    fn audit(&self, group_id: Option<String>) -> BoxFuture<'_, StoreResult<Vec<AuditRow>>> {
        self.scan(move |conn| {
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
fn take_back_leases(conn: &Connection) -> rusqlite::Result<usize> {
    conn.execute(
        "UPDATE records SET lease_until = 0 WHERE lease_until <> 0",
        [],
    )
}

/// Checkpoints the WAL every second on its own connection (PASSIVE: it
/// never blocks writers), until the backend is dropped.
fn spawn_checkpointer(cp: Connection, owner: std::sync::Weak<Writer>) {
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

#[cfg(test)]
mod tests {
    use super::*;

    fn call<T: Send + 'static>(
        f: impl FnOnce(&Connection) -> rusqlite::Result<T> + Send + 'static,
    ) -> (Box<dyn Job>, tokio::sync::oneshot::Receiver<StoreResult<T>>) {
        let (reply, answer) = tokio::sync::oneshot::channel();
        (
            Box::new(Call {
                f: Some(f),
                out: None,
                reply,
            }),
            answer,
        )
    }

    #[test]
    fn a_failing_or_panicking_call_is_rolled_back_alone() {
        let dir = tempfile::tempdir().unwrap();
        let mut conn = Connection::open(dir.path().join("t.db")).unwrap();
        conn.execute_batch("CREATE TABLE t (v INTEGER)").unwrap();
        let insert = |v: i64| move |c: &Connection| c.execute("INSERT INTO t VALUES (?1)", [v]);
        let (a, a_answer) = call(insert(1));
        let (b, b_answer) = call(move |c: &Connection| {
            insert(2)(c)?;
            // Fails after writing: its row must not stay.
            c.execute("INSERT INTO nope VALUES (1)", [])
        });
        let (p, p_answer) = call(move |c: &Connection| -> rusqlite::Result<usize> {
            insert(3)(c)?;
            panic!("a bug in a store call")
        });
        let (d, d_answer) = call(insert(4));
        commit_together(&mut conn, vec![a, b, p, d]);
        assert_eq!(a_answer.blocking_recv().unwrap(), Ok(1));
        assert!(
            b_answer
                .blocking_recv()
                .unwrap()
                .unwrap_err()
                .to_string()
                .contains("nope")
        );
        assert!(
            p_answer
                .blocking_recv()
                .unwrap()
                .unwrap_err()
                .to_string()
                .contains("panicked")
        );
        assert_eq!(d_answer.blocking_recv().unwrap(), Ok(1));
        let rows: Vec<i64> = conn
            .prepare("SELECT v FROM t ORDER BY v")
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .collect::<rusqlite::Result<_>>()
            .unwrap();
        assert_eq!(rows, [1, 4]);

        // Alone, a failing call is rolled back with its transaction.
        let (b, b_answer) = call(move |c: &Connection| {
            insert(5)(c)?;
            c.execute("INSERT INTO nope VALUES (1)", [])
        });
        commit_together(&mut conn, vec![b]);
        assert!(b_answer.blocking_recv().unwrap().is_err());
        let n: i64 = conn
            .query_row("SELECT count(*) FROM t", [], |r| r.get(0))
            .unwrap();
        assert_eq!(n, 2);
    }

    fn created(group: &str, jr: &str) -> Change {
        Change::new(
            group,
            jr,
            Event::Created {
                requester: Requester::default(),
                created_at: 1,
            },
        )
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn concurrent_deliveries_and_worker_calls_all_commit() {
        let dir = tempfile::tempdir().unwrap();
        let backend = Arc::new(SqliteBackend::open(dir.path().join("m.db")).await.unwrap());
        let mut tasks = Vec::new();
        for i in 0..200 {
            let b = Arc::clone(&backend);
            tasks.push(tokio::spawn(async move {
                let g = format!("G{}", i % 7);
                let t = b
                    .apply(vec![created(&g, &format!("J{i}"))], 10)
                    .await
                    .unwrap();
                assert_eq!(t.len(), 1);
                // A worker's call between deliveries: decide what is pending.
                let pending = b.pending(512).await.unwrap();
                let decided = pending
                    .iter()
                    .map(|r| {
                        Change::new(
                            &r.group_id,
                            &r.join_request_id,
                            Event::Decided {
                                decision: Decision::Approve,
                                rule: "r".into(),
                                reason: None,
                            },
                        )
                    })
                    .collect();
                b.apply(decided, 11).await.unwrap();
            }));
        }
        for t in tasks {
            t.await.unwrap();
        }
        let status = backend.status().await.unwrap();
        assert_eq!(status.requests.len(), 200);
        assert_eq!(status.total.get(State::Approving), 200);
        // One `created` and one `decided` audit row each, never two.
        assert_eq!(backend.audit(None).await.unwrap().len(), 400);
        assert_eq!(backend.groups_listed().await.unwrap().len(), 7);
    }

    #[tokio::test]
    async fn an_in_memory_store_reads_what_it_wrote() {
        let backend = SqliteBackend::open(":memory:".into()).await.unwrap();
        backend.apply(vec![created("G", "J")], 10).await.unwrap();
        assert_eq!(backend.pending(10).await.unwrap().len(), 1);
        assert_eq!(
            backend.groups_listed().await.unwrap(),
            [("G".to_owned(), None)]
        );
    }
}
