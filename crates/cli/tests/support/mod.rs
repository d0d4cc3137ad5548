//! What the CLI's test binaries share: an emulator on its own runtime, so
//! the built binary can be run synchronously beside it.

// Each test binary uses its own part of this module.
#![allow(dead_code, unreachable_pub)]

use std::process::{Command, Stdio};

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
