//! `GET /{version}/{group_id}?fields=...` responses through
//! `Endpoint::parse_response`.
//!
//! Input: one byte picks the 2xx status, one the requested fields (a bit
//! mask over `GROUP_INFO_FIELDS`), the rest is the body.
//!
//! Properties:
//! - the endpoint's result is exactly serde's `GroupInfo`;
//! - a `GroupInfo` round-trips: serialized, it parses to the same value;
//! - a failure is a `Decode` error with the response's status, an excerpt of
//!   at most `EXCERPT_LIMIT` bytes, and never the access token.

#![no_main]

use http::{HeaderMap, StatusCode};
use libfuzzer_sys::fuzz_target;
use wa_groups_fuzz::{Reader, check_error, endpoint};
use wa_groups_protocol::{ErrorKind, GROUP_INFO_FIELDS, GetGroupInfo, GroupId, GroupInfo};

const STATUSES: [u16; 4] = [200, 206, 201, 204];

fuzz_target!(|data: &[u8]| {
    let mut input = Reader::new(data);
    let status = STATUSES[usize::from(input.byte()) % STATUSES.len()];
    let status = StatusCode::from_u16(status).unwrap();
    let mask = input.u16();
    let fields = GROUP_INFO_FIELDS
        .iter()
        .enumerate()
        .filter(|(i, _)| mask & (1 << i) != 0)
        .map(|(_, f)| *f);
    let op = GetGroupInfo::new(GroupId::new("g").unwrap(), fields).unwrap();
    let body = input.rest();

    let endpoint = endpoint();
    let result = endpoint.parse_response(&op, status, &HeaderMap::new(), body);
    let direct = serde_json::from_slice::<GroupInfo>(body);

    match (result, direct) {
        (Ok(info), Ok(direct)) => {
            assert_eq!(info, direct);
            let json = serde_json::to_vec(&info).unwrap();
            let back = endpoint
                .parse_response(&op, status, &HeaderMap::new(), &json)
                .unwrap();
            assert_eq!(back, info);
        }
        (Err(e), Err(_)) => {
            assert_eq!(e.kind(), ErrorKind::Decode, "{e:?}");
            check_error(&e, status.as_u16());
        }
        (result, direct) => panic!("endpoint gave {result:?}, serde gave {direct:?}"),
    }
});
