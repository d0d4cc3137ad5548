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

mod conformance;
mod fuzz;
mod glibc;
mod node;
mod python;
mod workflows;

fn main() -> ExitCode {
    let args: Vec<String> = env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("test") => test(),
        Some("bench") if args.get(1).is_some_and(|a| a == "moderation") => bench_moderation(),
        Some("bench") if args.get(1).is_some_and(|a| a == "bindings") => bench_bindings(),
        Some("bench") if args.get(1).is_some_and(|a| a == "packages") => bench_packages(),
        Some("bench") => bench(),
        Some("fuzz") => fuzz::fuzz(&args[1..]),
        Some("conformance") => conformance::conformance(),
        Some("dist") => dist(&args[1..]),
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
  test    cargo fmt --check, actionlint, clippy -D warnings, and every test suite
  bench   benchmarks, reported as ratios against same-run baselines
          (`bench moderation`: only the moderation rows; `bench bindings`:
          only Python and Node beside the Rust client; `bench packages`: only
          the wheel's and the addon's own rows; each into bench/results.md)
  fuzz    cargo-fuzz targets (nightly), 10M runs each: [TARGET...] [--runs N]
  conformance  requests (Rust, Python, Node) and responses against Meta's spec: Prism, schemathesis
  dist    release packages in dist/: [python|node|crates] (default all): the
          manylinux2014 wheel, the npm tarballs (addon at the same glibc
          floor, checked), and `cargo package` of every publishable crate";

pub(crate) fn root() -> PathBuf {
    // xtask lives one level below the workspace root.
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map_or_else(|| PathBuf::from("."), Path::to_path_buf)
}

/// Cargo's target directory: `CARGO_TARGET_DIR` when set (relative to the
/// workspace root), else `target/`. Venvs, results and builds go there.
pub(crate) fn target_dir() -> PathBuf {
    match env::var_os("CARGO_TARGET_DIR") {
        Some(dir) => root().join(dir),
        None => root().join("target"),
    }
}

/// Runs `program args` in the workspace root, failing on a non-zero exit.
pub(crate) fn run(program: &str, args: &[&str]) -> Result<(), String> {
    let shown = format!("{program} {}", args.join(" "));
    eprintln!("\n==> {shown}");
    let started = Instant::now();
    let status = Command::new(program)
        .args(args)
        .current_dir(root())
        .status()
        .map_err(|e| format!("could not start `{shown}`: {e}"))?;
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

fn has_nextest() -> bool {
    Command::new("cargo")
        .args(["nextest", "--version"])
        .output()
        .is_ok_and(|o| o.status.success())
}

fn test() -> Result<(), String> {
    let started = Instant::now();
    run("cargo", &["fmt", "--all", "--check"])?;
    workflows::lint()?;
    run(
        "cargo",
        &[
            "clippy",
            "--workspace",
            "--all-targets",
            "--locked",
            "--",
            "-D",
            "warnings",
        ],
    )?;
    postgres_notice();
    if has_nextest() {
        run(
            "cargo",
            &[
                "nextest",
                "run",
                "--workspace",
                "--locked",
                "--no-fail-fast",
            ],
        )?;
    } else {
        run(
            "cargo",
            &["test", "--workspace", "--locked", "--no-fail-fast"],
        )?;
    }
    // nextest does not run doc tests; they hold the README's examples.
    run("cargo", &["test", "--workspace", "--locked", "--doc"])?;
    python::test()?;
    node::test()?;
    conformance::quick()?;
    eprintln!(
        "\nxtask test: all suites passed in {:.0}s",
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

/// Cargo settings for the release builds of the packages (the wheel and the
/// addon) on top of `[profile.release]`: fat LTO and one codegen unit, which
/// take the packages' size down by about a third. Given as the environment
/// of those builds only; the CLI's and the benches' release builds would
/// spend minutes linking for nothing. (The bundled SQLite's options are not
/// here: `.cargo/config.toml` sets them for every build, tests included.)
pub(crate) fn package_build_env() -> Vec<(String, String)> {
    vec![
        ("CARGO_PROFILE_RELEASE_LTO".into(), "fat".into()),
        ("CARGO_PROFILE_RELEASE_CODEGEN_UNITS".into(), "1".into()),
    ]
}

/// The variable that points the PostgreSQL tests at a server.
const POSTGRES_VAR: &str = "WA_GROUPS_TEST_POSTGRES";

/// One line when the PostgreSQL tests will be skipped, and why.
fn postgres_notice() {
    if std::env::var(POSTGRES_VAR).map_or(true, |v| v.is_empty()) {
        eprintln!(
            "\nxtask test: the PostgreSQL tests are SKIPPED: {POSTGRES_VAR} is not set \
             (set it to a server URL, e.g. postgres://postgres@127.0.0.1:5432/test; .ci/run does)\n"
        );
    }
}

/// Where bench binaries drop their result rows (see [`Row`]).
pub(crate) fn results_dir() -> PathBuf {
    target_dir().join("bench-results")
}

/// One line of the results table: a measurement beside its same-run
/// baseline. Bench binaries write these as tab-separated lines
/// `section, case, ours, baseline, ratio, target, met` to
/// `target/bench-results/*.tsv`; the ratio is always "higher is better"
/// (ours over baseline for rates, baseline over ours for times and sizes).
pub(crate) struct Row {
    pub(crate) section: String,
    pub(crate) case: String,
    pub(crate) ours: String,
    pub(crate) baseline: String,
    pub(crate) ratio: f64,
    pub(crate) target: String,
    pub(crate) met: String,
}

impl Row {
    pub(crate) fn to_tsv(&self) -> String {
        format!(
            "{}\t{}\t{}\t{}\t{:.3}\t{}\t{}\n",
            self.section, self.case, self.ours, self.baseline, self.ratio, self.target, self.met
        )
    }

    fn from_tsv(line: &str) -> Option<Self> {
        let f: Vec<&str> = line.split('\t').collect();
        let [section, case, ours, baseline, ratio, target, met] = f.as_slice() else {
            return None;
        };
        Some(Self {
            section: (*section).to_owned(),
            case: (*case).to_owned(),
            ours: (*ours).to_owned(),
            baseline: (*baseline).to_owned(),
            ratio: ratio.parse().ok()?,
            target: (*target).to_owned(),
            met: (*met).to_owned(),
        })
    }
}

/// The median criterion measured for `group/function`, in nanoseconds.
fn criterion_median_ns(group: &str, function: &str) -> Result<f64, String> {
    let path = target_dir()
        .join("criterion")
        .join(group)
        .join(function)
        .join("new/estimates.json");
    let text = std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
    // {"mean":{...},"median":{"confidence_interval":{...},"point_estimate":N,...},...}
    let median = text
        .find("\"median\"")
        .ok_or_else(|| format!("{}: no median", path.display()))?;
    let rest = &text[median..];
    let key = "\"point_estimate\":";
    let start = rest
        .find(key)
        .ok_or_else(|| format!("{}: no point_estimate", path.display()))?
        + key.len();
    let number: String = rest[start..]
        .chars()
        .take_while(|c| c.is_ascii_digit() || matches!(c, '.' | 'e' | 'E' | '-' | '+'))
        .collect();
    number
        .parse()
        .map_err(|e| format!("{}: {e}", path.display()))
}

fn wire_bench() -> Result<Vec<Row>, String> {
    run(
        "cargo",
        &[
            "bench",
            "-p",
            "wa-groups-protocol",
            "--bench",
            "wire",
            "--",
            "--noplot",
        ],
    )?;
    let mut rows = Vec::new();
    for (group, case) in [
        ("build_approve_100", "build a 100-ID approve request"),
        (
            "parse_outcome_100_10_failed",
            "parse a 100-ID outcome, 10 failed",
        ),
    ] {
        let bare = criterion_median_ns(group, "bare_serde_json")?;
        let ours = criterion_median_ns(group, "wa_groups")?;
        // Higher is better, like every other row: bare time over ours. The
        // target "at most 1.3× the bare time" is a ratio of at least 1/1.3.
        let ratio = bare / ours;
        rows.push(Row {
            section: "protocol".into(),
            case: case.into(),
            ours: format!("{:.2} µs", ours / 1000.0),
            baseline: format!("bare serde_json {:.2} µs", bare / 1000.0),
            ratio,
            target: "≥ 0.77× (time ≤ 1.3× bare)".into(),
            met: if ours <= 1.3 * bare { "yes" } else { "no" }.into(),
        });
    }
    Ok(rows)
}

fn bench() -> Result<(), String> {
    let dir = results_dir();
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let wire = wire_bench()?;
    std::fs::write(
        dir.join("protocol.tsv"),
        wire.iter().map(Row::to_tsv).collect::<String>(),
    )
    .map_err(|e| e.to_string())?;
    // These write their own rows to the results directory.
    run(
        "cargo",
        &["bench", "-p", "wa-groups", "--bench", "throughput"],
    )?;
    run("cargo", &["bench", "-p", "wa-groups", "--bench", "fleet"])?;
    run(
        "cargo",
        &[
            "run",
            "--release",
            "-p",
            "wa-groups-emulator",
            "--example",
            "load",
            "--",
            "1000000",
            "256",
        ],
    )?;
    moderation_bench()?;
    std::fs::write(
        dir.join("python.tsv"),
        python::bench()?.iter().map(Row::to_tsv).collect::<String>(),
    )
    .map_err(|e| e.to_string())?;
    std::fs::write(
        dir.join("node.tsv"),
        node::bench()?.iter().map(Row::to_tsv).collect::<String>(),
    )
    .map_err(|e| e.to_string())?;
    bindings_bench()?;
    report(&dir)
}

/// The bindings beside the Rust client: the release wheel and addon, then
/// the harness `crates/transport/examples/bindings_bench.rs` (one emulator,
/// each client in a process of its own, pinned to another core), which
/// writes `bindings.tsv`.
fn bindings_bench() -> Result<Vec<Row>, String> {
    let (venv, _wheel) = python::bench_venv()?;
    let python = python::venv_python(&venv);
    let node_dir = node::bench_addon()?;
    let out = results_dir().join("bindings.tsv");
    std::fs::create_dir_all(results_dir()).map_err(|e| e.to_string())?;
    let (python, node_dir, out_arg) = (
        python.to_string_lossy(),
        node_dir.to_string_lossy(),
        out.to_string_lossy(),
    );
    run(
        "cargo",
        &[
            "run",
            "--release",
            "--locked",
            "-p",
            "wa-groups",
            "--example",
            "bindings_bench",
            "--",
            "--python",
            &python,
            "--node",
            &node_dir,
            "--out",
            &out_arg,
        ],
    )?;
    let text = std::fs::read_to_string(&out).map_err(|e| format!("{}: {e}", out.display()))?;
    Ok(text.lines().filter_map(Row::from_tsv).collect())
}

/// `cargo xtask bench bindings`: only the bindings-beside-Rust rows,
/// printed, and put in place in bench/results.md (the other rows are left
/// as the last whole run wrote them).
fn bench_bindings() -> Result<(), String> {
    let rows = bindings_bench()?;
    // The harness's cases all say "vs Rust Client"; no other row does.
    replace_rows(|line| line.contains(" vs Rust Client ("), &rows)
}

/// `cargo xtask bench packages`: only the Python and Node packages' own
/// rows (against the other clients, their moderation benches, size and
/// import time), printed and put in place in bench/results.md.
fn bench_packages() -> Result<(), String> {
    let mut rows = python::bench()?;
    rows.extend(node::bench()?);
    replace_rows(
        |line| {
            (line.starts_with("| python |") || line.starts_with("| node |"))
                && !line.contains(" vs Rust Client (")
        },
        &rows,
    )
}

/// Prints `rows` and puts them in bench/results.md in place of the table
/// rows `old` matches (where the first of them was; at the table's end
/// when none matched), leaving the others as the last run wrote them.
fn replace_rows(old: impl Fn(&str) -> bool, rows: &[Row]) -> Result<(), String> {
    let line = |row: &Row| {
        format!(
            "| {} | {} | {} | {} | {:.2}× | {} | {} |",
            row.section, row.case, row.ours, row.baseline, row.ratio, row.target, row.met
        )
    };
    for row in rows {
        eprintln!("{}", line(row));
    }
    let path = root().join("bench").join("results.md");
    let doc = std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
    let mut lines: Vec<String> = Vec::new();
    let mut at = None;
    for l in doc.lines() {
        if l.starts_with('|') && old(l) {
            at.get_or_insert(lines.len());
        } else {
            lines.push(l.to_owned());
        }
    }
    let at = at.unwrap_or_else(|| {
        lines
            .iter()
            .rposition(|l| l.starts_with('|'))
            .map_or(lines.len(), |i| i + 1)
    });
    lines.splice(at..at, rows.iter().map(line));
    std::fs::write(&path, lines.join("\n") + "\n").map_err(|e| format!("{}: {e}", path.display()))
}

/// The moderation rows: webhook acknowledgement latency at 500
/// deliveries/s on SQLite and the time from a delivery to its approval
/// (the `ack_latency` example), the same on PostgreSQL
/// (`moderation-ack-postgres.tsv`) when `WA_GROUPS_TEST_POSTGRES` names a
/// server, then the sweep of 2,000 groups under the rate limit against the
/// built `wa-groups moderate serve` (the `sweep` example; one replica on
/// SQLite, three runs, the median in the row). Each example writes its own
/// `moderation-*.tsv`. The sweep takes `--store URL --replicas N` for the
/// PostgreSQL rows.
fn moderation_bench() -> Result<(), String> {
    let example = [
        "run",
        "--release",
        "-p",
        "wa-groups-moderation",
        "--example",
        "ack_latency",
        "--",
        "500",
        "2000",
    ];
    run("cargo", &example)?;
    match std::env::var(POSTGRES_VAR) {
        // The example reads the URL from the variable: a password never
        // reaches a command line or this log.
        Ok(url) if !url.is_empty() => {
            let mut args = example.to_vec();
            args.push("postgres");
            run("cargo", &args)?;
        }
        _ => {
            eprintln!("xtask bench: the PostgreSQL row is SKIPPED: {POSTGRES_VAR} is not set");
        }
    }
    run("cargo", &["build", "--release", "-p", "wa-groups-cli"])?;
    let bin = target_dir()
        .join("release/wa-groups")
        .to_string_lossy()
        .into_owned();
    let sweep = |extra: &[&str]| {
        let mut args = vec![
            "run",
            "--release",
            "-p",
            "wa-groups-moderation",
            "--example",
            "sweep",
            "--",
            "--bin",
            &bin,
            // The median of three runs: a 429 late in a run holds its last
            // calls for the emulator's whole-second `Retry-After`.
            "--runs",
            "3",
        ];
        args.extend_from_slice(extra);
        run("cargo", &args)
    };
    sweep(&[])?;
    if std::env::var(POSTGRES_VAR).is_ok_and(|url| !url.is_empty()) {
        // One replica and three behind a round-robin forwarder, each on a
        // scratch schema of the server (the URL stays in the variable);
        // webhooks one at a time (the rows the targets are for), then 8 at
        // a time, so that the receiver's commit latency no longer sets the
        // delivery rate.
        for lanes in ["1", "8"] {
            for replicas in ["1", "3"] {
                sweep(&[
                    "--store",
                    "postgres",
                    "--replicas",
                    replicas,
                    "--webhook-lanes",
                    lanes,
                ])?;
            }
        }
    } else {
        eprintln!("xtask bench: the PostgreSQL sweep rows are SKIPPED: {POSTGRES_VAR} is not set");
    }
    Ok(())
}

/// The webhook load generator the bindings' moderation benches drive their
/// servers with (`crates/moderation/examples/ack_load.rs`), built release.
pub(crate) fn ack_load_binary() -> Result<PathBuf, String> {
    run(
        "cargo",
        &[
            "build",
            "--release",
            "-p",
            "wa-groups-moderation",
            "--example",
            "ack_load",
        ],
    )?;
    Ok(target_dir()
        .join("release")
        .join("examples")
        .join("ack_load"))
}

/// `cargo xtask bench moderation`: only the moderation rows, printed and
/// put in place of the moderation rows of bench/results.md (the other rows
/// are left as the last full run wrote them).
fn bench_moderation() -> Result<(), String> {
    let dir = results_dir();
    std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    for old in moderation_tsvs(&dir)? {
        let _ = std::fs::remove_file(old);
    }
    moderation_bench()?;
    let mut rows = Vec::new();
    for file in moderation_tsvs(&dir)? {
        let text = std::fs::read_to_string(&file).map_err(|e| e.to_string())?;
        rows.extend(text.lines().filter_map(Row::from_tsv));
    }
    replace_rows(|line| line.starts_with("| moderation |"), &rows)
}

/// The rows files the moderation examples write.
fn moderation_tsvs(dir: &Path) -> Result<Vec<PathBuf>, String> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|e| format!("{}: {e}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with("moderation") && n.ends_with(".tsv"))
        })
        .collect();
    files.sort();
    Ok(files)
}

/// Release packages in `dist/`.
fn dist(args: &[String]) -> Result<(), String> {
    let sides: Vec<&str> = match args {
        [] => vec!["python", "node", "crates"],
        [one] if matches!(one.as_str(), "python" | "node" | "crates") => vec![one.as_str()],
        _ => {
            return Err(format!(
                "dist takes python, node, crates or nothing\n{USAGE}"
            ));
        }
    };
    for side in sides {
        match side {
            "python" => python::dist()?,
            "node" => node::dist()?,
            _ => package_crates()?,
        }
    }
    Ok(())
}

/// `cargo package` of every crate that is published (the bindings and
/// xtask are not): each is built from its packaged sources, with the
/// workspace's other crates as they would be on crates.io.
fn package_crates() -> Result<(), String> {
    run(
        "cargo",
        &[
            "package",
            "--workspace",
            "--locked",
            "--allow-dirty",
            "--exclude",
            "xtask",
            "--exclude",
            "wa-groups-python",
            "--exclude",
            "wa-groups-node",
        ],
    )
}

/// Gathers every bench's rows into one table on stdout and in bench/results.md.
fn report(dir: &Path) -> Result<(), String> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|e| format!("{}: {e}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "tsv"))
        .collect();
    files.sort();
    let mut table = String::from(
        "| section | case | ours | baseline (same run) | ratio | target | met |\n|---|---|---|---|---|---|---|\n",
    );
    for file in files {
        let text = std::fs::read_to_string(&file).map_err(|e| e.to_string())?;
        for row in text.lines().filter_map(Row::from_tsv) {
            table.push_str(&format!(
                "| {} | {} | {} | {} | {:.2}× | {} | {} |\n",
                row.section, row.case, row.ours, row.baseline, row.ratio, row.target, row.met
            ));
        }
    }
    eprintln!("\n{table}");
    let out = root().join("bench");
    std::fs::create_dir_all(&out).map_err(|e| e.to_string())?;
    let doc = format!(
        "# Benchmark results\n\nWritten by `cargo xtask bench`: medians, each beside a baseline measured in the same run on the same machine. Ratios are what the targets are stated in; absolute figures vary with the machine.\n\n{table}"
    );
    std::fs::write(out.join("results.md"), doc).map_err(|e| e.to_string())?;
    chart(dir, &out.join("results.png"))
}

/// `bench/results.png`: every row's ratio over its target, drawn by
/// matplotlib from a venv of its own.
fn chart(results: &Path, png: &Path) -> Result<(), String> {
    let venv = target_dir().join("chart-venv");
    python::ensure_venv(&venv, &["bench/requirements.txt"])?;
    let python = python::venv_python(&venv);
    let python = python.to_string_lossy();
    let results = results.to_string_lossy();
    let png = png.to_string_lossy();
    run(&python, &["bench/chart.py", &results, &png])
}
