//! `wa_groups.testing.Emulator`: the Rust emulator, started in process on
//! the package's runtime, for users' own test suites. Options, checks and
//! the lifecycle live in the emulator crate (`EmulatorConfig`,
//! `GroupOptions::from_value`, `RateLimit::from_value`, `ManagedEmulator`),
//! shared with the Node helper; this file only converts Python values.

use std::time::Duration;

use pyo3::exceptions::{PyRuntimeError, PyValueError};
use pyo3::prelude::*;
use serde_json::json;
use wa_groups_emulator::{
    Controller, EmulatorConfig, Fault, GroupOptions, ManagedEmulator, RateLimit,
};

use crate::errors::emulator_err;
use crate::runtime::{block_on, runtime};
use crate::types::{JoinRequest, Repr};
use crate::webhooks::json_to_py;

/// A running emulator of the Graph API's join request endpoints on
/// 127.0.0.1. Started by the constructor; stopped by `close()` or at the
/// end of a `with` block.
#[pyclass(frozen, module = "wa_groups.testing")]
pub(crate) struct Emulator {
    inner: ManagedEmulator,
    controller: Controller,
}

fn millis(secs: f64, what: &str) -> PyResult<Duration> {
    Duration::try_from_secs_f64(secs).map_err(|_| {
        PyValueError::new_err(format!("{what} must be a non-negative number of seconds"))
    })
}

#[pymethods]
impl Emulator {
    #[new]
    #[pyo3(signature = (*, access_token=None, port=0, page_size=None, participant_cap=None, cursor_ttl=None, fixed_clock=None))]
    fn new(
        access_token: Option<String>,
        port: u16,
        page_size: Option<u32>,
        participant_cap: Option<u32>,
        cursor_ttl: Option<f64>,
        fixed_clock: Option<i64>,
    ) -> PyResult<Self> {
        let config = EmulatorConfig::from_value(json!({
            "access_token": access_token,
            "port": port,
            "page_size": page_size,
            "participant_cap": participant_cap,
            "cursor_ttl": cursor_ttl,
            "fixed_clock": fixed_clock,
        }))
        .map_err(emulator_err)?;
        let inner = ManagedEmulator::new(config).map_err(emulator_err)?;
        let controller = inner.start_on(runtime()?.handle()).map_err(emulator_err)?;
        Ok(Self { inner, controller })
    }

    /// The base URL to give a client, such as `http://127.0.0.1:41234`.
    #[getter]
    fn base_url(&self) -> &str {
        self.controller.base_url()
    }

    /// The access token the emulator accepts.
    #[getter]
    fn access_token(&self) -> &str {
        self.controller.access_token()
    }

    /// Creates a group and returns its ID. A new group has no participants
    /// but the business (never listed).
    #[pyo3(signature = (*, participant_cap=None, subject=None, description=None, group_id=None, join_approval_mode=None))]
    fn create_group(
        &self,
        participant_cap: Option<u32>,
        subject: Option<String>,
        description: Option<String>,
        group_id: Option<String>,
        join_approval_mode: Option<&str>,
    ) -> PyResult<String> {
        let options = GroupOptions::from_value(json!({
            "participant_cap": participant_cap,
            "subject": subject,
            "description": description,
            "group_id": group_id,
            "join_approval_mode": join_approval_mode,
        }))
        .map_err(emulator_err)?;
        self.controller.create_group(options).map_err(emulator_err)
    }

    /// The IDs of every group, oldest first.
    fn groups(&self) -> Vec<String> {
        self.controller.groups()
    }

    /// Adds `count` pending join requests and returns their IDs, oldest
    /// first; `business_scoped` requesters have a `user_id` and no `wa_id`.
    #[pyo3(signature = (group_id, count, *, business_scoped=false))]
    fn add_join_requests(
        &self,
        group_id: &str,
        count: usize,
        business_scoped: bool,
    ) -> PyResult<Vec<String>> {
        if business_scoped {
            self.controller
                .add_business_scoped_join_requests(group_id, count)
        } else {
            self.controller.add_join_requests(group_id, count)
        }
        .map_err(emulator_err)
    }

    /// The pending join requests of a group, oldest first.
    fn pending_join_requests(&self, group_id: &str) -> PyResult<Vec<JoinRequest>> {
        let pending = self
            .controller
            .pending_join_requests(group_id)
            .map_err(emulator_err)?;
        Ok(pending.into_iter().map(JoinRequest::from).collect())
    }

    /// The participants of a group, the business excluded: each one's
    /// `wa_id` (or `user_id`).
    fn participants(&self, group_id: &str) -> PyResult<Vec<String>> {
        self.controller.participants(group_id).map_err(emulator_err)
    }

    /// Adds `count` participants directly (no join request); returns their
    /// `wa_id`s.
    fn add_participants(&self, group_id: &str, count: usize) -> PyResult<Vec<String>> {
        self.controller
            .add_participants(group_id, count)
            .map_err(emulator_err)
    }

    /// The requester withdraws a pending join request.
    fn revoke_join_request(&self, group_id: &str, join_request_id: &str) -> PyResult<()> {
        self.controller
            .revoke_join_request(group_id, join_request_id)
            .map_err(emulator_err)
    }

