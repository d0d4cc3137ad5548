//! The Python package (`bindings/python`): its test suite, its benchmarks
//! and its wheel.
//!
//! - [`test`]: a venv at `target/python-venv` with the pinned tools of
//!   `bindings/python/requirements-test.txt` (pip, by name, from PyPI),
//!   `maturin develop` (debug, the workspace's target dir) into it, then
//!   `python -m mypy.stubtest wa_groups` and `python -m pytest`.
//! - [`bench`]: the release wheel installed in `target/python-bench-venv`
//!   with httpx and aiohttp (`requirements-bench.txt`; pywa too when it
//!   installs), then `bench/bench_approve.py`, whose rows it returns. The
//!   same venv runs `bench/bench_bindings.py` for `cargo xtask bench
//!   bindings` ([`bench_venv`]).
//! - [`dist`]: the release abi3 wheel in `dist/`.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use crate::{Row, glibc, root, target_dir};

const PACKAGE: &str = "bindings/python";

/// What the test venv holds: maturin, pytest, mypy.
const TEST_REQUIREMENTS: &str = "bindings/python/requirements-test.txt";

/// The venv `cargo xtask test` builds the package into.
pub(crate) fn test_venv() -> PathBuf {
    target_dir().join("python-venv")
}

/// The package built (debug) into the test venv with `maturin develop`;
/// returns the venv's interpreter. Used by the Python suite and by the
/// conformance drivers.
pub(crate) fn develop() -> Result<PathBuf, String> {
    let venv = test_venv();
    ensure_venv(&venv, &[TEST_REQUIREMENTS])?;
    // Editable: the package's Python files are used in place, the
    // extension is copied beside them.
    run_in(
        &venv,
        &root(),
        &venv_bin(&venv).join("maturin"),
        &[
            "develop",
            "--locked",
            "--manifest-path",
            &format!("{PACKAGE}/Cargo.toml"),
        ],
    )?;
    Ok(venv_python(&venv))
}

pub(crate) fn venv_python(venv: &Path) -> PathBuf {
    if cfg!(windows) {
        venv.join("Scripts").join("python.exe")
    } else {
        venv.join("bin").join("python")
    }
}

fn venv_bin(venv: &Path) -> PathBuf {
    venv_python(venv)
        .parent()
        .map_or_else(|| venv.to_path_buf(), Path::to_path_buf)
}

/// Runs `program args` in `dir` with the venv activated (`VIRTUAL_ENV`,
/// its `bin` first on `PATH`), failing on a non-zero exit.
fn run_in(venv: &Path, dir: &Path, program: &Path, args: &[&str]) -> Result<(), String> {
    run_in_env(venv, dir, program, args, &[])
}

