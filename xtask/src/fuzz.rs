//! `cargo xtask fuzz [TARGET...] [--runs N] [--max-len N]`: runs the
//! cargo-fuzz targets of `fuzz/` one after the other, each for a fixed
//! number of executions, and reports executions, exec/s and crashes.
//!
//! - Needs the nightly toolchain (`cargo +nightly`); installs cargo-fuzz
//!   from crates.io (`cargo install cargo-fuzz --locked`) only when
//!   `cargo +nightly fuzz` is missing.
//! - Builds with `--sanitizer none --debug-assertions` into
//!   `target/fuzz/build`: the protocol crate denies `unsafe`, so
//!   AddressSanitizer would find nothing and cost half the speed; debug
//!   assertions turn on overflow checks.
//! - Each target starts from its committed seed corpus
//!   (`fuzz/corpus/<target>`), copied to `target/fuzz/corpus/<target>`, so
//!   what libFuzzer adds never grows the committed one. Crash inputs land
//!   in `target/fuzz/artifacts/<target>/`.
//! - One libFuzzer process per target, no `-jobs`/`-fork` (the machine is
//!   shared); fails when any target crashed.

use std::fs;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

use crate::root;

/// Every target with its `-max_len`: room for the largest valid input
/// (a 4096-byte cursor, a 1024-byte join request ID, a multi-entry webhook)
/// without letting libFuzzer spend its time on megabyte bodies.
const TARGETS: &[(&str, usize)] = &[
    ("list_response", 8192),
    ("decide_response", 4096),
    ("group_info_response", 4096),
    ("error_envelope", 4096),
    ("webhook_parse", 8192),
    ("webhook_signature", 2048),
    ("server_request", 8192),
];

const DEFAULT_RUNS: u64 = 10_000_000;

const USAGE: &str = "usage: cargo xtask fuzz [TARGET...] [--runs N] [--max-len N]
  TARGET     one of the fuzz/fuzz_targets (default: all, one after the other)
  --runs N   executions per target (default 10000000)
  --max-len N  override each target's -max_len";

struct Options {
    targets: Vec<(&'static str, usize)>,
    runs: u64,
}

fn parse_args(args: &[String]) -> Result<Options, String> {
    let mut targets = Vec::new();
    let mut runs = DEFAULT_RUNS;
    let mut max_len = None;
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        let mut value = |name: &str| {
            it.next()
                .and_then(|v| v.replace('_', "").parse::<u64>().ok())
                .filter(|&v| v > 0)
                .ok_or_else(|| format!("{name} needs a positive number\n{USAGE}"))
        };
        match arg.as_str() {
            "--runs" => runs = value("--runs")?,
            "--max-len" => {
                max_len = Some(usize::try_from(value("--max-len")?).map_err(|e| e.to_string())?);
            }
            "-h" | "--help" => return Err(USAGE.to_owned()),
            name => {
                let target = TARGETS
                    .iter()
                    .find(|(t, _)| *t == name)
                    .ok_or_else(|| format!("unknown fuzz target {name:?}\n{USAGE}"))?;
                targets.push(*target);
            }
        }
    }
    if targets.is_empty() {
        targets = TARGETS.to_vec();
    }
    if let Some(len) = max_len {
        for t in &mut targets {
            t.1 = len;
        }
    }
    Ok(Options { targets, runs })
}

/// What one target's run gave.
struct Outcome {
    target: &'static str,
    executions: Option<u64>,
    exec_per_sec: Option<u64>,
    seconds: f64,
    crashes: usize,
}

/// `cargo xtask fuzz`.
pub(crate) fn fuzz(args: &[String]) -> Result<(), String> {
    let options = parse_args(args)?;
    ensure_cargo_fuzz()?;
    let root = root();
    let scratch = root.join("target").join("fuzz");
    let mut outcomes = Vec::new();
    for &(target, max_len) in &options.targets {
        outcomes.push(run_target(&root, &scratch, target, max_len, options.runs)?);
    }

    eprintln!(
        "\n{:<22} {:>14} {:>10} {:>9} {:>8}",
        "target", "executions", "exec/s", "seconds", "crashes"
    );
    let show = |n: Option<u64>| n.map_or_else(|| "?".to_owned(), |n| n.to_string());
    for o in &outcomes {
        eprintln!(
            "{:<22} {:>14} {:>10} {:>9.0} {:>8}",
            o.target,
            show(o.executions),
            show(o.exec_per_sec),
            o.seconds,
            o.crashes
        );
    }
    let crashed: Vec<&str> = outcomes
        .iter()
        .filter(|o| o.crashes > 0)
        .map(|o| o.target)
        .collect();
    if crashed.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "fuzz targets crashed: {} (inputs in {})",
            crashed.join(", "),
            scratch.join("artifacts").display()
        ))
    }
}

