//! `POST` (approve) and `DELETE` (reject) `.../join_requests` responses
//! through `Endpoint::parse_response`.
//!
//! Input: one byte picks the action (bit 0) and the 2xx status (the other
//! bits), the rest is the body.
//!
//! Properties:
//! - the endpoint's result is exactly `DecisionOutcome::from_json`'s, with
//!   the action asked for;
//! - an outcome round-trips: `to_json` parses back to the same value;
//! - the same JSON read as the other action keeps `failed`, `errors` and
//!   `request_id` and has nothing in `succeeded` (the keys differ);
//! - the `ApproveOutcome` / `RejectOutcome` views keep every list;
//! - a failure is a `Decode` error naming the action, with the response's
//!   status, an excerpt of at most `EXCERPT_LIMIT` bytes, and never the
//!   access token.

#![no_main]

use http::{HeaderMap, StatusCode};
use libfuzzer_sys::fuzz_target;
use wa_groups_fuzz::{Reader, check_error, endpoint};
use wa_groups_protocol::{
    Action, ApproveOutcome, DecideJoinRequests, DecisionOutcome, Error, ErrorKind, GroupId,
    JoinRequestIds, RejectOutcome,
};

const STATUSES: [u16; 4] = [200, 206, 201, 204];

fuzz_target!(|data: &[u8]| {
    let mut input = Reader::new(data);
    let selector = input.byte();
    let action = if selector & 1 == 0 {
        Action::Approve
    } else {
        Action::Reject
    };
    let status = STATUSES[usize::from(selector >> 1) % STATUSES.len()];
    let status = StatusCode::from_u16(status).unwrap();
    let body = input.rest();

    let endpoint = endpoint();
    let op = DecideJoinRequests::new(
        action,
        GroupId::new("g").unwrap(),
        JoinRequestIds::new(["a"]).unwrap(),
    );
    let result = endpoint.parse_response(&op, status, &HeaderMap::new(), body);
    let direct = DecisionOutcome::from_json(action, body);

    match (result, direct) {
        (Ok(outcome), Ok(direct)) => {
            assert_eq!(outcome, direct);
            assert_eq!(outcome.action, action);

            // Round trip through the server's encoding.
            let json = outcome.to_json();
            let back = DecisionOutcome::from_json(action, &json).unwrap();
            assert_eq!(back, outcome);

            // The other action's key is absent from this JSON.
            let other = match action {
                Action::Approve => Action::Reject,
                Action::Reject => Action::Approve,
            };
            let crossed = DecisionOutcome::from_json(other, &json).unwrap();
            assert!(crossed.succeeded.is_empty());
            assert_eq!(crossed.failed, outcome.failed);
            assert_eq!(crossed.errors, outcome.errors);
            assert_eq!(crossed.request_id, outcome.request_id);

            match action {
                Action::Approve => {
                    let view = ApproveOutcome::from(outcome.clone());
                    assert_eq!(view.approved, outcome.succeeded);
                    assert_eq!(view.failed, outcome.failed);
                    assert_eq!(view.errors, outcome.errors);
                }
                Action::Reject => {
                    let view = RejectOutcome::from(outcome.clone());
                    assert_eq!(view.rejected, outcome.succeeded);
                    assert_eq!(view.failed, outcome.failed);
                    assert_eq!(view.errors, outcome.errors);
                }
            }
        }
        (Err(e), Err(_)) => {
            assert_eq!(e.kind(), ErrorKind::Decode, "{e:?}");
            let Error::Decode(d) = &e else { unreachable!() };
            assert!(d.reason().starts_with(action.as_str()), "{e:?}");
            check_error(&e, status.as_u16());
        }
        (result, direct) => panic!("endpoint gave {result:?}, from_json gave {direct:?}"),
    }
});
