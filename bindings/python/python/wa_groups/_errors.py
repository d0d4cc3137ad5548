"""The exception classes of wa-groups, one per Rust ``ErrorKind``.

They are raised by the extension module (``src/errors.rs`` picks the class
and fills in the attributes, in one place). Every attribute has a default so
that the exceptions pickle (``multiprocessing``, ``concurrent.futures``).
No message or attribute ever holds the access token.
"""

# Neither `typing` nor `__future__` is imported (annotations are strings):
# `typing` alone would triple the cost of `import wa_groups`.

__all__ = [
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


class WaGroupsError(Exception):
    """Base class of every error wa-groups raises."""

    #: The Rust ``ErrorKind`` name, such as ``"rate_limited"``.
    kind: str = "error"


class InvalidInputError(WaGroupsError, ValueError):
    """An argument broke a rule; nothing was sent.

    ``field`` names the argument (``"group_id"``, ``"join_request_id"``,
    ``"limit"``, ``"access_token"``...), ``index`` the position in a list
    argument, ``reason`` why it was refused. The value itself is never
    included when it is a secret.
    """

    kind = "invalid_input"

    def __init__(
        self,
        description: str = "",
        /,
        *,
        field: str = "",
        index: "int | None" = None,
        reason: str = "",
    ) -> None:
        super().__init__(description)
        self.field = field
        self.index = index
        self.reason = reason


class ApiError(WaGroupsError):
    """An error the Graph API reported, with every field it gave."""

    kind = "api"

    def __init__(
        self,
        description: str = "",
        /,
        *,
        status: int = 0,
        code: int = 0,
        subcode: "int | None" = None,
        type: "str | None" = None,
        title: "str | None" = None,
        message: str = "",
        details: "str | None" = None,
        fbtrace_id: "str | None" = None,
        is_transient: bool = False,
    ) -> None:
        super().__init__(description)
        #: HTTP status of the response.
        self.status = status
        #: Graph error code (``error.code``).
        self.code = code
        #: Graph error subcode (``error.error_subcode``).
        self.subcode = subcode
        #: Graph error type, such as ``OAuthException``.
        self.type = type
        #: Short title (``error.title`` or ``error.error_user_title``).
        self.title = title
        #: The Graph message (``error.message``); ``str(err)`` adds the code.
        self.message = message
        #: ``error.error_data.details``.
        self.details = details
        #: Meta's trace ID, for support requests.
        self.fbtrace_id = fbtrace_id
        #: Whether Meta says a retry may succeed.
        self.is_transient = is_transient


class AuthError(ApiError):
    """The access token was refused (Graph codes 190, 10, 200-299)."""

    kind = "auth"


class RateLimitedError(ApiError):
    """The API throttled the call, and the retries ran out.

    ``retry_after`` is how long the server asked to wait, in seconds, when
    it said (``Retry-After``).
    """

    kind = "rate_limited"

    def __init__(
        self,
        description: str = "",
        /,
        *,
        status: int = 0,
        code: int = 0,
        subcode: "int | None" = None,
        type: "str | None" = None,
        title: "str | None" = None,
        message: str = "",
        details: "str | None" = None,
        fbtrace_id: "str | None" = None,
        is_transient: bool = False,
        retry_after: "float | None" = None,
    ) -> None:
        super().__init__(
            description,
            status=status,
            code=code,
            subcode=subcode,
            type=type,
            title=title,
            message=message,
            details=details,
            fbtrace_id=fbtrace_id,
            is_transient=is_transient,
        )
        self.retry_after = retry_after


class NotFoundError(ApiError):
    """Unknown group (131041) or join request (131213)."""

    kind = "not_found"


class TransportError(WaGroupsError):
    """Connect, TLS or connection failure.

    ``transport_kind`` is ``"connect"``, ``"tls"``, ``"connection_reset"``
    or ``"other"``; ``__cause__`` is the underlying ``OSError`` when there
    is one.
    """

    kind = "transport"

    def __init__(self, description: str = "", /, *, transport_kind: str = "other") -> None:
        super().__init__(description)
        self.transport_kind = transport_kind


class RequestTimeoutError(TransportError):
    """An attempt took longer than the client's ``timeout``, or a call longer
    than its ``total_timeout``; ``timeout`` is the limit that ran out (seconds)."""

    kind = "timeout"

    def __init__(self, description: str = "", /, *, timeout: float = 0.0) -> None:
        super().__init__(description, transport_kind="timeout")
        self.timeout = timeout


class DecodeError(WaGroupsError):
    """The response (or webhook body) was not what the API documents,
    or was larger than the size cap.

    ``status`` is the HTTP status when there was a response, ``excerpt``
    the start of the body (at most 256 bytes), ``reason`` what was wrong.
    """

    kind = "decode"

    def __init__(
        self,
        description: str = "",
        /,
        *,
        status: "int | None" = None,
        reason: str = "",
        excerpt: str = "",
    ) -> None:
        super().__init__(description)
        self.status = status
        self.reason = reason
        self.excerpt = excerpt


class InternalError(WaGroupsError):
    """A defect inside wa-groups (a Rust panic), caught at the binding's
    boundary so that it is an ordinary exception: the process goes on and
    nothing was sent after it. Please report it with the message."""

    kind = "internal"


for _cls in (
    WaGroupsError,
    InvalidInputError,
    ApiError,
    AuthError,
    RateLimitedError,
    NotFoundError,
    TransportError,
    RequestTimeoutError,
    DecodeError,
    InternalError,
):
    # Shown as `wa_groups.ApiError` in tracebacks, where users import it from.
    _cls.__module__ = "wa_groups"
del _cls

