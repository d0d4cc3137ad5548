//! The Node package (`bindings/node`, npm `wa-groups`): its test suite, its
//! benchmarks and its tarballs.
//!
//! - [`test`]: `npm ci` (only when `node_modules` is missing or
//!   `package-lock.json` changed since), the addon built once (debug) by
//!   `napi build --platform` into the workspace's target dir, a check that
//!   the committed generated files (`index.js`, `index.d.ts`) were fresh,
//!   `tsc -p types` over a typed usage file, then `node --test`.
//! - [`bench`]: the release addon, then `bench/approve.mjs` (this client vs
//!   `fetch` and `undici.request` against the in-process emulator), whose
//!   numbers it returns as rows; [`bench_addon`] builds the same addon for
//!   `bench/bindings.mjs`, a client of `cargo xtask bench bindings`.
//! - [`dist`]: the release addon, stripped, in `npm pack` tarballs in
//!   `dist/`: `wa-groups` (with the linux-x64-gnu binary beside its loader)
//!   and `wa-groups-linux-x64-gnu` (napi-rs's per-platform package).
//!
//! Never uses napi's cross-compile options: they download toolchains.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use crate::{Row, glibc, results_dir, root, target_dir};

const PACKAGE: &str = "bindings/node";

/// The files `napi build` generates and the repository keeps.
const GENERATED: [&str; 2] = ["index.js", "index.d.ts"];

/// The addon `napi build --platform` writes for this machine.
const ADDON: &str = "wa-groups.linux-x64-gnu.node";

/// The size the release addon should stay under.
const ADDON_TARGET_BYTES: u64 = 8 * 1024 * 1024;

fn package_dir() -> PathBuf {
    root().join(PACKAGE)
}

/// Runs `program args` in `dir`, failing on a non-zero exit.
pub(crate) fn run_in(dir: &Path, program: &str, args: &[&str]) -> Result<(), String> {
    run_in_env(dir, program, args, &[])
}

/// [`run_in`] with extra environment variables.
fn run_in_env(
    dir: &Path,
    program: &str,
    args: &[&str],
    envs: &[(String, String)],
) -> Result<(), String> {
    let shown = format!("{program} {}", args.join(" "));
    eprintln!("\n==> {shown}   (in {})", dir.display());
    let started = Instant::now();
    let status = Command::new(program)
        .args(args)
        .current_dir(dir)
        .env("npm_config_audit", "false")
        .env("npm_config_fund", "false")
        .env("npm_config_update_notifier", "false")
        .env("SCARF_ANALYTICS", "false")
        .envs(envs.iter().map(|(k, v)| (k, v)))
        .status()
        .map_err(|e| {
            format!("could not start `{shown}` (are Node.js 20+ and npm installed?): {e}")
        })?;
    eprintln!(
        "<== {shown}: {status} in {:.1}s",
        started.elapsed().as_secs_f64()
    );
    if status.success() {
        Ok(())
    } else {
        Err(format!("`{shown}` failed ({status})"))
    }
}

/// A tool installed by `npm ci` (`node_modules/.bin/NAME`).
fn npm_bin(name: &str) -> String {
    package_dir()
        .join("node_modules")
        .join(".bin")
        .join(name)
        .to_string_lossy()
        .into_owned()
}

/// `npm ci` in `dir`, unless its `node_modules` already holds what
/// `package-lock.json` pins (a copy of the lock file taken at the last
/// install says so). `ignore_scripts` skips install scripts, for packages
/// that need none.
pub(crate) fn ensure_npm_packages(dir: &Path, ignore_scripts: bool) -> Result<(), String> {
    let lock_path = dir.join("package-lock.json");
    let lock = std::fs::read(&lock_path).map_err(|e| format!("{}: {e}", lock_path.display()))?;
    let stamp = dir.join("node_modules").join(".xtask-package-lock.json");
    if std::fs::read(&stamp).is_ok_and(|installed| installed == lock) {
        return Ok(());
    }
    let mut args = vec!["ci", "--no-audit", "--no-fund"];
    if ignore_scripts {
        args.push("--ignore-scripts");
    }
    run_in(dir, "npm", &args)?;
    std::fs::write(&stamp, &lock).map_err(|e| format!("{}: {e}", stamp.display()))
}

fn ensure_node_modules() -> Result<(), String> {
    ensure_npm_packages(&package_dir(), false)
}

/// `napi build --platform` (debug) into the workspace's target dir; it
/// writes the addon and regenerates `index.js` and `index.d.ts`.
fn build_addon_debug() -> Result<(), String> {
    build_addon(&[], &[])
}

/// `napi build --platform` with extra arguments and environment.
fn build_addon(extra: &[&str], envs: &[(String, String)]) -> Result<(), String> {
    let target_dir = target_dir();
    let target_dir = target_dir.to_string_lossy();
    let mut args = vec!["build", "--platform", "--target-dir", &target_dir];
    args.extend_from_slice(extra);
    args.extend(["--", "--locked"]);
    run_in_env(&package_dir(), &npm_bin("napi"), &args, envs)
}

