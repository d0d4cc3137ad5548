//! Settings fixed at start.

use std::net::SocketAddr;
use std::time::Duration;

/// Settings fixed at start.
#[derive(Debug, Clone)]
pub(crate) struct Config {
    pub(crate) addr: SocketAddr,
    pub(crate) access_token: String,
    pub(crate) admin_token: Option<String>,
    pub(crate) page_size: u32,
    pub(crate) cursor_ttl: Duration,
    pub(crate) participant_cap: u32,
    pub(crate) fixed_start: Option<i64>,
    pub(crate) phone_number_id: String,
    pub(crate) display_phone_number: String,
    pub(crate) waba_id: String,
    pub(crate) max_request_body: usize,
    pub(crate) max_faults: usize,
    pub(crate) webhook_queue: usize,
    pub(crate) shutdown_grace: Duration,
    pub(crate) header_read_timeout: Duration,
    pub(crate) body_read_timeout: Duration,
    pub(crate) idle_timeout: Duration,
    pub(crate) max_connections: usize,
    pub(crate) webhook_retries: u32,
    pub(crate) webhook_concurrency: usize,
    pub(crate) webhook_backoff: Duration,
    pub(crate) requester_seed: Option<u64>,
}
