"""Fixtures: an in-process emulator per test (it starts in about a
millisecond), clients pointed at it, and the golden vectors of testdata/."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import pytest

from wa_groups import AsyncClient, Client
from wa_groups.testing import Emulator

TESTDATA = Path(__file__).resolve().parents[3] / "testdata"

T = TypeVar("T")


def run(coro: Awaitable[T]) -> T:
    """Runs a coroutine (or awaitable) in a new event loop."""

    async def main() -> T:
        return await coro

    return asyncio.run(main())


def load(name: str) -> Any:
    return json.loads((TESTDATA / name).read_text(encoding="utf-8"))


@pytest.fixture
def emu() -> Iterator[Emulator]:
    with Emulator() as e:
        yield e


@pytest.fixture
def group(emu: Emulator) -> str:
    # Room for every approval a test makes (Meta's cap is 8).
    return emu.create_group(participant_cap=1000)


@pytest.fixture
def client(emu: Emulator) -> Iterator[Client]:
    with Client(emu.access_token, base_url=emu.base_url) as c:
        yield c


@pytest.fixture
def aclient(emu: Emulator) -> AsyncClient:
    return AsyncClient(emu.access_token, base_url=emu.base_url)


def requests_sent(emu: Emulator) -> int:
    return int(emu.stats()["requests"])
