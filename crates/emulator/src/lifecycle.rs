//! The start/stop lifecycle the language bindings share: an emulator that
//! may be started, stopped and started again, whose state calls fail with
//! a clear error while it is not running.

use std::sync::{Mutex, MutexGuard, PoisonError};

use crate::settings::EmulatorConfig;
use crate::{Controller, EmulatorHandle, Error};

/// An emulator with fixed settings that can be started and stopped any
/// number of times (each start on a new port unless one is set). The
/// Python and Node `Emulator` helpers are thin wrappers of this.
#[derive(Debug)]
pub struct ManagedEmulator {
    config: EmulatorConfig,
    handle: Mutex<Option<EmulatorHandle>>,
}

impl ManagedEmulator {
    /// An emulator with these settings, not running. The settings are
    /// checked now, so a bad one fails here rather than at start.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidInput`] naming the field.
    pub fn new(config: EmulatorConfig) -> Result<Self, Error> {
        config.builder()?;
        Ok(Self {
            config,
            handle: Mutex::new(None),
        })
    }

    fn slot(&self) -> MutexGuard<'_, Option<EmulatorHandle>> {
        self.handle.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Starts it on `runtime` (without blocking) and returns its controller.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidInput`] when it is already running, [`Error::Bind`].
    pub fn start_on(&self, runtime: &tokio::runtime::Handle) -> Result<Controller, Error> {
        let mut slot = self.slot();
        if slot.is_some() {
            return Err(Error::invalid("the emulator is already running"));
        }
        let handle = self
            .config
            .builder()?
            .shutdown_grace(std::time::Duration::from_secs(1))
            .start_on(runtime)?;
        let controller = handle.controller();
        *slot = Some(handle);
        Ok(controller)
    }

    /// Takes the running emulator out, told to stop: await its
    /// [`shutdown`](EmulatorHandle::shutdown) to wait until it is down.
    /// `None` when it was not running (stopping twice is fine).
    pub fn stop(&self) -> Option<EmulatorHandle> {
        let handle = self.slot().take();
        if let Some(h) = &handle {
            h.stop();
        }
        handle
    }

    /// Whether it is running.
    pub fn is_running(&self) -> bool {
        self.slot().is_some()
    }

    /// The running emulator's controller.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidInput`] when it is not running.
    pub fn controller(&self) -> Result<Controller, Error> {
        self.slot()
            .as_ref()
            .map(EmulatorHandle::controller)
            .ok_or_else(|| Error::invalid("the emulator is not running: call start() first"))
    }
}
