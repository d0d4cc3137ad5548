"""testdata/validation.json: every invalid value is refused with
InvalidInputError naming the field, and nothing is sent; valid values pass."""

from __future__ import annotations

from typing import Any

import pytest

from wa_groups import Client, InvalidInputError, WaGroupsError
from wa_groups.testing import Emulator

from conftest import load, requests_sent

CASES = load("validation.json")["cases"]


def attempt(emu: Emulator, client: Client, group: str, field: str, value: Any) -> None:
    """Passes `value` as the argument `field` names."""
    token = emu.access_token
    if field == "group_id":
        client.list_join_requests(value)
    elif field == "join_request_id":
        client.approve_join_requests(group, [value])
    elif field == "join_request_ids":
        client.approve_join_requests(group, value)
    elif field in ("limit", "after", "before"):
        client.list_join_requests(group, **{field: value})
    elif field == "access_token":
        Client(value, base_url=emu.base_url)
    elif field in ("api_version", "user_agent", "base_url"):
        Client(token, **{field: value})
    else:
        raise AssertionError(f"no argument for field {field!r}")


@pytest.mark.parametrize("case", CASES, ids=[f"{c['field']}-{c['why']}" for c in CASES])
def test_validation_vector(case: dict[str, Any], emu: Emulator, group: str, client: Client) -> None:
    field, value = case["field"], case["value"]
    if case["valid"]:
        try:
            attempt(emu, client, group, field, value)
        except InvalidInputError as e:  # pragma: no cover - the failure message
            pytest.fail(f"{field}={value!r} refused: {e}")
        except WaGroupsError:
            # Sent, and answered with an error: a group or cursor that the
            # emulator does not have.
            assert requests_sent(emu) > 0
    else:
        before = requests_sent(emu)
        with pytest.raises(InvalidInputError) as info:
            attempt(emu, client, group, field, value)
        assert info.value.field == field
        assert requests_sent(emu) == before


def test_empty_id_list(emu: Emulator, group: str, client: Client) -> None:
    with pytest.raises(InvalidInputError) as info:
        client.reject_join_requests(group, [])
    assert info.value.field == "join_request_ids"
    assert requests_sent(emu) == 0
