//! Meta's usage headers, and pacing by them.
//!
//! Graph API responses may carry `X-Business-Use-Case-Usage` (per business
//! and use case) and `X-App-Usage`: how much of a rate limit is used, in
//! percent, where 100 means calls are throttled. Group operations have no
//! published rate, so a client cannot pace to a known number; it can keep
//! the reported usage from reaching 100. [`Pacer`] does that as a pure
//! state machine: the caller reports the usage each response carried and
//! the calls it sends, with the time, and waits as it is told.

use std::time::{Duration, Instant};

use http::HeaderMap;

/// The per-business usage header (lower case, as `http` stores names).
pub const BUSINESS_USE_CASE_USAGE: &str = "x-business-use-case-usage";

/// The per-app usage header.
pub const APP_USAGE: &str = "x-app-usage";

/// The longest usage header read; Meta's are a few hundred bytes.
const MAX_USAGE_HEADER_BYTES: usize = 8 * 1024;

/// The fields of a usage entry that count toward throttling (Meta throttles
/// when any of them reaches 100).
const USAGE_FIELDS: [&str; 3] = ["call_count", "total_cputime", "total_time"];

/// The highest usage, in percent (0 to 100), that a response's usage
/// headers report over every business, use case and field; `None` when it
/// carries none that can be read. A malformed header is ignored, never an
/// error: it only informs pacing.
pub fn usage_percent(headers: &HeaderMap) -> Option<u8> {
    let mut highest: Option<u8> = None;
    let mut note = |v: u8| highest = Some(highest.map_or(v, |h| h.max(v)));
    for value in headers.get_all(BUSINESS_USE_CASE_USAGE) {
        // `{"<business id>": [{"type": ..., "call_count": 28, ...}, ...]}`
        if let Some(serde_json::Value::Object(by_business)) = parse(value) {
            for entries in by_business.values() {
                for entry in entries.as_array().into_iter().flatten() {
                    if let Some(v) = entry_usage(entry) {
                        note(v);
                    }
                }
            }
        }
    }
    for value in headers.get_all(APP_USAGE) {
        // `{"call_count": 28, "total_cputime": 25, "total_time": 25}`
        if let Some(v) = parse(value).as_ref().and_then(entry_usage) {
            note(v);
        }
    }
    highest
}

fn parse(value: &http::HeaderValue) -> Option<serde_json::Value> {
    if value.len() > MAX_USAGE_HEADER_BYTES {
        return None;
    }
    serde_json::from_slice(value.as_bytes()).ok()
}

/// The highest of an entry's counted fields, clamped to 0..=100.
fn entry_usage(entry: &serde_json::Value) -> Option<u8> {
    USAGE_FIELDS
        .iter()
        .filter_map(|f| entry.get(f)?.as_f64())
        .filter(|v| v.is_finite())
        .map(|v| v.clamp(0.0, 100.0) as u8)
        .max()
}

/// The value of an `X-Business-Use-Case-Usage` header for one business at
/// `percent` of its limit, with `regain_minutes` until calls are admitted
/// again (0 when they are): what the emulator sends.
#[cfg(feature = "server")]
pub fn business_use_case_usage(business_id: &str, percent: u8, regain_minutes: u64) -> String {
    let percent = percent.min(100);
    serde_json::json!({
        business_id: [{
            "type": "whatsapp_business_management",
            "call_count": percent,
            "total_cputime": percent,
            "total_time": percent,
            "estimated_time_to_regain_access": regain_minutes,
        }]
    })
    .to_string()
}