    /// Queues a fault for the next `times` Graph API calls that match
    /// `method` and `path_contains`. `kind` and its fields are those of the
    /// control API (`POST /_emulator/faults`): `latency` (`ms`),
    /// `server_error` (`status`, `code`, `is_transient`), `rate_limited`
    /// (`code`, `retry_after`), `connection_reset`, `truncated_body`,
    /// `malformed_json`, `oversize_body` (`bytes`), `response` (`status`,
    /// `headers`, `body`), and `webhook` (`drop`, `duplicate`, `delay_ms`,
    /// `seed`: webhook deliveries lost, sent twice or held back, for
    /// `times` deliveries or until cleared). `times` defaults to 1 for
    /// call faults.
    #[pyo3(signature = (kind, *, ms=None, status=None, code=None, is_transient=None, retry_after=None, bytes=None, headers=None, body=None, method=None, path_contains=None, times=None, drop=None, duplicate=None, delay_ms=None, seed=None))]
    #[allow(
        clippy::too_many_arguments,
        reason = "the fields of the control API's fault object"
    )]
    fn inject_fault(
        &self,
        kind: &str,
        ms: Option<u64>,
        status: Option<u16>,
        code: Option<i64>,
        is_transient: Option<bool>,
        retry_after: Option<u64>,
        bytes: Option<u64>,
        headers: Option<std::collections::BTreeMap<String, String>>,
        body: Option<String>,
        method: Option<&str>,
        path_contains: Option<String>,
        times: Option<u64>,
        drop: Option<f64>,
        duplicate: Option<f64>,
        delay_ms: Option<(u64, u64)>,
        seed: Option<u64>,
    ) -> PyResult<()> {
        // The emulator reads the control API's fault object (kinds, fields
        // and defaults live there, once for every language); `None` fields
        // are left out so that its defaults apply.
        let mut spec = serde_json::Map::new();
        spec.insert("kind".into(), kind.into());
        let headers = headers.map(|h| {
            serde_json::Value::Object(h.into_iter().map(|(k, v)| (k, v.into())).collect())
        });
        let delay_ms = delay_ms.map(|(lo, hi)| serde_json::json!([lo, hi]));
        let fields: [(&str, serde_json::Value); 15] = [
            ("ms", ms.into()),
            ("status", status.into()),
            ("code", code.into()),
            ("is_transient", is_transient.into()),
            ("retry_after", retry_after.into()),
            ("bytes", bytes.into()),
            ("headers", headers.into()),
            ("body", body.into()),
            ("method", method.into()),
            ("path_contains", path_contains.into()),
            ("times", times.into()),
            ("drop", drop.into()),
            ("duplicate", duplicate.into()),
            ("delay_ms", delay_ms.into()),
            ("seed", seed.into()),
        ];
        for (key, value) in fields {
            if !value.is_null() {
                spec.insert(key.into(), value);
            }
        }
        let (fault, matcher) =
            Fault::from_value(serde_json::Value::Object(spec)).map_err(emulator_err)?;
        self.controller
            .inject_fault(fault, matcher)
            .map_err(emulator_err)
    }

    /// Drops every queued fault; returns how many there were.
    fn clear_faults(&self) -> usize {
        self.controller.clear_faults()
    }

    /// The queued faults, as dicts.
    fn faults(&self, py: Python<'_>) -> PyResult<Vec<Py<PyAny>>> {
        self.controller
            .faults()
            .iter()
            .map(|f| json_to_py(py, f))
            .collect()
    }

    /// Rate limits the Graph API calls (a token bucket of `per_second`
    /// calls a second, `burst` at once, per group or for the phone number);
    /// `None` removes the limit. A call over it gets 131208, HTTP 429.
    #[pyo3(signature = (per_second, *, burst=None, scope="group"))]
    fn set_rate_limit(
        &self,
        per_second: Option<f64>,
        burst: Option<f64>,
        scope: &str,
    ) -> PyResult<()> {
        let limit = match per_second {
            None => None,
            Some(per_second) => RateLimit::from_value(json!({
                "per_second": per_second,
                "burst": burst,
                "scope": scope,
            }))
            .map_err(emulator_err)?,
        };
        self.controller.set_rate_limit(limit).map_err(emulator_err)
    }

    /// Sends signed webhooks for join requests created, revoked and
    /// approved to `url` (`http://` on loopback).
    fn set_webhook(&self, url: &str, app_secret: &str) -> PyResult<()> {
        self.controller
            .set_webhook(url, app_secret)
            .map_err(emulator_err)
    }

    /// Stops sending webhooks.
    fn clear_webhook(&self) {
        self.controller.clear_webhook();
    }

    /// The counters (requests, per endpoint, faults applied...) as a dict.
    fn stats(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        let value = serde_json::to_value(self.controller.stats())
            .map_err(|e| PyRuntimeError::new_err(e.to_string()))?;
        json_to_py(py, &value)
    }

    /// Sets every counter to zero.
    fn reset_stats(&self) {
        self.controller.reset_stats();
    }

    /// The emulator's clock, in Unix seconds.
    fn now(&self) -> i64 {
        self.controller.now()
    }

    /// Moves the emulator's clock forward by `seconds`.
    fn advance_clock(&self, seconds: f64) -> PyResult<()> {
        self.controller
            .advance_clock(millis(seconds, "seconds")?)
            .map_err(emulator_err)
    }

    /// Stops the server and waits for it to be down (at most a few
    /// seconds). Idempotent.
    fn close(&self, py: Python<'_>) -> PyResult<()> {
        if let Some(handle) = self.inner.stop() {
            // Open keep-alive connections are told to close; the grace
            // period only matters for a request still in flight.
            block_on(py, async move {
                let _ = tokio::time::timeout(Duration::from_secs(5), handle.shutdown()).await;
            })?;
        }
        Ok(())
    }

    fn __enter__(slf: PyRef<'_, Self>) -> PyRef<'_, Self> {
        slf
    }

    #[pyo3(signature = (*_args))]
    fn __exit__(&self, py: Python<'_>, _args: &Bound<'_, pyo3::types::PyTuple>) -> PyResult<()> {
        self.close(py)
    }

    fn __repr__(&self) -> String {
        Repr::new("Emulator")
            .str("base_url", Some(self.controller.base_url()))
            .finish()
    }
}
