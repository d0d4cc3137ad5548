"""A 200 response that echoes the access token (a hostile or buggy server)
never shows it in a result's attributes or repr: the Rust core scrubs every
string from the server, and the binding surfaces the clean values."""

from __future__ import annotations

import json
from typing import Any

from wa_groups import AsyncClient, Client
from wa_groups.testing import Emulator

from conftest import run

# Holds `/`, `"` and `\\` so that its JSON-escaped forms differ from it.
TOKEN = 'EAAB/echo"token\\0123456789'
ENCODED = json.dumps(TOKEN)[1:-1]


def _texts(obj: Any) -> str:
    """Everything a user can see of a result: its repr and every string
    attribute, recursively."""
    seen = [repr(obj)]
    for name in dir(obj):
        if name.startswith("_"):
            continue
        value = getattr(obj, name)
        if callable(value):
            continue
        items = value if isinstance(value, (list, tuple)) else [value]
        for item in items:
            seen.append(repr(item))
            if hasattr(item, "__dict__") or type(item).__module__.startswith("wa_groups"):
                if not isinstance(item, (str, int, float, type(None))):
                    seen.append(_texts(item))
    return "\n".join(seen)


def _clean(text: str) -> None:
    assert TOKEN not in text
    assert ENCODED not in text
    assert "echo" not in text, text


def test_decide_response_echoing_the_token_is_scrubbed() -> None:
    with Emulator(access_token=TOKEN) as emu:
        group = emu.create_group()
        body = json.dumps(
            {
                "messaging_product": "whatsapp",
                "approved_join_requests": ["JR1"],
                "failed_join_requests": [
                    {"join_request_id": "JR2", "errors": [{"code": 131213, "title": f"bad {TOKEN}", "message": f"token={TOKEN}", "error_data": {"details": TOKEN}}]}
                ],
                "errors": [{"code": 131000, "title": TOKEN, "message": f"saw: {TOKEN}"}],
            }
        )
        emu.inject_fault("response", status=200, body=body, times=2)
        with Client(emu.access_token, base_url=emu.base_url, max_retries=0) as client:
            outcome = client.approve_join_requests(group, ["JR1", "JR2"])
        assert list(outcome.approved) == ["JR1"]
        assert [f.join_request_id for f in outcome.failed] == ["JR2"]
        _clean(_texts(outcome))
        for f in outcome.failed:
            _clean(_texts(f))
            for e in f.errors:
                _clean(_texts(e))
        for e in outcome.errors:
            _clean(_texts(e))

        async def main() -> Any:
            return await AsyncClient(emu.access_token, base_url=emu.base_url, max_retries=0).approve_join_requests(group, ["JR1", "JR2"])

        again = run(main())
        _clean(_texts(again) + "".join(_texts(e) for f in again.failed for e in f.errors))


def test_list_response_echoing_the_token_is_scrubbed() -> None:
    with Emulator(access_token=TOKEN) as emu:
        group = emu.create_group()
        body = json.dumps({"data": [{"join_request_id": "JR1", "wa_id": TOKEN, "username": f"@{TOKEN}", "creation_timestamp": 1755548877}]})
        emu.inject_fault("response", status=200, body=body)
        with Client(emu.access_token, base_url=emu.base_url, max_retries=0) as client:
            page = client.list_join_requests(group)
        assert [r.join_request_id for r in page.data] == ["JR1"]
        _clean(_texts(page) + "".join(_texts(r) for r in page.data))
