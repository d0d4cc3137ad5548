//! `cargo xtask`: the project's automation, in Rust so it runs wherever
//! cargo does. Standard library only, to build in seconds.
//!
//! - `cargo xtask test`: formatting, clippy, and every test suite.
//! - `cargo xtask bench`: the benchmarks, as ratios against baselines
//!   measured in the same run.

use std::env;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};
use std::time::Instant;

fn main() -> ExitCode {
    let args: Vec<String> = env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("test") => test(),
        Some("bench") => bench(),
        Some("help" | "--help" | "-h") | None => {
            eprintln!("{USAGE}");
            Ok(())
        }
        Some(other) => Err(format!("unknown task {other:?}\n{USAGE}")),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("xtask: {e}");
            ExitCode::FAILURE
        }
    }
}

const USAGE: &str = "usage: cargo xtask <task>
  test    cargo fmt --check, clippy -D warnings, and every test suite
  bench   benchmarks, reported as ratios against same-run baselines";

fn root() -> PathBuf {
    // xtask lives one level below the workspace root.
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map_or_else(|| PathBuf::from("."), Path::to_path_buf)
}

/// Runs `program args` in the workspace root, failing on a non-zero exit.
fn run(program: &str, args: &[&str]) -> Result<(), String> {
    let shown = format!("{program} {}", args.join(" "));
    eprintln!("\n==> {shown}");
    let started = Instant::now();
    let status = Command::new(program)
        .args(args)
        .current_dir(root())
        .status()
        .map_err(|e| format!("could not start `{shown}`: {e}"))?;
    eprintln!("<== {shown}: {status} in {:.1}s", started.elapsed().as_secs_f64());
    if status.success() {
        Ok(())
    } else {
        Err(format!("`{shown}` failed ({status})"))
    }
}

fn has_nextest() -> bool {
    Command::new("cargo")
        .args(["nextest", "--version"])
        .output()
        .is_ok_and(|o| o.status.success())
}

fn test() -> Result<(), String> {
    let started = Instant::now();
    run("cargo", &["fmt", "--all", "--check"])?;
    run(
        "cargo",
        &["clippy", "--workspace", "--all-targets", "--locked", "--", "-D", "warnings"],
    )?;
    if has_nextest() {
        run(
            "cargo",
            &["nextest", "run", "--workspace", "--locked", "--no-fail-fast"],
        )?;
    } else {
        run("cargo", &["test", "--workspace", "--locked", "--no-fail-fast"])?;
    }
    // nextest does not run doc tests; they hold the README's examples.
    run("cargo", &["test", "--workspace", "--locked", "--doc"])?;
    eprintln!(
        "\nxtask test: all suites passed in {:.0}s",
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

fn bench() -> Result<(), String> {
    run("cargo", &["bench", "-p", "wa-groups-protocol", "--bench", "wire"])
}
