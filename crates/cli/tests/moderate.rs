//! `wa-groups moderate` as built: the real binary, a real emulator on
//! 127.0.0.1 delivering signed webhooks, a real SQLite file; killed with
//! SIGKILL and restarted where the test says so.

use std::path::Path;
use std::process::{Child, Command, Output};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::Value;
use wa_groups_emulator::GroupOptions;

mod support;

use support::{Emu, emulator};

const APP_SECRET: &str = "cli-app-secret-5f1e2d3c4b5a";
const VERIFY_TOKEN: &str = "cli-verify-token-9a8b7c6d";

fn command(emu: &Emu, args: &[&str]) -> Command {
    support::moderate(emu, APP_SECRET, VERIFY_TOKEN, args)
}

fn assert_no_secret(emu: &Emu, text: &str) {
    for s in [emu.access_token(), APP_SECRET, VERIFY_TOKEN] {
        assert!(!text.contains(s), "a secret leaked: {text}");
    }
}

fn run(emu: &Emu, args: &[&str]) -> Output {
    let out = command(emu, args).output().unwrap();
    let all = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert_no_secret(emu, &all);
    out
}

/// A running `moderate serve`, its output collected as it comes.
struct Serve {
    child: Child,
    url: String,
    output: Arc<Mutex<String>>,
}

impl Serve {
    fn start(emu: &Emu, dir: &Path, extra: &[&str], rust_log: &str) -> Self {
        Self::start_with(emu, dir, extra, rust_log, emu.base_url())
    }

