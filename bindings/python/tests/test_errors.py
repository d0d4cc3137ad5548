"""Each exception class from a fault the emulator injects, retries,
invalid input that sends nothing, and the token kept out of every output."""

from __future__ import annotations

import pickle
import traceback
from typing import Callable, Literal, Optional

import pytest

import wa_groups
from wa_groups import (
    ApiError,
    AsyncClient,
    AuthError,
    Client,
    DecodeError,
    InvalidInputError,
    NotFoundError,
    RateLimitedError,
    RequestTimeoutError,
    TransportError,
    WaGroupsError,
)
from wa_groups.testing import Emulator

from conftest import requests_sent, run

SECRET = "EAAB-very-secret-token-0123456789"


def client_for(emu: Emulator, **kw: object) -> Client:
    return Client(emu.access_token, base_url=emu.base_url, **kw)  # type: ignore[arg-type]


def test_hierarchy() -> None:
    assert issubclass(InvalidInputError, WaGroupsError) and issubclass(InvalidInputError, ValueError)
    for cls in (AuthError, RateLimitedError, NotFoundError):
        assert issubclass(cls, ApiError)
    assert issubclass(ApiError, WaGroupsError)
    assert issubclass(RequestTimeoutError, TransportError)
    assert issubclass(TransportError, WaGroupsError)
    assert DecodeError.__bases__ == (WaGroupsError,)
    assert issubclass(WaGroupsError, Exception)
    kinds = {c.kind for c in (InvalidInputError, AuthError, RateLimitedError, NotFoundError, ApiError,
                              TransportError, RequestTimeoutError, DecodeError)}
    assert kinds == {"invalid_input", "auth", "rate_limited", "not_found", "api", "transport", "timeout", "decode"}


def test_auth_error_is_not_retried(emu: Emulator, group: str) -> None:
    with Client(SECRET, base_url=emu.base_url) as client:
        with pytest.raises(AuthError) as info:
            client.list_join_requests(group)
    e = info.value
    assert (e.status, e.code, e.type, e.is_transient) == (401, 190, "OAuthException", False)
    assert e.message and str(e).startswith("authentication failed")
    assert e.fbtrace_id
    assert emu.stats()["auth_failures"] == 1 and requests_sent(emu) == 1


def test_not_found(emu: Emulator, client: Client) -> None:
    with pytest.raises(NotFoundError) as info:
        client.approve_join_requests("bm9wZQ", ["aWQ="])
    assert (info.value.status, info.value.code) == (400, 131041)
    assert requests_sent(emu) == 1


def test_rate_limited_after_retries(emu: Emulator, group: str) -> None:
    emu.inject_fault("rate_limited", retry_after=1, times=2)
    with client_for(emu, max_retries=1) as client:
        with pytest.raises(RateLimitedError) as info:
            client.list_join_requests(group)
    e = info.value
    assert (e.status, e.code, e.retry_after) == (429, 131208, 1.0)
    assert isinstance(e.retry_after, float)
    assert emu.stats()["faults_applied"] == 2


def test_rate_limit_of_the_emulator(emu: Emulator, group: str) -> None:
    emu.set_rate_limit(0.001, burst=1)
    with client_for(emu, max_retries=0) as client:
        client.list_join_requests(group)
        with pytest.raises(RateLimitedError) as info:
            client.list_join_requests(group)
    assert info.value.retry_after is not None and info.value.retry_after >= 1


def test_server_error_is_api_error(emu: Emulator, group: str) -> None:
    emu.inject_fault("server_error", status=503, times=1)
    with client_for(emu, max_retries=0) as client:
        with pytest.raises(ApiError) as info:
            client.list_join_requests(group)
    assert type(info.value) is ApiError
    assert (info.value.status, info.value.code, info.value.is_transient) == (503, 1, False)


