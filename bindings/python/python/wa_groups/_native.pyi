# Stubs of the extension module (bindings/python/src), checked against the
# built module by `python -m mypy.stubtest wa_groups` in `cargo xtask test`.

import builtins
from collections.abc import Awaitable, Iterable
from types import TracebackType
from typing import Any, Literal, Optional, final

from typing_extensions import Self, disjoint_base

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
    "WebhookPayload",
    "Entry",
    "GroupChange",
    "OtherChange",
    "GroupEvent",
    "JoinRequestCreated",
    "JoinRequestRevoked",
    "ParticipantsAdded",
    "ParticipantsRemoved",
    "GroupCreated",
    "GroupDeleted",
    "SettingsUpdated",
    "Suspended",
    "SuspensionCleared",
    "UnknownEvent",
    "GroupParticipant",
    "ProfilePicture",
    "parse",
    "verify_signature",
    "sign",
    "Emulator",
]

__version__: str
DEFAULT_API_VERSION: str
DEFAULT_BASE_URL: str

# ---------------------------------------------------------------------------
# Results
# ---------------------------------------------------------------------------

@final
class ErrorDetail:
    """One error item: ``code`` is always an int."""

    @property
    def code(self) -> int: ...
    @property
    def title(self) -> Optional[str]: ...
    @property
    def message(self) -> Optional[str]: ...
    @property
    def details(self) -> Optional[str]: ...
    def __new__(
        cls,
        code: int,
        title: Optional[str] = None,
        message: Optional[str] = None,
        details: Optional[str] = None,
    ) -> ErrorDetail: ...
    def __eq__(self, other: object, /) -> bool: ...
    def __hash__(self) -> int: ...

@final
class JoinRequest:
    """One pending join request; ``creation_timestamp`` is Unix seconds."""

    @property
    def join_request_id(self) -> str: ...
    @property
    def wa_id(self) -> Optional[str]: ...
    @property
    def creation_timestamp(self) -> int: ...
    @property
    def user_id(self) -> Optional[str]: ...
    @property
    def parent_user_id(self) -> Optional[str]: ...
    @property
    def username(self) -> Optional[str]: ...
    def __new__(
        cls,
        join_request_id: str,
        creation_timestamp: int,
        wa_id: Optional[str] = None,
        user_id: Optional[str] = None,
        parent_user_id: Optional[str] = None,
        username: Optional[str] = None,
    ) -> JoinRequest: ...
    def __eq__(self, other: object, /) -> bool: ...
    def __hash__(self) -> int: ...

@final
class JoinRequestPage:
    """One page: ``after`` is the next page's cursor, ``None`` on the last."""

    @property
    def data(self) -> list[JoinRequest]: ...
    @property
    def after(self) -> Optional[str]: ...
    @property
    def before(self) -> Optional[str]: ...
    def __new__(
        cls,
        data: list[JoinRequest],
        after: Optional[str] = None,
        before: Optional[str] = None,
    ) -> JoinRequestPage: ...
    def __eq__(self, other: object, /) -> bool: ...
    def __len__(self) -> int: ...
    __hash__: None  # type: ignore[assignment]

@final
class FailedJoinRequest:
    @property
    def join_request_id(self) -> str: ...
    @property
    def errors(self) -> list[ErrorDetail]: ...
    def __new__(
        cls, join_request_id: str, errors: list[ErrorDetail] = ...
    ) -> FailedJoinRequest: ...
    def __eq__(self, other: object, /) -> bool: ...
    __hash__: None  # type: ignore[assignment]

@final
class ApproveOutcome:
    """IDs ``approved`` and ``failed`` (in input order), call-level ``errors``."""

    @property
    def approved(self) -> list[str]: ...
    @property
    def failed(self) -> list[FailedJoinRequest]: ...
    @property
    def errors(self) -> list[ErrorDetail]: ...
    @property
    def request_id(self) -> Optional[str]: ...
    def __new__(
        cls,
        approved: list[str] = ...,
        failed: list[FailedJoinRequest] = ...,
        errors: list[ErrorDetail] = ...,
        request_id: Optional[str] = None,
    ) -> ApproveOutcome: ...
    def __eq__(self, other: object, /) -> bool: ...
    __hash__: None  # type: ignore[assignment]

