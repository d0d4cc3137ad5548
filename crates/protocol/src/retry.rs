//! When to try again, as pure functions: the caller supplies the attempt
//! count, the error and a random number, and sleeps as told.

use std::time::Duration;

use crate::codes;
use crate::error::Error;

/// Retry settings. The defaults are docs/design.md's: 3 retries, exponential
/// backoff from 0.5 s capped at 8 s with full jitter, `Retry-After`
/// honoured up to 60 s.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Retries after the first attempt; attempts are at most this plus one.
    pub max_retries: u32,
    /// Backoff before the first retry, before jitter.
    pub base_delay: Duration,
    /// The most any backoff grows to, before jitter.
    pub max_delay: Duration,
    /// The most a server's `Retry-After` is honoured for.
    pub max_retry_after: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_retries: 3,
            base_delay: Duration::from_millis(500),
            max_delay: Duration::from_secs(8),
            max_retry_after: Duration::from_secs(60),
        }
    }
}

/// What to do after a failed attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RetryDecision {
    /// Sleep this long, then send the same request again.
    RetryAfter(Duration),
    /// Give up and report the error.
    Stop,
}

/// Whether a retry of the same request could succeed: every rate limit,
/// 5xx, `is_transient`, Graph codes 1 and 2, connection failures and
/// timeouts. Auth, invalid input and not-found never are, whatever the
/// status or `is_transient` say.
pub fn is_retryable(error: &Error) -> bool {
    match error {
        Error::InvalidInput(_) | Error::Auth(_) | Error::NotFound(_) => false,
        Error::RateLimited(_) | Error::Transport(_) | Error::Timeout(_) => true,
        Error::Api(e) => {
            e.status >= 500
                || e.is_transient
                || matches!(e.code, codes::API_UNKNOWN | codes::API_SERVICE)
        }
        Error::Decode(e) => e.status().is_some_and(|s| s == 429 || s >= 500),
    }
}

impl RetryPolicy {
    /// Decides after `attempts` attempts (1 after the first) that ended in
    /// `error`. `jitter` is a random number in `[0, 1)` from the caller.
    pub fn decide(&self, attempts: u32, error: &Error, jitter: f64) -> RetryDecision {
        if attempts > self.max_retries || !is_retryable(error) {
            return RetryDecision::Stop;
        }
        if let Some(after) = error.retry_after() {
            return RetryDecision::RetryAfter(after.min(self.max_retry_after));
        }
        RetryDecision::RetryAfter(self.backoff(attempts, jitter))
    }

    /// Full-jitter backoff for the retry after `attempts` attempts:
    /// `jitter × min(max_delay, base_delay × 2^(attempts-1))`.
    pub fn backoff(&self, attempts: u32, jitter: f64) -> Duration {
        let exp = attempts.saturating_sub(1).min(30);
        let ceiling = self
            .base_delay
            .saturating_mul(1u32 << exp)
            .min(self.max_delay);
        let jitter = if jitter.is_finite() {
            jitter.clamp(0.0, 1.0)
        } else {
            0.0
        };
        ceiling.mul_f64(jitter)
    }
}
