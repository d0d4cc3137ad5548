//! A load generator for webhook endpoints: signed join request deliveries
//! at a steady rate to any URL, over keep-alive connections; prints the
//! acknowledgement latency as one JSON line. The language bindings' benches
//! (`cargo xtask bench`) drive the same engine mounted in their servers
//! with it, beside the engine's own listener, so that every side is
//! measured by the same client.
//!
//! `cargo run --release -p wa-groups-moderation --example ack_load -- URL [RATE] [COUNT] [SECRET]`
//! (defaults: 500 deliveries/s, 2000 deliveries, `bench-app-secret`).
//! Each delivery is a new join request (`G{n}` groups of 20, `JR{run}-{n}`),
//! so a run never repeats one already stored.

use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::Full;

mod delivery;

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i]
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let url = args
        .next()
        .ok_or("usage: ack_load URL [RATE] [COUNT] [SECRET]")?;
    let rate: u64 = args.next().map_or(Ok(500), |a| a.parse())?;
    let count: usize = args.next().map_or(Ok(2000), |a| a.parse())?;
    let secret = args.next().unwrap_or_else(|| "bench-app-secret".to_owned());
    let run = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)?
        .as_nanos();

    let http = hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
        .build_http::<Full<Bytes>>();
    let interval = Duration::from_secs_f64(1.0 / rate as f64);
    let start = Instant::now();
    let mut tasks = Vec::with_capacity(count);
    for i in 0..count {
        let due = start + interval * u32::try_from(i)?;
        tokio::time::sleep_until(due.into()).await;
        let group = format!("G{}", i / 20);
        let jr = format!("JR{run}-{i}");
        let req = delivery::created(&url, &secret, &group, &jr)?;
        let http = http.clone();
        tasks.push(tokio::spawn(async move {
            let sent = Instant::now();
            let status = http.request(req).await.map(|r| r.status().as_u16());
            (status, sent.elapsed())
        }));
    }
    let mut acks = Vec::with_capacity(count);
    for t in tasks {
        let (status, took) = t.await?;
        match status {
            Ok(200) => acks.push(took.as_secs_f64() * 1000.0),
            Ok(other) => return Err(format!("a delivery was answered {other}").into()),
            Err(e) => return Err(format!("a delivery failed: {e}").into()),
        }
    }
    let offered = start.elapsed().as_secs_f64();
    acks.sort_by(f64::total_cmp);
    println!(
        "{{\"count\": {count}, \"rate\": {rate}, \"offered_s\": {offered:.3}, \"p50_ms\": {:.3}, \"p99_ms\": {:.3}, \"max_ms\": {:.3}}}",
        percentile(&acks, 0.5),
        percentile(&acks, 0.99),
        percentile(&acks, 1.0)
    );
    Ok(())
}
