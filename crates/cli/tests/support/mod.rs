//! What the CLI's test binaries share: an emulator on its own runtime, so
//! the built binary can be run synchronously beside it.

// Each test binary uses its own part of this module.
#![allow(dead_code, unreachable_pub)]

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
