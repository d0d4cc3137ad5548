//! The sans-IO wire core of wa-groups: the WhatsApp Business Cloud API's
//! group join request endpoints as values and pure functions.
//!
//! In scope:
//! - wire types of list (`GET`), approve (`POST`) and reject (`DELETE`)
//!   `/{version}/{group_id}/join_requests`, and of `GroupInfo`, in both
//!   directions (the client builds requests and parses responses; the
//!   emulator parses requests and builds responses);
//! - the three request encodings the spec accepts (JSON, form, multipart);
//! - validated inputs ([`GroupId`], [`JoinRequestId`], [`ApiVersion`],
//!   [`AccessToken`], [`UserAgent`], [`BaseUrl`]) whose errors name the field;
//! - one error tree ([`Error`]) with Graph errors classified by code;
//! - the retry policy ([`RetryPolicy`]) and chunk planning and merging
//!   ([`ChunkPlan`]);
//! - Meta's usage headers and pacing by them ([`usage`], [`Pacer`]);
//! - group webhooks ([`webhook`]): payload parsing and `X-Hub-Signature-256`.
//!
//! Out of scope: sockets, TLS, timers, async runtimes, clocks and random
//! numbers. Time, randomness and bytes come in as arguments; the
//! `wa-groups` crate runs these values over hyper and tokio.
//!
//! ```
//! use wa_groups_protocol::{
//!     AccessToken, Action, ApiVersion, BaseUrl, DecideJoinRequests, Endpoint, GroupId,
//!     JoinRequestIds, UserAgent,
//! };
//!
//! let endpoint = Endpoint::new(
//!     BaseUrl::default(),
//!     ApiVersion::default(),
//!     AccessToken::new("EAAB-token").unwrap(),
//!     UserAgent::library(),
//! );
//! let op = DecideJoinRequests::new(
//!     Action::Approve,
//!     GroupId::new("Y2FwaV9ncm91cDoxOTUwNTU1MDA3OToxMjAzNjMzOTQzMjAdOTY0MTUZD").unwrap(),
//!     JoinRequestIds::new(["MTY0NjcwNDM1OTU6MTIwMzYzNDA0Njk0MjMzODIw"]).unwrap(),
//! );
//! let request = endpoint.request(&op);
//! assert_eq!(request.method(), "POST");
//! assert_eq!(
//!     request.body().as_ref(),
//!     br#"{"messaging_product":"whatsapp","join_requests":["MTY0NjcwNDM1OTU6MTIwMzYzNDA0Njk0MjMzODIw"]}"#
//! );
//! ```

mod chunk;
pub mod codes;
mod error;
mod ids;
mod model;
mod paging;
mod redact;
mod request;
mod retry;
#[cfg(feature = "server")]
pub mod server;
pub mod usage;
pub mod webhook;

pub use chunk::ChunkPlan;
pub use error::{
    ApiError, DecodeError, EXCERPT_LIMIT, Error, ErrorKind, Field, InvalidInput, TransportError,
    TransportErrorKind,
};
pub use ids::{
    AccessToken, ApiVersion, BaseUrl, Cursor, GroupId, JoinRequestId, JoinRequestIds,
    MAX_JOIN_REQUEST_IDS, UserAgent, check_id_count,
};
pub use model::{
    Action, ApproveOutcome, Cursors, DecisionOutcome, ErrorDetail, FailedJoinRequest, GroupInfo,
    JoinRequest, JoinRequestPage, ListResponse, MAX_ERRORS_KEPT, Paging, Participant,
    RejectOutcome,
};
pub use paging::{
    EXPIRED_CURSOR_CODE, Listing, MAX_LISTING_RESTARTS, MAX_PAGES_PER_LISTING, PageStep,
};
pub use redact::{REDACTED, Redact, Redactor};
pub use request::{
    BodyEncoding, Boundary, DecideJoinRequests, Endpoint, GROUP_INFO_FIELDS, GetGroupInfo,
    ListJoinRequests, ListQuery, MAX_LIMIT, Operation, parse_error_response, retry_after,
};
pub use retry::{RetryDecision, RetryPolicy, is_retryable};
pub use usage::{Pacer, usage_percent};

/// The Graph API version used when none is given.
pub const DEFAULT_API_VERSION: &str = "v23.0";

/// The Graph API's base URL.
pub const DEFAULT_BASE_URL: &str = "https://graph.facebook.com";

/// The crate version, the `wa-groups/<version>` of the user agent.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
