//! The signed webhook delivery the moderation load examples send: one
//! `group_join_request_created` event, as Meta would POST it.

use bytes::Bytes;
use http_body_util::Full;
use wa_groups::protocol::webhook::{
    self, GroupEvent, GroupEventKind, JoinRequestEvent, WebhookPayload,
};

/// A POST to `url` announcing join request `jr` of `group`, signed with
/// `secret`.
pub(crate) fn created(
    url: &str,
    secret: &str,
    group: &str,
    jr: &str,
) -> Result<http::Request<Full<Bytes>>, http::Error> {
    let body = WebhookPayload::group_event(
        "102290129340398",
        "106540352242922",
        "15550783881",
        GroupEvent::new(
            1_700_000_000,
            group,
            GroupEventKind::JoinRequestCreated(JoinRequestEvent::new(jr).with_wa_id("15550001")),
        ),
    )
    .encode();
    let sig = webhook::sign(secret.as_bytes(), &body);
    http::Request::post(url)
        .header("content-type", "application/json")
        .header("x-hub-signature-256", sig)
        .body(Full::new(body))
}
