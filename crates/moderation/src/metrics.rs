//! Prometheus counters of the engine, rendered as the text exposition
//! format for `GET /metrics`. Labels come from closed sets (event types,
//! actions, rule names of the policy, outcome kinds), so the label space
//! stays bounded.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use crate::store::Counts;

/// Upper bounds of the acknowledgement latency histogram, in seconds.
const ACK_BUCKETS: [f64; 10] = [0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0];

#[derive(Default)]
pub(crate) struct Metrics {
    deliveries: Mutex<BTreeMap<u16, u64>>,
    events: Mutex<BTreeMap<String, u64>>,
    decisions: Mutex<BTreeMap<(String, String), u64>>,
    api: Mutex<BTreeMap<(String, String), u64>>,
    ack_buckets: [AtomicU64; ACK_BUCKETS.len()],
    ack_count: AtomicU64,
    ack_sum_us: AtomicU64,
}

fn bump<K: Ord>(map: &Mutex<BTreeMap<K, u64>>, key: K, n: u64) {
    if let Ok(mut m) = map.lock() {
        *m.entry(key).or_insert(0) += n;
    }
}

/// Escapes a label value for the text format.
fn esc(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

impl Metrics {
    pub(crate) fn delivery(&self, status: u16, took: Duration) {
        bump(&self.deliveries, status, 1);
        if status == 200 {
            let secs = took.as_secs_f64();
            for (i, b) in ACK_BUCKETS.iter().enumerate() {
                if secs <= *b {
                    self.ack_buckets[i].fetch_add(1, Ordering::Relaxed);
                }
            }
            self.ack_count.fetch_add(1, Ordering::Relaxed);
            self.ack_sum_us.fetch_add(
                u64::try_from(took.as_micros()).unwrap_or(u64::MAX),
                Ordering::Relaxed,
            );
        }
    }

    pub(crate) fn event(&self, kind: &str) {
        bump(&self.events, kind.to_owned(), 1);
    }

    pub(crate) fn decision(&self, action: &str, rule: &str) {
        bump(&self.decisions, (action.to_owned(), rule.to_owned()), 1);
    }

    pub(crate) fn api(&self, action: &str, outcome: &str, n: u64) {
        bump(&self.api, (action.to_owned(), outcome.to_owned()), n);
    }

    /// The text exposition, with `records` as the records-by-state gauge.
    pub(crate) fn render(&self, records: &Counts) -> String {
        let mut out = String::with_capacity(2048);
        let _ = writeln!(
            out,
            "# HELP wa_groups_moderation_deliveries_total Webhook deliveries answered, by HTTP status."
        );
        let _ = writeln!(out, "# TYPE wa_groups_moderation_deliveries_total counter");
        if let Ok(m) = self.deliveries.lock() {
            for (status, n) in m.iter() {
                let _ = writeln!(
                    out,
                    "wa_groups_moderation_deliveries_total{{status=\"{status}\"}} {n}"
                );
            }
        }
        let _ = writeln!(
            out,
            "# HELP wa_groups_moderation_events_received_total Join request events received in verified deliveries, by type."
        );
        let _ = writeln!(
            out,
            "# TYPE wa_groups_moderation_events_received_total counter"
        );
        if let Ok(m) = self.events.lock() {
            for (kind, n) in m.iter() {
                let _ = writeln!(
                    out,
                    "wa_groups_moderation_events_received_total{{type=\"{}\"}} {n}",
                    esc(kind)
                );
            }
        }
        let _ = writeln!(
            out,
            "# HELP wa_groups_moderation_decisions_total Decisions stored, by action and rule."
        );
        let _ = writeln!(out, "# TYPE wa_groups_moderation_decisions_total counter");
        if let Ok(m) = self.decisions.lock() {
            for ((action, rule), n) in m.iter() {
                let _ = writeln!(
                    out,
                    "wa_groups_moderation_decisions_total{{action=\"{}\",rule=\"{}\"}} {n}",
                    esc(action),
                    esc(rule)
                );
            }
        }
        let _ = writeln!(
            out,
            "# HELP wa_groups_moderation_api_outcomes_total Join request IDs sent to the API, by action and outcome."
        );
        let _ = writeln!(
            out,
            "# TYPE wa_groups_moderation_api_outcomes_total counter"
        );
        if let Ok(m) = self.api.lock() {
            for ((action, outcome), n) in m.iter() {
                let _ = writeln!(
                    out,
                    "wa_groups_moderation_api_outcomes_total{{action=\"{}\",outcome=\"{}\"}} {n}",
                    esc(action),
                    esc(outcome)
                );
            }
        }
        let _ = writeln!(
            out,
            "# HELP wa_groups_moderation_records Records in the ledger, by state."
        );
        let _ = writeln!(out, "# TYPE wa_groups_moderation_records gauge");
        for (state, n) in &records.0 {
            let _ = writeln!(out, "wa_groups_moderation_records{{state=\"{state}\"}} {n}");
        }
        let _ = writeln!(
            out,
            "# HELP wa_groups_moderation_ack_seconds Time from a delivery's arrival to its 200, once its events are committed."
        );
        let _ = writeln!(out, "# TYPE wa_groups_moderation_ack_seconds histogram");
        for (i, b) in ACK_BUCKETS.iter().enumerate() {
            let n = self.ack_buckets[i].load(Ordering::Relaxed);
            let _ = writeln!(
                out,
                "wa_groups_moderation_ack_seconds_bucket{{le=\"{b}\"}} {n}"
            );
        }
        let count = self.ack_count.load(Ordering::Relaxed);
        let _ = writeln!(
            out,
            "wa_groups_moderation_ack_seconds_bucket{{le=\"+Inf\"}} {count}"
        );
        #[allow(
            clippy::cast_precision_loss,
            reason = "a sum of microseconds well under 2^52"
        )]
        let sum = self.ack_sum_us.load(Ordering::Relaxed) as f64 / 1e6;
        let _ = writeln!(out, "wa_groups_moderation_ack_seconds_sum {sum}");
        let _ = writeln!(out, "wa_groups_moderation_ack_seconds_count {count}");
        out
    }
}
