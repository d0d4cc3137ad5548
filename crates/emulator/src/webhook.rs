//! Webhook payloads and delivery: payloads built with the protocol crate's
//! types from the events state operations return, signed with its `sign`,
//! POSTed by one background task in order.

use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use bytes::Bytes;
use http::{Request, Uri};
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use tokio::sync::mpsc;
use wa_groups_protocol::JoinRequest;
use wa_groups_protocol::webhook::{
    Change, Entry, GroupChange, GroupEvent, GroupEventKind, GroupField, GroupParticipant,
    JoinRequestEvent, Metadata, ParticipantsAdded, SIGNATURE_HEADER, WebhookPayload, sign,
};

use crate::Error;
use crate::config::Config;
use crate::state::{Event, EventKind};
use crate::stats::{Counters, bump};

/// Events per delivery; a bigger operation is sent in several.
const EVENTS_PER_DELIVERY: usize = 100;
/// How long one delivery may take.
const DELIVERY_TIMEOUT: Duration = Duration::from_secs(5);

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

pub(crate) struct Delivery {
    url: Uri,
    body: Bytes,
    signature: String,
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
    GroupParticipant {
        input: None,
        wa_id: r.wa_id.clone(),
        user_id: r.user_id.clone(),
        parent_user_id: r.parent_user_id.clone(),
        username: r.username.clone(),
    }
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
                EventKind::Added => GroupEventKind::ParticipantsAdded(ParticipantsAdded {
                    reason: None,
                    join_request_id: Some(e.request.join_request_id.as_str().to_owned()),
                    participants: vec![participant(&e.request)],
                }),
            };
            let ev = GroupEvent::new(e.timestamp, &*e.group_id, kind);
            match &e.request_id {
                Some(id) => ev.with_request_id(id),
                None => ev,
            }
        })
        .collect();
    let payload = WebhookPayload::new(vec![Entry {
        id: cfg.waba_id.clone(),
        changes: vec![Change::Group(GroupChange {
            field: GroupField::ParticipantsUpdate,
            metadata: Metadata {
                display_phone_number: cfg.display_phone_number.clone(),
                phone_number_id: cfg.phone_number_id.clone(),
            },
            events: group_events,
        })],
    }]);
    payload.encode()
}

/// Where webhooks go now, and the queue to the delivery task.
pub(crate) struct Webhooks {
    target: Mutex<Option<WebhookTarget>>,
    tx: mpsc::Sender<Delivery>,
}

impl Webhooks {
    /// The sender, and the receiving end for [`worker`].
    pub(crate) fn new(queue: usize) -> (Self, mpsc::Receiver<Delivery>) {
        let (tx, rx) = mpsc::channel(queue.max(1));
        (
            Self {
                target: Mutex::new(None),
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
            let delivery = Delivery {
                url: target.url.clone(),
                body,
                signature,
            };
            if self.tx.try_send(delivery).is_err() {
                bump(&counters.webhooks_dropped);
            }
        }
    }
}

/// The delivery task: one POST at a time, in order, until the queue closes.
pub(crate) async fn worker(mut rx: mpsc::Receiver<Delivery>, counters: Arc<Counters>) {
    let client: Client<_, Full<Bytes>> = Client::builder(TokioExecutor::new()).build_http();
    while let Some(d) = rx.recv().await {
        let req = Request::post(d.url)
            .header(http::header::CONTENT_TYPE, "application/json")
            .header(http::header::USER_AGENT, "facebookexternalua")
            .header(SIGNATURE_HEADER, d.signature)
            .body(Full::new(d.body));
        let Ok(req) = req else {
            bump(&counters.webhooks_failed);
            continue;
        };
        let ok = tokio::time::timeout(DELIVERY_TIMEOUT, async {
            let resp = client.request(req).await.ok()?;
            let status = resp.status();
            // Drain the answer so the connection can be reused.
            let _ = resp.into_body().collect().await;
            Some(status.is_success())
        })
        .await;
        match ok {
            Ok(Some(true)) => bump(&counters.webhooks_delivered),
            other => {
                tracing::debug!(?other, "webhook delivery failed");
                bump(&counters.webhooks_failed);
            }
        }
    }
}
