//! The emulator's clock: the system clock or a fixed start, moved forward
//! on request, bounded so it never wraps.

use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::Error;

/// Wall clock of the emulator: the system clock or a fixed start, plus an
/// offset moved by `advance_clock`.
pub(crate) struct Clock {
    fixed_start_ms: Option<i64>,
    offset_ms: AtomicI64,
}

impl Clock {
    pub(crate) fn new(fixed_start: Option<i64>) -> Self {
        Self {
            fixed_start_ms: fixed_start.map(|s| s.saturating_mul(1000)),
            offset_ms: AtomicI64::new(0),
        }
    }

    fn base_ms(&self) -> i64 {
        self.fixed_start_ms.unwrap_or_else(|| {
            SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        })
    }

    pub(crate) fn now_ms(&self) -> i64 {
        self.base_ms()
            .saturating_add(self.offset_ms.load(Ordering::Relaxed))
    }

    pub(crate) fn now_secs(&self) -> i64 {
        self.now_ms().div_euclid(1000)
    }

    /// Moves the clock forward by `by`, at most
    /// [`MAX_ADVANCE_SECONDS`](crate::input::MAX_ADVANCE_SECONDS) at a time
    /// and never past [`MAX_CLOCK_SECONDS`](crate::input::MAX_CLOCK_SECONDS),
    /// so it can never wrap.
    pub(crate) fn advance(&self, by: Duration) -> Result<(), Error> {
        crate::input::at_most(
            by.as_secs(),
            crate::input::MAX_ADVANCE_SECONDS,
            "advance_seconds",
        )?;
        // At most 100 years in ms: fits.
        let ms = i64::try_from(by.as_millis()).unwrap_or(i64::MAX);
        let limit = crate::input::MAX_CLOCK_SECONDS * 1000;
        self.offset_ms
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |offset| {
                let new = offset.checked_add(ms)?;
                (self.base_ms().saturating_add(new) <= limit).then_some(new)
            })
            .map(|_| ())
            .map_err(|_| {
                Error::invalid(format!(
                    "advance_seconds would move the clock past {} (the year 9999)",
                    crate::input::MAX_CLOCK_SECONDS
                ))
            })
    }
}
