//! Three `wa-groups moderate serve` replicas (the real binary) on one
//! PostgreSQL database (a scratch schema on the server of
//! `WA_GROUPS_TEST_POSTGRES`; skipped when unset), the real emulator on
//! 127.0.0.1, deliveries spread round-robin by the test. One replica is
//! killed with SIGKILL while it holds leases on calls in flight: every
//! request still ends in its policy state, each applied exactly once per
//! the emulator, none left with the dead replica's lease, and the dead
//! replica's records are taken over long before its leases would run out
//! (the lease timeout is 10 minutes: the survivors see that the dead
//! replica's owner lock is gone); `status`,
//! `decide` and `log` work against the shared database.

#[path = "../../moderation/tests/support/pg.rs"]
mod pg;

use std::io::{Read as _, Write as _};
use std::net::TcpStream;
use std::process::{Child, Command, Output};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::Value;
use wa_groups::protocol::webhook::{
    self, GroupEvent, GroupEventKind, JoinRequestEvent, WebhookPayload,
};
use wa_groups_emulator::{Fault, FaultMatch, GroupOptions, Requester};

use pg::PgScratch;

mod support;

use support::{Emu, emulator};

const APP_SECRET: &str = "replicas-app-secret-0f1e2d";
const VERIFY_TOKEN: &str = "replicas-verify-token-3c4b";

fn command(emu: &Emu, args: &[&str]) -> Command {
    support::moderate(emu, APP_SECRET, VERIFY_TOKEN, args)
}

fn assert_no_secret(emu: &Emu, pg: &PgScratch, text: &str) {
    let password = format!("password={}", pg.name);
    for s in [emu.access_token(), APP_SECRET, VERIFY_TOKEN, &password] {
        assert!(!text.contains(s), "a secret leaked: {text}");
    }
}

fn run(emu: &Emu, pg: &PgScratch, args: &[&str]) -> Output {
    let out = command(emu, args).output().unwrap();
    let all = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert_no_secret(emu, pg, &all);
    assert!(out.status.success(), "{args:?}: {all}");
    out
}

/// A running replica, its output collected as it comes.
struct Replica {
    child: Child,
    addr: String,
    output: Arc<Mutex<String>>,
}

impl Replica {
    fn spawn(
        emu: &Emu,
        pg: &PgScratch,
        policy: &std::path::Path,
    ) -> (Child, Arc<Mutex<String>>, std::sync::mpsc::Receiver<String>) {
        let mut cmd = command(
            emu,
            &[
                "serve",
                "--policy",
                policy.to_str().unwrap(),
                "--store",
                &pg.url_with("pool_max_size=6"),
                "--listen",
                "127.0.0.1:0",
                "--batch-window",
                "20ms",
                "--lease-timeout",
                // Far beyond the test's patience: the dead replica's records
                // must come back because its owner lock went with it, not
                // because its leases ran out.
                "10m",
                // No reconcile pass after the first (which finds no group
                // yet): a listing must not decide the requests ahead of the
                // deliveries this test spreads over the replicas.
                "--reconcile-every",
                "1h",
            ],
        );
        cmd.env("RUST_LOG", "info");
        support::spawn_serve(cmd)
    }

    fn pid(&self) -> u32 {
        self.child.id()
    }

    fn kill9(mut self) {
        self.child.kill().unwrap(); // SIGKILL on Unix
        let _ = self.child.wait();
    }

    /// SIGTERM, then the exit code and everything it printed.
    fn terminate(mut self) -> (Option<i32>, String) {
        support::terminate(&mut self.child, &self.output)
    }
}

impl Drop for Replica {
    /// A failed assertion must not leave replicas running.
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// POSTs a signed delivery of one created event; returns the status code.
fn deliver(addr: &str, group: &str, jr: &str, wa_id: &str) -> u16 {
    let body = WebhookPayload::group_event(
        "102290129340398",
        "106540352242922",
        "15550783881",
        GroupEvent::new(
            1_700_000_000,
            group,
            GroupEventKind::JoinRequestCreated(JoinRequestEvent::new(jr).with_wa_id(wa_id)),
        ),
    )
    .encode();
    let sig = webhook::sign(APP_SECRET.as_bytes(), &body);
    let mut stream = TcpStream::connect(addr).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(60)))
        .unwrap();
    write!(
        stream,
        "POST /webhook HTTP/1.1\r\nhost: {addr}\r\ncontent-type: application/json\r\n\
         x-hub-signature-256: {sig}\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
        body.len()
    )
    .unwrap();
    stream.write_all(&body).unwrap();
    let mut response = String::new();
    let _ = stream.read_to_string(&mut response);
    response
        .split_whitespace()
        .nth(1)
        .and_then(|code| code.parse().ok())
        .unwrap_or_else(|| panic!("no HTTP answer: {response:?}"))
}

