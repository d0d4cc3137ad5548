# Stubs of the extension module (bindings/python/src), checked against the
# built module by `python -m mypy.stubtest wa_groups` in `cargo xtask test`.

import builtins
import os
from collections.abc import Awaitable, Callable, Iterable, Sequence
from types import TracebackType
from typing import Any, ClassVar, Literal, Optional, Union, final

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
    "ModeratorCore",
    "ModerationRequest",
]

__version__: str
DEFAULT_API_VERSION: str
DEFAULT_BASE_URL: str

# ---------------------------------------------------------------------------
# Results
# ---------------------------------------------------------------------------

@final
class ErrorDetail:
    """One error item of an outcome or webhook event (`code` is always an int)."""

    @property
    def code(self) -> int:
        """The API's numeric error code."""
    @property
    def title(self) -> Optional[str]:
        """The error's short title, if the API gave one."""
    @property
    def message(self) -> Optional[str]:
        """The error's message, if the API gave one."""
    @property
    def details(self) -> Optional[str]:
        """The error's details (`error_data.details`), if the API gave them."""
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
    """One pending join request; `creation_timestamp` is Unix seconds."""

    @property
    def join_request_id(self) -> str:
        """The join request's ID, to approve or reject it with."""
    @property
    def wa_id(self) -> Optional[str]:
        """The requester's WhatsApp ID (phone number), if the API shows it."""
    @property
    def creation_timestamp(self) -> int:
        """When the request was made, in Unix seconds."""
    @property
    def user_id(self) -> Optional[str]:
        """The requester's business-scoped user ID, if any."""
    @property
    def parent_user_id(self) -> Optional[str]:
        """The requester's parent business-scoped user ID, if any."""
    @property
    def username(self) -> Optional[str]:
        """The requester's username, if any."""
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
    """One page of join requests and the cursors around it."""

    @property
    def data(self) -> list[JoinRequest]:
        """The join requests of this page, in the API's order."""
    @property
    def after(self) -> Optional[str]:
        """The cursor of the next page; `None` on the last page."""
    @property
    def before(self) -> Optional[str]:
        """The cursor of the previous page, if any."""
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
    """A join request the API did not approve or reject, and why."""

    @property
    def join_request_id(self) -> str:
        """The join request's ID, as sent."""
    @property
    def errors(self) -> list[ErrorDetail]:
        """Why the API refused it."""
    def __new__(
        cls, join_request_id: str, errors: list[ErrorDetail] = ...
    ) -> FailedJoinRequest: ...
    def __eq__(self, other: object, /) -> bool: ...
    __hash__: None  # type: ignore[assignment]

@final
class ApproveOutcome:
    """The result of an approve call: `approved` IDs, `failed` ones with their errors, call-level `errors`.

    Compared by the accepted IDs, `failed` and `errors`; `request_id`
    (one per API request, random) is informative and left out.
    """

    @property
    def approved(self) -> list[str]:
        """The IDs the API accepted, in input order."""
    @property
    def failed(self) -> list[FailedJoinRequest]:
        """The IDs the API refused, in input order, with their errors."""
    @property
    def errors(self) -> list[ErrorDetail]:
        """Call-level errors (a batch that failed as a whole)."""
    @property
    def request_id(self) -> Optional[str]:
        """The API's request ID of the last call, for support; `None` if
        none was sent.
        """
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
    """The result of a reject call: `rejected` IDs, `failed` ones with their errors, call-level `errors`.

    Compared by the accepted IDs, `failed` and `errors`; `request_id`
    (one per API request, random) is informative and left out.
    """

    @property
    def rejected(self) -> list[str]:
        """The IDs the API accepted, in input order."""
    @property
    def failed(self) -> list[FailedJoinRequest]:
        """The IDs the API refused, in input order, with their errors."""
    @property
    def errors(self) -> list[ErrorDetail]:
        """Call-level errors (a batch that failed as a whole)."""
    @property
    def request_id(self) -> Optional[str]:
        """The API's request ID of the last call, for support; `None` if
        none was sent.
        """
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
    """`Client.iter_join_requests`: every pending join request, fetching page
    after page as it goes.
    """

    def __iter__(self) -> Self: ...
    def __next__(self) -> JoinRequest: ...

@final
class AsyncJoinRequestIterator:
    """`AsyncClient.iter_join_requests`: an async iterator over every pending
    join request, fetching page after page as it goes.
    """

    def __aiter__(self) -> Self: ...
    def __anext__(self) -> Awaitable[JoinRequest]: ...

