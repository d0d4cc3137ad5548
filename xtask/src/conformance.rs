//! Conformance to Meta's OpenAPI spec (docs/conformance.md), against the
//! extract in `testdata/spec/join-requests.openapi.yaml`.
//!
//! - [`conformance`] (`cargo xtask conformance`), in full:
//!   1. requests: Prism (`conformance/package-lock.json`, `npm ci`) as a
//!      validating mock; a request that breaks the spec is sent first and
//!      must be flagged (so Prism is known to validate); then every request
//!      the client can build, from Rust (`crates/transport/examples/
//!      conformance.rs`, every body encoding), Python
//!      (`conformance/drive_python.py`, the package in `target/python-venv`)
//!      and Node (`conformance/drive_node.mjs`, the addon in
//!      `bindings/node`): every call must succeed and Prism's log must hold
//!      no violation;
//!   2. responses of the client's side: Prism `-d` (random schema-valid
//!      responses), [`DYNAMIC_CALLS`] of them parsed by the Rust driver;
//!   3. responses of the emulator: schemathesis
//!      (`conformance/requirements.txt`, in `target/conformance-venv`)
//!      against `wa-groups emulator` seeded with `conformance/seed.json`.
//! - [`quick`] (end of `cargo xtask test`): step 1 and a short step 2,
//!   with the Python and Node packages `cargo xtask test` has just built.
//!
//! Logs and reports go to `target/conformance/`. Every step fails the task
//! on any violation.

use std::fs::File;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::{node, python, root, target_dir};

const SPEC: &str = "testdata/spec/join-requests.openapi.yaml";
const NPM_DIR: &str = "conformance";
/// The token the emulator is started with; `conformance/schemathesis.toml` sends it.
const TOKEN: &str = "EAAConformance0123456789abcdefZZ";
/// Random responses parsed by the full run.
const DYNAMIC_CALLS: u32 = 4000;
/// Random responses parsed by the quick run.
const QUICK_DYNAMIC_CALLS: u32 = 400;
/// schemathesis test cases per operation and phase.
const SCHEMATHESIS_EXAMPLES: &str = "200";
/// A fixed seed, so that a failure reproduces (`st run --seed`).
const SCHEMATHESIS_SEED: &str = "20251021";
/// Checks left out, each for a reason given in docs/conformance.md: they
/// judge which inputs the server accepts, not whether its responses
/// conform.
const SCHEMATHESIS_EXCLUDED: &str =
    "positive_data_acceptance,negative_data_rejection,use_after_free,unsupported_method";

fn out_dir() -> Result<PathBuf, String> {
    let dir = target_dir().join("conformance");
    std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    Ok(dir)
}

/// Runs `program args` in `dir` with `envs`, echoing its output, and
/// returns its standard output; fails on a non-zero exit.
fn capture(
    program: &Path,
    args: &[&str],
    dir: &Path,
    envs: &[(&str, &std::ffi::OsStr)],
) -> Result<String, String> {
    let shown = format!("{} {}", program.display(), args.join(" "));
    eprintln!("\n==> {shown}");
    let started = Instant::now();
    let mut cmd = Command::new(program);
    cmd.args(args).current_dir(dir).stderr(Stdio::inherit());
    for (k, v) in envs {
        cmd.env(k, v);
    }
    let output = cmd
        .output()
        .map_err(|e| format!("could not start `{shown}`: {e}"))?;
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    eprint!("{stdout}");
    eprintln!(
        "<== {shown}: {} in {:.1}s",
        output.status,
        started.elapsed().as_secs_f64()
    );
    if output.status.success() {
        Ok(stdout)
    } else {
        Err(format!("`{shown}` failed ({})", output.status))
    }
}

/// A server this task started; stopped when dropped.
struct Server {
    name: &'static str,
    child: Child,
    port: u16,
}