/// The release addon, stripped; with `glibc_floor`, built for
/// [`glibc::TARGET`] at the glibc floor with zig (as the wheel is).
fn build_addon_release(glibc_floor: bool) -> Result<(), String> {
    if !glibc_floor {
        return build_addon(&["--release", "--strip"], &crate::package_build_env());
    }
    let venv = glibc::dist_venv()?;
    let mut env = glibc::zig_env(&venv)?;
    env.extend(crate::package_build_env());
    // napi's `--strip` adds `-C link-arg=-s` to RUSTFLAGS, which would
    // rebuild every dependency the wheel build already compiled; the addon
    // is stripped afterwards instead.
    build_addon(&["--release", "--target", glibc::TARGET], &env)?;
    let addon = package_dir().join(ADDON);
    let addon = addon.to_string_lossy();
    run_in(&package_dir(), "strip", &["--strip-all", &addon])
}

/// The generated files as they are now (`None` for a missing one).
fn generated_snapshot() -> Vec<Option<Vec<u8>>> {
    GENERATED
        .iter()
        .map(|f| std::fs::read(package_dir().join(f)).ok())
        .collect()
}

/// The node test files, in a stable order (`node --test DIR` would also run
/// the helpers).
fn test_files() -> Result<Vec<String>, String> {
    let dir = package_dir().join("test");
    let mut files: Vec<String> = std::fs::read_dir(&dir)
        .map_err(|e| format!("{}: {e}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.file_name().to_string_lossy().into_owned()))
        .filter(|n| n.ends_with(".test.mjs") || n.ends_with(".test.cjs"))
        .map(|n| format!("test/{n}"))
        .collect();
    files.sort();
    if files.is_empty() {
        return Err(format!("no *.test.mjs or *.test.cjs in {}", dir.display()));
    }
    Ok(files)
}

/// `npm ci`, the debug addon, the freshness of the generated files, the
/// typed usage check, and `node --test`.
/// The addon built (debug) as the tests use it, with the npm tools in place.
pub(crate) fn build_debug() -> Result<(), String> {
    ensure_node_modules()?;
    build_addon_debug()
}

pub(crate) fn test() -> Result<(), String> {
    let started = Instant::now();
    let before = generated_snapshot();
    build_debug()?;
    let stale: Vec<&str> = GENERATED
        .iter()
        .zip(before)
        .zip(generated_snapshot())
        .filter(|((_, was), now)| was != now)
        .map(|((name, _), _)| *name)
        .collect();
    if !stale.is_empty() {
        return Err(format!(
            "{PACKAGE}: the generated {} did not match the Rust sources; `napi build` has just \
             regenerated them: review and commit them, then run `cargo xtask test` again",
            stale.join(" and ")
        ));
    }
    let dir = package_dir();
    run_in(&dir, &npm_bin("tsc"), &["-p", "types"])?;
    let files = test_files()?;
    let mut args = vec!["--test".to_owned()];
    args.extend(files);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    run_in(&dir, "node", &args)?;
    eprintln!(
        "\nxtask test: node suite passed in {:.0}s",
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

/// A number after `"key":` in the bench's JSON output.
fn json_number(text: &str, key: &str) -> Option<f64> {
    let start = text.find(&format!("\"{key}\""))? + key.len() + 2;
    let rest = text[start..].trim_start().strip_prefix(':')?.trim_start();
    let end = rest
        .find(|c: char| !(c.is_ascii_digit() || matches!(c, '.' | 'e' | 'E' | '-' | '+')))
        .unwrap_or(rest.len());
    rest[..end].parse().ok()
}

/// A string after `"key":` in the bench's JSON output.
fn json_string<'a>(text: &'a str, key: &str) -> Option<&'a str> {
    let start = text.find(&format!("\"{key}\""))? + key.len() + 2;
    let rest = text[start..].trim_start().strip_prefix(':')?.trim_start();
    let rest = rest.strip_prefix('"')?;
    Some(&rest[..rest.find('"')?])
}

/// The release addon, then `bench/approve.mjs`: approve calls per second
/// of this client over those of `fetch` and `undici.request` (a rate: the
/// ratio is ours over theirs, higher is better).
pub(crate) fn bench() -> Result<Vec<Row>, String> {
    bench_addon()?;
    let out = results_dir().join("node-approve.json");
    let _ = std::fs::create_dir_all(results_dir());
    let out_arg = out.to_string_lossy().into_owned();
    run_in(&package_dir(), "node", &["bench/approve.mjs", &out_arg])?;
    let text = std::fs::read_to_string(&out).map_err(|e| format!("{}: {e}", out.display()))?;
    let mut rows = Vec::new();
    // One object per line of the array: {"mode", "baseline", "ours", "theirs"}.
    for chunk in text.split('{').skip(2) {
        let (Some(mode), Some(baseline), Some(ours), Some(theirs)) = (
            json_string(chunk, "mode"),
            json_string(chunk, "baseline"),
            json_number(chunk, "ours"),
            json_number(chunk, "theirs"),
        ) else {
            continue;
        };
        let ratio = ours / theirs;
        let target = if baseline == "fetch" { 2.0 } else { 1.0 };
        rows.push(Row {
            section: "node".into(),
            case: format!("approve calls, {mode}: Client vs {baseline}"),
            ours: format!("{ours:.0} calls/s"),
            baseline: format!("{baseline} {theirs:.0} calls/s"),
            ratio,
            target: format!("≥ {target:.1}×"),
            met: if ratio >= target { "yes" } else { "no" }.into(),
        });
    }
    if rows.is_empty() {
        return Err(format!("{}: no rows", out.display()));
    }
    rows.extend(moderation_bench()?);
    // The addon `build_addon_release` just wrote is the release, stripped one.
    let addon = package_dir().join(ADDON);
    let bytes = std::fs::metadata(&addon)
        .map_err(|e| format!("{}: {e}", addon.display()))?
        .len();
    let mb = bytes as f64 / (1024.0 * 1024.0);
    rows.push(Row {
        section: "node".into(),
        case: "addon size (release, stripped)".into(),
        ours: format!("{mb:.2} MiB"),
        baseline: "target 8 MiB".into(),
        ratio: 8.0 / mb,
        target: "≥ 1× (≤ 8 MiB)".into(),
        met: if mb <= 8.0 { "yes" } else { "no" }.into(),
    });
    Ok(rows)
}

/// The release addon (stripped) beside the package's loader, as the
/// benchmarks use it; returns the package directory, where `node
/// bench/bindings.mjs` runs for `cargo xtask bench bindings`.
pub(crate) fn bench_addon() -> Result<PathBuf, String> {
    ensure_node_modules()?;
    build_addon_release(false)?;
    Ok(package_dir())
}

/// `bench/moderation.mjs` on the release addon: webhook ack p99 at 500/s
/// through `requestListener()` under node:http beside the engine's own
/// listener (a time: the ratio is Rust's p99 over ours), and decisions per
/// second through a trivial `decide` (a rate, against 5,000/s).
fn moderation_bench() -> Result<Vec<Row>, String> {
    let load = crate::ack_load_binary()?.display().to_string();
    let out = results_dir().join("node-moderation.json");
    let out_arg = out.to_string_lossy().into_owned();
    run_in(
        &package_dir(),
        "node",
        &["bench/moderation.mjs", &out_arg, &load],
    )?;
    let text = std::fs::read_to_string(&out).map_err(|e| format!("{}: {e}", out.display()))?;
    let field =
        |key: &str| json_number(&text, key).ok_or_else(|| format!("{}: no {key}", out.display()));
    let (rate, rust, ours, floor, decisions) = (
        field("rate")?,
        field("rust_p99_ms")?,
        field("listener_p99_ms")?,
        field("floor_p99_ms")?,
        field("decisions_per_s")?,
    );
    let met = |ok: bool| if ok { "yes" } else { "no" }.to_owned();
    Ok(vec![
        Row {
            section: "node".into(),
            case: format!(
                "moderation webhook ack p99 at {rate:.0}/s: requestListener() under node:http vs the engine's listener"
            ),
            ours: format!("p99 {ours:.2} ms (median of 3 rounds)"),
            baseline: format!(
                "Rust listener p99 {rust:.2} ms (a trivial node:http handler: p99 {floor:.2} ms)"
            ),
            ratio: rust / ours,
            target: "≥ 0.5× (p99 ≤ 2× Rust)".into(),
            met: met(rust / ours >= 0.5),
        },
        Row {
            section: "node".into(),
            case: "moderation decisions/s through a trivial decide".into(),
            ours: format!("{decisions:.0} decisions/s"),
            baseline: "target 5000/s".into(),
            ratio: decisions / 5000.0,
            target: "≥ 1× (≥ 5,000/s)".into(),
            met: met(decisions >= 5000.0),
        },
    ])
}

/// The release addon (stripped, at the glibc floor) and the two tarballs
/// in `dist/`.
pub(crate) fn dist() -> Result<(), String> {
    ensure_node_modules()?;
    build_addon_release(true)?;
    let dir = package_dir();
    let addon = dir.join(ADDON);
    glibc::check("node: the addon", &addon)?;
    let size = std::fs::metadata(&addon)
        .map_err(|e| format!("{}: {e}", addon.display()))?
        .len();
    let platform = dir.join("npm").join("linux-x64-gnu");
    std::fs::copy(&addon, platform.join(ADDON))
        .map_err(|e| format!("copying the addon to {}: {e}", platform.display()))?;
    let dist = root().join("dist");
    std::fs::create_dir_all(&dist).map_err(|e| format!("{}: {e}", dist.display()))?;
    let dest = dist.to_string_lossy().into_owned();
    run_in(&dir, "npm", &["pack", "--pack-destination", &dest])?;
    run_in(&platform, "npm", &["pack", "--pack-destination", &dest])?;
    let mb = size as f64 / (1024.0 * 1024.0);
    let verdict = if size <= ADDON_TARGET_BYTES {
        "within"
    } else {
        "OVER"
    };
    eprintln!("node: release addon {ADDON} is {mb:.2} MiB ({verdict} the 8 MiB target)");
    Ok(())
}