@final
class RejectOutcome:
    """IDs ``rejected`` and ``failed`` (in input order), call-level ``errors``."""

    @property
    def rejected(self) -> list[str]: ...
    @property
    def failed(self) -> list[FailedJoinRequest]: ...
    @property
    def errors(self) -> list[ErrorDetail]: ...
    @property
    def request_id(self) -> Optional[str]: ...
    def __new__(
        cls,
        rejected: list[str] = ...,
        failed: list[FailedJoinRequest] = ...,
        errors: list[ErrorDetail] = ...,
        request_id: Optional[str] = None,
    ) -> RejectOutcome: ...
    def __eq__(self, other: object, /) -> bool: ...
    __hash__: None  # type: ignore[assignment]

# ---------------------------------------------------------------------------
# Clients
# ---------------------------------------------------------------------------

@final
class JoinRequestIterator:
    def __iter__(self) -> Self: ...
    def __next__(self) -> JoinRequest: ...

@final
class AsyncJoinRequestIterator:
    def __aiter__(self) -> Self: ...
    def __anext__(self) -> Awaitable[JoinRequest]: ...

@final
class Client:
    """The blocking client; each call releases the GIL while Rust works.

    ``timeout`` bounds each attempt (seconds); ``total_timeout`` (seconds,
    default none) bounds a whole call: every attempt, retry wait and chunk
    (one page, for ``iter_join_requests``). Reaching either raises
    ``RequestTimeoutError``, whose ``timeout`` is the limit that ran out.
    """

    def __new__(
        cls,
        access_token: str,
        *,
        api_version: str = "v23.0",
        base_url: Optional[str] = None,
        user_agent: Optional[str] = None,
        timeout: float = 30.0,
        total_timeout: Optional[float] = None,
        max_retries: int = 3,
        max_ids_per_request: Optional[int] = None,
        max_concurrency: Optional[int] = None,
    ) -> Client: ...
    @property
    def user_agent(self) -> str: ...
    def list_join_requests(
        self,
        group_id: str,
        *,
        limit: Optional[int] = None,
        after: Optional[str] = None,
        before: Optional[str] = None,
    ) -> JoinRequestPage: ...
    def iter_join_requests(
        self, group_id: str, *, limit: Optional[int] = None
    ) -> JoinRequestIterator: ...
    def approve_join_requests(self, group_id: str, ids: Iterable[str]) -> ApproveOutcome: ...
    def reject_join_requests(self, group_id: str, ids: Iterable[str]) -> RejectOutcome: ...
    def approve_all(self, group_id: str) -> ApproveOutcome: ...
    def reject_all(self, group_id: str) -> RejectOutcome: ...
    def close(self) -> None: ...
    def __enter__(self) -> Self: ...
    def __exit__(self, *_args: Any) -> None: ...

@final
class AsyncClient:
    """The asyncio client; every method returns an awaitable. Its settings
    are ``Client``'s, ``timeout`` and ``total_timeout`` included."""

    def __new__(
        cls,
        access_token: str,
        *,
        api_version: str = "v23.0",
        base_url: Optional[str] = None,
        user_agent: Optional[str] = None,
        timeout: float = 30.0,
        total_timeout: Optional[float] = None,
        max_retries: int = 3,
        max_ids_per_request: Optional[int] = None,
        max_concurrency: Optional[int] = None,
    ) -> AsyncClient: ...
    @property
    def user_agent(self) -> str: ...
    def list_join_requests(
        self,
        group_id: str,
        *,
        limit: Optional[int] = None,
        after: Optional[str] = None,
        before: Optional[str] = None,
    ) -> Awaitable[JoinRequestPage]: ...
    def iter_join_requests(
        self, group_id: str, *, limit: Optional[int] = None
    ) -> AsyncJoinRequestIterator: ...
    def approve_join_requests(
        self, group_id: str, ids: Iterable[str]
    ) -> Awaitable[ApproveOutcome]: ...
    def reject_join_requests(
        self, group_id: str, ids: Iterable[str]
    ) -> Awaitable[RejectOutcome]: ...
    def approve_all(self, group_id: str) -> Awaitable[ApproveOutcome]: ...
    def reject_all(self, group_id: str) -> Awaitable[RejectOutcome]: ...
    def close(self) -> Awaitable[None]: ...
    def __aenter__(self) -> Awaitable[Self]: ...
    def __aexit__(self, *_args: Any) -> Awaitable[None]: ...