    fn start_with(emu: &Emu, dir: &Path, extra: &[&str], rust_log: &str, base_url: &str) -> Self {
        let store = store_url(dir);
        let policy = dir.join("policy.toml");
        let mut args = vec![
            "serve",
            "--policy",
            policy.to_str().unwrap(),
            "--store",
            &store,
            "--listen",
            "127.0.0.1:0",
        ];
        args.extend_from_slice(extra);
        let mut cmd = command(emu, &args);
        cmd.env("RUST_LOG", rust_log)
            .env("WA_GROUPS_BASE_URL", base_url);
        let (child, output, rx) = support::spawn_serve(cmd);
        let url = rx
            .recv_timeout(Duration::from_secs(60))
            .unwrap_or_else(|_| panic!("serve did not start: {}", output.lock().unwrap()));
        Self { child, url, output }
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

fn store_url(dir: &Path) -> String {
    format!("sqlite:{}", dir.join("moderation.db").display())
}

fn status(emu: &Emu, dir: &Path) -> Value {
    let out = run(emu, &["status", "--json", "--store", &store_url(dir)]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

fn request<'a>(status: &'a Value, jr: &str) -> Option<&'a Value> {
    status["requests"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["join_request_id"] == jr)
}

/// Polls `check` until it holds (a generous bound, not a speed check).
fn eventually(what: &str, mut check: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while !check() {
        assert!(Instant::now() < deadline, "gave up waiting for {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn policy(dir: &Path, text: &str) {
    std::fs::write(dir.join("policy.toml"), text).unwrap();
}

#[test]
fn check_names_the_bad_key_and_file_and_serve_refuses_it() {
    let emu = emulator();
    let dir = tempfile::tempdir().unwrap();
    policy(
        dir.path(),
        "default = \"hold\"\n\n[[rules]]\nname = \"a\"\naction = \"approve\"\nwa_id_prefx = [\"7\"]\n",
    );
    let p = dir.path().join("policy.toml");
    let p = p.to_str().unwrap();
    for args in [
        vec!["check", "--policy", p],
        vec!["serve", "--policy", p, "--store", "sqlite::memory:"],
    ] {
        let out = run(&emu, &args);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            err.contains("wa_id_prefx") && err.contains("line 6") && err.contains(p),
            "{err}"
        );
    }
    // A requester list that does not exist: the error names it.
    policy(
        dir.path(),
        "[[rules]]\nname = \"a\"\naction = \"approve\"\nrequester_in = \"nope.txt\"\n",
    );
    let out = run(&emu, &["check", "--policy", p]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("nope.txt") && err.contains("rules[0].requester_in"),
        "{err}"
    );

    policy(
        dir.path(),
        "default = \"hold\"\n[[rules]]\nname = \"blocked\"\naction = \"reject\"\nwa_id_prefix = [\"7\"]\n",
    );
    let out = run(&emu, &["check", "--policy", p]);
    assert!(out.status.success());
    let explain = |json: &str| {
        let out = run(&emu, &["check", "--policy", p, "--explain", json]);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    };
    assert_eq!(
        explain(r#"{"group_id": "G", "join_request_id": "J", "wa_id": "79991234"}"#),
        "rule blocked: reject\n"
    );
    assert_eq!(
        explain(r#"{"group_id": "G", "join_request_id": "J", "user_id": "US.1", "username": "u"}"#),
        "rule default: hold\n"
    );
}

#[test]
fn status_json_has_every_state_with_zeros() {
    let emu = emulator();
    let dir = tempfile::tempdir().unwrap();
    let s = status(&emu, dir.path());
    for key in [
        "pending",
        "approving",
        "rejecting",
        "held",
        "approved",
        "rejected",
        "revoked",
        "gone",
        "failed",
    ] {
        assert_eq!(s["total"][key], 0, "{key}: {s}");
    }
    assert_eq!(s["groups"], serde_json::json!([]));
    assert_eq!(s["requests"], serde_json::json!([]));
}

/// Killed right after acknowledging deliveries, before applying them: the
/// restarted server applies every acknowledged request.
#[test]
fn kill_after_ack_then_restart_applies_everything() {
    let emu = emulator();
    let dir = tempfile::tempdir().unwrap();
    policy(dir.path(), "default = \"approve\"\n");
    let group = emu.create_group(GroupOptions::default()).unwrap();
    // A long batch window keeps the approvals from going out before the kill.
    let serve = Serve::start(&emu, dir.path(), &["--batch-window", "60s"], "info");
    emu.set_webhook(&serve.url, APP_SECRET).unwrap();
    let ids = emu.add_join_requests(&group, 3).unwrap();
    eventually("the delivery to be acknowledged", || {
        emu.stats().webhooks_delivered >= 1
    });
    serve.kill9();
    emu.clear_webhook();
    assert_eq!(emu.stats().join_requests_approved, 0);
    let s = status(&emu, dir.path());
    assert_eq!(s["requests"].as_array().unwrap().len(), 3, "{s}");

    let serve = Serve::start(&emu, dir.path(), &["--batch-window", "20ms"], "info");
    eventually("every acknowledged request to be approved", || {
        status(&emu, dir.path())["total"]["approved"] == 3
    });
    let (code, _) = serve.terminate();
    assert_eq!(code, Some(0));
    assert_eq!(emu.stats().join_requests_approved, 3);
    assert!(emu.pending_join_requests(&group).unwrap().is_empty());
    assert_eq!(ids.len(), 3);
}

/// Killed while an approve call is in flight (the API applied it, the
/// answer was lost on the way back): after restart the record is approved
/// with reason `confirmed_by_retry`, and the API approved it exactly once.
#[test]
fn kill_during_an_approve_call_is_confirmed_by_retry() {
    let emu = emulator();
    let dir = tempfile::tempdir().unwrap();
    policy(dir.path(), "default = \"approve\"\n");
    let group = emu.create_group(GroupOptions::default()).unwrap();
    // The API is reached through a link that loses every answer.
    let lossy = answer_losing_proxy(emu.handle.local_addr());
    let serve = Serve::start_with(
        &emu,
        dir.path(),
        &["--batch-window", "20ms"],
        "info",
        &lossy,
    );
    emu.set_webhook(&serve.url, APP_SECRET).unwrap();
    let ids = emu.add_join_requests(&group, 1).unwrap();
    eventually("the API to apply the approval", || {
        emu.stats().join_requests_approved == 1
    });
    // The call went out, its answer never came: the record says so.
    let r = request_of(&emu, dir.path(), &ids[0]).unwrap();
    assert_eq!(
        (&r["state"], &r["attempts"]),
        (&Value::from("approving"), &Value::from(1)),
        "{r}"
    );
    serve.kill9();
    emu.clear_webhook();
    let serve = Serve::start(&emu, dir.path(), &["--batch-window", "20ms"], "info");
    eventually("the record to be approved", || {
        request_of(&emu, dir.path(), &ids[0]).is_some_and(|r| r["state"] == "approved")
    });
    let (code, _) = serve.terminate();
    assert_eq!(code, Some(0));
    let r = request_of(&emu, dir.path(), &ids[0]).unwrap();
    assert_eq!(r["reason"], "confirmed_by_retry", "{r}");
    assert_eq!(r["attempts"], 2);
    assert_eq!(emu.stats().join_requests_approved, 1);
}

/// A TCP proxy to `upstream` that forwards requests and swallows every
/// answer, keeping the connection open: a request the server handles
/// whose response is lost on the way back.
fn answer_losing_proxy(upstream: std::net::SocketAddr) -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        for down in listener.incoming() {
            let Ok(down) = down else { break };
            let Ok(up) = std::net::TcpStream::connect(upstream) else {
                continue;
            };
            let (mut down_r, mut up_w) = (down.try_clone().unwrap(), up.try_clone().unwrap());
            std::thread::spawn(move || {
                let _ = std::io::copy(&mut down_r, &mut up_w);
            });
            let mut up_r = up;
            std::thread::spawn(move || {
                let _keep_open = down;
                let _ = std::io::copy(&mut up_r, &mut std::io::sink());
            });
        }
    });
    format!("http://{addr}")
}

fn request_of(emu: &Emu, dir: &Path, jr: &str) -> Option<Value> {
    request(&status(emu, dir), jr).cloned()
}

/// A held request, approved by a person with `decide`, is applied by the
/// running server with rule `manual`; no secret appears at trace level.
#[test]
fn decide_applies_a_held_request_and_no_secret_is_logged() {
    let emu = emulator();
    let dir = tempfile::tempdir().unwrap();
    policy(dir.path(), "default = \"hold\"\n");
    let group = emu.create_group(GroupOptions::default()).unwrap();
    let serve = Serve::start(&emu, dir.path(), &["--batch-window", "20ms"], "trace");
    // The handshake carries the verify token in its query.
    emu.set_webhook(&serve.url, APP_SECRET).unwrap();
    let handshake = format!(
        "{}?hub.mode=subscribe&hub.verify_token={VERIFY_TOKEN}&hub.challenge=42",
        serve.url
    );
    let challenge = raw_get(&handshake);
    assert!(challenge.starts_with("HTTP/1.1 200"), "{challenge}");
    assert!(challenge.ends_with("\r\n\r\n42"), "{challenge}");
    let ids = emu.add_join_requests(&group, 2).unwrap();
    eventually("both to be held", || {
        status(&emu, dir.path())["total"]["held"] == 2
    });
    let out = run(
        &emu,
        &[
            "decide",
            "--group",
            &group,
            "--approve",
            &ids[0],
            "--store",
            &store_url(dir.path()),
        ],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    eventually("the manual approval to be applied", || {
        request_of(&emu, dir.path(), &ids[0]).is_some_and(|r| r["state"] == "approved")
    });
    let r = request_of(&emu, dir.path(), &ids[0]).unwrap();
    assert_eq!(r["rule"], "manual");
    // Deciding a record that is no longer held is refused, by ID.
    let out = run(
        &emu,
        &[
            "decide",
            "--group",
            &group,
            "--reject",
            &ids[0],
            "--store",
            &store_url(dir.path()),
        ],
    );
    assert_eq!(out.status.code(), Some(1));
    let log = run(
        &emu,
        &[
            "log",
            "--json",
            "--group",
            &group,
            "--store",
            &store_url(dir.path()),
        ],
    );
    let log: Value = serde_json::from_slice(&log.stdout).unwrap();
    assert!(
        log.as_array()
            .unwrap()
            .iter()
            .any(|a| a["to"] == "approving" && a["rule"] == "manual")
    );
    let (code, output) = serve.terminate();
    assert_eq!(code, Some(0), "{output}");
    assert!(
        output.contains("TRACE") || output.contains("DEBUG"),
        "no trace output: {output}"
    );
    assert_no_secret(&emu, &output);
    assert_eq!(emu.stats().join_requests_approved, 1);
}

#[test]
fn dry_run_sends_nothing() {
    let emu = emulator();
    let dir = tempfile::tempdir().unwrap();
    policy(dir.path(), "default = \"approve\"\n");
    let group = emu.create_group(GroupOptions::default()).unwrap();
    let serve = Serve::start(
        &emu,
        dir.path(),
        &["--dry-run", "--batch-window", "20ms"],
        "info",
    );
    emu.set_webhook(&serve.url, APP_SECRET).unwrap();
    emu.add_join_requests(&group, 2).unwrap();
    eventually("both to be decided", || {
        status(&emu, dir.path())["total"]["approving"] == 2
    });
    let (code, out) = serve.terminate();
    assert_eq!(code, Some(0), "{out}");
    let stats = emu.stats();
    assert_eq!((stats.endpoints.approve, stats.endpoints.reject), (0, 0));
    assert_eq!(emu.pending_join_requests(&group).unwrap().len(), 2);
}

/// A plain `GET` over a TCP socket; returns the whole response.
fn raw_get(url: &str) -> String {
    use std::io::{Read as _, Write as _};
    let rest = url.strip_prefix("http://").unwrap();
    let (host, path) = rest.split_at(rest.find('/').unwrap());
    let mut s = std::net::TcpStream::connect(host).unwrap();
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).unwrap();
    out
}
