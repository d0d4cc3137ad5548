//! A scratch PostgreSQL role and schema per test, on the server named by
//! `WA_GROUPS_TEST_POSTGRES` (a URL such as
//! `postgres://postgres@127.0.0.1:5432/test`), so tests run in parallel
//! and leave nothing behind: dropping the value (also while a failed
//! assertion unwinds) ends the role's sessions and drops its schema and
//! the role. Unset, the PostgreSQL tests are skipped. Shared by the
//! moderation crate's tests and the CLI's (included by path).

#![allow(dead_code, unreachable_pub, missing_docs)]

use std::hash::{BuildHasher as _, Hasher as _};
use std::sync::atomic::{AtomicU32, Ordering};

/// The variable naming the test server.
pub const VAR: &str = "WA_GROUPS_TEST_POSTGRES";

pub struct PgScratch {
    admin_url: String,
    /// The role, and the schema it owns (same name).
    pub name: String,
    /// The store URL: the role, its schema first on the search path.
    pub url: String,
}

/// Whether the PostgreSQL tests run; when not, says so on stderr.
pub fn enabled(test: &str) -> Option<String> {
    match std::env::var(VAR) {
        Ok(v) if !v.is_empty() => Some(v),
        _ => {
            eprintln!("{test}: skipped: {VAR} is not set (a PostgreSQL URL)");
            None
        }
    }
}

impl PgScratch {
    /// A fresh role and schema; `None` when `WA_GROUPS_TEST_POSTGRES` is
    /// unset. Panics when the server cannot be reached: a set variable
    /// means the tests must run.
    pub fn create(test: &str) -> Option<Self> {
        static N: AtomicU32 = AtomicU32::new(0);
        let admin_url = enabled(test)?;
        let salt = std::collections::hash_map::RandomState::new()
            .build_hasher()
            .finish();
        let name = format!(
            "wa_test_{}_{}_{:06x}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed),
            salt & 0xff_ffff
        );
        admin(
            &admin_url,
            format!(
                "CREATE ROLE {name} LOGIN PASSWORD '{name}'; \
                 CREATE SCHEMA {name} AUTHORIZATION {name};"
            ),
        )
        .unwrap_or_else(|e| panic!("{VAR}: cannot set up a scratch schema: {e}"));
        let sep = if admin_url.contains('?') { '&' } else { '?' };
        let url = format!(
            "{admin_url}{sep}user={name}&password={name}&options=-c%20search_path%3D{name}"
        );
        Some(Self {
            admin_url,
            name,
            url,
        })
    }

    /// The store URL with more parameters, such as `pool_max_size=4`.
    pub fn url_with(&self, params: &str) -> String {
        format!("{}&{params}", self.url)
    }

    /// An outage for the store: the role may not log in, and its sessions
    /// are ended (`pg_terminate_backend`).
    pub fn outage(&self) {
        let name = &self.name;
        admin(
            &self.admin_url,
            format!(
                "ALTER ROLE {name} NOLOGIN; \
                 SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = '{name}';"
            ),
        )
        .expect("outage");
    }

    /// Ends the outage.
    pub fn restore(&self) {
        admin(&self.admin_url, format!("ALTER ROLE {} LOGIN;", self.name)).expect("restore");
    }

    /// Runs `sql` in the scratch schema (as the admin); every row's cells
    /// as text.
    pub fn rows(&self, sql: &str) -> Vec<Vec<Option<String>>> {
        let sql = format!("SET search_path TO {}; {sql}", self.name);
        let url = self.admin_url.clone();
        on_own_runtime(async move {
            let (client, conn) = tokio_postgres::connect(&url, tokio_postgres::NoTls).await?;
            tokio::spawn(conn);
            let msgs = client.simple_query(&sql).await?;
            Ok(msgs
                .into_iter()
                .filter_map(|m| match m {
                    tokio_postgres::SimpleQueryMessage::Row(r) => {
                        Some((0..r.len()).map(|i| r.get(i).map(str::to_owned)).collect())
                    }
                    _ => None,
                })
                .collect())
        })
        .expect("query")
    }
}

impl Drop for PgScratch {
    fn drop(&mut self) {
        let name = &self.name;
        let result = admin(
            &self.admin_url,
            format!(
                "ALTER ROLE {name} NOLOGIN; \
                 SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = '{name}'; \
                 DROP SCHEMA IF EXISTS {name} CASCADE; \
                 DROP ROLE IF EXISTS {name};"
            ),
        );
        if let Err(e) = result {
            eprintln!("could not drop the scratch schema and role {name}: {e}");
        }
    }
}

/// Runs `sql` as the admin, on a thread of its own (callable from sync
/// code and from inside a runtime alike).
fn admin(url: &str, sql: String) -> Result<(), String> {
    let url = url.to_owned();
    on_own_runtime(async move {
        let (client, conn) = tokio_postgres::connect(&url, tokio_postgres::NoTls).await?;
        tokio::spawn(conn);
        client.batch_execute(&sql).await
    })
}

fn on_own_runtime<T: Send + 'static>(
    f: impl std::future::Future<Output = Result<T, tokio_postgres::Error>> + Send + 'static,
) -> Result<T, String> {
    std::thread::spawn(move || {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| e.to_string())?
            .block_on(f)
            .map_err(|e| match e.as_db_error() {
                Some(db) => db.message().to_owned(),
                None => e.to_string(),
            })
    })
    .join()
    .map_err(|_| "the admin thread panicked".to_owned())?
}
