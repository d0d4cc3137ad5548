//! Shared set-up of the moderation tests: a real emulator on 127.0.0.1, a
//! real store (a SQLite file in a temporary folder, or a scratch schema on
//! the PostgreSQL server of `WA_GROUPS_TEST_POSTGRES`), the moderator
//! served on a real socket, and a plain HTTP client.

#![allow(dead_code, unreachable_pub, missing_docs)]

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt as _, Full};
use tokio::sync::oneshot;
use wa_groups::Client;
use wa_groups::protocol::webhook::{
    self, GroupEvent, GroupEventKind, JoinRequestEvent, WebhookPayload,
};
use wa_groups_emulator::{Controller, Emulator, EmulatorHandle};
use wa_groups_moderation::{Moderator, ModeratorBuilder, Record, State, Store};

pub mod pg;

pub use pg::PgScratch;

/// Which store a test runs on.
pub enum Db {
    /// A SQLite file in the test's temporary folder.
    Sqlite,
    /// A scratch role and schema on the test server.
    Postgres(PgScratch),
}

impl Db {
    pub fn sqlite() -> Self {
        Self::Sqlite
    }

    /// `None` (the test is skipped, and says so) when
    /// `WA_GROUPS_TEST_POSTGRES` is unset.
    pub fn postgres(test: &str) -> Option<Self> {
        PgScratch::create(test).map(Self::Postgres)
    }
}

/// Each test body, given its store, runs once on SQLite and once on
/// PostgreSQL: `on_both_stores!(name, ...)` makes `sqlite::name` and
/// `postgres::name` from `async fn name(db: Db)`.
#[allow(unused_macros)]
macro_rules! on_both_stores {
    ($($name:ident),+ $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::$name(crate::support::Db::sqlite()).await;
                }
            )+
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    if let Some(db) = crate::support::Db::postgres(stringify!($name)) {
                        super::$name(db).await;
                    }
                }
            )+
        }
    };
}

pub const APP_SECRET: &str = "test-app-secret-0123456789";
pub const VERIFY_TOKEN: &str = "test-verify-token-abcdef";

pub struct Env {
    /// The emulator's state and control methods.
    pub emu: Controller,
    /// Keeps the emulator serving for as long as the test runs.
    _handle: EmulatorHandle,
    pub dir: tempfile::TempDir,
    /// The store the test runs on (a PostgreSQL scratch schema is dropped
    /// with it).
    pub db: Db,
}

impl Env {
    pub async fn start(db: Db) -> Self {
        Self::with(db, Emulator::builder()).await
    }

    pub async fn with(db: Db, builder: wa_groups_emulator::EmulatorBuilder) -> Self {
        let handle = builder.start().await.expect("emulator");
        Self {
            emu: handle.controller(),
            _handle: handle,
            dir: tempfile::tempdir().expect("tempdir"),
            db,
        }
    }

    pub fn client(&self) -> Client {
        Client::builder()
            .access_token(self.emu.access_token())
            .base_url(self.emu.base_url())
            .max_retries(2)
            .retry_base_delay(Duration::from_millis(20))
            .build()
            .expect("client")
    }

    pub fn db_url(&self) -> String {
        match &self.db {
            Db::Sqlite => format!("sqlite:{}", self.dir.path().join("moderation.db").display()),
            Db::Postgres(pg) => pg.url.clone(),
        }
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    pub async fn store(&self) -> Store {
        Store::open(&self.db_url()).await.expect("store")
    }

    /// A builder with the client, a fresh handle on the store, the secrets
    /// and a short batch window; the caller adds a policy or decider.
    pub async fn builder(&self) -> ModeratorBuilder {
        Moderator::builder()
            .client(self.client())
            .store(self.store().await)
            .app_secret(APP_SECRET)
            .verify_token(VERIFY_TOKEN)
            .batch_window(Duration::from_millis(20))
    }
}

/// A moderator served on 127.0.0.1; dropping it does not stop it, call
/// [`Served::stop`].
pub struct Served {
    pub moderator: Moderator,
    pub addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<()>,
}

impl Served {
    pub async fn start(moderator: Moderator) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (tx, rx) = oneshot::channel();
        let m = moderator.clone();
        let task = tokio::spawn(async move {
            m.serve_until(listener, async move {
                let _ = rx.await;
            })
            .await
            .expect("the engine starts");
        });
        Self {
            moderator,
            addr,
            stop: Some(tx),
            task,
        }
    }

    pub fn webhook_url(&self) -> String {
        format!("http://{}/webhook", self.addr)
    }

    pub async fn stop(mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
        self.task.await.unwrap();
    }
}

/// One plain HTTP/1.1 request; returns the status and body.
pub async fn http(
    method: http::Method,
    url: &str,
    headers: &[(&str, String)],
    body: impl Into<Bytes>,
) -> (u16, Bytes) {
    let client = hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
        .build_http::<Full<Bytes>>();
    let mut req = http::Request::builder().method(method).uri(url);
    for (k, v) in headers {
        req = req.header(*k, v);
    }
    let resp = client
        .request(req.body(Full::new(body.into())).unwrap())
        .await
        .expect("request");
    let status = resp.status().as_u16();
    (status, resp.into_body().collect().await.unwrap().to_bytes())
}

/// POSTs `body` to `url` signed with `secret`.
pub async fn deliver(url: &str, body: &Bytes, secret: &str) -> u16 {
    let sig = webhook::sign(secret.as_bytes(), body);
    http(
        http::Method::POST,
        url,
        &[
            ("content-type", "application/json".into()),
            ("x-hub-signature-256", sig),
        ],
        body.clone(),
    )
    .await
    .0
}

/// A delivery of these join request events of `group`.
pub fn payload(group: &str, events: Vec<GroupEventKind>) -> Bytes {
    let now = 1_700_000_000;
    let mut p = WebhookPayload::group_event(
        "102290129340398",
        "106540352242922",
        "15550783881",
        GroupEvent::new(now, group, events[0].clone()),
    );
    if let wa_groups::protocol::webhook::Change::Group(g) = &mut p.entries[0].changes[0] {
        for e in &events[1..] {
            g.events.push(GroupEvent::new(now, group, e.clone()));
        }
    }
    p.encode()
}

pub fn created(jr: &str, wa_id: &str) -> GroupEventKind {
    GroupEventKind::JoinRequestCreated(JoinRequestEvent::new(jr).with_wa_id(wa_id))
}

pub fn revoked(jr: &str) -> GroupEventKind {
    GroupEventKind::JoinRequestRevoked(JoinRequestEvent::new(jr))
}

/// Waits (up to a generous bound, so a slow machine does not fail it) until
/// `check` returns `Some`.
pub async fn eventually<T, F, Fut>(what: &str, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if let Some(v) = check().await {
            return v;
        }
        assert!(Instant::now() < deadline, "gave up waiting for {what}");
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

/// Waits until the record exists and is in `state`.
pub async fn record_in(store: &Store, group: &str, jr: &str, state: State) -> Record {
    eventually(&format!("{jr} to be {state}"), || async {
        store
            .get(group, jr)
            .await
            .unwrap()
            .filter(|r| r.state == state)
    })
    .await
}

/// Asserts that the ledger holds no record of `jr` (now, not eventually).
pub async fn assert_not_stored(store: &Store, group: &str, jr: &str) {
    assert!(
        store.get(group, jr).await.unwrap().is_none(),
        "{group} / {jr} is in the ledger"
    );
}

pub fn write(path: &Path, text: &str) {
    std::fs::write(path, text).unwrap();
}