/// Paces calls so that the usage the server reports stays below 100.
///
/// Below [`PACE_FROM`](Self::PACE_FROM) percent nothing is paced. At or
/// above it, each control step (every 10 ms, or at once on a rise of 2
/// points) in which the usage rose, or stayed at 100, cuts the send rate
/// to a share of what this client has been sending: 0.7 when the usage
/// would reach 100 in more than 100 ms at the speed it rose, down to 0.1
/// the sooner it would. A step in which the usage fell lets the rate grow
/// by 5% per 10 ms it spans; a step in which it held changes nothing (one
/// point of usage can hide a slow rise). Usage below the mark again ends
/// the pacing. A limit shared by several clients (replicas on one phone
/// number) paces each of them by what it sends.
///
/// Time comes in as arguments: [`delay`](Self::delay) says how long the
/// next call waits, [`sent`](Self::sent) books it, and
/// [`observe`](Self::observe) takes each response's usage.
#[derive(Debug, Clone, Default)]
pub struct Pacer {
    /// The latest usage a response reported.
    latest: Option<u8>,
    /// When the last control step was, and the usage then; `None` until
    /// a response has reported one.
    step: Option<(Instant, u8)>,
    /// Calls sent since the last control step.
    sent_in_step: u32,
    /// Calls per second this client has been sending, averaged over about
    /// [`SENT_SPAN`]: one short step's count is too noisy to cut from.
    sending: Option<f64>,
    /// Calls per second while pacing.
    rate: Option<f64>,
    /// The earliest time the next call may go while pacing.
    next: Option<Instant>,
}

/// How far behind schedule a paced client may fall and catch up at once:
/// timers wake at millisecond ticks, so calls spaced finer than a tick go
/// several to a tick.
const CATCH_UP: Duration = Duration::from_millis(5);

/// The slowest pace: one call a second.
const MIN_RATE: f64 = 1.0;

impl Pacer {
    /// The usage, in percent, from which calls are paced.
    pub const PACE_FROM: u8 = 80;

    /// A pacer that has seen no usage: it lets every call go.
    pub fn new() -> Self {
        Self::default()
    }

    /// How long a call about to be sent at `now` waits first (zero: send
    /// it now, and report it with [`sent`](Self::sent)). A caller that
    /// waited asks again: the pace may have changed meanwhile.
    pub fn delay(&mut self, now: Instant) -> Duration {
        self.control(now);
        match (self.rate, self.next) {
            (Some(_), Some(next)) => next.saturating_duration_since(now),
            _ => Duration::ZERO,
        }
    }

    /// Books a call sent at `now` (after [`delay`](Self::delay) said zero
    /// at that time, which took any control step due).
    pub fn sent(&mut self, now: Instant) {
        self.sent_in_step = self.sent_in_step.saturating_add(1);
        self.next = self.rate.map(|rate| {
            let from = self
                .next
                .map_or(now, |n| n.max(now.checked_sub(CATCH_UP).unwrap_or(now)));
            from + Duration::from_secs_f64(1.0 / rate)
        });
    }

    /// Takes the usage (percent) a response received at `now` reported.
    pub fn observe(&mut self, now: Instant, usage: u8) {
        self.latest = Some(usage.min(100));
        self.control(now);
    }

    /// The calls per second the pacer allows, or `None` when it lets every
    /// call go.
    pub fn rate(&self) -> Option<f64> {
        self.rate
    }

    /// One control step, when [`STEP`] has passed since the last or the
    /// usage rose [`FAST_RISE`] points since it.
    fn control(&mut self, now: Instant) {
        let Some(usage) = self.latest else {
            return;
        };
        let Some((at, before)) = self.step else {
            // The first usage seen: the first step starts from it.
            self.step = Some((now, usage));
            self.sent_in_step = 0;
            return;
        };
        let elapsed = now.saturating_duration_since(at);
        let rise = i16::from(usage) - i16::from(before);
        if elapsed < STEP && rise < i16::from(FAST_RISE) {
            return;
        }
        let in_step = f64::from(self.sent_in_step) / elapsed.as_secs_f64().max(1e-4);
        let weight = (elapsed.as_secs_f64() / SENT_SPAN.as_secs_f64()).min(1.0);
        let sending = self.sending.map_or(in_step, |s| s + (in_step - s) * weight);
        self.sending = Some(sending);
        self.step = Some((now, usage));
        self.sent_in_step = 0;
        if usage < Self::PACE_FROM {
            self.rate = None;
            self.next = None;
            return;
        }
        if rise > 0 || (usage == 100 && before == 100) {
            // What was sent is what made the usage rise (with what others
            // sent); a rate above it restrained nothing. The sooner the
            // usage would reach 100 at this speed, the harder the cut.
            let speed = f64::from(rise.max(1)) / elapsed.as_secs_f64().max(1e-4);
            let full_in = f64::from(100 - usage) / speed;
            let factor = (full_in / HORIZON.as_secs_f64()).clamp(MAX_CUT, MIN_CUT);
            let base = self.rate.map_or(sending, |r| r.min(sending));
            self.rate = Some((base * factor).max(MIN_RATE));
        } else if rise < 0
            && let Some(rate) = self.rate
        {
            // By the time it took: a slow pace sees few responses.
            let steps = elapsed.min(MAX_GROWTH_SPAN).as_secs_f64() / STEP.as_secs_f64();
            self.rate = Some(rate * GROWTH.powf(steps.max(1.0)));
        }
    }
}