/// `cargo +nightly fuzz`, installed from crates.io when missing.
fn ensure_cargo_fuzz() -> Result<(), String> {
    let works = |args: &[&str]| {
        Command::new("cargo")
            .args(args)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    };
    if !works(&["+nightly", "--version"]) {
        return Err(
            "cargo xtask fuzz needs the nightly toolchain: rustup toolchain install nightly"
                .to_owned(),
        );
    }
    if !works(&["+nightly", "fuzz", "--version"]) {
        crate::run("cargo", &["install", "cargo-fuzz", "--locked"])?;
    }
    Ok(())
}

/// Makes `dir` an empty directory.
fn fresh_dir(dir: &Path) -> Result<(), String> {
    let err = |e: std::io::Error| format!("{}: {e}", dir.display());
    if dir.exists() {
        fs::remove_dir_all(dir).map_err(err)?;
    }
    fs::create_dir_all(dir).map_err(err)
}

/// Replaces `dir` with a copy of the files of `from` (none if it is absent).
fn fresh_copy(from: &Path, dir: &Path) -> Result<(), String> {
    let err = |e: std::io::Error| format!("{}: {e}", dir.display());
    fresh_dir(dir)?;
    let Ok(entries) = fs::read_dir(from) else {
        return Ok(());
    };
    for entry in entries {
        let entry = entry.map_err(err)?;
        if entry.path().is_file() {
            fs::copy(entry.path(), dir.join(entry.file_name())).map_err(err)?;
        }
    }
    Ok(())
}

/// Crash, timeout, out-of-memory and leak inputs libFuzzer wrote in `dir`.
fn count_crashes(dir: &Path) -> usize {
    fs::read_dir(dir).map_or(0, |entries| {
        entries
            .filter_map(Result::ok)
            .filter(|e| {
                let name = e.file_name();
                let name = name.to_string_lossy();
                ["crash-", "timeout-", "oom-", "leak-"]
                    .iter()
                    .any(|p| name.starts_with(p))
            })
            .count()
    })
}

/// The number after `key` on libFuzzer's final stats line `key: N`.
fn stat(lines: &[String], key: &str) -> Option<u64> {
    lines
        .iter()
        .rev()
        .find_map(|l| l.strip_prefix(key)?.trim().parse().ok())
}

fn run_target(
    root: &Path,
    scratch: &Path,
    target: &'static str,
    max_len: usize,
    runs: u64,
) -> Result<Outcome, String> {
    let corpus = scratch.join("corpus").join(target);
    let artifacts = scratch.join("artifacts").join(target);
    fresh_copy(&root.join("fuzz").join("corpus").join(target), &corpus)?;
    fresh_dir(&artifacts)?;
    let build_dir: PathBuf = scratch.join("build");
    let path = |p: &Path| p.to_string_lossy().into_owned();
    let args = [
        "+nightly".to_owned(),
        "fuzz".to_owned(),
        "run".to_owned(),
        "--sanitizer".to_owned(),
        "none".to_owned(),
        "--debug-assertions".to_owned(),
        "--fuzz-dir".to_owned(),
        path(&root.join("fuzz")),
        "--target-dir".to_owned(),
        path(&build_dir),
        target.to_owned(),
        path(&corpus),
        "--".to_owned(),
        format!("-runs={runs}"),
        format!("-max_len={max_len}"),
        format!("-artifact_prefix={}/", path(&artifacts)),
        "-print_final_stats=1".to_owned(),
        "-timeout=10".to_owned(),
        "-rss_limit_mb=2048".to_owned(),
    ];
    let shown = format!("cargo {}", args.join(" "));
    eprintln!("\n==> {shown}");
    let started = Instant::now();
    let mut child = Command::new("cargo")
        .args(&args)
        .current_dir(root)
        .stdout(Stdio::inherit())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("could not start `{shown}`: {e}"))?;
    // Pass libFuzzer's output through, less its one-line-per-new-input chatter.
    let mut lines = Vec::new();
    if let Some(stderr) = child.stderr.take() {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if !(line.contains("\tNEW ") || line.contains("\tREDUCE ")) {
                eprintln!("{line}");
            }
            lines.push(line);
            if lines.len() > 400 {
                lines.drain(..200);
            }
        }
    }
    let status = child.wait().map_err(|e| e.to_string())?;
    let seconds = started.elapsed().as_secs_f64();
    let mut crashes = count_crashes(&artifacts);
    if !status.success() && crashes == 0 {
        if stat(&lines, "stat::number_of_executed_units:").is_none() {
            // Never got to fuzzing: a build failure, not a finding.
            return Err(format!("`{shown}` failed ({status})"));
        }
        crashes = 1;
    }
    Ok(Outcome {
        target,
        executions: stat(&lines, "stat::number_of_executed_units:"),
        exec_per_sec: stat(&lines, "stat::average_exec_per_sec:"),
        seconds,
        crashes,
    })
}
