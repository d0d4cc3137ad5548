//! Webhook payloads and delivery: payloads built with the protocol crate's
//! types from the events state operations return, signed with its `sign`,
//! POSTed by one background task in order.

use std::future::Future;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use bytes::Bytes;
use http::{Request, Uri};
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use tokio::sync::{Semaphore, mpsc};
use wa_groups_protocol::JoinRequest;
use wa_groups_protocol::webhook::{
    Change, Entry, GroupChange, GroupEvent, GroupEventKind, GroupField, GroupParticipant,
    JoinRequestEvent, Metadata, ParticipantsAdded, SIGNATURE_HEADER, WebhookPayload, sign,
};

use crate::Error;
use crate::config::Config;
use crate::state::{Event, EventKind};
use crate::stats::{Counters, bump};
use crate::types::WebhookFaults;

/// Events per delivery; a bigger operation is sent in several.
const EVENTS_PER_DELIVERY: usize = 100;
/// How long one delivery may take.
const DELIVERY_TIMEOUT: Duration = Duration::from_secs(5);
/// The longest wait between two retries.
const MAX_BACKOFF: Duration = Duration::from_secs(3600);

type HttpClient = Client<hyper_util::client::legacy::connect::HttpConnector, Full<Bytes>>;

/// Where webhooks go.
#[derive(Clone)]
pub(crate) struct WebhookTarget {
    url: Uri,
    secret: Arc<[u8]>,
}

impl WebhookTarget {
    pub(crate) fn new(url: &str, secret: &[u8]) -> Result<Self, Error> {
        let bad = |why: &str| Error::invalid(format!("webhook url {url:?} {why}"));
        let uri: Uri = url.parse().map_err(|_| bad("is not a URL"))?;
        if uri.scheme_str() != Some("http") {
            return Err(bad(
                "must be http:// (the emulator delivers to loopback only)",
            ));
        }
        let host = uri
            .host()
            .unwrap_or_default()
            .trim_start_matches('[')
            .trim_end_matches(']');
        let loopback = host.eq_ignore_ascii_case("localhost")
            || host
                .parse::<std::net::IpAddr>()
                .is_ok_and(|ip| ip.is_loopback());
        if !loopback {
            return Err(bad(
                "must name a loopback host (127.0.0.0/8, ::1, localhost)",
            ));
        }
        if secret.is_empty() {
            return Err(Error::invalid("webhook app_secret must not be empty"));
        }
        Ok(Self {
            url: uri,
            secret: secret.into(),
        })
    }
}

#[derive(Clone)]
pub(crate) struct Delivery {
    url: Uri,
    body: Bytes,
    signature: String,
    /// How long to hold it back (a delay fault); deliveries held back are
    /// sent on their own, so they overtake each other.
    delay: Duration,
}

/// What the delivery task needs besides its queue.
pub(crate) struct Worker {
    pub(crate) rx: mpsc::Receiver<Delivery>,
    pub(crate) counters: Arc<Counters>,
    /// Retries after a failed attempt (Meta retries failed deliveries).
    pub(crate) retries: u32,
    /// The wait before the first retry; it doubles each time.
    pub(crate) backoff: Duration,
    /// Deliveries held back or being retried at once, at most.
    pub(crate) max_in_flight: usize,
    /// Deliveries of the queue posted at once (1: in order).
    pub(crate) concurrency: usize,
}

/// Delivery faults in force, with their random source.
struct ActiveFaults {
    faults: WebhookFaults,
    rng: fastrand::Rng,
    /// Deliveries still affected; `None`: until cleared.
    remaining: Option<u64>,
}

fn requester_event(r: &JoinRequest) -> JoinRequestEvent {
    let mut e = JoinRequestEvent::new(r.join_request_id.as_str());
    e.wa_id.clone_from(&r.wa_id);
    e.user_id.clone_from(&r.user_id);
    e.parent_user_id.clone_from(&r.parent_user_id);
    e.username.clone_from(&r.username);
    e
}

fn participant(r: &JoinRequest) -> GroupParticipant {
    let mut p = GroupParticipant::default();
    p.wa_id.clone_from(&r.wa_id);
    p.user_id.clone_from(&r.user_id);
    p.parent_user_id.clone_from(&r.parent_user_id);
    p.username.clone_from(&r.username);
    p
}

