//! The Graph errors the emulator answers with, in one place (plain values).

use std::time::Duration;

use wa_groups_protocol::{ApiError, ErrorDetail, codes};

fn oauth(mut e: ApiError, title: &str) -> ApiError {
    e.error_type = Some("OAuthException".to_owned());
    e.title = Some(title.to_owned());
    e
}

/// 190, HTTP 401: missing or wrong access token.
pub(crate) fn invalid_token(missing: bool) -> ApiError {
    let message = if missing {
        "An active access token must be used to query information about the current user."
    } else {
        "Invalid OAuth access token - Cannot parse access token"
    };
    oauth(
        ApiError::new(401, codes::ACCESS_TOKEN, message),
        "Invalid OAuth access token",
    )
}

/// 131041, HTTP 400: the group does not exist (or not for this number).
pub(crate) fn unknown_group(group_id: &str) -> ApiError {
    let mut e = oauth(
        ApiError::new(400, codes::GROUP_NOT_FOUND, "(#131041) Group not found"),
        "Group not found",
    );
    e.details = Some(format!(
        "No group {group_id} exists for this business phone number."
    ));
    e
}

/// 131059, HTTP 400: a paging cursor that no longer points anywhere.
pub(crate) fn stale_cursor(why: &str) -> ApiError {
    let mut e = oauth(
        ApiError::new(
            400,
            codes::EXPIRED_CURSOR,
            "(#131059) The paging cursor is invalid or expired",
        ),
        "Invalid cursor",
    );
    e.details = Some(format!("{why}; list again from the first page."));
    e
}

/// 131208 (or another rate-limit code), HTTP 429.
pub(crate) fn rate_limited(code: i64, retry_after: Option<Duration>) -> ApiError {
    let mut e = oauth(
        ApiError::new(
            429,
            code,
            format!("(#{code}) Too many group operations; try again later"),
        ),
        "Rate limit hit",
    );
    e.details = Some("The group API rate limit was exceeded.".to_owned());
    e.retry_after = retry_after;
    e
}

/// A 5xx Graph error.
pub(crate) fn server_error(status: u16, code: i64, is_transient: bool) -> ApiError {
    let message = if is_transient {
        "Service temporarily unavailable"
    } else {
        "An unknown error occurred"
    };
    let mut e = oauth(ApiError::new(status, code, message), message);
    e.is_transient = is_transient;
    e
}

/// Per-item 131213: the join request does not exist or was already handled.
pub(crate) fn item_not_found() -> ErrorDetail {
    let mut d = ErrorDetail::new(
        codes::JOIN_REQUEST_NOT_FOUND,
        Some("Join request not found"),
        "(#131213) The join request does not exist or was already handled",
    );
    d.details = Some("Approve or reject only pending join requests of this group.".to_owned());
    d
}

/// Per-item 131204: the group is at its participant cap.
pub(crate) fn item_group_full(cap: u32) -> ErrorDetail {
    let mut d = ErrorDetail::new(
        codes::GROUP_FULL,
        Some("Group is full"),
        "(#131204) The group has reached its participant limit",
    );
    d.details = Some(format!(
        "A group holds at most {cap} participants besides the business."
    ));
    d
}
