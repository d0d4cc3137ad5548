//! The paging state machine over arbitrary cursor sequences (issue 10
//! item 4): a listing ends, with a decode error, exactly when a server
//! repeats a cursor; otherwise it follows every cursor to the last page.

use proptest::prelude::*;
use wa_groups_protocol::{Cursor, GroupId, JoinRequestPage, ListQuery, Listing, PageStep};

fn page(next: Option<&String>) -> JoinRequestPage {
    let mut page = JoinRequestPage::default();
    page.after = next.map(|c| Cursor::new(c.as_str()).unwrap());
    page
}

proptest! {
    #[test]
    fn a_listing_stops_at_the_first_repeated_cursor(
        cursors in prop::collection::vec("[A-E]", 0..12),
    ) {
        let mut listing =
            Listing::new(GroupId::new("G1").unwrap(), ListQuery::default(), 0).unwrap();
        let first_repeat = (0..cursors.len()).find(|&i| cursors[..i].contains(&cursors[i]));
        let mut fed: usize = 0;
        // The server answers with each cursor in turn, then a last page.
        let outcome = loop {
            let sent = listing.request().options().after.clone();
            prop_assert_eq!(sent.as_ref().map(Cursor::as_str), fed.checked_sub(1).map(|i| cursors[i].as_str()));
            let result = listing.on_page(page(cursors.get(fed)));
            fed += 1;
            match result {
                Ok((_, PageStep::Fetch { .. })) => prop_assert!(fed <= cursors.len()),
                Ok((_, PageStep::Done)) => break Ok(fed),
                Err(e) => break Err((fed, e)),
            }
        };
        match (first_repeat, outcome) {
            (None, Ok(pages)) => prop_assert_eq!(pages, cursors.len() + 1),
            (Some(i), Err((pages, e))) => {
                prop_assert_eq!(pages, i + 1);
                prop_assert_eq!(e.kind(), wa_groups_protocol::ErrorKind::Decode);
                prop_assert!(e.to_string().contains("paging cycle"));
            }
            (expected, got) => prop_assert!(false, "{expected:?} but {got:?}"),
        }
    }
}