/// The payload for `events`, as Meta would send it.
pub(crate) fn payload(cfg: &Config, events: &[Event]) -> Bytes {
    let group_events = events
        .iter()
        .map(|e| {
            let kind = match e.kind {
                EventKind::Created => {
                    GroupEventKind::JoinRequestCreated(requester_event(&e.request))
                }
                EventKind::Revoked => {
                    GroupEventKind::JoinRequestRevoked(requester_event(&e.request))
                }
                EventKind::Added => {
                    let mut added = ParticipantsAdded::default();
                    added.join_request_id = Some(e.request.join_request_id.as_str().to_owned());
                    added.participants = vec![participant(&e.request)];
                    GroupEventKind::ParticipantsAdded(added)
                }
            };
            let ev = GroupEvent::new(e.timestamp, &*e.group_id, kind);
            match &e.request_id {
                Some(id) => ev.with_request_id(id),
                None => ev,
            }
        })
        .collect();
    let payload = WebhookPayload::new(vec![Entry::new(
        cfg.waba_id.clone(),
        vec![Change::Group(GroupChange::new(
            GroupField::ParticipantsUpdate,
            Metadata::new(
                cfg.display_phone_number.clone(),
                cfg.phone_number_id.clone(),
            ),
            group_events,
        ))],
    )]);
    payload.encode()
}

/// Where webhooks go now, and the queue to the delivery task.
pub(crate) struct Webhooks {
    target: Mutex<Option<WebhookTarget>>,
    faults: Mutex<Option<ActiveFaults>>,
    tx: mpsc::Sender<Delivery>,
}

impl Webhooks {
    /// The sender, and the receiving end for [`worker`].
    pub(crate) fn new(queue: usize) -> (Self, mpsc::Receiver<Delivery>) {
        let (tx, rx) = mpsc::channel(queue.max(1));
        (
            Self {
                target: Mutex::new(None),
                faults: Mutex::new(None),
                tx,
            },
            rx,
        )
    }

    fn target(&self) -> MutexGuard<'_, Option<WebhookTarget>> {
        self.target.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Sets or clears the target.
    pub(crate) fn set(&self, target: Option<WebhookTarget>) {
        *self.target() = target;
    }

    /// Applies `faults` to the next deliveries (replacing any in force).
    pub(crate) fn set_faults(&self, faults: Option<WebhookFaults>) {
        *self.faults.lock().unwrap_or_else(PoisonError::into_inner) =
            faults.map(|f| ActiveFaults {
                rng: f
                    .seed
                    .map_or_else(fastrand::Rng::new, fastrand::Rng::with_seed),
                remaining: f.deliveries,
                faults: f,
            });
    }

    /// The delivery faults in force, as `GET /_emulator/faults` lists them.
    pub(crate) fn describe_faults(&self) -> Option<serde_json::Value> {
        let guard = self.faults.lock().unwrap_or_else(PoisonError::into_inner);
        guard.as_ref().map(|a| {
            let mut v = a.faults.describe();
            v["remaining"] = a.remaining.into();
            v
        })
    }

    /// How many copies of the next delivery to send (0: dropped) and the
    /// delay of each, as the faults in force decide.
    fn plan(&self) -> (usize, [Duration; 2]) {
        let mut guard = self.faults.lock().unwrap_or_else(PoisonError::into_inner);
        let Some(active) = guard.as_mut() else {
            return (1, [Duration::ZERO; 2]);
        };
        let f = active.faults;
        let mut delay = || {
            let (lo, hi) = f.delay_ms;
            Duration::from_millis(if hi > lo { active.rng.u64(lo..=hi) } else { lo })
        };
        let delays = [delay(), delay()];
        let copies = if active.rng.f64() < f.drop {
            0
        } else if active.rng.f64() < f.duplicate {
            2
        } else {
            1
        };
        if let Some(n) = active.remaining.as_mut() {
            *n = n.saturating_sub(1);
            if *n == 0 {
                *guard = None;
            }
        }
        (copies, delays)
    }

    /// Whether a target is set (operations record events only then).
    pub(crate) fn active(&self) -> bool {
        self.target().is_some()
    }

    /// Builds, signs and queues the deliveries for `events`. Never blocks:
    /// a full queue drops the delivery and counts it.
    pub(crate) fn enqueue(&self, cfg: &Config, counters: &Counters, events: &[Event]) {
        if events.is_empty() {
            return;
        }
        let Some(target) = self.target().clone() else {
            return;
        };
        for chunk in events.chunks(EVENTS_PER_DELIVERY) {
            let body = payload(cfg, chunk);
            let signature = sign(&target.secret, &body);
            let (copies, delays) = self.plan();
            if copies == 0 {
                bump(&counters.webhooks_fault_dropped);
                continue;
            }
            if copies > 1 {
                bump(&counters.webhooks_duplicated);
            }
            for delay in &delays[..copies] {
                let delivery = Delivery {
                    url: target.url.clone(),
                    body: body.clone(),
                    signature: signature.clone(),
                    delay: *delay,
                };
                if self.tx.try_send(delivery).is_err() {
                    bump(&counters.webhooks_dropped);
                }
            }
        }
    }
}

