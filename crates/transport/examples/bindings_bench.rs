//! The bindings beside the Rust `Client`: approve calls per second (one ID
//! a call) of the Python `Client` (sequential), the Python `AsyncClient`
//! (64 in flight) and the Node `Client` (both), each against the Rust
//! `Client` doing the same calls against the same emulator in the same run.
//!
//! ```text
//! cargo run --release -p wa-groups --example bindings_bench -- \
//!     [--python PYTHON] [--node BINDINGS_NODE_DIR] [--rounds N] [--out FILE.tsv]
//! ```
//!
//! `cargo xtask bench bindings` builds the release wheel and addon and runs
//! this with them. The harness process serves the emulator; every client
//! runs in a child process of its own (`--client rust`, the Python script
//! `bindings/python/bench/bench_bindings.py`, the Node script
//! `bindings/node/bench/bindings.mjs`), which approves the IDs it is given
//! and prints its rate and its CPU time per call. Where the machine has two
//! cores and `taskset`, the emulator runs on core 1 and the clients on core
//! 0, so a client's overhead is not hidden by the emulator's. Rounds
//! alternate between the contenders, each on a fresh group of the same
//! size; a row's ratio is the median of the per-round ratios.
//!
//! The Rust client runs as `#[tokio::main]` would run it: a multi-thread
//! runtime with one worker per core it may use (one, pinned), the calls in
//! the main future.

#![allow(missing_docs, reason = "a bench binary")]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use wa_groups_emulator::{Emulator, GroupOptions};

const PINNED: &str = "WA_GROUPS_BENCH_PINNED";
const IN_FLIGHT: usize = 64;

/// What a client child prints as its last line.
#[derive(Debug, Clone, Copy)]
struct Measure {
    rate: f64,
    cpu_us: f64,
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().is_some_and(|a| a == "--client") {
        rust_client();
        return;
    }
    if std::env::var_os(PINNED).is_none() && can_pin() {
        // Again under `taskset -c 1`: the emulator gets core 1; the
        // clients are started on core 0.
        let me = std::env::current_exe().expect("current exe");
        let status = Command::new("taskset")
            .args(["-c", "1"])
            .arg(me)
            .args(&args)
            .env(PINNED, "1")
            .status()
            .expect("taskset");
        std::process::exit(status.code().unwrap_or(1));
    }
    harness(&args);
}

/// Two cores or more, and `taskset` to pin with.
fn can_pin() -> bool {
    std::thread::available_parallelism().is_ok_and(|n| n.get() >= 2)
        && Command::new("taskset")
            .args(["-c", "0", "true"])
            .status()
            .is_ok_and(|s| s.success())
}

fn arg<'a>(args: &'a [String], name: &str) -> Option<&'a str> {
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .map(String::as_str)
}

/// One contender: how to start its child, and which calls it makes.
struct Contender {
    name: &'static str,
    program: PathBuf,
    args: Vec<String>,
    dir: Option<PathBuf>,
    /// `sync` or `async`, for the Python script.
    flavour: &'static str,
}

