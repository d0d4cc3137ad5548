//! The Graph API error codes wa-groups acts on, named once. Everything
//! that classifies, retries or produces one of these uses the names here.

/// A temporary API failure (`is_transient` in spirit); retried.
pub const API_UNKNOWN: i64 = 1;
/// The API service is temporarily unavailable; retried.
pub const API_SERVICE: i64 = 2;
/// Application request limit reached.
pub const APP_RATE_LIMIT: i64 = 4;
/// A permission is missing (an auth failure).
pub const PERMISSION_DENIED: i64 = 10;
/// User request limit reached.
pub const USER_RATE_LIMIT: i64 = 17;
/// Invalid parameter.
pub const INVALID_PARAMETER: i64 = 100;
/// The access token is invalid or expired.
pub const ACCESS_TOKEN: i64 = 190;
/// The first of the permission codes 200-299 (auth failures).
pub const PERMISSION_FIRST: i64 = 200;
/// The last of the permission codes 200-299.
pub const PERMISSION_LAST: i64 = 299;
/// Application limit reached (temporary).
pub const APP_LIMIT: i64 = 341;
/// Business account rate limit.
pub const ACCOUNT_RATE_LIMIT: i64 = 80_007;
/// Cloud API message throughput reached.
pub const THROUGHPUT_LIMIT: i64 = 130_429;
/// Pair rate limit (too many calls between the same business and user).
pub const PAIR_RATE_LIMIT: i64 = 131_056;
/// The group does not exist.
pub const GROUP_NOT_FOUND: i64 = 131_041;
/// An expired or invalid paging cursor.
pub const EXPIRED_CURSOR: i64 = 131_059;
/// The group is at its participant limit (a per-item approve failure).
pub const GROUP_FULL: i64 = 131_204;
/// Group join request rate limit.
pub const JOIN_REQUEST_RATE_LIMIT: i64 = 131_208;
/// The join request does not exist (or was already handled).
pub const JOIN_REQUEST_NOT_FOUND: i64 = 131_213;
