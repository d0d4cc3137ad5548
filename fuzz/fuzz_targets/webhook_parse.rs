//! Webhook deliveries through `webhook::parse`.
//!
//! Input: the raw body.
//!
//! Properties:
//! - a parsed payload round-trips: `parse(&payload.encode())` gives it back
//!   (the module's documented promise), and encoding is stable
//!   (`encode` of the re-parsed payload is the same bytes);
//! - `encode` is `to_json_string`, and valid JSON;
//! - `events()` yields every event of every group change, in order, and
//!   `other_changes()` every other change;
//! - a failure is a `Decode` error without a status and with an excerpt of
//!   at most `EXCERPT_LIMIT` bytes.

#![no_main]

use libfuzzer_sys::fuzz_target;
use wa_groups_fuzz::check_excerpt;
use wa_groups_protocol::ErrorKind;
use wa_groups_protocol::webhook::{self, Change};

fuzz_target!(|data: &[u8]| {
    match webhook::parse(data) {
        Ok(payload) => {
            let encoded = payload.encode();
            assert_eq!(&encoded[..], payload.to_json_string().as_bytes());
            serde_json::from_slice::<serde_json::Value>(&encoded).expect("encode gives JSON");
            let back = webhook::parse(&encoded)
                .unwrap_or_else(|e| panic!("re-parse of {encoded:?} failed: {e}"));
            assert_eq!(back, payload, "encoded as {encoded:?}");
            assert_eq!(back.encode(), encoded);

            let mut group_events = 0;
            let mut others = 0;
            for entry in &payload.entries {
                for change in &entry.changes {
                    match change {
                        Change::Group(g) => group_events += g.events.len(),
                        Change::Other(_) => others += 1,
                        _ => {}
                    }
                }
            }
            assert_eq!(payload.events().count(), group_events);
            assert_eq!(payload.other_changes().count(), others);
            for ev in payload.events() {
                assert_eq!(ev.group_id(), ev.event.group_id);
                assert_eq!(ev.timestamp(), ev.event.timestamp);
                let _ = ev.event.event_type();
            }
        }
        Err(e) => {
            assert_eq!(e.kind(), ErrorKind::Decode, "{e:?}");
            assert_eq!(e.status(), None);
            check_excerpt(&e);
            let _ = e.to_string();
        }
    }
});
