//! The emulator under load: N requests (default 1,000,000) over C
//! keep-alive connections (default 256), a mix of list calls, rejects of
//! unknown IDs (a 200 with a per-item 131213) and group info, against 1,000
//! seeded groups. Prints requests per second and the process RSS at start,
//! middle and end, to show memory stays flat.
//!
//! ```text
//! cargo run --release --example load -p wa-groups-emulator -- [REQUESTS] [CONNECTIONS]
//! ```

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use bytes::Bytes;
use http::Request;
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1;
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;
use wa_groups_emulator::{Emulator, Seed};

/// The process's resident set, in kB.
fn rss_kb() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

fn rss() -> String {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find(|l| l.starts_with(name))
            .map(|l| l.trim_start_matches(name).trim().to_owned())
            .unwrap_or_else(|| "?".to_owned())
    };
    format!("VmRSS {} (peak {})", field("VmRSS:"), field("VmHWM:"))
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    let mut args = std::env::args().skip(1);
    let total: u64 = args
        .next()
        .map(|a| a.parse())
        .transpose()?
        .unwrap_or(1_000_000);
    let connections: u64 = args.next().map(|a| a.parse()).transpose()?.unwrap_or(256);

    let emu = Emulator::start().await?;
    let seed = Seed::from_json(br#"{"groups": [{"count": 1000, "join_requests": 5}]}"#)?;
    let groups: Arc<Vec<String>> = Arc::new(
        emu.controller()
            .apply_seed(&seed)?
            .into_iter()
            .map(|g| g.group_id)
            .collect(),
    );
    println!(
        "emulator at {}; {total} requests over {connections} connections",
        emu.base_url()
    );
    println!("start:  {}", rss());

    let addr = emu.local_addr();
    let auth: Arc<str> = format!("Bearer {}", emu.access_token()).into();
    let next = Arc::new(AtomicU64::new(0));
    let done = Arc::new(AtomicU64::new(0));
    let errors = Arc::new(AtomicU64::new(0));
    let started = Instant::now();

    // RSS once the load is warm (10% served): the baseline "flat" is measured against.
    let warm_kb = Arc::new(AtomicU64::new(0));
    let reporter = {
        let done = Arc::clone(&done);
        let warm_kb = Arc::clone(&warm_kb);
        tokio::spawn(async move {
            let mut reported_middle = false;
            loop {
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                if warm_kb.load(Ordering::Relaxed) == 0
                    && done.load(Ordering::Relaxed) >= total / 10
                {
                    warm_kb.store(rss_kb(), Ordering::Relaxed);
                }
                if !reported_middle && done.load(Ordering::Relaxed) >= total / 2 {
                    println!(
                        "middle: {} after {} requests",
                        rss(),
                        done.load(Ordering::Relaxed)
                    );
                    reported_middle = true;
                }
            }
        })
    };

    let mut tasks = Vec::new();
    for _ in 0..connections {
        let (groups, auth, next, done, errors) = (
            Arc::clone(&groups),
            Arc::clone(&auth),
            Arc::clone(&next),
            Arc::clone(&done),
            Arc::clone(&errors),
        );
        tasks.push(tokio::spawn(async move {
            let stream = TcpStream::connect(addr).await?;
            let (mut send, conn) = http1::handshake::<_, Full<Bytes>>(TokioIo::new(stream)).await?;
            tokio::spawn(conn);
            loop {
                let n = next.fetch_add(1, Ordering::Relaxed);
                if n >= total {
                    return Ok::<_, Box<dyn std::error::Error + Send + Sync>>(());
                }
                let g = &groups[(n % groups.len() as u64) as usize];
                let req = match n % 4 {
                    0 | 1 => Request::get(format!("/v23.0/{g}/join_requests?limit=3"))
                        .body(Full::new(Bytes::new())),
                    2 => Request::delete(format!("/v23.0/{g}/join_requests"))
                        .header("content-type", "application/json")
                        .body(Full::new(Bytes::from_static(
                            br#"{"messaging_product":"whatsapp","join_requests":["bm9uZQ=="]}"#,
                        ))),
                    _ => Request::get(format!("/v23.0/{g}?fields=subject,total_participant_count"))
                        .body(Full::new(Bytes::new())),
                };
                let mut req = req?;
                req.headers_mut().insert("host", "127.0.0.1".parse()?);
                req.headers_mut().insert("authorization", auth.parse()?);
                send.ready().await?;
                let resp = send.send_request(req).await?;
                if resp.status() != 200 {
                    errors.fetch_add(1, Ordering::Relaxed);
                }
                resp.into_body().collect().await?;
                done.fetch_add(1, Ordering::Relaxed);
            }
        }));
    }
    for t in tasks {
        t.await??;
    }
    let elapsed = started.elapsed();
    reporter.abort();
    let served = done.load(Ordering::Relaxed);
    println!("end:    {}", rss());
    println!(
        "{served} requests in {:.2} s: {:.0} requests/s, {} non-200",
        elapsed.as_secs_f64(),
        served as f64 / elapsed.as_secs_f64(),
        errors.load(Ordering::Relaxed)
    );
    let stats = emu.controller().stats();
    println!("stats: {}", serde_json::to_string(&stats)?);

    // A row for `cargo xtask bench`: memory at the end against memory once warm.
    let (warm, end) = (warm_kb.load(Ordering::Relaxed).max(1), rss_kb().max(1));
    let ratio = warm as f64 / end as f64;
    let row = format!(
        "emulator\t{served} requests over {connections} connections\t{:.0} requests/s, {} non-200, RSS at end {:.1} MB\tRSS at 10% {:.1} MB\t{ratio:.3}\t≥ 0.91× (flat: end ≤ 1.10× warm)\t{}\n",
        served as f64 / elapsed.as_secs_f64(),
        errors.load(Ordering::Relaxed),
        end as f64 / 1024.0,
        warm as f64 / 1024.0,
        if ratio >= 1.0 / 1.10 && errors.load(Ordering::Relaxed) == 0 {
            "yes"
        } else {
            "no"
        }
    );
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/bench-results");
    std::fs::create_dir_all(&dir)?;
    std::fs::write(dir.join("emulator.tsv"), row)?;
    emu.shutdown().await;
    Ok(())
}