fn harness(args: &[String]) {
    let pinned = std::env::var_os(PINNED).is_some();
    let rounds: usize = arg(args, "--rounds").map_or(11, |n| n.parse().expect("--rounds"));
    let seq_calls: usize =
        arg(args, "--seq-calls").map_or(3000, |n| n.parse().expect("--seq-calls"));
    let par_calls: usize =
        arg(args, "--inflight-calls").map_or(12000, |n| n.parse().expect("--inflight-calls"));
    let out = arg(args, "--out").map(PathBuf::from);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let emu = rt.block_on(Emulator::builder().start()).expect("emulator");
    let controller = emu.controller();
    let tmp = std::env::temp_dir().join(format!("wa-groups-bindings-bench-{}", std::process::id()));
    std::fs::create_dir_all(&tmp).expect("temp dir");
    eprintln!(
        "emulator at {} ({}); {rounds} rounds",
        emu.base_url(),
        if pinned {
            "emulator on core 1, clients on core 0"
        } else {
            "not pinned: one core, or no taskset"
        }
    );

    let me = std::env::current_exe().expect("current exe");
    let rust = |flavour| Contender {
        name: "Rust Client",
        program: me.clone(),
        args: vec!["--client".into()],
        dir: None,
        flavour,
    };
    let python = arg(args, "--python").map(|py| {
        let script = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../bindings/python/bench/bench_bindings.py");
        move |name, flavour| Contender {
            name,
            program: PathBuf::from(py),
            args: vec![script.display().to_string()],
            // Outside the source tree: the installed wheel is measured.
            dir: Some(std::env::temp_dir()),
            flavour,
        }
    });
    let node = arg(args, "--node").map(|dir| Contender {
        name: "Node Client",
        program: PathBuf::from("node"),
        args: vec!["bench/bindings.mjs".into()],
        dir: Some(PathBuf::from(dir)),
        flavour: "async",
    });

    let mut rows = String::new();
    for (mode, in_flight, calls) in [
        ("sequential", 1, seq_calls),
        ("64 in flight", IN_FLIGHT, par_calls),
    ] {
        let mut contenders = vec![rust("async")];
        if let Some(py) = &python {
            if in_flight == 1 {
                contenders.push(py("Python Client", "sync"));
            } else {
                contenders.push(py("Python AsyncClient", "async"));
            }
        }
        if let Some(node) = &node {
            contenders.push(Contender {
                name: node.name,
                program: node.program.clone(),
                args: node.args.clone(),
                dir: node.dir.clone(),
                flavour: node.flavour,
            });
        }
        let warmup = (calls / 5).max(200);
        let mut results: Vec<Vec<Measure>> = vec![Vec::new(); contenders.len()];
        for round in 0..rounds {
            for (i, c) in contenders.iter().enumerate() {
                let group = controller
                    .create_group(GroupOptions::new().participant_cap(u32::MAX))
                    .expect("group");
                let mut ids = Vec::with_capacity(warmup + calls);
                while ids.len() < warmup + calls {
                    // The emulator adds at most 10,000 at once.
                    let n = (warmup + calls - ids.len()).min(10_000);
                    ids.extend(
                        controller
                            .add_join_requests(&group, n)
                            .expect("join requests"),
                    );
                }
                let file = tmp.join("ids.txt");
                std::fs::write(&file, ids.join("\n")).expect("ids file");
                let m = run_child(
                    c,
                    pinned,
                    &[
                        ("WA_BENCH_BASE_URL", emu.base_url()),
                        ("WA_BENCH_TOKEN", emu.access_token()),
                        ("WA_BENCH_GROUP", &group),
                        ("WA_BENCH_IDS", &file.display().to_string()),
                        ("WA_BENCH_WARMUP", &warmup.to_string()),
                        ("WA_BENCH_IN_FLIGHT", &in_flight.to_string()),
                        ("WA_BENCH_FLAVOUR", c.flavour),
                    ],
                );
                eprintln!(
                    "  {mode}, round {}: {:<20} {:>8.0} calls/s  {:>6.1} µs CPU/call",
                    round + 1,
                    c.name,
                    m.rate,
                    m.cpu_us
                );
                results[i].push(m);
            }
        }
        let rust = &results[0];
        for (c, res) in contenders.iter().zip(&results).skip(1) {
            let ratios: Vec<f64> = res
                .iter()
                .zip(rust)
                .map(|(ours, base)| ours.rate / base.rate)
                .collect();
            let ratio = median(ratios);
            let ours = median(res.iter().map(|m| m.rate).collect());
            let ours_cpu = median(res.iter().map(|m| m.cpu_us).collect());
            let base = median(rust.iter().map(|m| m.rate).collect());
            let base_cpu = median(rust.iter().map(|m| m.cpu_us).collect());
            let target = match (c.name, in_flight) {
                (_, 1) => 0.95,
                ("Node Client", _) => 0.7,
                _ => 0.8,
            };
            let section = if c.name.starts_with("Python") {
                "python"
            } else {
                "node"
            };
            println!(
                "{mode}: {} {ours:.0} calls/s ({ours_cpu:.1} µs CPU/call) vs Rust Client {base:.0} calls/s ({base_cpu:.1} µs CPU/call): {ratio:.2}× (target {target}×)",
                c.name
            );
            rows.push_str(&format!(
                "{section}\tapprove 1 ID a call, {mode}: {} vs Rust Client (same emulator{})\t{ours:.0} calls/s, {ours_cpu:.1} µs CPU/call\tRust Client {base:.0} calls/s, {base_cpu:.1} µs CPU/call\t{ratio:.3}\t≥ {target:.2}×\t{}\n",
                c.name,
                if pinned { ", pinned cores" } else { "" },
                if ratio >= target { "yes" } else { "no" }
            ));
        }
    }
    let _ = std::fs::remove_dir_all(&tmp);
    if let Some(out) = out {
        std::fs::write(&out, rows).expect("write rows");
    }
    drop(emu);
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// Runs one client child to its end and reads its last line,
/// `{"rate": calls per second, "cpu_us": CPU µs per call}`.
fn run_child(c: &Contender, pinned: bool, env: &[(&str, &str)]) -> Measure {
    let mut cmd = if pinned {
        let mut cmd = Command::new("taskset");
        cmd.args(["-c", "0"]).arg(&c.program);
        cmd
    } else {
        Command::new(&c.program)
    };
    cmd.args(&c.args);
    if let Some(dir) = &c.dir {
        cmd.current_dir(dir);
    }
    cmd.env_remove(PINNED);
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().expect("client child");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{} failed ({}): {}\n{}",
        c.name,
        out.status,
        stdout,
        String::from_utf8_lossy(&out.stderr)
    );
    let last = stdout.lines().last().unwrap_or_default();
    let v: serde_json::Value =
        serde_json::from_str(last).unwrap_or_else(|e| panic!("{}: {e} in {last:?}", c.name));
    Measure {
        rate: v["rate"].as_f64().expect("rate"),
        cpu_us: v["cpu_us"].as_f64().expect("cpu_us"),
    }
}