/// [`run_in`] with extra environment variables.
fn run_in_env(
    venv: &Path,
    dir: &Path,
    program: &Path,
    args: &[&str],
    envs: &[(String, String)],
) -> Result<(), String> {
    let shown = format!("{} {}", program.display(), args.join(" "));
    eprintln!("\n==> {shown}");
    let started = Instant::now();
    let path = std::env::var_os("PATH").unwrap_or_default();
    let mut paths = vec![venv_bin(venv)];
    paths.extend(std::env::split_paths(&path));
    let path = std::env::join_paths(paths).map_err(|e| e.to_string())?;
    let status = Command::new(program)
        .args(args)
        .current_dir(dir)
        .env("VIRTUAL_ENV", venv)
        .env("PATH", path)
        .env_remove("PYTHONHOME")
        .env("PIP_DISABLE_PIP_VERSION_CHECK", "1")
        // mypy (stubtest) caches under target/, not in the work tree.
        .env("MYPY_CACHE_DIR", target_dir().join("python-mypy-cache"))
        .envs(envs.iter().map(|(k, v)| (k, v)))
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

/// A venv at `venv` with `requirements` (paths from the workspace root)
/// installed. pip runs only when the requirements changed since the last
/// install (a stamp file remembers).
pub(crate) fn ensure_venv(venv: &Path, requirements: &[&str]) -> Result<(), String> {
    let python = venv_python(venv);
    if !python.exists() {
        let interpreter = std::env::var("PYTHON").unwrap_or_else(|_| "python3".to_owned());
        let status = Command::new(&interpreter)
            .args(["-m", "venv"])
            .arg(venv)
            .status()
            .map_err(|e| {
                format!("could not start `{interpreter} -m venv` (is Python 3.9+ installed?): {e}")
            })?;
        if !status.success() {
            return Err(format!(
                "`{interpreter} -m venv {}` failed ({status})",
                venv.display()
            ));
        }
    }
    let mut wanted = String::new();
    for r in requirements {
        let path = root().join(r);
        wanted.push_str(
            &std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?,
        );
    }
    let stamp = venv.join(".wa-groups-requirements");
    if std::fs::read_to_string(&stamp).ok().as_deref() == Some(wanted.as_str()) {
        return Ok(());
    }
    let mut args = vec!["-m", "pip", "install", "--quiet"];
    for r in requirements {
        args.extend(["-r", r]);
    }
    run_in(venv, &root(), &python, &args)?;
    std::fs::write(&stamp, wanted).map_err(|e| e.to_string())
}

/// `cargo xtask test`'s Python part.
pub(crate) fn test() -> Result<(), String> {
    let started = Instant::now();
    let venv = test_venv();
    let python = develop()?;
    run_in(
        &venv,
        &root(),
        &python,
        &["-m", "mypy.stubtest", "wa_groups"],
    )?;
    run_in(
        &venv,
        &root(),
        &python,
        &[
            "-m",
            "pytest",
            &format!("{PACKAGE}/tests"),
            "-q",
            "-p",
            "no:cacheprovider",
        ],
    )?;
    eprintln!(
        "\nxtask test: Python suite passed in {:.0}s",
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

/// Builds the release abi3 wheel into `out` and returns its path.
fn build_wheel(venv: &Path, out: &Path) -> Result<PathBuf, String> {
    build_wheel_with(venv, out, &[], &[])
}

/// [`build_wheel`] with extra `maturin build` arguments and environment.
fn build_wheel_with(
    venv: &Path,
    out: &Path,
    extra: &[&str],
    envs: &[(String, String)],
) -> Result<PathBuf, String> {
    let _ = std::fs::create_dir_all(out);
    // Only this package's wheels are replaced.
    if let Ok(entries) = std::fs::read_dir(out) {
        for e in entries.flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            if name.starts_with("wa_groups-") && name.ends_with(".whl") {
                let _ = std::fs::remove_file(e.path());
            }
        }
    }
    let out_arg = out.display().to_string();
    let manifest = format!("{PACKAGE}/Cargo.toml");
    // Deflate's highest level: the wheel is downloaded far more often than
    // it is built (about 130 KB smaller than the default level 6).
    let mut args = vec![
        "build",
        "--release",
        "--locked",
        "--compression-level",
        "9",
        "--manifest-path",
        &manifest,
        "--out",
        &out_arg,
    ];
    args.extend_from_slice(extra);
    let mut envs = envs.to_vec();
    envs.extend(crate::package_build_env());
    run_in_env(venv, &root(), &venv_bin(venv).join("maturin"), &args, &envs)?;
    std::fs::read_dir(out)
        .map_err(|e| e.to_string())?
        .flatten()
        .map(|e| e.path())
        .find(|p| {
            p.file_name().is_some_and(|n| {
                n.to_string_lossy().starts_with("wa_groups-")
                    && n.to_string_lossy().ends_with(".whl")
            })
        })
        .ok_or_else(|| format!("maturin wrote no wheel to {}", out.display()))
}

/// `cargo xtask dist`'s Python part: the release wheel in `dist/`, built
/// at the glibc floor with zig and checked with `auditwheel show`.
pub(crate) fn dist() -> Result<(), String> {
    let venv = glibc::dist_venv()?;
    let env = glibc::zig_env(&venv)?;
    let wheel = build_wheel_with(
        &venv,
        &root().join("dist"),
        &[
            "--target",
            glibc::TARGET,
            "--compatibility",
            "manylinux2014",
        ],
        &env,
    )?;
    let size = std::fs::metadata(&wheel).map(|m| m.len()).unwrap_or(0);
    eprintln!(
        "xtask dist: {} ({:.2} MB)",
        wheel.display(),
        size as f64 / 1_000_000.0
    );
    let out = Command::new(venv_bin(&venv).join("auditwheel"))
        .arg("show")
        .arg(&wheel)
        .output()
        .map_err(|e| format!("could not start auditwheel: {e}"))?;
    let text = String::from_utf8_lossy(&out.stdout);
    eprintln!("{}", text.trim());
    if !out.status.success() {
        return Err(format!(
            "auditwheel show failed: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    let tag = format!("manylinux_{}_{}_x86_64", glibc::FLOOR.0, glibc::FLOOR.1);
    if !text.contains(&tag) {
        return Err(format!("auditwheel does not find the wheel {tag}"));
    }
    let name = wheel.file_name().map(|n| n.to_string_lossy().into_owned());
    if !name.is_some_and(|n| n.contains("manylinux2014_x86_64") || n.contains(&tag)) {
        return Err(format!("{} is not tagged {tag}", wheel.display()));
    }
    eprintln!(
        "python: the wheel is {tag} (glibc floor {}.{}): ok",
        glibc::FLOOR.0,
        glibc::FLOOR.1
    );
    Ok(())
}

/// `cargo xtask bench`'s Python part: the rows of `bench/bench_approve.py`
/// (our clients against httpx, aiohttp and pywa in one run), plus the wheel
/// size and the import time.
pub(crate) fn bench() -> Result<Vec<Row>, String> {
    let (venv, wheel) = bench_venv()?;
    let python = venv_python(&venv);
    let wheel_arg = wheel.display().to_string();
    let out = target_dir().join("python-bench.tsv");
    let out_arg = out.display().to_string();
    let script = root().join(PACKAGE).join("bench").join("bench_approve.py");
    let script_arg = script.display().to_string();
    // Run outside the source tree, so that the installed wheel is measured.
    let cwd = target_dir();
    run_in(
        &venv,
        &cwd,
        &python,
        &[&script_arg, "--out", &out_arg, "--wheel", &wheel_arg],
    )?;
    let text = std::fs::read_to_string(&out).map_err(|e| format!("{}: {e}", out.display()))?;
    let mut rows: Vec<Row> = text.lines().filter_map(row).collect();
    // The moderation engine mounted in uvicorn, and a Python decide.
    let load = crate::ack_load_binary()?.display().to_string();
    let out = target_dir().join("python-bench-moderation.tsv");
    let out_arg = out.display().to_string();
    let script = root()
        .join(PACKAGE)
        .join("bench")
        .join("bench_moderation.py");
    let script_arg = script.display().to_string();
    run_in(
        &venv,
        &cwd,
        &python,
        &[&script_arg, "--out", &out_arg, "--load", &load],
    )?;
    let text = std::fs::read_to_string(&out).map_err(|e| format!("{}: {e}", out.display()))?;
    rows.extend(text.lines().filter_map(row));
    Ok(rows)
}

/// The release wheel, built and installed in `target/python-bench-venv`
/// with the baselines; returns the venv and the wheel. `cargo xtask bench
/// bindings` runs its Python clients with this venv's interpreter.
pub(crate) fn bench_venv() -> Result<(PathBuf, PathBuf), String> {
    // The wheel is built with the test venv's maturin and interpreter, as
    // `dist` builds it (the same build, so nothing is compiled twice), and
    // installed in a venv of its own with the baselines.
    let tools = target_dir().join("python-venv");
    ensure_venv(&tools, &[TEST_REQUIREMENTS])?;
    let wheel = build_wheel(&tools, &target_dir().join("python-wheels"))?;
    let venv = target_dir().join("python-bench-venv");
    ensure_venv(&venv, &["bindings/python/requirements-bench.txt"])?;
    let python = venv_python(&venv);
    // pywa is compared only when it installs here; its absence is no error.
    let pywa_stamp = venv.join(".wa-groups-pywa");
    if !pywa_stamp.exists() {
        let ok = run_in(
            &venv,
            &root(),
            &python,
            &[
                "-m",
                "pip",
                "install",
                "--quiet",
                "-r",
                &format!("{PACKAGE}/bench/requirements-pywa.txt"),
            ],
        )
        .is_ok();
        let _ = std::fs::write(
            &pywa_stamp,
            if ok { "installed" } else { "not installable" },
        );
    }
    let wheel_arg = wheel.display().to_string();
    run_in(
        &venv,
        &root(),
        &python,
        &[
            "-m",
            "pip",
            "install",
            "--quiet",
            "--force-reinstall",
            "--no-deps",
            &wheel_arg,
        ],
    )?;
    Ok((venv, wheel))
}

/// A row from the bench script's tab-separated output.
fn row(line: &str) -> Option<Row> {
    let f: Vec<&str> = line.split('\t').collect();
    let [case, ours, baseline, ratio, target, met] = f.as_slice() else {
        return None;
    };
    Some(Row {
        section: "python".into(),
        case: (*case).to_owned(),
        ours: (*ours).to_owned(),
        baseline: (*baseline).to_owned(),
        ratio: ratio.parse().ok()?,
        target: (*target).to_owned(),
        met: (*met).to_owned(),
    })
}
