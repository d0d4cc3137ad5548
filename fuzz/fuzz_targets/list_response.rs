//! `GET .../join_requests` responses through `Endpoint::parse_response`.
//!
//! Input: one byte picks the 2xx status, the rest is the body.
//!
//! Properties:
//! - the endpoint's result is exactly serde's `ListResponse` turned into a
//!   `JoinRequestPage`: same success, same page;
//! - a page has a next (previous) cursor only when the body had
//!   `paging.next` (`paging.previous`);
//! - the wire type round-trips: `ListResponse` → JSON → `ListResponse`;
//! - the page round-trips: rebuilt as a body with its cursors and links, it
//!   parses to the same page;
//! - a failure is a `Decode` error with the response's status, an excerpt of
//!   at most `EXCERPT_LIMIT` bytes, and never the access token.

#![no_main]

use http::{HeaderMap, StatusCode};
use libfuzzer_sys::fuzz_target;
use wa_groups_fuzz::{Reader, check_error, endpoint};
use wa_groups_protocol::{
    Cursors, ErrorKind, GroupId, JoinRequestPage, ListJoinRequests, ListQuery, ListResponse,
    Paging,
};

const STATUSES: [u16; 4] = [200, 206, 201, 204];
const LINK: &str = "https://graph.facebook.com/v23.0/g/join_requests";

fuzz_target!(|data: &[u8]| {
    let mut input = Reader::new(data);
    let status = STATUSES[usize::from(input.byte()) % STATUSES.len()];
    let body = input.rest();
    let status = StatusCode::from_u16(status).unwrap();

    let endpoint = endpoint();
    let op = ListJoinRequests::new(GroupId::new("g").unwrap(), ListQuery::default()).unwrap();
    let result = endpoint.parse_response(&op, status, &HeaderMap::new(), body);
    let wire = serde_json::from_slice::<ListResponse>(body);

    match (result, wire) {
        (Ok(page), Ok(wire)) => {
            // Same page as the wire type gives.
            assert_eq!(page, JoinRequestPage::from(wire.clone()));
            let paging = wire.paging.clone().unwrap_or_default();
            assert!(page.after.is_none() || paging.next.is_some());
            assert!(page.before.is_none() || paging.previous.is_some());

            // The wire type round-trips.
            let again = serde_json::to_vec(&wire).unwrap();
            assert_eq!(
                serde_json::from_slice::<ListResponse>(&again).unwrap(),
                wire
            );

            // The page round-trips as a body with its cursors and links.
            let rebuilt = ListResponse {
                data: page.data.clone(),
                paging: Some(Paging {
                    cursors: Some(Cursors {
                        before: page.before.as_ref().map(ToString::to_string),
                        after: page.after.as_ref().map(ToString::to_string),
                    }),
                    previous: page.before.as_ref().map(|_| LINK.to_owned()),
                    next: page.after.as_ref().map(|_| LINK.to_owned()),
                }),
            };
            let rebuilt = serde_json::to_vec(&rebuilt).unwrap();
            let back = endpoint
                .parse_response(&op, status, &HeaderMap::new(), &rebuilt)
                .unwrap();
            assert_eq!(back, page);
        }
        (Err(e), Err(_)) => {
            assert_eq!(e.kind(), ErrorKind::Decode, "{e:?}");
            check_error(&e, status.as_u16());
        }
        (result, wire) => panic!("endpoint gave {result:?}, serde gave {wire:?}"),
    }
});
