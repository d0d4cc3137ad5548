//! Measures the webhook acknowledgement latency at a steady delivery rate
//! on SQLite or PostgreSQL, and the time from a delivery to its approval
//! being applied: the emulator on 127.0.0.1, a SQLite file in a temporary
//! folder (or a scratch schema on the PostgreSQL server given), the
//! moderator on a real socket, signed deliveries over keep-alive
//! connections.
//!
//! `cargo run --release -p wa-groups-moderation --example ack_latency -- [RATE] [COUNT] [postgres]`
//! (defaults: 500 deliveries/s, 2000 deliveries, SQLite; `postgres` uses
//! the server whose URL is in `WA_GROUPS_TEST_POSTGRES`, kept off the
//! command line). Writes its rows
//! for `cargo xtask bench` to `target/bench-results/moderation-ack.tsv`
//! (SQLite) or `moderation-ack-postgres.tsv`.

use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::Full;
use wa_groups_emulator::{Emulator, GroupOptions};
use wa_groups_moderation::{Decision, ModerationRequest, Moderator, State, Store};

mod delivery;
mod scratch;

const SECRET: &str = "bench-app-secret";

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i]
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    let mut args = std::env::args().skip(1);
    let rate: u64 = args.next().map_or(Ok(500), |a| a.parse())?;
    let count: usize = args.next().map_or(Ok(2000), |a| a.parse())?;
    let postgres: Option<String> = match args.next().as_deref() {
        None => None,
        Some("postgres") => Some(
            std::env::var("WA_GROUPS_TEST_POSTGRES")
                .map_err(|_| "postgres: set WA_GROUPS_TEST_POSTGRES to the server's URL")?,
        ),
        Some(other) => return Err(format!("unknown store {other:?} (expected postgres)").into()),
    };

    let handle = Emulator::builder().start().await?;
    let emu = handle.controller();
    let per_group = 20;
    let mut targets = Vec::with_capacity(count);
    while targets.len() < count {
        let g = emu.create_group(GroupOptions::default().participant_cap(1000))?;
        for id in emu.add_join_requests(&g, per_group)? {
            targets.push((g.clone(), id));
        }
    }
    targets.truncate(count);

    let dir = tempfile::tempdir()?;
    let scratch = match &postgres {
        Some(url) => Some(scratch::schema(url, "wa_groups_bench").await?),
        None => None,
    };
    let store = match &scratch {
        Some((url, _)) => Store::open(url).await?,
        None => Store::open(&format!("sqlite:{}", dir.path().join("m.db").display())).await?,
    };
    // The database's own floor in this run: one durable INSERT per
    // delivery at the same rate, on a few plain connections.
    let raw_p99 = match &scratch {
        Some((url, _)) => Some(raw_insert_p99(url, rate, count).await?),
        None => None,
    };
    let backend = if let Some((url, _)) = &scratch {
        if url.ends_with("sslmode=disable") {
            "PostgreSQL, sslmode=disable"
        } else {
            "PostgreSQL"
        }
    } else {
        "SQLite"
    };
    let client = wa_groups::Client::builder()
        .access_token(emu.access_token())
        .base_url(emu.base_url())
        .build()?;
    let moderator = Moderator::builder()
        .client(client)
        .store(store.clone())
        .decide(|_: &ModerationRequest| async { Decision::Approve })
        .app_secret(SECRET)
        .verify_token("bench")
        .build()?;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let url = format!("http://{}/webhook", listener.local_addr()?);
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let m = moderator.clone();
    let server = tokio::spawn(async move {
        m.serve_until(listener, async move {
            let _ = stop_rx.await;
        })
        .await
        .expect("the engine starts");
    });

    let http = hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
        .build_http::<Full<Bytes>>();
    let interval = Duration::from_secs_f64(1.0 / rate as f64);
    let start = Instant::now();
    let mut tasks = Vec::with_capacity(count);
    for (i, (group, jr)) in targets.iter().enumerate() {
        let due = start + interval * u32::try_from(i)?;
        tokio::time::sleep_until(due.into()).await;
        let req = delivery::created(&url, SECRET, group, jr)?;
        let http = http.clone();
        tasks.push(tokio::spawn(async move {
            let sent = Instant::now();
            let resp = http.request(req).await.expect("delivery");
            assert_eq!(resp.status(), 200);
            (sent, sent.elapsed())
        }));
    }
    let mut acks = Vec::with_capacity(count);
    let mut sent_at = Vec::with_capacity(count);
    for t in tasks {
        let (sent, took) = t.await?;
        acks.push(took.as_secs_f64() * 1000.0);
        sent_at.push(sent);
    }
    let offered = start.elapsed();
    // Wait for every approval, then read when each was applied.
    loop {
        let s = store.status().await?;
        if s.total.get(State::Approved) as usize == count {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let status = store.status().await?;
    let epoch_now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)?
        .as_millis() as i64;
    let instant_now = Instant::now();
    let mut applied_ms = Vec::with_capacity(count);
    for ((group, jr), sent) in targets.iter().zip(&sent_at) {
        let r = status
            .requests
            .iter()
            .find(|r| &r.group_id == group && &r.join_request_id == jr)
            .expect("record");
        let sent_epoch = epoch_now - instant_now.duration_since(*sent).as_millis() as i64;
        applied_ms.push((r.updated_at - sent_epoch) as f64);
    }
    let _ = stop_tx.send(());
    server.await?;
    drop((moderator, store));
    if let (Some(url), Some((_, schema))) = (&postgres, &scratch) {
        scratch::drop(url, schema).await?;
    }
    acks.sort_by(f64::total_cmp);
    applied_ms.sort_by(f64::total_cmp);
    println!(
        "deliveries: {count} at {rate}/s on {backend} offered over {:.2} s",
        offered.as_secs_f64()
    );
    println!(
        "ack latency ms: p50 {:.2}  p99 {:.2}  max {:.2}",
        percentile(&acks, 0.5),
        percentile(&acks, 0.99),
        percentile(&acks, 1.0)
    );
    println!(
        "delivery to applied ms (batch window 200 ms): p50 {:.0}  p99 {:.0}",
        percentile(&applied_ms, 0.5),
        percentile(&applied_ms, 0.99)
    );
    let stats = emu.stats();
    println!(
        "emulator: {} approved, {} approve calls, {} failed items",
        stats.join_requests_approved, stats.endpoints.approve, stats.failed_items
    );
    if let Some(raw) = raw_p99 {
        println!("baseline: one INSERT + COMMIT per delivery at {rate}/s, p99 {raw:.2} ms");
    }
    write_rows(rate, backend, raw_p99, &acks, &applied_ms)?;
    Ok(())
}