impl Server {
    /// Starts `program args` (`{port}` in an argument becomes a free port),
    /// its output going to `log`, and waits until the port accepts
    /// connections.
    fn start(
        name: &'static str,
        program: &Path,
        args: &[&str],
        log: &Path,
    ) -> Result<Self, String> {
        let port = free_port()?;
        let args: Vec<String> = args
            .iter()
            .map(|a| a.replace("{port}", &port.to_string()))
            .collect();
        let out = File::create(log).map_err(|e| format!("{}: {e}", log.display()))?;
        let err = out.try_clone().map_err(|e| e.to_string())?;
        eprintln!(
            "\n==> {} {} (log: {})",
            program.display(),
            args.join(" "),
            log.display()
        );
        let child = Command::new(program)
            .args(&args)
            .current_dir(root())
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .spawn()
            .map_err(|e| format!("could not start {name} ({}): {e}", program.display()))?;
        let mut server = Self { name, child, port };
        let deadline = Instant::now() + Duration::from_secs(90);
        loop {
            if TcpStream::connect(("127.0.0.1", port)).is_ok() {
                return Ok(server);
            }
            if let Ok(Some(status)) = server.child.try_wait() {
                return Err(format!(
                    "{name} exited before listening ({status}); see {}",
                    log.display()
                ));
            }
            if Instant::now() > deadline {
                return Err(format!(
                    "{name} did not listen within 90 s; see {}",
                    log.display()
                ));
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        eprintln!("<== {} stopped", self.name);
    }
}

fn free_port() -> Result<u16, String> {
    TcpListener::bind(("127.0.0.1", 0))
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .map_err(|e| format!("no free port on 127.0.0.1: {e}"))
}

/// Prism, installed by `npm ci` in `conformance/` when the lock file
/// changed. Install scripts are skipped: Prism needs none.
fn ensure_prism() -> Result<PathBuf, String> {
    let dir = root().join(NPM_DIR);
    crate::node::ensure_npm_packages(&dir, true)?;
    Ok(dir.join("node_modules").join(".bin").join("prism"))
}

fn start_prism(prism: &Path, dynamic: bool, log: &Path) -> Result<Server, String> {
    let spec = root().join(SPEC);
    let spec = spec.to_string_lossy();
    let mut args = vec!["mock"];
    if dynamic {
        args.push("-d");
    }
    args.extend([&*spec, "-p", "{port}", "-h", "127.0.0.1"]);
    Server::start(
        if dynamic { "prism -d" } else { "prism" },
        prism,
        &args,
        log,
    )
}

/// Lines of Prism's log that report a violation, and requests it received.
fn prism_counts(log: &Path) -> Result<(usize, usize), String> {
    // Prism writes its log as it goes; give the last lines a moment.
    std::thread::sleep(Duration::from_millis(500));
    let text = std::fs::read_to_string(log).map_err(|e| format!("{}: {e}", log.display()))?;
    let violations = text.lines().filter(|l| l.contains("Violation:")).count();
    let received = text
        .lines()
        .filter(|l| l.contains("Request received"))
        .count();
    Ok((violations, received))
}

/// Sends one request that breaks the spec (a User-Agent off its pattern)
/// and checks that Prism flags it: proof that the mock validates.
fn canary(port: u16) -> Result<(), String> {
    let mut s = TcpStream::connect(("127.0.0.1", port)).map_err(|e| e.to_string())?;
    s.set_read_timeout(Some(Duration::from_secs(30)))
        .map_err(|e| e.to_string())?;
    write!(
        s,
        "GET /v23.0/canary/join_requests HTTP/1.1\r\nHost: 127.0.0.1\r\n\
         Authorization: Bearer {TOKEN}\r\nUser-Agent: not a valid agent\r\n\
         Connection: close\r\n\r\n"
    )
    .map_err(|e| e.to_string())?;
    let mut response = String::new();
    s.read_to_string(&mut response).map_err(|e| e.to_string())?;
    let status_line = response.lines().next().unwrap_or_default();
    if status_line.contains(" 2") || !response.to_ascii_lowercase().contains("sl-violations") {
        return Err(format!(
            "Prism did not flag a request that breaks the spec (answered {status_line:?}): \
             it is not validating requests"
        ));
    }
    Ok(())
}

/// Step 1: every request of the three clients through the validating mock.
/// Returns a line of figures.
fn requests(prism: &Path, python: &Path) -> Result<String, String> {
    let log = out_dir()?.join("prism-static.log");
    let server = start_prism(prism, false, &log)?;
    canary(server.port)?;
    let (canary_violations, before) = prism_counts(&log)?;
    if canary_violations == 0 {
        return Err(format!(
            "Prism's log ({}) shows no violation for the canary request",
            log.display()
        ));
    }
    let url = server.url();
    let mut lines = capture(
        Path::new("cargo"),
        &[
            "run",
            "-q",
            "--locked",
            "-p",
            "wa-groups",
            "--example",
            "conformance",
            "--",
            "static",
            &url,
        ],
        &root(),
        &[],
    )?;
    lines += &capture(python, &["conformance/drive_python.py", &url], &root(), &[])?;
    lines += &capture(
        Path::new("node"),
        &["conformance/drive_node.mjs", &url],
        &root(),
        &[],
    )?;
    let (violations, received) = prism_counts(&log)?;
    drop(server);
    let violations = violations - canary_violations;
    let received = received - before;
    if violations > 0 {
        return Err(format!(
            "Prism flagged {violations} violation(s) of the spec in our requests; see `Violation:` in {}",
            log.display()
        ));
    }
    Ok(format!(
        "requests: {received} requests from Rust, Python and Node through Prism, 0 violations \
         (the canary was flagged)\n{}",
        lines.trim_end()
    ))
}

/// Step 2: random schema-valid responses through the Rust parser.
fn dynamic(prism: &Path, calls: u32) -> Result<String, String> {
    let log = out_dir()?.join("prism-dynamic.log");
    let server = start_prism(prism, true, &log)?;
    let calls = calls.to_string();
    let url = server.url();
    let line = capture(
        Path::new("cargo"),
        &[
            "run",
            "-q",
            "--locked",
            "-p",
            "wa-groups",
            "--example",
            "conformance",
            "--",
            "dynamic",
            &url,
            &calls,
        ],
        &root(),
        &[],
    )?;
    Ok(line.trim_end().to_owned())
}

/// Step 3: schemathesis against the emulator.
fn schemathesis() -> Result<String, String> {
    let venv = target_dir().join("conformance-venv");
    python::ensure_venv(&venv, &["conformance/requirements.txt"])?;
    let python = python::venv_python(&venv);
    let st = python.with_file_name(if cfg!(windows) { "st.exe" } else { "st" });
    capture(
        Path::new("cargo"),
        &[
            "build",
            "-q",
            "--locked",
            "-p",
            "wa-groups-cli",
            "--bin",
            "wa-groups",
        ],
        &root(),
        &[],
    )?;
    let out = out_dir()?;
    let seed = root().join(NPM_DIR).join("seed.json");
    let seed = seed.to_string_lossy();
    let emulator = Server::start(
        "wa-groups emulator",
        &target_dir().join("debug").join("wa-groups"),
        &[
            "emulator",
            "--port",
            "{port}",
            "--seed",
            &seed,
            "--access-token",
            TOKEN,
        ],
        &out.join("emulator.log"),
    )?;
    let config = root().join(NPM_DIR).join("schemathesis.toml");
    let config = config.to_string_lossy();
    let spec = root().join(SPEC);
    let spec = spec.to_string_lossy();
    let url = emulator.url();
    let report = out.join("schemathesis-junit.xml");
    let report = report.to_string_lossy();
    // Run in target/conformance: schemathesis keeps its caches in the
    // working directory.
    let text = capture(
        &st,
        &[
            "--config-file",
            &config,
            "run",
            &spec,
            "--url",
            &url,
            "--checks",
            "all",
            "--exclude-checks",
            SCHEMATHESIS_EXCLUDED,
            "--max-examples",
            SCHEMATHESIS_EXAMPLES,
            "--seed",
            SCHEMATHESIS_SEED,
            "--no-color",
            "--report",
            "junit",
            "--report-junit-path",
            &report,
        ],
        &out,
        &[],
    )?;
    drop(emulator);
    let cases = text
        .lines()
        .map(str::trim)
        .find(|l| l.contains(" generated, "))
        .unwrap_or("(no test case count printed)");
    Ok(format!(
        "schemathesis (checks all but {SCHEMATHESIS_EXCLUDED}) against the emulator: {cases}"
    ))
}

fn report(lines: &[String], started: Instant) -> Result<(), String> {
    let text = format!(
        "{}\nconformance: passed in {:.0}s\n",
        lines.join("\n"),
        started.elapsed().as_secs_f64()
    );
    let path = out_dir()?.join("summary.txt");
    std::fs::write(&path, &text).map_err(|e| format!("{}: {e}", path.display()))?;
    eprintln!("\n{text}(also in {})", path.display());
    Ok(())
}

/// `cargo xtask conformance`.
pub(crate) fn conformance() -> Result<(), String> {
    let started = Instant::now();
    let prism = ensure_prism()?;
    let python = python::develop()?;
    node::build_debug()?;
    let lines = vec![
        requests(&prism, &python)?,
        dynamic(&prism, DYNAMIC_CALLS)?,
        schemathesis()?,
    ];
    report(&lines, started)
}

/// The part of the conformance run that `cargo xtask test` ends with:
/// every request through the validating mock, and a few hundred random
/// responses, with the packages the test run has just built.
pub(crate) fn quick() -> Result<(), String> {
    let started = Instant::now();
    let prism = ensure_prism()?;
    let python = python::venv_python(&python::test_venv());
    let lines = vec![
        requests(&prism, &python)?,
        dynamic(&prism, QUICK_DYNAMIC_CALLS)?,
    ];
    report(&lines, started)
}