@final
class Client:
    """The synchronous client. Each call runs on the package's tokio runtime
    with the GIL released.

    `timeout` bounds each attempt (seconds); `total_timeout` (seconds,
    default none) bounds a whole call: every attempt, retry wait and chunk
    (one page, for `iter_join_requests`). Reaching either raises
    `RequestTimeoutError`, whose `timeout` is the limit that ran out.
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
    def user_agent(self) -> str:
        """The `User-Agent` header sent with every request."""
    def list_join_requests(
        self,
        group_id: str,
        *,
        limit: Optional[int] = None,
        after: Optional[str] = None,
        before: Optional[str] = None,
    ) -> JoinRequestPage:
        """One page of `group_id`'s pending join requests (`limit` per page,
        the API's default if `None`), from the `after` or `before` cursor.
        """
    def iter_join_requests(
        self, group_id: str, *, limit: Optional[int] = None
    ) -> JoinRequestIterator:
        """An iterator over every pending join request of `group_id`, fetching
        the pages (`limit` requests each) as it goes.
        """
    def approve_join_requests(self, group_id: str, ids: Iterable[str]) -> ApproveOutcome:
        """Approves the join requests `ids` (any iterable of `str`) of
        `group_id`, in batches the API accepts; per-ID failures are in the
        outcome's `failed`, not raised.
        """
    def reject_join_requests(self, group_id: str, ids: Iterable[str]) -> RejectOutcome:
        """Rejects the join requests `ids` (any iterable of `str`) of
        `group_id`, in batches the API accepts; per-ID failures are in the
        outcome's `failed`, not raised.
        """
    def approve_all(self, group_id: str) -> ApproveOutcome:
        """Approves every pending join request of `group_id`, page by page."""
    def reject_all(self, group_id: str) -> RejectOutcome:
        """Rejects every pending join request of `group_id`, page by page."""
    def close(self) -> None:
        """Closes the connection pool; later calls raise `RuntimeError`."""
    def __enter__(self) -> Self: ...
    def __exit__(self, *_args: Any) -> None: ...

@final
class AsyncClient:
    """The asyncio client: every method returns an awaitable; the calls run on
    the package's tokio runtime and complete in the caller's event loop.
    Its settings are `Client`'s, `timeout` and `total_timeout` included.
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
    ) -> AsyncClient: ...
    @property
    def user_agent(self) -> str:
        """The `User-Agent` header sent with every request."""
    def list_join_requests(
        self,
        group_id: str,
        *,
        limit: Optional[int] = None,
        after: Optional[str] = None,
        before: Optional[str] = None,
    ) -> Awaitable[JoinRequestPage]:
        """Awaitable: one page of `group_id`'s pending join requests (`limit`
        per page, the API's default if `None`), from the `after` or `before`
        cursor.
        """
    def iter_join_requests(
        self, group_id: str, *, limit: Optional[int] = None
    ) -> AsyncJoinRequestIterator:
        """An async iterator over every pending join request of `group_id`,
        fetching the pages (`limit` requests each) as it goes.
        """
    def approve_join_requests(
        self, group_id: str, ids: Iterable[str]
    ) -> Awaitable[ApproveOutcome]:
        """Awaitable: approves the join requests `ids` (any iterable of `str`)
        of `group_id`, in batches the API accepts; per-ID failures are in the
        outcome's `failed`, not raised.
        """
    def reject_join_requests(
        self, group_id: str, ids: Iterable[str]
    ) -> Awaitable[RejectOutcome]:
        """Awaitable: rejects the join requests `ids` (any iterable of `str`)
        of `group_id`, in batches the API accepts; per-ID failures are in the
        outcome's `failed`, not raised.
        """
    def approve_all(self, group_id: str) -> Awaitable[ApproveOutcome]:
        """Awaitable: approves every pending join request of `group_id`, page
        by page.
        """
    def reject_all(self, group_id: str) -> Awaitable[RejectOutcome]:
        """Awaitable: rejects every pending join request of `group_id`, page by
        page.
        """
    def close(self) -> Awaitable[None]:
        """Closes the connection pool; later calls raise `RuntimeError`. Takes
        effect at once; the returned object may be awaited (or not).
        """
    def __aenter__(self) -> Awaitable[Self]: ...
    def __aexit__(self, *_args: Any) -> Awaitable[None]: ...

# ---------------------------------------------------------------------------
# Webhooks (re-exported by wa_groups.webhooks)
# ---------------------------------------------------------------------------