/// p99 (ms) of one `INSERT` committed per delivery, at `rate`, `count`
/// times, over four connections: what any durable receiver pays here.
async fn raw_insert_p99(
    url: &str,
    rate: u64,
    count: usize,
) -> Result<f64, Box<dyn std::error::Error + Send + Sync>> {
    let mut conns = Vec::new();
    for _ in 0..4 {
        let (client, conn) = tokio_postgres::connect(url, tokio_postgres::NoTls).await?;
        tokio::spawn(conn);
        conns.push(std::sync::Arc::new(client));
    }
    conns[0]
        .batch_execute("CREATE TABLE raw_baseline (id BIGSERIAL PRIMARY KEY, body TEXT NOT NULL)")
        .await?;
    // A statement is prepared per connection.
    let mut inserts = Vec::new();
    for c in &conns {
        inserts.push(
            c.prepare("INSERT INTO raw_baseline (body) VALUES ($1)")
                .await?,
        );
    }
    let interval = Duration::from_secs_f64(1.0 / rate as f64);
    let start = Instant::now();
    let mut tasks = Vec::with_capacity(count);
    for i in 0..count {
        tokio::time::sleep_until((start + interval * u32::try_from(i)?).into()).await;
        let client = std::sync::Arc::clone(&conns[i % conns.len()]);
        let insert = inserts[i % conns.len()].clone();
        tasks.push(tokio::spawn(async move {
            let t = Instant::now();
            client
                .execute(&insert, &[&format!("delivery {i}")])
                .await
                .expect("insert");
            t.elapsed().as_secs_f64() * 1000.0
        }));
    }
    let mut ms = Vec::with_capacity(count);
    for t in tasks {
        ms.push(t.await?);
    }
    conns[0].batch_execute("DROP TABLE raw_baseline").await?;
    ms.sort_by(f64::total_cmp);
    Ok(percentile(&ms, 0.99))
}

/// The rows for `cargo xtask bench` (`section, case, ours, baseline, ratio,
/// target, met`; the ratio is higher-is-better: target over measured).
fn write_rows(
    rate: u64,
    backend: &str,
    raw_p99: Option<f64>,
    acks: &[f64],
    applied_ms: &[f64],
) -> std::io::Result<()> {
    // One process on a local file, or a database server a round trip away.
    let (ack_target_ms, file, applied_case) = if backend == "SQLite" {
        (10.0, "moderation-ack.tsv", String::new())
    } else {
        (
            20.0,
            "moderation-ack-postgres.tsv",
            format!(" on {backend}"),
        )
    };
    const APPLIED_P50_TARGET_MS: f64 = 300.0;
    let (p50, p99) = (percentile(acks, 0.5), percentile(acks, 0.99));
    let applied = percentile(applied_ms, 0.5);
    let met = |ok: bool| if ok { "yes" } else { "no" };
    let rows = [
        format!(
            "moderation\twebhook ack at {rate}/s on {backend}\tp50 {p50:.2} ms, p99 {p99:.2} ms\t{}\t{:.3}\tp99 ≤ {ack_target_ms} ms\t{}\n",
            raw_p99.map_or_else(
                || format!("target p99 {ack_target_ms} ms"),
                |raw| format!(
                    "target p99 {ack_target_ms} ms; one INSERT+COMMIT per delivery p99 {raw:.2} ms"
                )
            ),
            ack_target_ms / p99,
            met(p99 <= ack_target_ms)
        ),
        format!(
            "moderation\tdelivery to approve applied (batch window 200 ms){applied_case}\tp50 {applied:.0} ms\ttarget p50 {APPLIED_P50_TARGET_MS} ms\t{:.3}\tp50 ≤ {APPLIED_P50_TARGET_MS} ms\t{}\n",
            APPLIED_P50_TARGET_MS / applied,
            met(applied <= APPLIED_P50_TARGET_MS)
        ),
    ];
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/bench-results");
    std::fs::create_dir_all(&dir)?;
    std::fs::write(dir.join(file), rows.concat())
}
