"""Hostile or absurd arguments: the process survives and gets a typed error.

Each call runs in a child interpreter, because before the fix some of them
aborted the process (SIGABRT), which would kill the test runner too. The
emulator runs here, in the parent, so the test also checks that nothing
was sent.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
from typing import Any

import pytest

from wa_groups import AsyncClient, Client, InternalError, InvalidInputError, WaGroupsError, webhooks
from wa_groups.testing import Emulator

from conftest import requests_sent, run


def _child(emu: Emulator, body: str) -> str:
    """Runs `body` in a child interpreter with `client` and `aclient` on
    `emu`; returns what it printed. The child must exit normally."""
    script = textwrap.dedent(
        f"""
        import asyncio, itertools
        import wa_groups
        from wa_groups import AsyncClient, Client
        client = Client({emu.access_token!r}, base_url={emu.base_url!r})
        aclient = AsyncClient({emu.access_token!r}, base_url={emu.base_url!r})

        def show(call):
            try:
                call()
            except wa_groups.WaGroupsError as e:
                print(type(e).__name__, getattr(e, "field", ""))
            except Exception as e:
                print("UNTYPED", type(e).__name__, e)
            except BaseException as e:
                print("BASE", type(e).__name__, e)
            else:
                print("NO ERROR")
        """
    ) + textwrap.dedent(body)
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, (done.returncode, done.stderr[-2000:])
    return done.stdout


@pytest.mark.parametrize(
    "ids",
    [
        "range(10**11)",  # aborted: Vec::with_capacity(10**11)
        "range(2**62)",  # PanicException (capacity overflow)
        "range(2**64)",  # len() itself overflows
        "itertools.repeat('JR1')",  # no length, endless
    ],
)
def test_absurd_id_lists_are_invalid_input(emu: Emulator, group: str, ids: str) -> None:
    out = _child(
        emu,
        f"""
        show(lambda: client.approve_join_requests({group!r}, {ids}))
        show(lambda: client.reject_join_requests({group!r}, {ids}))
        async def main():
            await aclient.approve_join_requests({group!r}, {ids})
        show(lambda: asyncio.run(main()))
        """,
    )
    assert out.splitlines() == ["InvalidInputError join_request_ids"] * 3
    assert requests_sent(emu) == 0


def test_huge_ints_are_invalid_input_not_overflow(emu: Emulator, group: str) -> None:
    out = _child(
        emu,
        f"""
        show(lambda: Client("tok", max_retries=2**200))
        show(lambda: AsyncClient("tok", max_retries=-2**200))
        show(lambda: Client("tok", max_ids_per_request=-2**100))
        show(lambda: Client("tok", max_concurrency=-2**100))
        show(lambda: client.list_join_requests({group!r}, limit=2**100))
        show(lambda: next(client.iter_join_requests({group!r}, limit=-2**100)))
        """,
    )
    assert out.splitlines() == [
        "InvalidInputError max_retries",
        "InvalidInputError max_retries",
        "InvalidInputError max_ids_per_request",
        "InvalidInputError max_concurrency",
        "InvalidInputError limit",
        "InvalidInputError limit",
    ]
    assert requests_sent(emu) == 0


def test_ids_at_the_cap_are_read_and_one_more_is_refused(client: Client, group: str) -> None:
    e = pytest.raises(
        InvalidInputError, client.approve_join_requests, group, ("x" for _ in range(1_000_001))
    ).value
    assert e.field == "join_request_ids"
    assert "at most 1000000" in str(e)


def test_internal_error_is_a_wa_groups_error() -> None:
    # What a caught panic becomes: `except WaGroupsError` (and `except
    # Exception`) catch it, unlike pyo3's PanicException.
    assert issubclass(InternalError, WaGroupsError)
    assert issubclass(InternalError, Exception)
    assert InternalError.kind == "internal"


def test_iterator_made_before_close_sends_nothing_after_it(
    emu: Emulator, group: str, client: Client
) -> None:
    emu.add_join_requests(group, 3)
    it = client.iter_join_requests(group, limit=1)
    assert next(it).join_request_id
    sent = requests_sent(emu)
    client.close()
    with pytest.raises(RuntimeError, match="closed"):
        next(it)
    with pytest.raises(RuntimeError, match="closed"):
        next(it)
    assert requests_sent(emu) == sent


def test_async_iterator_made_before_close_sends_nothing_after_it(
    emu: Emulator, group: str
) -> None:
    emu.add_join_requests(group, 3)

    async def main() -> None:
        aclient = AsyncClient(emu.access_token, base_url=emu.base_url)
        it = aclient.iter_join_requests(group, limit=1)
        assert (await it.__anext__()).join_request_id
        sent = requests_sent(emu)
        await aclient.close()
        with pytest.raises(RuntimeError, match="closed"):
            await it.__anext__()
        assert requests_sent(emu) == sent

    run(main())


def test_a_lone_surrogate_in_an_id_is_invalid_input(emu: Emulator, group: str, client: Client) -> None:
    e = pytest.raises(InvalidInputError, client.approve_join_requests, group, ["JR1", "JR\ud800"]).value
    assert (e.field, e.index) == ("join_request_id", 1)
    assert requests_sent(emu) == 0


# A lone surrogate has no UTF-8 form. In any `str` argument it is an
# InvalidInputError naming that argument (pyo3 alone raises
# UnicodeEncodeError, which names none), and nothing is sent.
BAD = "x\udc80y"

SYNC_CALLS = {
    "list_join_requests.group_id": (lambda c, g: c.list_join_requests(BAD), "group_id"),
    "list_join_requests.after": (lambda c, g: c.list_join_requests(g, after=BAD), "after"),
    "list_join_requests.before": (lambda c, g: c.list_join_requests(g, before=BAD), "before"),
    "iter_join_requests.group_id": (lambda c, g: c.iter_join_requests(BAD), "group_id"),
    "approve_join_requests.group_id": (lambda c, g: c.approve_join_requests(BAD, ["JR1"]), "group_id"),
    "reject_join_requests.group_id": (lambda c, g: c.reject_join_requests(BAD, ["JR1"]), "group_id"),
    "reject_join_requests.id": (lambda c, g: c.reject_join_requests(g, [BAD]), "join_request_id"),
    "approve_all.group_id": (lambda c, g: c.approve_all(BAD), "group_id"),
    "reject_all.group_id": (lambda c, g: c.reject_all(BAD), "group_id"),
}


@pytest.mark.parametrize("call", SYNC_CALLS.values(), ids=list(SYNC_CALLS))
def test_a_lone_surrogate_in_a_call_argument_is_invalid_input_naming_it(
    emu: Emulator, group: str, client: Client, aclient: AsyncClient, call: Any
) -> None:
    body, field = call
    e = pytest.raises(InvalidInputError, body, client, group).value
    assert e.field == field
    # The same argument of the asyncio client, refused before any awaitable.
    e = pytest.raises(InvalidInputError, body, aclient, group).value
    assert e.field == field
    assert requests_sent(emu) == 0


@pytest.mark.parametrize("field", ["access_token", "api_version", "base_url", "user_agent"])
@pytest.mark.parametrize("cls", [Client, AsyncClient])
def test_a_lone_surrogate_in_a_setting_is_invalid_input_naming_it(
    emu: Emulator, cls: type, field: str
) -> None:
    settings = {"access_token": emu.access_token, "base_url": emu.base_url, field: BAD}
    token = settings.pop("access_token")
    e = pytest.raises(InvalidInputError, cls, token, **settings).value
    assert e.field == field


def test_a_token_with_a_lone_surrogate_is_not_shown() -> None:
    token = "EAAsecret\udc80token"
    e = pytest.raises(InvalidInputError, Client, token).value
    assert "secret" not in str(e) and "secret" not in repr(e)


def test_a_lone_surrogate_in_a_webhook_secret_or_signature_is_invalid_input_naming_it() -> None:
    body = b'{"object":"whatsapp_business_account","entry":[]}'
    e = pytest.raises(InvalidInputError, webhooks.sign, BAD, body).value
    assert e.field == "app_secret"
    e = pytest.raises(InvalidInputError, webhooks.verify_signature, BAD, body, "sha256=00").value
    assert e.field == "app_secret"
    e = pytest.raises(InvalidInputError, webhooks.verify_signature, "secret", body, "sha256=" + BAD).value
    assert e.field == "signature"


def test_a_lone_surrogate_in_a_raw_body_is_invalid_input_naming_it() -> None:
    body = '{"object":"whatsapp_business_account","entry":[]}' + BAD
    e = pytest.raises(InvalidInputError, webhooks.parse, body).value
    assert e.field == "raw_body"
    e = pytest.raises(InvalidInputError, webhooks.sign, "secret", body).value
    assert e.field == "raw_body"
    e = pytest.raises(InvalidInputError, webhooks.verify_signature, "secret", body, "sha256=00").value
    assert e.field == "raw_body"
