//! Walking every page of a listing as a pure state machine: the caller
//! sends the request [`Listing::request`] gives, feeds back the page (or
//! the error) it got, and is told what to do next. No I/O here; the
//! `wa-groups` crate's `join_requests` stream and `approve_all` /
//! `reject_all` both run this one machine.

use std::collections::HashSet;

use crate::error::{DecodeError, Error, InvalidInput};
use crate::ids::{Cursor, GroupId};
use crate::model::{JoinRequest, JoinRequestPage};
use crate::request::{ListJoinRequests, ListQuery};

/// Graph error code of an expired or invalid paging cursor.
pub const EXPIRED_CURSOR_CODE: i64 = crate::codes::EXPIRED_CURSOR;

/// How often a listing whose cursor expired is restarted from the first
/// page, when restarts are allowed, before the error is given up.
pub const MAX_LISTING_RESTARTS: u32 = 3;

/// The most pages one listing fetches before it is taken for a server
/// that never ends (1,000,000 join requests at the largest page size).
pub const MAX_PAGES_PER_LISTING: usize = 1_000;

/// What to do after a page or an error was fed back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PageStep {
    /// Fetch [`Listing::request`] next; `restarted` when the listing went
    /// back to the first page after its cursor expired (items already
    /// yielded will come again).
    Fetch {
        /// Whether this is a restart from the first page.
        restarted: bool,
    },
    /// That was the last page.
    Done,
}

/// The state of one listing of a group's join requests.
#[derive(Debug, Clone)]
pub struct Listing {
    group: GroupId,
    limit: Option<u32>,
    start: Option<Cursor>,
    after: Option<Cursor>,
    /// Every cursor this listing was given or sent, to catch any cycle.
    seen: HashSet<Cursor>,
    pages: usize,
    max_pages: usize,
    restarts: u32,
    max_restarts: u32,
}

impl Listing {
    /// A forward listing from `options` (`before` is refused) that may
    /// restart from the first page up to `max_restarts` times when its
    /// cursor expires (131059).
    ///
    /// # Errors
    ///
    /// [`InvalidInput`] naming `limit` or `before`.
    pub fn new(
        group: GroupId,
        options: ListQuery,
        max_restarts: u32,
    ) -> Result<Self, InvalidInput> {
        options.validate()?;
        if options.before.is_some() {
            return Err(InvalidInput::new(
                crate::Field::Before,
                "is not supported when iterating forward over every page",
            ));
        }
        let seen = options.after.iter().cloned().collect();
        Ok(Self {
            group,
            limit: options.limit,
            start: options.after.clone(),
            after: options.after,
            seen,
            pages: 0,
            max_pages: MAX_PAGES_PER_LISTING,
            restarts: 0,
            max_restarts,
        })
    }

    /// The same listing with another bound on its pages (at least 1).
    #[must_use]
    pub fn with_max_pages(mut self, max_pages: usize) -> Self {
        self.max_pages = max_pages.max(1);
        self
    }

    /// The request for the next page.
    pub fn request(&self) -> ListJoinRequests {
        ListJoinRequests {
            group_id: self.group.clone(),
            options: ListQuery {
                limit: self.limit,
                after: self.after.clone(),
                before: None,
            },
        }
    }

    /// Pages fed back so far.
    pub fn pages(&self) -> usize {
        self.pages
    }

    /// Feeds back the page the last request returned: its join requests,
    /// and what to do next.
    ///
    /// # Errors
    ///
    /// [`Error::Decode`] when the page's next cursor was seen before in
    /// this listing (a server cycling A → B → A would page forever), or
    /// when the listing passed its page bound.
    pub fn on_page(
        &mut self,
        page: JoinRequestPage,
    ) -> Result<(Vec<JoinRequest>, PageStep), Error> {
        self.pages += 1;
        let Some(next) = page.after else {
            return Ok((page.data, PageStep::Done));
        };
        if self.seen.contains(&next) {
            return Err(decode(
                "the API returned a paging cursor it had already returned in this listing (a paging cycle)",
            ));
        }
        if self.pages >= self.max_pages {
            return Err(decode(&format!(
                "the listing passed {} pages without reaching the last one",
                self.max_pages
            )));
        }
        self.seen.insert(next.clone());
        self.after = Some(next);
        Ok((page.data, PageStep::Fetch { restarted: false }))
    }

    /// Feeds back the error the last request ended with: restart from the
    /// first page when the cursor expired and restarts remain; otherwise
    /// the error is the listing's.
    ///
    /// # Errors
    ///
    /// `error`, when the listing cannot go on.
    pub fn on_error(&mut self, error: Error) -> Result<PageStep, Error> {
        let expired = error
            .api_error()
            .is_some_and(|a| a.code == EXPIRED_CURSOR_CODE);
        if expired && self.after.is_some() && self.restarts < self.max_restarts {
            self.restarts += 1;
            // A new listing: the first page's cursors may come again.
            self.after = None;
            self.seen.clear();
            self.seen.extend(self.start.take());
            return Ok(PageStep::Fetch { restarted: true });
        }
        Err(error)
    }
}

fn decode(reason: &str) -> Error {
    Error::Decode(DecodeError::new(None, reason, b""))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ApiError;

    fn page(next: Option<&str>) -> JoinRequestPage {
        JoinRequestPage {
            data: Vec::new(),
            after: next.map(|c| Cursor::new(c).unwrap()),
            before: None,
        }
    }

    fn listing(restarts: u32) -> Listing {
        Listing::new(GroupId::new("G1").unwrap(), ListQuery::default(), restarts).unwrap()
    }

    #[test]
    fn a_cycle_of_any_length_ends_with_a_decode_error() {
        let mut l = listing(0);
        assert!(l.on_page(page(Some("A"))).is_ok());
        assert!(l.on_page(page(Some("B"))).is_ok());
        let e = l.on_page(page(Some("A"))).unwrap_err();
        assert!(e.to_string().contains("paging cycle"), "{e}");
    }

    #[test]
    fn the_starting_cursor_counts_as_seen() {
        let options = ListQuery {
            after: Some(Cursor::new("S").unwrap()),
            ..ListQuery::default()
        };
        let mut l = Listing::new(GroupId::new("G1").unwrap(), options, 0).unwrap();
        assert_eq!(l.request().options().after.as_ref().unwrap().as_str(), "S");
        assert!(l.on_page(page(Some("S"))).is_err());
    }

    #[test]
    fn pages_are_bounded() {
        let mut l = listing(0).with_max_pages(3);
        assert!(l.on_page(page(Some("1"))).is_ok());
        assert!(l.on_page(page(Some("2"))).is_ok());
        let e = l.on_page(page(Some("3"))).unwrap_err();
        assert!(e.to_string().contains("3 pages"), "{e}");
    }

    #[test]
    fn an_expired_cursor_restarts_as_often_as_allowed() {
        let expired = || Error::from(ApiError::new(400, EXPIRED_CURSOR_CODE, "expired"));
        let mut l = listing(1);
        // On the first page there is nothing to restart from.
        assert!(l.on_error(expired()).is_err());
        l.on_page(page(Some("A"))).unwrap();
        assert!(matches!(
            l.on_error(expired()),
            Ok(PageStep::Fetch { restarted: true })
        ));
        assert!(l.request().options().after.is_none());
        // The first page's cursor may come again after a restart.
        l.on_page(page(Some("A"))).unwrap();
        assert!(l.on_error(expired()).is_err(), "restarts are used up");
    }
}
