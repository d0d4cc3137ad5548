"""`total_timeout`: one deadline for a whole call, beside the per-attempt
`timeout`, against the in-process emulator's latency fault."""

from __future__ import annotations

import math

import pytest

from wa_groups import AsyncClient, Client, InvalidInputError, RequestTimeoutError
from wa_groups.testing import Emulator

from conftest import run


def test_total_timeout_ends_a_slow_call(emu: Emulator, group: str) -> None:
    # The per-attempt timeout (30 s) cannot be what ends it.
    emu.inject_fault("latency", ms=3000)
    with Client(emu.access_token, base_url=emu.base_url, total_timeout=0.2) as client:
        with pytest.raises(RequestTimeoutError) as e:
            client.list_join_requests(group)
    assert e.value.timeout == pytest.approx(0.2)
    assert e.value.transport_kind == "timeout"


def test_total_timeout_covers_retries(emu: Emulator, group: str) -> None:
    # Each attempt times out after 0.1 s and is retried; four attempts take
    # longer than the call's 0.3 s, so the deadline ends the call.
    emu.inject_fault("latency", ms=1000, times=5)
    client = Client(emu.access_token, base_url=emu.base_url, timeout=0.1, total_timeout=0.3, max_retries=3)
    with pytest.raises(RequestTimeoutError) as e:
        client.approve_join_requests(group, ["JR1"])
    assert e.value.timeout == pytest.approx(0.3)


def test_async_total_timeout(emu: Emulator, group: str) -> None:
    emu.inject_fault("latency", ms=3000)
    aclient = AsyncClient(emu.access_token, base_url=emu.base_url, total_timeout=0.2)

    async def main() -> None:
        with pytest.raises(RequestTimeoutError) as e:
            await aclient.approve_all(group)
        assert e.value.timeout == pytest.approx(0.2)

    run(main())


def test_without_total_timeout_a_slow_call_completes(emu: Emulator, group: str) -> None:
    emu.add_join_requests(group, 1)
    emu.inject_fault("latency", ms=300)
    client = Client(emu.access_token, base_url=emu.base_url)
    assert len(client.list_join_requests(group).data) == 1


@pytest.mark.parametrize("bad", [0.0, -1.0, math.nan, math.inf])
def test_total_timeout_is_validated(bad: float) -> None:
    for cls in (Client, AsyncClient):
        with pytest.raises(InvalidInputError) as e:
            cls("tok", total_timeout=bad)
        assert e.value.field == "total_timeout"