# ---------------------------------------------------------------------------
# Webhooks (re-exported by wa_groups.webhooks)
# ---------------------------------------------------------------------------

@final
class GroupParticipant:
    @property
    def input(self) -> Optional[str]: ...
    @property
    def wa_id(self) -> Optional[str]: ...
    @property
    def user_id(self) -> Optional[str]: ...
    @property
    def parent_user_id(self) -> Optional[str]: ...
    @property
    def username(self) -> Optional[str]: ...
    def __eq__(self, other: object, /) -> bool: ...
    def __hash__(self) -> int: ...

@final
class ProfilePicture:
    @property
    def mime_type(self) -> Optional[str]: ...
    @property
    def sha256(self) -> Optional[str]: ...
    def __eq__(self, other: object, /) -> bool: ...
    def __hash__(self) -> int: ...

@disjoint_base
class GroupEvent:
    """A group event and where it came from; one subclass per ``type``."""

    @property
    def type(self) -> str: ...
    @property
    def timestamp(self) -> int: ...
    @property
    def group_id(self) -> str: ...
    @property
    def request_id(self) -> Optional[str]: ...
    @property
    def errors(self) -> list[ErrorDetail]: ...
    @property
    def waba_id(self) -> str: ...
    @property
    def field(self) -> str: ...
    @property
    def phone_number_id(self) -> str: ...
    @property
    def display_phone_number(self) -> str: ...
    def to_json(self) -> str: ...
    def __eq__(self, other: object, /) -> bool: ...
    __hash__: None  # type: ignore[assignment]

@final
class JoinRequestCreated(GroupEvent):
    @property
    def join_request_id(self) -> str: ...
    @property
    def wa_id(self) -> Optional[str]: ...
    @property
    def user_id(self) -> Optional[str]: ...
    @property
    def parent_user_id(self) -> Optional[str]: ...
    @property
    def username(self) -> Optional[str]: ...
    @property
    def reason(self) -> Optional[str]: ...

@final
class JoinRequestRevoked(GroupEvent):
    @property
    def join_request_id(self) -> str: ...
    @property
    def wa_id(self) -> Optional[str]: ...
    @property
    def user_id(self) -> Optional[str]: ...
    @property
    def parent_user_id(self) -> Optional[str]: ...
    @property
    def username(self) -> Optional[str]: ...
    @property
    def reason(self) -> Optional[str]: ...

@final
class ParticipantsAdded(GroupEvent):
    @property
    def reason(self) -> Optional[str]: ...
    @property
    def join_request_id(self) -> Optional[str]: ...
    @property
    def participants(self) -> list[GroupParticipant]: ...

@final
class ParticipantsRemoved(GroupEvent):
    @property
    def initiated_by(self) -> Optional[str]: ...
    @property
    def participants(self) -> list[GroupParticipant]: ...

@final
class GroupCreated(GroupEvent):
    @property
    def subject(self) -> Optional[str]: ...
    @property
    def description(self) -> Optional[str]: ...
    @property
    def invite_link(self) -> Optional[str]: ...
    @property
    def join_approval_mode(self) -> Optional[str]: ...
    @property
    def participants(self) -> list[GroupParticipant]: ...

@final
class GroupDeleted(GroupEvent): ...

@final
class SettingsUpdated(GroupEvent):
    @property
    def subject(self) -> Optional[str]: ...
    @property
    def description(self) -> Optional[str]: ...
    @property
    def profile_picture(self) -> Optional[ProfilePicture]: ...
    @property
    def other_fields(self) -> dict[str, Any]: ...

@final
class Suspended(GroupEvent): ...

@final
class SuspensionCleared(GroupEvent): ...

@final
class UnknownEvent(GroupEvent):
    @property
    def fields(self) -> dict[str, Any]: ...

