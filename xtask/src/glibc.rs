//! The glibc floor of the Linux packages: the wheel and the Node addon are
//! linked against glibc 2.17 (manylinux2014), so they install on Debian 11,
//! Ubuntu 20.04, RHEL 8 and Amazon Linux 2, not only on the build machine.
//!
//! zig (the `ziglang` package from PyPI, in `target/dist-venv`) is the C
//! compiler and linker, called through maturin's `zig cc` wrapper, which
//! adapts rustc's linker arguments. Both packages are built for the same
//! target with the same wrappers, so they share every compiled dependency.
//! After the build, [`check`] reads the highest `GLIBC_x.y` symbol version
//! the binary needs (`objdump -T`) and fails above the floor.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::python::{ensure_venv, venv_python};
use crate::target_dir;

/// The Rust target both Linux packages are built for.
pub(crate) const TARGET: &str = "x86_64-unknown-linux-gnu";

/// manylinux2014's glibc.
pub(crate) const FLOOR: (u32, u32) = (2, 17);

/// What the dist venv holds: maturin, ziglang, auditwheel.
const REQUIREMENTS: &str = "bindings/python/requirements-dist.txt";

/// The venv with the release tools; created or updated as needed.
pub(crate) fn dist_venv() -> Result<PathBuf, String> {
    let venv = target_dir().join("dist-venv");
    ensure_venv(&venv, &[REQUIREMENTS])?;
    Ok(venv)
}

/// Environment variables that make cargo compile C and link for [`TARGET`]
/// with zig at the glibc floor. The wrapper scripts live in the target dir.
pub(crate) fn zig_env(venv: &Path) -> Result<Vec<(String, String)>, String> {
    let dir = target_dir().join("zig");
    std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let python = venv_python(venv);
    let maturin = python.with_file_name("maturin");
    let zig_target = format!("x86_64-linux-gnu.{}.{}", FLOOR.0, FLOOR.1);
    let mut env = Vec::new();
    for (tool, var) in [("cc", "CC"), ("c++", "CXX"), ("ar", "AR")] {
        let script = dir.join(format!("zig-{tool}.sh"));
        let target_args = if tool == "ar" {
            String::new()
        } else {
            format!(" -g -fno-sanitize=all -target {zig_target}")
        };
        let text = format!(
            "#!/bin/sh\n# Written by cargo xtask dist: zig from the ziglang package, through maturin's wrapper.\nexport CARGO_ZIGBUILD_ZIG_COMMAND='{}'\nexport CARGO_ZIGBUILD_ZIG_COMMAND_ARGS='-m ziglang'\nexec '{}' zig {tool} --{target_args} \"$@\"\n",
            python.display(),
            maturin.display(),
        );
        write_executable(&script, &text)?;
        let key = TARGET.replace('-', "_");
        env.push((format!("{var}_{key}"), script.display().to_string()));
        if tool == "cc" {
            env.push((
                format!("CARGO_TARGET_{}_LINKER", key.to_uppercase()),
                script.display().to_string(),
            ));
        }
    }
    Ok(env)
}

fn write_executable(path: &Path, text: &str) -> Result<(), String> {
    // Rewritten only when different, so cargo's fingerprints stay valid.
    if std::fs::read_to_string(path).is_ok_and(|old| old == text) {
        return Ok(());
    }
    std::fs::write(path, text).map_err(|e| format!("{}: {e}", path.display()))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755))
            .map_err(|e| format!("{}: {e}", path.display()))?;
    }
    Ok(())
}

/// The highest `GLIBC_x.y` version among the dynamic symbols of `binary`.
pub(crate) fn highest_glibc(binary: &Path) -> Result<Option<(u32, u32)>, String> {
    let out = Command::new("objdump")
        .arg("-T")
        .arg(binary)
        .output()
        .map_err(|e| format!("could not start `objdump -T` (binutils): {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "objdump -T {} failed: {}",
            binary.display(),
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    Ok(parse_highest(&String::from_utf8_lossy(&out.stdout)))
}

fn parse_highest(objdump: &str) -> Option<(u32, u32)> {
    objdump
        .split("GLIBC_")
        .skip(1)
        .filter_map(|rest| {
            let version: String = rest
                .chars()
                .take_while(|c| c.is_ascii_digit() || *c == '.')
                .collect();
            let mut parts = version.split('.').map(str::parse::<u32>);
            Some((parts.next()?.ok()?, parts.next()?.ok()?))
        })
        .max()
}

/// Prints the glibc `binary` needs and fails when it is above the floor.
pub(crate) fn check(what: &str, binary: &Path) -> Result<(), String> {
    let floor = format!("{}.{}", FLOOR.0, FLOOR.1);
    match highest_glibc(binary)? {
        Some(v) if v > FLOOR => Err(format!(
            "{what}: {} needs GLIBC_{}.{}, above the {floor} floor",
            binary.display(),
            v.0,
            v.1
        )),
        Some(v) => {
            eprintln!(
                "{what}: needs GLIBC_{}.{} at most (floor {floor}): ok",
                v.0, v.1
            );
            Ok(())
        }
        None => {
            eprintln!("{what}: needs no versioned glibc symbol (floor {floor}): ok");
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::parse_highest;

    #[test]
    fn finds_the_highest_version() {
        let text = "0 DF *UND* 0 (GLIBC_2.2.5) memcpy\n0 DF *UND* 0 (GLIBC_2.14) memcpy\n0 DF *UND* 0 GLIBC_2.3.4 x\n";
        assert_eq!(parse_highest(text), Some((2, 14)));
        assert_eq!(parse_highest("no versions here"), None);
    }
}
