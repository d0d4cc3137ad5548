//! What the CLI's test binaries share: an emulator on its own runtime, so
//! the built binary can be run synchronously beside it.

// Each test binary uses its own part of this module.
#![allow(dead_code, unreachable_pub)]

use std::io::{BufRead as _, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{Receiver, channel};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use wa_groups_emulator::{Controller, Emulator, EmulatorHandle};

/// The path of the built `wa-groups` binary.
pub const BIN: &str = env!("CARGO_BIN_EXE_wa-groups");

/// A running emulator; its controller is reached through `Deref`.
pub struct Emu {
    /// The server's handle (its address, for tests that put a proxy in front).
    pub handle: EmulatorHandle,
    controller: Controller,
    _rt: tokio::runtime::Runtime,
}

impl std::ops::Deref for Emu {
    type Target = Controller;
    fn deref(&self) -> &Controller {
        &self.controller
    }
}

/// Starts an emulator with the default settings on a one-thread runtime.
pub fn emulator() -> Emu {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("runtime");
    let handle = Emulator::builder().start_on(rt.handle()).expect("emulator");
    let controller = handle.controller();
    Emu {
        handle,
        controller,
        _rt: rt,
    }
}

/// `wa-groups moderate ARGS` against `emu`, with the three secrets in the
/// environment (where the binary reads them) and stdout and stderr piped.
pub fn moderate(emu: &Emu, app_secret: &str, verify_token: &str, args: &[&str]) -> Command {
    let mut cmd = Command::new(BIN);
    cmd.arg("moderate")
        .args(args)
        .env("WHATSAPP_ACCESS_TOKEN", emu.access_token())
        .env("WHATSAPP_APP_SECRET", app_secret)
        .env("WHATSAPP_VERIFY_TOKEN", verify_token)
        .env("WA_GROUPS_BASE_URL", emu.base_url())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    cmd
}

/// Spawns `moderate serve` as `cmd` says, with threads that keep all it
/// prints; the receiver yields the URL it announces (`moderating on URL`).
pub fn spawn_serve(mut cmd: Command) -> (Child, Arc<Mutex<String>>, Receiver<String>) {
    let mut child = cmd.spawn().expect("moderate serve");
    let output = Arc::new(Mutex::new(String::new()));
    let (tx, rx) = channel();
    for pipe in [
        Box::new(child.stderr.take().expect("stderr piped")) as Box<dyn std::io::Read + Send>,
        Box::new(child.stdout.take().expect("stdout piped")),
    ] {
        let output = Arc::clone(&output);
        let tx = tx.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(pipe).lines() {
                let Ok(line) = line else { break };
                if let Some(rest) = line.strip_prefix("moderating on ") {
                    let url = rest.split_whitespace().next().unwrap_or_default();
                    let _ = tx.send(url.to_owned());
                }
                let mut o = output.lock().expect("output");
                o.push_str(&line);
                o.push('\n');
            }
        });
    }
    (child, output, rx)
}

/// SIGTERM to `child`, then its exit code and everything it printed.
pub fn terminate(child: &mut Child, output: &Mutex<String>) -> (Option<i32>, String) {
    let pid = child.id().to_string();
    let ok = Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .expect("kill");
    assert!(ok.success());
    let status = child.wait().expect("wait");
    // Let the reader threads drain the pipes.
    std::thread::sleep(Duration::from_millis(100));
    let out = output.lock().expect("output").clone();
    (status.code(), out)
}