def test_retries_then_success(emu: Emulator, group: str) -> None:
    ids = emu.add_join_requests(group, 1)
    emu.inject_fault("server_error", status=503, is_transient=True, times=2, method="POST")
    with client_for(emu) as client:
        out = client.approve_join_requests(group, ids)
    assert out.approved == ids
    stats = emu.stats()
    assert stats["faults_applied"] == 2 and stats["requests"] == 3


def test_connection_reset(emu: Emulator, group: str) -> None:
    emu.inject_fault("connection_reset")
    with client_for(emu, max_retries=0) as client:
        with pytest.raises(TransportError) as info:
            client.list_join_requests(group)
    assert type(info.value) is TransportError
    assert info.value.transport_kind in ("connection_reset", "other")


def test_connection_refused_has_a_cause() -> None:
    with Emulator() as emu:
        base = emu.base_url
    with Client("EAAB-token", base_url=base, max_retries=0) as client:
        with pytest.raises(TransportError) as info:
            client.list_join_requests("g")
    assert info.value.transport_kind == "connect"
    assert "refused" in str(info.value)
    # Chained when the transport keeps the underlying I/O error as a source.
    assert info.value.__cause__ is None or isinstance(info.value.__cause__, OSError)


def test_reset_is_retried(emu: Emulator, group: str) -> None:
    emu.inject_fault("connection_reset", times=1)
    with client_for(emu) as client:
        assert client.list_join_requests(group).data == []


def test_timeout(emu: Emulator, group: str) -> None:
    emu.inject_fault("latency", ms=1500)
    with client_for(emu, timeout=0.2, max_retries=0) as client:
        with pytest.raises(RequestTimeoutError) as info:
            client.list_join_requests(group)
    assert isinstance(info.value, TransportError)
    assert info.value.timeout == pytest.approx(0.2)


def test_malformed_body(emu: Emulator, group: str) -> None:
    emu.inject_fault("malformed_json")
    with client_for(emu, max_retries=0) as client:
        with pytest.raises(DecodeError) as info:
            client.list_join_requests(group)
    assert info.value.status == 200
    assert info.value.excerpt and info.value.reason


def test_oversize_body(emu: Emulator, group: str) -> None:
    emu.inject_fault("oversize_body", bytes=5 * 1024 * 1024)
    with client_for(emu, max_retries=0) as client:
        with pytest.raises(DecodeError) as info:
            client.list_join_requests(group)
    assert "limit" in info.value.reason
    assert info.value.status == 200


def test_truncated_body(emu: Emulator, group: str) -> None:
    emu.inject_fault("truncated_body")
    with client_for(emu, max_retries=0) as client:
        with pytest.raises((TransportError, DecodeError)):
            client.list_join_requests(group)


def test_async_errors(emu: Emulator, group: str) -> None:
    emu.inject_fault("latency", ms=1500)

    async def main() -> None:
        async with AsyncClient(emu.access_token, base_url=emu.base_url, timeout=0.2, max_retries=0) as c:
            with pytest.raises(RequestTimeoutError):
                await c.list_join_requests(group)
            with pytest.raises(InvalidInputError) as info:
                await c.approve_join_requests(group, [])
            assert info.value.field == "join_request_ids"

    run(main())


