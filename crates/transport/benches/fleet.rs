//! The fleet sweep: what a business with 10,000 groups does. Every group has
//! a few pending join requests; the emulator's rate limiter is on for the
//! phone number; the client lists and decides every group (approve the
//! first half, reject the rest) with bounded concurrency. Reports wall time
//! against the rate limit's floor, peak RSS, requests sent and rate-limit
//! answers, and checks that no join request was lost or handled twice.
//! Writes a row to `target/bench-results/fleet.tsv` for `cargo xtask bench`.
//!
//! `cargo bench -p wa-groups --bench fleet -- [GROUPS] [PER_SECOND]`

#![allow(missing_docs, reason = "a bench binary")]

use std::collections::HashSet;
use std::time::{Duration, Instant};

use futures_util::{StreamExt as _, TryStreamExt as _};
use wa_groups_emulator::{Emulator, RateLimit, Seed};

/// Groups handled at once.
const CONCURRENCY: usize = 64;
/// Pending join requests per group.
const PER_GROUP: usize = 3;

fn peak_rss_mb() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .map_or(0.0, |kb| kb / 1024.0)
}

struct GroupResult {
    listed: Vec<String>,
    approved: Vec<String>,
    rejected: Vec<String>,
    failed: usize,
}

async fn sweep_group(client: wa_groups::Client, group: String) -> wa_groups::Result<GroupResult> {
    let pending: Vec<wa_groups::JoinRequest> = client.join_requests(&group).try_collect().await?;
    let listed: Vec<String> = pending
        .iter()
        .map(|r| r.join_request_id.to_string())
        .collect();
    let half = listed.len().div_ceil(2);
    let (mut approved, mut rejected, mut failed) = (Vec::new(), Vec::new(), 0);
    if half > 0 {
        let a = client
            .approve_join_requests(&group, &listed[..half])
            .await?;
        approved.extend(a.approved.iter().map(ToString::to_string));
        failed += a.failed.len();
    }
    if listed.len() > half {
        let r = client.reject_join_requests(&group, &listed[half..]).await?;
        rejected.extend(r.rejected.iter().map(ToString::to_string));
        failed += r.failed.len();
    }
    Ok(GroupResult {
        listed,
        approved,
        rejected,
        failed,
    })
}

fn main() {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with("--"))
        .collect();
    let groups: usize = args.first().and_then(|a| a.parse().ok()).unwrap_or(10_000);
    let per_second: f64 = args.get(1).and_then(|a| a.parse().ok()).unwrap_or(2_000.0);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async {
        let emu = Emulator::builder().start().await.expect("emulator");
        let seed = Seed::from_json(format!(r#"{{"groups": [{{"count": {groups}, "join_requests": {PER_GROUP}}}]}}"#).as_bytes())
            .expect("seed");
        let seeded = emu.controller().apply_seed(&seed).expect("seeded");
        let expected: usize = seeded.iter().map(|g| g.join_request_ids.len()).sum();
        emu.controller().set_rate_limit(Some(RateLimit::per_phone(per_second)))
            .expect("rate limit");
        emu.controller().reset_stats();
        let client = wa_groups::Client::builder()
            .access_token(emu.access_token())
            .base_url(emu.base_url())
            .max_retries(10)
            .build()
            .expect("client");

        let started = Instant::now();
        let results: Vec<wa_groups::Result<GroupResult>> = futures_util::stream::iter(seeded.iter().map(|g| g.group_id.clone()))
            .map(|g| sweep_group(client.clone(), g))
            .buffer_unordered(CONCURRENCY)
            .collect()
            .await;
        let wall = started.elapsed();
        let stats = emu.controller().stats();

        // Nothing lost, nothing handled twice: every seeded ID was listed once
        // and decided once, and the emulator agrees.
        let mut seen = HashSet::new();
        let mut decided = HashSet::new();
        let (mut errors, mut failed, mut duplicates) = (0, 0, 0);
        for r in &results {
            match r {
                Ok(g) => {
                    failed += g.failed;
                    for id in &g.listed {
                        duplicates += usize::from(!seen.insert(id.clone()));
                    }
                    for id in g.approved.iter().chain(&g.rejected) {
                        duplicates += usize::from(!decided.insert(id.clone()));
                    }
                }
                Err(e) => {
                    errors += 1;
                    eprintln!("group error: {e}");
                }
            }
        }
        let all_seeded: HashSet<String> = seeded.iter().flat_map(|g| g.join_request_ids.iter().cloned()).collect();
        let lost = all_seeded.difference(&decided).count();
        let still_pending: usize = seeded.iter().map(|g| emu.controller().pending_join_requests(&g.group_id).map_or(0, |p| p.len())).sum();
        let handled = stats.join_requests_approved + stats.join_requests_rejected;
        let correct = errors == 0 && failed == 0 && duplicates == 0 && lost == 0 && still_pending == 0
            && handled == expected as u64;

        // The floor: the limiter's burst (one second's worth) at once, every
        // other admitted request at its sustained rate.
        let admitted = stats.requests - stats.rate_limited;
        let floor = Duration::from_secs_f64((admitted as f64 - per_second).max(0.0) / per_second);
        let efficiency = floor.as_secs_f64() / wall.as_secs_f64();
        println!(
            "fleet sweep: {groups} groups, {expected} join requests, limit {per_second}/s for the phone number, {CONCURRENCY} groups at once"
        );
        println!(
            "  wall {:.1} s (floor at the limit {:.1} s, {:.0}% of it), peak RSS {:.0} MB (client and emulator in one process)",
            wall.as_secs_f64(),
            floor.as_secs_f64(),
            efficiency * 100.0,
            peak_rss_mb()
        );
        println!(
            "  {} requests sent, {} answered 131208 (rate limited) and retried; {handled} join requests handled",
            stats.requests, stats.rate_limited
        );
        println!(
            "  lost {lost}, handled twice {duplicates}, failed {failed}, group errors {errors}, still pending {still_pending}: {}",
            if correct { "every join request handled exactly once" } else { "NOT CORRECT" }
        );
        let row = format!(
            "fleet\t{groups} groups × {PER_GROUP} pending, limiter {per_second:.0}/s, {CONCURRENCY} at once\twall {:.1} s, peak RSS {:.0} MB, {} requests, {} rate-limited (retried); lost {lost}, twice {duplicates}\tfloor at the rate limit {:.1} s\t{efficiency:.3}\tno loss or duplicate\t{}\n",
            wall.as_secs_f64(),
            peak_rss_mb(),
            stats.requests,
            stats.rate_limited,
            floor.as_secs_f64(),
            if correct { "yes" } else { "no" }
        );
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/bench-results");
        std::fs::create_dir_all(&dir).expect("results dir");
        std::fs::write(dir.join("fleet.tsv"), row).expect("write results");
        emu.shutdown().await;
        assert!(correct, "the sweep lost or repeated join requests");
    });
}