/// The CPU time of this process so far, in µs (`/proc/self/stat`'s utime
/// and stime, in clock ticks of 10 ms).
fn cpu_us() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // Fields after the command name, which is in parentheses.
    let rest = stat.rsplit_once(')').map_or("", |(_, r)| r);
    let f: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| f.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
    // utime and stime are fields 14 and 15; `rest` starts at field 3.
    (ticks(11) + ticks(12)) * 10_000.0
}

/// `--client`: the Rust contender. Reads what the harness gives every
/// client from the environment, approves the warm-up IDs and then the
/// measured ones, and prints its rate and CPU time per call.
fn rust_client() {
    let env = |k: &str| std::env::var(k).unwrap_or_else(|_| panic!("{k} not set"));
    let ids: Vec<String> = std::fs::read_to_string(env("WA_BENCH_IDS"))
        .expect("ids")
        .lines()
        .map(str::to_owned)
        .collect();
    let warmup: usize = env("WA_BENCH_WARMUP").parse().expect("warmup");
    let in_flight: usize = env("WA_BENCH_IN_FLIGHT").parse().expect("in flight");
    let group = env("WA_BENCH_GROUP");
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let client = wa_groups::Client::builder()
        .access_token(env("WA_BENCH_TOKEN"))
        .base_url(env("WA_BENCH_BASE_URL"))
        .build()
        .expect("client");
    if std::env::var_os("WA_GROUPS_BENCH_VERBOSE").is_some() {
        // What a binding moves into its runtime's task for each call.
        let call = client.approve_join_requests(&group, [&ids[0]]);
        eprintln!(
            "an approve call's future: {} bytes",
            std::mem::size_of_val(&call)
        );
    }
    let (warm, measured) = ids.split_at(warmup);
    rt.block_on(approve_all(&client, &group, warm, in_flight));
    let cpu = cpu_us();
    let started = Instant::now();
    rt.block_on(approve_all(&client, &group, measured, in_flight));
    let secs = started.elapsed().as_secs_f64();
    let cpu = cpu_us() - cpu;
    println!(
        "{{\"rate\": {}, \"cpu_us\": {}}}",
        measured.len() as f64 / secs,
        cpu / measured.len() as f64
    );
}

/// Approves `ids` one a call, `in_flight` calls at a time.
async fn approve_all(client: &wa_groups::Client, group: &str, ids: &[String], in_flight: usize) {
    let next = Arc::new(AtomicUsize::new(0));
    let lane = || {
        let next = Arc::clone(&next);
        async move {
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(id) = ids.get(i) else { break };
                let out = client
                    .approve_join_requests(group, [id])
                    .await
                    .expect("approve");
                assert_eq!(out.approved.len(), 1, "{id} not approved");
            }
        }
    };
    futures_util::future::join_all((0..in_flight).map(|_| lane())).await;
}