/// Polls `check` until it holds (a generous bound, not a speed check).
fn eventually(what: &str, mut check: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(90);
    while !check() {
        assert!(Instant::now() < deadline, "gave up waiting for {what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn count(pg: &PgScratch, sql: &str) -> u64 {
    pg.rows(sql)[0][0]
        .as_deref()
        .unwrap_or("0")
        .parse()
        .unwrap()
}

#[test]
fn three_replicas_one_killed_with_leases_every_request_applied_once() {
    let Some(pg) = PgScratch::create("replicas") else {
        return;
    };
    let emu = emulator();
    let dir = tempfile::tempdir().unwrap();
    let policy = dir.path().join("policy.toml");
    std::fs::write(
        &policy,
        "default = \"approve\"\n\n[[rules]]\nname = \"vip\"\naction = \"hold\"\nwa_id_prefix = [\"44\"]\n",
    )
    .unwrap();
    // 3 groups of 20; every tenth requester is held by the policy.
    let mut requests = Vec::new();
    for g in 0..3 {
        let group = emu
            .create_group(GroupOptions::default().participant_cap(100))
            .unwrap();
        let wa_ids: Vec<String> = (0..20)
            .map(|i| {
                let prefix = if i % 10 == 3 { "44" } else { "1555" };
                format!("{prefix}{g}{i:04}")
            })
            .collect();
        let ids = emu
            .add_join_requests_from(&group, wa_ids.iter().cloned().map(Requester::WaId))
            .unwrap();
        requests.extend(
            ids.into_iter()
                .zip(wa_ids)
                .map(|(id, wa)| (group.clone(), id, wa)),
        );
    }
    let held: Vec<&(String, String, String)> =
        requests.iter().filter(|r| r.2.starts_with("44")).collect();
    assert_eq!(held.len(), 6);
    // Approve calls take a while, so a replica holds leases on calls in flight.
    emu.inject_fault(
        Fault::Latency(Duration::from_millis(1000)),
        FaultMatch::any()
            .method(http::Method::POST)
            .path_contains("/join_requests")
            .times(1000),
    )
    .unwrap();

    // Three replicas start at once on the fresh schema (migrations race).
    let mut replicas = Vec::new();
    let mut started = Vec::new();
    for _ in 0..3 {
        let (child, output, rx) = Replica::spawn(&emu, &pg, &policy);
        replicas.push(Replica {
            child,
            addr: String::new(),
            output,
        });
        started.push(rx);
    }
    for (r, rx) in replicas.iter_mut().zip(started) {
        let url = rx
            .recv_timeout(Duration::from_secs(60))
            .unwrap_or_else(|_| panic!("a replica did not start: {}", r.output.lock().unwrap()));
        // `http://ADDR/webhook`: the deliveries go to ADDR.
        r.addr = url
            .trim_start_matches("http://")
            .split('/')
            .next()
            .unwrap_or_default()
            .to_owned();
    }

    // Round-robin over the three until replica 0 holds leases on decided
    // records (its applier is sending them), then SIGKILL it and go on
    // round-robin over the two survivors. Replica 0's own deliveries wake
    // its decider and applier at once, so it soon claims some.
    let victim_pid = replicas[0].pid();
    let victim_leases = format!(
        "SELECT count(*) FROM records WHERE lease_owner LIKE '%:{victim_pid}:%' AND lease_until > 0 \
         AND state IN ('approving', 'rejecting') AND attempts > 0"
    );
    let mut victim = None;
    let mut leased_by_victim = Vec::new();
    let mut killed_at = None;
    for (i, (group, jr, wa)) in requests.iter().enumerate() {
        if killed_at.is_none() {
            assert_eq!(deliver(&replicas[i % 3].addr, group, jr, wa), 200);
            if i % 3 == 0 || i + 1 == requests.len() / 2 {
                // Give this delivery's decision time to be claimed and sent.
                let deadline = Instant::now() + Duration::from_millis(800);
                while count(&pg, &victim_leases) == 0 && Instant::now() < deadline {
                    std::thread::sleep(Duration::from_millis(20));
                }
            }
            // What it holds as it dies, read in the same query that decides
            // the kill (an approve call takes 1 s, so a call seen here is
            // still in flight at the kill): after it, the survivors take
            // these at once.
            let held_now = pg.rows(&victim_leases.replace("count(*)", "join_request_id"));
            if !held_now.is_empty() {
                leased_by_victim = held_now;
                let v = replicas.remove(0);
                killed_at = Some(Instant::now());
                v.kill9();
                victim = Some(victim_pid);
            }
        } else {
            assert_eq!(deliver(&replicas[i % 2].addr, group, jr, wa), 200);
        }
    }
    assert!(
        victim.is_some(),
        "replica 0 never held a lease while the test delivered: {}",
        replicas[0].output.lock().unwrap()
    );
    let killed_at = killed_at.unwrap();
    let approved_sql = "SELECT count(*) FROM records WHERE state = 'approved'";
    eventually("every approvable request to be approved", || {
        count(&pg, approved_sql) == 54
    });
    let done_after_kill = killed_at.elapsed();
    assert_eq!(
        count(&pg, "SELECT count(*) FROM records WHERE state = 'held'"),
        6
    );
    // None stuck: no lease of the dead replica is left.
    assert_eq!(
        count(
            &pg,
            &format!(
                "SELECT count(*) FROM records WHERE lease_owner LIKE '%:{victim_pid}:%' \
                 AND lease_until > 0"
            )
        ),
        0
    );
    for row in &leased_by_victim {
        let jr = row[0].as_deref().unwrap();
        assert!(
            requests.iter().any(|r| r.1 == jr),
            "leased an unknown request {jr}"
        );
    }

    // A person approves the held ones, through the shared database.
    let store = pg.url_with("pool_max_size=2");
    for group in held
        .iter()
        .map(|h| h.0.clone())
        .collect::<std::collections::BTreeSet<_>>()
    {
        let mut args = vec!["decide", "--store", &store, "--group", &group, "--approve"];
        args.extend(held.iter().filter(|h| h.0 == group).map(|h| h.1.as_str()));
        run(&emu, &pg, &args);
    }
    eventually("the held requests to be approved", || {
        count(&pg, approved_sql) == 60
    });

    // Each applied exactly once, per the emulator.
    let stats = emu.stats();
    assert_eq!(stats.join_requests_approved, 60, "{stats:?}");
    for (group, _, _) in &requests {
        assert!(emu.pending_join_requests(group).unwrap().is_empty());
    }
    // `status` and `log` read the shared database.
    let out = run(&emu, &pg, &["status", "--json", "--store", &store]);
    let status: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(status["total"]["approved"], 60, "{status}");
    assert_eq!(status["requests"].as_array().unwrap().len(), 60);
    let out = run(&emu, &pg, &["log", "--json", "--store", &store]);
    let log: Value = serde_json::from_slice(&out.stdout).unwrap();
    for (_, jr, _) in &requests {
        let trail: Vec<&str> = log
            .as_array()
            .unwrap()
            .iter()
            .filter(|row| row["join_request_id"] == jr.as_str())
            .map(|row| row["to"].as_str().unwrap())
            .collect();
        assert_eq!(trail.first(), Some(&"pending"), "{jr}: {trail:?}");
        assert_eq!(
            trail.iter().filter(|t| **t == "approved").count(),
            1,
            "{jr}: {trail:?}"
        );
        assert_eq!(trail.last(), Some(&"approved"), "{jr}: {trail:?}");
    }
    let manual = log
        .as_array()
        .unwrap()
        .iter()
        .filter(|row| row["rule"] == "manual" && row["to"] == "approving")
        .count();
    assert_eq!(manual, 6);

    for r in replicas {
        let (code, output) = r.terminate();
        assert_eq!(code, Some(0), "{output}");
        assert_no_secret(&emu, &pg, &output);
        assert!(output.contains("password=***"), "{output}");
    }
    eprintln!(
        "killed with {} leased calls in flight; all 54 approved {:.1} s after the kill (lease timeout 10 min)",
        leased_by_victim.len(),
        done_after_kill.as_secs_f64()
    );
}
