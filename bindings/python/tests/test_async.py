"""The asyncio client: every method, the async iterator, many calls at once
(on asyncio's loop and on uvloop), cancellation of calls in flight (their
requests stop), a loop closed with calls in flight."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

import pytest

from wa_groups import ApproveOutcome, AsyncClient, JoinRequestPage, NotFoundError, RejectOutcome
from wa_groups.testing import Emulator

from conftest import run

T = TypeVar("T")


def test_every_method(emu: Emulator, group: str) -> None:
    ids = emu.add_join_requests(group, 6)

    async def main() -> None:
        async with AsyncClient(emu.access_token, base_url=emu.base_url) as client:
            page = await client.list_join_requests(group, limit=2)
            assert isinstance(page, JoinRequestPage)
            assert [r.join_request_id for r in page.data] == ids[:2]
            nxt = await client.list_join_requests(group, after=page.after)
            assert [r.join_request_id for r in nxt.data] == ids[2:]
            seen = [r.join_request_id async for r in client.iter_join_requests(group)]
            assert seen == ids
            out = await client.approve_join_requests(group, ids[:1])
            assert isinstance(out, ApproveOutcome) and out.approved == ids[:1]
            rej = await client.reject_join_requests(group, ids[1:2])
            assert isinstance(rej, RejectOutcome) and rej.rejected == ids[1:2]
            emu2 = emu.create_group()
            more = emu.add_join_requests(emu2, 2)
            assert (await client.approve_all(group)).approved == ids[2:5] + ids[5:]
            assert (await client.reject_all(emu2)).rejected == more
            with pytest.raises(NotFoundError):
                await client.approve_all("bm9wZQ")

    run(main())
    assert emu.pending_join_requests(group) == []


def test_async_iterator_pages() -> None:
    with Emulator(page_size=2) as emu:
        group = emu.create_group()
        ids = emu.add_join_requests(group, 5)

        async def main() -> list[str]:
            client = AsyncClient(emu.access_token, base_url=emu.base_url)
            try:
                return [r.join_request_id async for r in client.iter_join_requests(group, limit=2)]
            finally:
                await client.close()

        assert run(main()) == ids
        assert emu.stats()["endpoints"]["list"] == 3


def test_two_hundred_concurrent_calls(emu: Emulator, group: str) -> None:
    ids = emu.add_join_requests(group, 200)

    async def main() -> list[ApproveOutcome]:
        async with AsyncClient(emu.access_token, base_url=emu.base_url) as client:
            return await asyncio.gather(*(client.approve_join_requests(group, [i]) for i in ids))

    outs = run(main())
    assert [o.approved for o in outs] == [[i] for i in ids]
    assert emu.stats()["endpoints"]["approve"] == 200
    assert len(emu.participants(group)) == 200


def test_chunked_async(emu: Emulator, group: str) -> None:
    ids = emu.add_join_requests(group, 9)

    async def main() -> ApproveOutcome:
        async with AsyncClient(emu.access_token, base_url=emu.base_url, max_ids_per_request=4) as client:
            return await client.approve_join_requests(group, ids + ["dW5rbm93bg=="])

    out = run(main())
    assert out.approved == ids
    assert [f.join_request_id for f in out.failed] == ["dW5rbm93bg=="]
    assert emu.stats()["endpoints"]["approve"] == 3


def test_cancelling_a_call(emu: Emulator, group: str) -> None:
    emu.inject_fault("latency", ms=2000)

    async def main() -> None:
        async with AsyncClient(emu.access_token, base_url=emu.base_url) as client:
            with pytest.raises(asyncio.TimeoutError):
                await asyncio.wait_for(client.list_join_requests(group), 0.1)
            # The client still works afterwards.
            assert (await client.list_join_requests(group)).data == []

    run(main())


def test_one_client_across_event_loops(emu: Emulator, group: str, aclient: AsyncClient) -> None:
    emu.add_join_requests(group, 1)
    async def once() -> JoinRequestPage:
        return await aclient.list_join_requests(group)

    for _ in range(3):
        assert len(run(once()).data) == 1
    aclient.close()


def test_close(emu: Emulator, group: str) -> None:
    async def main() -> None:
        client = AsyncClient(emu.access_token, base_url=emu.base_url)
        async with client as entered:
            assert entered is client
        with pytest.raises(RuntimeError):
            await client.list_join_requests(group)
        client.close()  # not awaiting is fine too
        await client.close()  # and awaiting it is fine

    run(main())


def test_errors_are_raised_in_the_awaiting_task(emu: Emulator) -> None:
    async def main() -> None:
        async with AsyncClient(emu.access_token, base_url=emu.base_url) as client:
            with pytest.raises(NotFoundError) as info:
                await client.list_join_requests("bm9wZQ")
            assert info.value.code == 131041

    run(main())


def test_a_loop_with_its_own_futures(emu: Emulator, group: str) -> None:
    # The bridge calls asyncio.Future's methods unbound only on futures of
    # exactly that type; a loop whose create_future makes others goes
    # through their own methods: results, errors and cancellation alike.
    calls: list[str] = []

    class OwnFuture(asyncio.Future):  # type: ignore[type-arg]
        def set_result(self, result: object) -> None:
            calls.append(type(result).__name__)
            super().set_result(result)

    class Loop(asyncio.SelectorEventLoop):
        def create_future(self) -> asyncio.Future:  # type: ignore[type-arg]
            return OwnFuture(loop=self)

    ids = emu.add_join_requests(group, 2)

    async def main() -> None:
        async with AsyncClient(emu.access_token, base_url=emu.base_url) as client:
            pending = client.approve_join_requests(group, ids[:1])
            assert isinstance(pending, OwnFuture)
            assert (await pending).approved == ids[:1]
            with pytest.raises(NotFoundError):
                await client.list_join_requests("bm9wZQ")
            emu.inject_fault("latency", ms=2000)
            with pytest.raises(asyncio.TimeoutError):
                await asyncio.wait_for(client.list_join_requests(group), 0.1)
            assert (await client.approve_join_requests(group, ids[1:])).approved == ids[1:]

    loop = Loop()
    try:
        loop.run_until_complete(main())
    finally:
        loop.close()
    # Both approve results went through the subclass's own set_result.
    assert calls.count("ApproveOutcome") == 2


# The loops the calls are settled on: asyncio's own (whose futures the bridge
# drives through asyncio.Future's C methods) and uvloop (its own futures and
# create_future), when installed.
LOOPS = ["asyncio", "uvloop"]


def run_on(kind: str, coro: Callable[[], Awaitable[T]]) -> T:
    """Runs `coro()` to completion in a new event loop of `kind`."""
    if kind == "uvloop":
        uvloop = pytest.importorskip("uvloop")
        loop = uvloop.new_event_loop()
    else:
        loop = asyncio.new_event_loop()
    try:
        return loop.run_until_complete(coro())
    finally:
        loop.close()


@pytest.mark.parametrize("kind", LOOPS)
def test_many_calls_in_flight_on_each_loop(emu: Emulator, group: str, kind: str) -> None:
    ids = emu.add_join_requests(group, 600)

    async def main() -> list[ApproveOutcome]:
        async with AsyncClient(emu.access_token, base_url=emu.base_url) as client:
            return await asyncio.gather(*(client.approve_join_requests(group, [i]) for i in ids))

    outs = run_on(kind, main)
    assert [o.approved for o in outs] == [[i] for i in ids]
    assert emu.stats()["endpoints"]["approve"] == 600


@pytest.mark.parametrize("kind", LOOPS)
def test_cancelling_calls_in_flight_stops_their_requests(
    emu: Emulator, group: str, kind: str
) -> None:
    # The first 20 requests are held 500 ms by the emulator; cancelled in
    # the meantime, their requests are dropped, so the emulator never
    # approves those IDs. The other 20 calls, sent meanwhile, complete.
    ids = emu.add_join_requests(group, 40)
    emu.inject_fault("latency", ms=500, times=20)

    async def main() -> list[object]:
        async with AsyncClient(emu.access_token, base_url=emu.base_url) as client:
            slow = [asyncio.ensure_future(client.approve_join_requests(group, [i])) for i in ids[:20]]
            await asyncio.sleep(0.05)
            fast = await asyncio.gather(*(client.approve_join_requests(group, [i]) for i in ids[20:]))
            assert [o.approved for o in fast] == [[i] for i in ids[20:]]
            for call in slow:
                call.cancel()
            done = await asyncio.gather(*slow, return_exceptions=True)
            # Past the latency: a request still running would be served now.
            await asyncio.sleep(0.8)
            return done

    done = run_on(kind, main)
    assert all(isinstance(d, asyncio.CancelledError) for d in done)
    assert len(emu.participants(group)) == 20
    assert sorted(r.join_request_id for r in emu.pending_join_requests(group)) == sorted(ids[:20])


@pytest.mark.skipif(not hasattr(asyncio, "TaskGroup"), reason="asyncio.TaskGroup is Python 3.11+")
def test_a_task_group_cancels_the_calls_of_a_failed_group(emu: Emulator, group: str) -> None:
    ids = emu.add_join_requests(group, 5)
    emu.inject_fault("latency", ms=500, times=5)

    async def main() -> None:
        async with AsyncClient(emu.access_token, base_url=emu.base_url) as client:

            async def call(awaitable: Awaitable[object]) -> object:
                return await awaitable

            with pytest.raises(BaseExceptionGroup) as info:
                async with asyncio.TaskGroup() as tg:  # type: ignore[attr-defined]
                    for i in ids:
                        tg.create_task(call(client.approve_join_requests(group, [i])))
                    await asyncio.sleep(0.05)
                    # Not held (the five faults are taken): fails at once.
                    tg.create_task(call(client.list_join_requests("bm9wZQ")))
            assert [type(e) for e in info.value.exceptions] == [NotFoundError]
            await asyncio.sleep(0.8)

    run(main())
    assert emu.participants(group) == []


def test_a_loop_closed_with_calls_in_flight(emu: Emulator, group: str, aclient: AsyncClient) -> None:
    # Calls started in a loop that is then closed (never awaited, never
    # cancelled) still run to their end; the client goes on working in the
    # next loop, whose calls do not wait for them.
    ids = emu.add_join_requests(group, 20)
    emu.inject_fault("latency", ms=300, times=10)

    async def start() -> list[object]:
        futures = [aclient.approve_join_requests(group, [i]) for i in ids[:10]]
        await asyncio.sleep(0.05)
        return futures

    first = asyncio.new_event_loop()
    pending = first.run_until_complete(start())
    first.close()
    assert not any(f.done() for f in pending)  # type: ignore[attr-defined]

    async def later() -> list[ApproveOutcome]:
        return await asyncio.gather(*(aclient.approve_join_requests(group, [i]) for i in ids[10:]))

    assert [o.approved for o in run(later())] == [[i] for i in ids[10:]]
    # The first loop's calls end once the emulator lets them through.
    deadline = time.monotonic() + 10
    while emu.pending_join_requests(group) and time.monotonic() < deadline:
        time.sleep(0.02)
    assert len(emu.participants(group)) == 20
    assert emu.pending_join_requests(group) == []
    aclient.close()
