"""wa-groups: the WhatsApp Business Cloud API's group join requests.

List a group's pending join requests, approve them, reject them, with
``Client`` (blocking; each call releases the GIL) or ``AsyncClient``
(asyncio). The work is done in Rust, by the same code as the Rust crate
and the Node package. See ``wa_groups.webhooks`` for the group webhooks and
``wa_groups.testing`` for an in-process emulator of the API.
"""

from ._errors import (
    ApiError,
    AuthError,
    DecodeError,
    InternalError,
    InvalidInputError,
    NotFoundError,
    RateLimitedError,
    RequestTimeoutError,
    TransportError,
    WaGroupsError,
)
from ._native import (
    DEFAULT_API_VERSION,
    DEFAULT_BASE_URL,
    ApproveOutcome,
    AsyncClient,
    AsyncJoinRequestIterator,
    Client,
    ErrorDetail,
    FailedJoinRequest,
    JoinRequest,
    JoinRequestIterator,
    JoinRequestPage,
    RejectOutcome,
    __version__,
)

__all__ = [
    "__version__",
    "DEFAULT_API_VERSION",
    "DEFAULT_BASE_URL",
    "Client",
    "AsyncClient",
    "JoinRequestIterator",
    "AsyncJoinRequestIterator",
    "JoinRequest",
    "JoinRequestPage",
    "ApproveOutcome",
    "RejectOutcome",
    "FailedJoinRequest",
    "ErrorDetail",
    "WaGroupsError",
    "InvalidInputError",
    "ApiError",
    "AuthError",
    "RateLimitedError",
    "NotFoundError",
    "TransportError",
    "RequestTimeoutError",
    "DecodeError",
    "InternalError",
]