@final
class GroupParticipant:
    """A participant of an added, removed or created group."""

    @property
    def input(self) -> Optional[str]:
        """The phone number or ID as the business gave it, if present."""
    @property
    def wa_id(self) -> Optional[str]:
        """The participant's WhatsApp ID, if the delivery shows it."""
    @property
    def user_id(self) -> Optional[str]:
        """The participant's business-scoped user ID, if any."""
    @property
    def parent_user_id(self) -> Optional[str]:
        """The participant's parent business-scoped user ID, if any."""
    @property
    def username(self) -> Optional[str]:
        """The participant's username, if any."""
    def __eq__(self, other: object, /) -> bool: ...
    def __hash__(self) -> int: ...

@final
class ProfilePicture:
    """A group's profile picture, as a settings update describes it."""

    @property
    def mime_type(self) -> Optional[str]:
        """The picture's MIME type, if given."""
    @property
    def sha256(self) -> Optional[str]:
        """The picture's SHA-256 hash, if given."""
    def __eq__(self, other: object, /) -> bool: ...
    def __hash__(self) -> int: ...

@disjoint_base
class GroupEvent:
    """One group event (an element of `value.groups`) with where it came from.
    Each `type` has a subclass with its own attributes.
    """

    @property
    def type(self) -> str:
        """The event's `type`, such as `group_join_request_created`."""
    @property
    def timestamp(self) -> int:
        """When the event happened, in Unix seconds."""
    @property
    def group_id(self) -> str:
        """The group the event is about."""
    @property
    def request_id(self) -> Optional[str]:
        """The API request that caused the event, if the delivery names one."""
    @property
    def errors(self) -> list[ErrorDetail]:
        """Errors the event reports (a failed group operation); empty otherwise."""
    @property
    def waba_id(self) -> str:
        """The WhatsApp Business Account ID (`entry[].id`)."""
    @property
    def field(self) -> str:
        """The change's `field`, such as `group_participants_update`."""
    @property
    def phone_number_id(self) -> str:
        """The business phone number ID the delivery is for."""
    @property
    def display_phone_number(self) -> str:
        """The business phone number, as displayed."""
    def to_json(self) -> str:
        """The event as canonical JSON text (one element of `value.groups`)."""
    def __eq__(self, other: object, /) -> bool: ...
    __hash__: None  # type: ignore[assignment]

@final
class JoinRequestCreated(GroupEvent):
    """`group_join_request_created`: someone asked to join the group."""

    @property
    def join_request_id(self) -> str:
        """The join request's ID."""
    @property
    def wa_id(self) -> Optional[str]:
        """The requester's WhatsApp ID, if the delivery shows it."""
    @property
    def user_id(self) -> Optional[str]:
        """The requester's business-scoped user ID, if any."""
    @property
    def parent_user_id(self) -> Optional[str]:
        """The requester's parent business-scoped user ID, if any."""
    @property
    def username(self) -> Optional[str]:
        """The requester's username, if any."""
    @property
    def reason(self) -> Optional[str]:
        """Why it happened, as the delivery states it, if it does."""

@final
class JoinRequestRevoked(GroupEvent):
    """`group_join_request_revoked`: the requester withdrew the request."""

    @property
    def join_request_id(self) -> str:
        """The join request's ID."""
    @property
    def wa_id(self) -> Optional[str]:
        """The requester's WhatsApp ID, if the delivery shows it."""
    @property
    def user_id(self) -> Optional[str]:
        """The requester's business-scoped user ID, if any."""
    @property
    def parent_user_id(self) -> Optional[str]:
        """The requester's parent business-scoped user ID, if any."""
    @property
    def username(self) -> Optional[str]:
        """The requester's username, if any."""
    @property
    def reason(self) -> Optional[str]:
        """Why it happened, as the delivery states it, if it does."""

@final
class ParticipantsAdded(GroupEvent):
    """`group_participants_add`: people joined the group."""

    @property
    def reason(self) -> Optional[str]:
        """Why it happened, as the delivery states it, if it does."""
    @property
    def join_request_id(self) -> Optional[str]:
        """The approved join request that added them, when that is how they joined."""
    @property
    def participants(self) -> list[GroupParticipant]:
        """The participants concerned."""

@final
class ParticipantsRemoved(GroupEvent):
    """`group_participants_remove`: people left or were removed."""

    @property
    def initiated_by(self) -> Optional[str]:
        """Who removed them (such as `participant` or `business`), if stated."""
    @property
    def participants(self) -> list[GroupParticipant]:
        """The participants concerned."""