/// One POST of `d`; whether the receiver answered 2xx in time.
async fn attempt(client: &HttpClient, d: &Delivery) -> bool {
    let req = Request::post(d.url.clone())
        .header(http::header::CONTENT_TYPE, "application/json")
        .header(http::header::USER_AGENT, "facebookexternalua")
        .header(SIGNATURE_HEADER, d.signature.as_str())
        .body(Full::new(d.body.clone()));
    let Ok(req) = req else {
        return false;
    };
    let ok = tokio::time::timeout(DELIVERY_TIMEOUT, async {
        let resp = client.request(req).await.ok()?;
        let status = resp.status();
        // Drain the answer so the connection can be reused.
        let _ = resp.into_body().collect().await;
        Some(status.is_success())
    })
    .await;
    if !matches!(ok, Ok(Some(true))) {
        tracing::debug!(?ok, "webhook delivery failed");
    }
    matches!(ok, Ok(Some(true)))
}

/// How the delivery of one payload goes: attempts, counted, until one
/// succeeds or the retries run out.
#[derive(Clone)]
struct Sender {
    client: HttpClient,
    counters: Arc<Counters>,
    retries: u32,
    backoff: Duration,
}

impl Sender {
    /// Attempts `d` once; on failure, the retries (with backoff) in order.
    async fn retry(&self, d: Delivery) {
        let mut wait = self.backoff;
        for _ in 0..self.retries {
            tokio::time::sleep(wait).await;
            wait = wait.saturating_mul(2).min(MAX_BACKOFF);
            bump(&self.counters.webhooks_retried);
            if self.send_once(&d).await {
                return;
            }
        }
        bump(&self.counters.webhooks_abandoned);
    }

    async fn send_once(&self, d: &Delivery) -> bool {
        let ok = attempt(&self.client, d).await;
        bump(if ok {
            &self.counters.webhooks_delivered
        } else {
            &self.counters.webhooks_failed
        });
        ok
    }
}

/// The delivery task: one POST at a time, in order (or up to
/// `concurrency` at once, in any order), until the queue closes.
/// A delivery held back by a delay fault, or retried after a failure, goes
/// on in a task of its own (at most `max_in_flight` at once), so the queue
/// keeps moving, as Meta's does.
pub(crate) async fn worker(w: Worker) {
    let Worker {
        mut rx,
        counters,
        retries,
        backoff,
        max_in_flight,
        concurrency,
    } = w;
    let sender = Sender {
        client: Client::builder(TokioExecutor::new()).build_http(),
        counters,
        retries,
        backoff,
    };
    let slots = Arc::new(Semaphore::new(max_in_flight.max(1)));
    let lanes = Arc::new(Semaphore::new(concurrency.max(1)));
    let on_its_own =
        |fut: std::pin::Pin<Box<dyn Future<Output = ()> + Send>>| match Arc::clone(&slots)
            .try_acquire_owned()
        {
            Ok(slot) => {
                tokio::spawn(async move {
                    fut.await;
                    drop(slot);
                });
            }
            Err(_) => bump(&sender.counters.webhooks_dropped),
        };
    while let Some(d) = rx.recv().await {
        if !d.delay.is_zero() {
            let s = sender.clone();
            on_its_own(Box::pin(async move {
                tokio::time::sleep(d.delay).await;
                if !s.send_once(&d).await {
                    s.retry(d).await;
                }
            }));
            continue;
        }
        if concurrency > 1 {
            // The queue waits for a free lane, so a slow receiver backs it
            // up (and a full queue drops) just as with one lane.
            let Ok(lane) = Arc::clone(&lanes).acquire_owned().await else {
                return;
            };
            let s = sender.clone();
            let slots = Arc::clone(&slots);
            tokio::spawn(async move {
                let sent = s.send_once(&d).await;
                // The lane is for first attempts; a retry waits beside the
                // queue, in a slot, as with one lane.
                drop(lane);
                if sent {
                    return;
                }
                if retries == 0 {
                    bump(&s.counters.webhooks_abandoned);
                } else if let Ok(slot) = slots.try_acquire_owned() {
                    s.retry(d).await;
                    drop(slot);
                } else {
                    bump(&s.counters.webhooks_dropped);
                }
            });
            continue;
        }
        if sender.send_once(&d).await {
            continue;
        }
        if retries == 0 {
            bump(&sender.counters.webhooks_abandoned);
        } else {
            let s = sender.clone();
            on_its_own(Box::pin(async move { s.retry(d).await }));
        }
    }
}