def test_invalid_input_sends_nothing(emu: Emulator, group: str, client: Client) -> None:
    cases: list[tuple[Callable[[], object], str, Optional[int]]] = [
        (lambda: client.list_join_requests("a/b"), "group_id", None),
        (lambda: client.approve_join_requests(group, []), "join_request_ids", None),
        (lambda: client.approve_join_requests(group, ["ok", "bad id"]), "join_request_id", 1),
        (lambda: client.reject_join_requests("..", ["x"]), "group_id", None),
        (lambda: client.list_join_requests(group, limit=0), "limit", None),
        (lambda: client.list_join_requests(group, limit=-5), "limit", None),
        (lambda: client.list_join_requests(group, limit=10**12), "limit", None),
        (lambda: client.list_join_requests(group, after=""), "after", None),
        (lambda: client.list_join_requests(group, before="a b"), "before", None),
        (lambda: client.approve_all("a?b"), "group_id", None),
        (lambda: list(client.iter_join_requests("a#b")), "group_id", None),
    ]
    for call, field, index in cases:
        with pytest.raises(InvalidInputError) as info:
            call()
        assert info.value.field == field, info.value
        assert info.value.index == index
        assert isinstance(info.value, ValueError)
        assert field in str(info.value)
    assert requests_sent(emu) == 0


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"access_token": ""}, "access_token"),
        ({"api_version": "23.0"}, "api_version"),
        ({"base_url": "http://example.com"}, "base_url"),
        ({"user_agent": "my app"}, "user_agent"),
        ({"timeout": 0.0}, "timeout"),
        ({"timeout": -1.0}, "timeout"),
        ({"timeout": float("nan")}, "timeout"),
        ({"max_retries": -1}, "max_retries"),
        ({"max_ids_per_request": 0}, "max_ids_per_request"),
        ({"max_ids_per_request": -3}, "max_ids_per_request"),
        ({"max_concurrency": 0}, "max_concurrency"),
    ],
)
def test_invalid_settings(kwargs: dict[str, object], field: str) -> None:
    args = {"access_token": "tok", **kwargs}
    token = args.pop("access_token")
    for cls in (Client, AsyncClient):
        with pytest.raises(InvalidInputError) as info:
            cls(token, **args)  # type: ignore[arg-type]
        assert info.value.field == field


def _all_text(e: BaseException) -> str:
    parts = [str(e), repr(e), "".join(traceback.format_exception(type(e), e, e.__traceback__))]
    parts += [repr(v) for v in vars(e).values()]
    if e.__cause__ is not None:
        parts.append(_all_text(e.__cause__))
    return "\n".join(parts)


def test_token_never_in_output(emu: Emulator, group: str) -> None:
    texts: list[str] = []
    for cls in (Client, AsyncClient):
        c = cls(SECRET, base_url=emu.base_url, max_retries=0)
        texts += [repr(c), str(c)]
    with Client(SECRET, base_url=emu.base_url, max_retries=0) as client:
        faults: list[Literal["server_error", "malformed_json", "connection_reset"]] = [
            "server_error",
            "malformed_json",
            "connection_reset",
        ]
        for fault in faults:
            emu.inject_fault(fault)
            with pytest.raises(WaGroupsError) as info:
                client.list_join_requests(group)
            texts.append(_all_text(info.value))
        with pytest.raises(AuthError) as auth:
            client.list_join_requests(group)
        texts.append(_all_text(auth.value))
    # A token that is itself invalid is not echoed either.
    bad = SECRET + "\r\nX-Evil: 1"
    with pytest.raises(InvalidInputError) as inv:
        Client(bad)
    texts.append(_all_text(inv.value))
    assert inv.value.field == "access_token"
    for t in texts:
        assert SECRET not in t
        assert "very-secret" not in t


def test_exceptions_pickle(emu: Emulator) -> None:
    with client_for(emu) as client:
        with pytest.raises(NotFoundError) as info:
            client.list_join_requests("bm9wZQ")
    e = pickle.loads(pickle.dumps(info.value))
    assert type(e) is NotFoundError
    assert (e.code, e.status, str(e)) == (131041, 400, str(info.value))
    r = pickle.loads(pickle.dumps(RateLimitedError("x", code=4, retry_after=2.0)))
    assert (r.code, r.retry_after) == (4, 2.0)
    i = pickle.loads(pickle.dumps(InvalidInputError("bad", field="group_id", index=None)))
    assert i.field == "group_id"


def test_errors_can_be_raised_by_users() -> None:
    # Users' fakes raise them too.
    with pytest.raises(wa_groups.ApiError):
        raise wa_groups.AuthError("nope", status=401, code=190)