@final
class GroupCreated(GroupEvent):
    """`group_create`: the group was created (or failed to be: see `errors`)."""

    @property
    def subject(self) -> Optional[str]:
        """The group's subject, if present."""
    @property
    def description(self) -> Optional[str]:
        """The group's description, if present."""
    @property
    def invite_link(self) -> Optional[str]:
        """The group's invite link, if present."""
    @property
    def join_approval_mode(self) -> Optional[str]:
        """The group's join approval mode (such as `approval_required`), if present."""
    @property
    def participants(self) -> list[GroupParticipant]:
        """The participants concerned."""

@final
class GroupDeleted(GroupEvent):
    """`group_delete`: the group was deleted."""

@final
class SettingsUpdated(GroupEvent):
    """`group_settings_update`: subject, description or picture changed."""

    @property
    def subject(self) -> Optional[str]:
        """The group's subject, if present."""
    @property
    def description(self) -> Optional[str]:
        """The group's description, if present."""
    @property
    def profile_picture(self) -> Optional[ProfilePicture]:
        """The group's new profile picture, if it changed."""
    @property
    def other_fields(self) -> dict[str, Any]:
        """Every other key of the event, with its value as received (a new
        dict at each access).
        """

@final
class Suspended(GroupEvent):
    """`group_suspend`: the group was suspended."""

@final
class SuspensionCleared(GroupEvent):
    """`group_suspend_cleared`: the suspension was lifted."""

@final
class UnknownEvent(GroupEvent):
    """An event of a `type` the protocol crate does not know, kept raw."""

    @property
    def fields(self) -> dict[str, Any]:
        """Every key but the common ones, with its value as received (a new
        dict at each access).
        """

@final
class GroupChange:
    """A change of a group field: the business phone number and the events."""

    @property
    def field(self) -> str:
        """The change's `field`, such as `group_participants_update`."""
    @property
    def display_phone_number(self) -> str:
        """The business phone number, as displayed."""
    @property
    def phone_number_id(self) -> str:
        """The business phone number ID the delivery is for."""
    @property
    def events(self) -> list[GroupEvent]:
        """The events of this change, each an instance of a `GroupEvent` subclass."""
    def __eq__(self, other: object, /) -> bool: ...
    __hash__: None  # type: ignore[assignment]

@final
class OtherChange:
    """A change of any other field (`messages`, say), with its `value` as
    received.
    """

    @property
    def field(self) -> str:
        """The change's `field`, such as `messages`."""
    @property
    def waba_id(self) -> str:
        """The WhatsApp Business Account ID of the entry it came in."""
    @property
    def value(self) -> Any:
        """The change's `value`, as plain Python objects (new at each access)."""
    def __eq__(self, other: object, /) -> bool: ...
    __hash__: None  # type: ignore[assignment]

@final
class Entry:
    """One `entry`: the changes of one WhatsApp Business Account."""

    @property
    def id(self) -> str:
        """The WhatsApp Business Account ID."""
    @property
    def changes(self) -> list[GroupChange | OtherChange]:
        """The changes of this entry: `GroupChange` or `OtherChange` objects."""
    def __eq__(self, other: object, /) -> bool: ...
    __hash__: None  # type: ignore[assignment]

@final
class WebhookPayload:
    """A whole delivery, as [`parse`] returns it."""

    @property
    def object(self) -> str:
        """The `object`; `whatsapp_business_account` for WhatsApp."""
    @property
    def entries(self) -> list[Entry]:
        """The entries of the delivery."""
    def events(self) -> list[GroupEvent]:
        """Every group event of every entry and change, in order."""
    def other_changes(self) -> list[OtherChange]:
        """Every change that is not a group change, in order."""
    def to_json(self) -> str:
        """The payload as compact JSON, as Meta would send it; `parse` of it
        gives an equal payload.
        """
    def __eq__(self, other: builtins.object, /) -> bool: ...
    __hash__: None  # type: ignore[assignment]

def parse(raw_body: bytes | bytearray | memoryview | str) -> WebhookPayload:
    """Parses a webhook delivery body (the exact bytes received). Raises
    `DecodeError` for a body that is not a webhook payload.
    """
def verify_signature(
    app_secret: str | bytes,
    raw_body: bytes | bytearray | memoryview | str,
    header: Optional[str],
) -> None:
    """Checks `X-Hub-Signature-256` against the body. Returns `None` when it
    matches; raises `InvalidInputError` otherwise (`field` is `app_secret`
    for an empty secret, `signature` for a missing, malformed or wrong
    signature).
    """
