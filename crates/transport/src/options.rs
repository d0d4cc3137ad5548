//! [`ListOptions`]: the options of a list call as plain values, so that
//! bindings can pass their users' arguments through and get errors naming
//! `limit`, `after` or `before`.

use wa_groups_protocol::{Cursor, Field, InvalidInput};

/// Options of [`Client::list_join_requests`](crate::Client::list_join_requests).
///
/// Plain values, validated when the call is made: `limit` is 1 to
/// [`MAX_LIMIT`](wa_groups_protocol::MAX_LIMIT); `after` and `before` are
/// cursors from a previous page and exclusive of each other.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ListOptions {
    /// Page size; the API's default when `None`.
    pub limit: Option<u32>,
    /// The page after this cursor (a previous page's `after`).
    pub after: Option<String>,
    /// The page before this cursor (a later page's `before`).
    pub before: Option<String>,
}

impl ListOptions {
    /// Options with every field unset: the first page, at the API's page size.
    pub fn new() -> Self {
        Self::default()
    }

    /// The page after `cursor` (a previous page's `after`).
    pub fn starting_after(cursor: impl AsRef<str>) -> Self {
        Self {
            after: Some(cursor.as_ref().to_owned()),
            ..Self::default()
        }
    }

    /// The same options with page size `limit`.
    #[must_use]
    pub fn with_limit(mut self, limit: u32) -> Self {
        self.limit = Some(limit);
        self
    }

    /// Validates into the protocol crate's options.
    ///
    /// # Errors
    ///
    /// [`InvalidInput`] naming `limit`, `after` or `before`.
    pub fn validate(&self) -> Result<wa_groups_protocol::ListQuery, InvalidInput> {
        let options = wa_groups_protocol::ListQuery {
            limit: self.limit,
            after: self
                .after
                .as_deref()
                .map(|c| Cursor::for_field(c, Field::After))
                .transpose()?,
            before: self
                .before
                .as_deref()
                .map(|c| Cursor::for_field(c, Field::Before))
                .transpose()?,
        };
        options.validate()?;
        Ok(options)
    }
}

impl TryFrom<ListOptions> for wa_groups_protocol::ListQuery {
    type Error = InvalidInput;

    fn try_from(options: ListOptions) -> Result<Self, InvalidInput> {
        options.validate()
    }
}

impl From<wa_groups_protocol::ListQuery> for ListOptions {
    fn from(options: wa_groups_protocol::ListQuery) -> Self {
        Self {
            limit: options.limit,
            after: options.after.map(|c| c.as_str().to_owned()),
            before: options.before.map(|c| c.as_str().to_owned()),
        }
    }
}