/// The span over which the send rate a cut starts from is averaged.
const SENT_SPAN: Duration = Duration::from_millis(50);

/// How often the pacer adjusts its rate at the least.
const STEP: Duration = Duration::from_millis(10);

/// A rise of this many points takes a control step at once: a fast
/// sender against a small limit crosses the band between two steps.
const FAST_RISE: u8 = 2;

/// A rise that would reach 100 within this time cuts harder than
/// [`MIN_CUT`], down to [`MAX_CUT`].
const HORIZON: Duration = Duration::from_millis(100);

/// The gentlest cut: to 0.7 of the rate.
const MIN_CUT: f64 = 0.7;

/// The hardest cut: to 0.1 of the rate.
const MAX_CUT: f64 = 0.1;

/// Growth for each [`STEP`] of a step in which the usage fell.
const GROWTH: f64 = 1.05;

/// The most time one step's growth counts (at most 1.05^20, 2.65 times).
const MAX_GROWTH_SPAN: Duration = Duration::from_millis(200);

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(*k, v.parse().unwrap());
        }
        h
    }

    #[test]
    fn reads_the_highest_usage_of_every_header_and_field() {
        let h = headers(&[
            (
                BUSINESS_USE_CASE_USAGE,
                r#"{"102290129340398":[{"type":"whatsapp_business_management","call_count":12,"total_cputime":41,"total_time":3,"estimated_time_to_regain_access":0},{"type":"whatsapp","call_count":7}]}"#,
            ),
            (
                APP_USAGE,
                r#"{"call_count":30,"total_cputime":0,"total_time":0}"#,
            ),
        ]);
        assert_eq!(usage_percent(&h), Some(41));
        let h = headers(&[(APP_USAGE, r#"{"call_count":130}"#)]);
        assert_eq!(usage_percent(&h), Some(100), "clamped");
    }

    #[test]
    fn no_or_malformed_usage_reads_as_none() {
        assert_eq!(usage_percent(&HeaderMap::new()), None);
        for bad in ["", "{", "[]", r#"{"1":"x"}"#, r#"{"1":[{"type":"a"}]}"#] {
            let h = headers(&[(BUSINESS_USE_CASE_USAGE, bad)]);
            assert_eq!(usage_percent(&h), None, "{bad:?}");
        }
    }

    #[test]
    fn the_server_header_reads_back() {
        for p in [0, 1, 79, 80, 99, 100, 200] {
            let h = headers(&[(
                BUSINESS_USE_CASE_USAGE,
                &business_use_case_usage("102290129340398", p, 0),
            )]);
            assert_eq!(usage_percent(&h), Some(p.min(100)));
        }
    }

    /// A token bucket of `burst` calls refilled at `rate` a second,
    /// reporting its usage as whole percents used, 100 only when a call
    /// would be refused (the emulator rounds where this floors).
    struct Bucket {
        tokens: f64,
        burst: f64,
        rate: f64,
    }

    impl Bucket {
        /// Takes a token; the usage the response reports, 100 only when a
        /// call would be refused; `None` when this one is.
        fn call(&mut self) -> Option<u8> {
            if self.tokens < 1.0 {
                return None;
            }
            self.tokens -= 1.0;
            if self.tokens < 1.0 {
                return Some(100);
            }
            let used = (self.burst - self.tokens) / self.burst * 100.0;
            Some((used.floor() as u8).min(99))
        }
    }

    /// Clients, each wanting up to `want` calls a 0.1 ms tick (answered
    /// within it), send for `span` as their pacers let them. Returns the
    /// calls admitted and refused.
    fn run(
        pacers: &mut [Pacer],
        want: u32,
        start: Instant,
        span: Duration,
        bucket: &mut Bucket,
    ) -> (u32, u32) {
        let (mut admitted, mut refused) = (0, 0);
        let tick = Duration::from_micros(100);
        let mut now = start;
        while now < start + span {
            now += tick;
            bucket.tokens = (bucket.tokens + bucket.rate * tick.as_secs_f64()).min(bucket.burst);
            for p in pacers.iter_mut() {
                for _ in 0..want {
                    if !p.delay(now).is_zero() {
                        break;
                    }
                    p.sent(now);
                    match bucket.call() {
                        Some(usage) => {
                            admitted += 1;
                            p.observe(now, usage);
                        }
                        None => {
                            refused += 1;
                            p.observe(now, 100);
                        }
                    }
                }
            }
        }
        (admitted, refused)
    }

    fn full(burst: f64, rate: f64) -> Bucket {
        Bucket {
            tokens: burst,
            burst,
            rate,
        }
    }

    #[test]
    fn a_client_faster_than_the_limit_settles_below_it_without_refusals() {
        let start = Instant::now();
        let mut p = [Pacer::new()];
        // 40,000 calls a second wanted, 2,000 admitted, bucket full.
        let mut bucket = full(2000.0, 2000.0);
        let (admitted, refused) = run(&mut p, 4, start, Duration::from_secs(3), &mut bucket);
        assert_eq!(refused, 0);
        // The burst and at least 90% of the rate after it.
        assert!(admitted >= 2000 + 5400, "admitted {admitted}");
        assert!(p[0].rate().is_some(), "still pacing");
    }

    #[test]
    fn replicas_sharing_a_limit_pace_each_other_without_refusals() {
        let start = Instant::now();
        let mut p = [Pacer::new(), Pacer::new(), Pacer::new()];
        let mut bucket = full(2000.0, 2000.0);
        let (admitted, refused) = run(&mut p, 2, start, Duration::from_secs(3), &mut bucket);
        assert_eq!(refused, 0);
        assert!(admitted >= 2000 + 5400, "admitted {admitted}");
    }

    #[test]
    fn a_small_bucket_is_not_overrun() {
        let start = Instant::now();
        let mut p = [Pacer::new()];
        // 50 calls a second, a burst of 50.
        let mut bucket = full(50.0, 50.0);
        let (admitted, refused) = run(&mut p, 4, start, Duration::from_secs(10), &mut bucket);
        assert_eq!(refused, 0);
        assert!(admitted >= 50 + 450, "admitted {admitted}");
    }

    #[test]
    fn a_client_slower_than_the_limit_is_not_held_back_by_a_drained_bucket() {
        let start = Instant::now();
        let mut p = [Pacer::new()];
        // The bucket starts with one call in it (reporting 100); the
        // client wants 1,000 a second of the 2,000 admitted.
        let mut bucket = Bucket {
            tokens: 1.0,
            burst: 2000.0,
            rate: 2000.0,
        };
        let mut admitted = 0;
        for ms in 0..2000u64 {
            // The rest of the millisecond, idle.
            bucket.tokens = (bucket.tokens + bucket.rate * 0.0009).min(bucket.burst);
            let (a, refused) = run(
                &mut p,
                1,
                start + Duration::from_millis(ms),
                Duration::from_micros(100),
                &mut bucket,
            );
            admitted += a;
            assert_eq!(refused, 0);
        }
        assert!(admitted >= 1990, "admitted {admitted}");
        assert_eq!(p[0].rate(), None);
    }

    #[test]
    fn pacing_ends_once_usage_falls_below_the_mark() {
        let start = Instant::now();
        let mut p = [Pacer::new()];
        let mut bucket = full(2000.0, 2000.0);
        run(&mut p, 4, start, Duration::from_secs(2), &mut bucket);
        assert!(p[0].rate().is_some());
        let later = start + Duration::from_secs(3);
        p[0].observe(later, 50);
        assert_eq!(p[0].delay(later + STEP), Duration::ZERO);
        assert_eq!(p[0].rate(), None);
    }

    #[test]
    fn without_usage_nothing_is_paced() {
        let start = Instant::now();
        let mut p = Pacer::new();
        for i in 0..10_000u32 {
            let now = start + Duration::from_micros(u64::from(i));
            assert_eq!(p.delay(now), Duration::ZERO);
            p.sent(now);
        }
        assert_eq!(p.rate(), None);
    }
}