def sign(app_secret: str | bytes, raw_body: bytes | bytearray | memoryview | str) -> str:
    """The `X-Hub-Signature-256` value Meta would send with `raw_body`."""

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
            "webhook",
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
        times: Optional[int] = None,
        drop: Optional[float] = None,
        duplicate: Optional[float] = None,
        delay_ms: Optional[tuple[int, int]] = None,
        seed: Optional[int] = None,
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

# ---------------------------------------------------------------------------
# Moderation (wa_groups.moderation re-exports these; see moderation.py)
# ---------------------------------------------------------------------------

@final
class ModerationRequest:
    """One join request as `decide` sees it."""

    @property
    def group_id(self) -> str:
        """The group."""
    @property
    def join_request_id(self) -> str:
        """The join request."""
    @property
    def wa_id(self) -> Optional[str]:
        """The requester's WhatsApp ID; `None` for business-scoped users."""
    @property
    def user_id(self) -> Optional[str]:
        """The business-scoped user ID, when there is one."""
    @property
    def username(self) -> Optional[str]:
        """The business-scoped username, when there is one."""
    @property
    def created_at(self) -> Optional[int]:
        """When the request was made (Unix seconds), when known."""

_Header = tuple[Union[bytes, str], Union[bytes, str]]

@disjoint_base
class ModeratorCore:
    """The moderation engine's core; use its subclass
    `wa_groups.moderation.Moderator`, which adds `asgi_app` and `wsgi_app`."""

    MAX_BODY_BYTES: ClassVar[int]
    def __new__(
        cls,
        access_token: str,
        *,
        app_secret: str,
        verify_token: str,
        store: Optional[str] = None,
        policy: Union[str, os.PathLike[str], None] = None,
        decide: Union[
            Callable[[ModerationRequest], str],
            Callable[[ModerationRequest], Awaitable[str]],
            None,
        ] = None,
        base_url: Optional[str] = None,
        batch_window: Optional[float] = None,
        reconcile_every: Optional[float] = None,
        decider_timeout: Optional[float] = None,
        groups: Optional[Sequence[str]] = None,
        dry_run: Optional[bool] = None,
        webhook_path: Optional[str] = None,
    ) -> Self: ...
    def start(self, listen: Optional[str] = "127.0.0.1:0") -> Optional[str]:
        """Runs the engine in the background: the workers, and with `listen`
        (`"host:port"`; port 0 picks a free one) an HTTP server answering
        the webhook path, `/healthz` and `/metrics`. Returns the bound
        `"host:port"` (also `address`), or `None` with `listen=None`
        (workers only, for `asgi_app` and `wsgi_app`). Raises
        `ModerationError` when it is already running, the address is taken,
        or another engine holds the store."""
    def serve(self, listen: str = "127.0.0.1:8080") -> None:
        """Serves `listen` and runs the workers until Ctrl-C (or `stop()` from
        another thread); then stops taking deliveries, lets the calls in
        flight finish, and returns."""
    def stop(self) -> None:
        """Stops the engine: no new deliveries, the calls in flight finish and
        are recorded, the store and the port are released. Does nothing
        when it is not running."""
    @property
    def address(self) -> Optional[str]:
        """The bound `"host:port"` while the server runs, else `None`."""
    @property
    def running(self) -> bool:
        """Whether the engine runs (after `start`, before `stop`)."""
    def status(self) -> dict[str, Any]:
        """Counts by state, in total and per group, and every record: the dict
        `wa-groups moderate status --json` prints (`total`, `groups`,
        `requests`; every state present, zeros included)."""
    def handle(
        self, method: str, target: str, headers: Iterable[_Header], body: bytes
    ) -> tuple[int, str, list[tuple[bytes, bytes]], bytes]:
        """Answers one webhook request (blocking; the GIL is released):
        `method`, `target` (path and query), `headers` (name, value pairs of
        `bytes` or `str`) and the raw `body`. Returns `(status, reason,
        headers, body)` with the headers as `bytes` pairs."""
    def handle_async(
        self, method: str, target: str, headers: Iterable[_Header], body: bytes
    ) -> Awaitable[tuple[int, str, list[tuple[bytes, bytes]], bytes]]:
        """`handle` as an awaitable of the running asyncio loop."""
    def __enter__(self) -> Self: ...
    def __exit__(self, *_args: Any) -> None: ...
