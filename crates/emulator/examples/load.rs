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
        emu.apply_seed(&seed)?
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

    let reporter = {
        let done = Arc::clone(&done);
        tokio::spawn(async move {
            let mut reported_middle = false;
            loop {
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
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
    let stats = emu.stats();
    println!("stats: {}", serde_json::to_string(&stats)?);
    emu.shutdown().await;
    Ok(())
}