@final
class GroupChange:
    @property
    def field(self) -> str: ...
    @property
    def display_phone_number(self) -> str: ...
    @property
    def phone_number_id(self) -> str: ...
    @property
    def events(self) -> list[GroupEvent]: ...
    def __eq__(self, other: object, /) -> bool: ...
    __hash__: None  # type: ignore[assignment]

@final
class OtherChange:
    @property
    def field(self) -> str: ...
    @property
    def waba_id(self) -> str: ...
    @property
    def value(self) -> Any: ...
    def __eq__(self, other: object, /) -> bool: ...
    __hash__: None  # type: ignore[assignment]

@final
class Entry:
    @property
    def id(self) -> str: ...
    @property
    def changes(self) -> list[GroupChange | OtherChange]: ...
    def __eq__(self, other: object, /) -> bool: ...
    __hash__: None  # type: ignore[assignment]

@final
class WebhookPayload:
    @property
    def object(self) -> str: ...
    @property
    def entries(self) -> list[Entry]: ...
    def events(self) -> list[GroupEvent]: ...
    def other_changes(self) -> list[OtherChange]: ...
    def to_json(self) -> str: ...
    def __eq__(self, other: builtins.object, /) -> bool: ...
    __hash__: None  # type: ignore[assignment]

def parse(raw_body: bytes | bytearray | memoryview | str) -> WebhookPayload: ...
def verify_signature(
    app_secret: str | bytes,
    raw_body: bytes | bytearray | memoryview | str,
    header: Optional[str],
) -> None: ...
def sign(app_secret: str | bytes, raw_body: bytes | bytearray | memoryview | str) -> str: ...

# ---------------------------------------------------------------------------
# Test helper (re-exported by wa_groups.testing)
# ---------------------------------------------------------------------------


@final
class Emulator:
    def __new__(
        cls,
        *,
        access_token: Optional[str] = None,
        port: int = 0,
        page_size: Optional[int] = None,
        participant_cap: Optional[int] = None,
        cursor_ttl: Optional[float] = None,
        fixed_clock: Optional[int] = None,
    ) -> Emulator: ...
    @property
    def base_url(self) -> str: ...
    @property
    def access_token(self) -> str: ...
    def create_group(
        self,
        *,
        participant_cap: Optional[int] = None,
        subject: Optional[str] = None,
        description: Optional[str] = None,
        group_id: Optional[str] = None,
        join_approval_mode: Optional[Literal["approval_required", "auto_approve"]] = None,
    ) -> str: ...
    def groups(self) -> list[str]: ...
    def add_join_requests(
        self, group_id: str, count: int, *, business_scoped: bool = False
    ) -> list[str]: ...
    def pending_join_requests(self, group_id: str) -> list[JoinRequest]: ...
    def participants(self, group_id: str) -> list[str]: ...
    def add_participants(self, group_id: str, count: int) -> list[str]: ...
    def revoke_join_request(self, group_id: str, join_request_id: str) -> None: ...
    def inject_fault(
        self,
        kind: Literal[
            "latency",
            "server_error",
            "rate_limited",
            "connection_reset",
            "truncated_body",
            "malformed_json",
            "oversize_body",
            "response",
        ],
        *,
        ms: Optional[int] = None,
        status: Optional[int] = None,
        code: Optional[int] = None,
        is_transient: Optional[bool] = None,
        retry_after: Optional[int] = None,
        bytes: Optional[int] = None,
        headers: Optional[dict[str, str]] = None,
        body: Optional[str] = None,
        method: Optional[str] = None,
        path_contains: Optional[str] = None,
        times: int = 1,
    ) -> None: ...
    def clear_faults(self) -> int: ...
    def faults(self) -> list[dict[str, Any]]: ...
    def set_rate_limit(
        self,
        per_second: Optional[float],
        *,
        burst: Optional[float] = None,
        scope: Literal["group", "phone"] = "group",
    ) -> None: ...
    def set_webhook(self, url: str, app_secret: str) -> None: ...
    def clear_webhook(self) -> None: ...
    def stats(self) -> dict[str, Any]: ...
    def reset_stats(self) -> None: ...
    def now(self) -> int: ...
    def advance_clock(self, seconds: float) -> None: ...
    def close(self) -> None: ...
    def __enter__(self) -> Self: ...
    def __exit__(self, *_args: Any) -> None: ...
