"""The Python side of `cargo xtask conformance` (see docs/conformance.md).

Drives every call of the built `wa_groups` package (sync `Client` and
`AsyncClient`) against Prism, a validating mock of Meta's spec
(testdata/spec/join-requests.openapi.yaml). Every call must succeed: Prism
answers a request that breaks the spec with a 4xx, which the client raises.

    target/python-venv/bin/python conformance/drive_python.py http://127.0.0.1:4010

The bindings send JSON bodies only; the form and multipart encodings are
driven from Rust (crates/transport/examples/conformance.rs).
"""

from __future__ import annotations

import asyncio
import sys
import time
from typing import Any, Awaitable, Callable

import wa_groups

TOKEN = "EAAConformance0123456789abcdefZZ"
GROUPS = ["Y2FwaV9ncm91cDoxOTUwNTU1MDA3OToxMjAzNjMzOTQzMjAdOTY0MTUZD", "a-b.c_d~e+f=g0"]
CURSORS = ["QVFIUmxtY2N6RTZAxZA2dYNFhOZAFZA5dGZADdHlkb0tqRmxo", "a/b+c=d&e?f#g%h"]
IDS = ["MTY0NjcwNDM1OTU6MTIwMzYzNDA0Njk0MjMzODIw", "ab/cd+ef==", "ïd-ünïcødé", "x" * 1024]

calls = 0
failures: list[str] = []


def check(what: str, fn: Callable[[], Any]) -> None:
    global calls
    calls += 1
    try:
        fn()
    except wa_groups.WaGroupsError as e:
        failures.append(f"{what}: {type(e).__name__}: {e}")


async def acheck(what: str, fn: Callable[[], Awaitable[Any]]) -> None:
    global calls
    calls += 1
    try:
        await fn()
    except wa_groups.WaGroupsError as e:
        failures.append(f"{what}: {type(e).__name__}: {e}")


def until_cycle(what: str, it: Any) -> None:
    # Prism's example page always has a next page with the same cursor: the
    # iterator sends two requests (the second with `after`, which Prism
    # validates), yields the first page's item, then ends the listing with a
    # paging-cycle DecodeError. Anything else is a failure.
    out = []
    try:
        for item in it:
            out.append(item)
            if len(out) > 1:
                break
    except wa_groups.DecodeError as e:
        if "paging cycle" in str(e) and len(out) == 1:
            return
        failures.append(f"{what}: {len(out)} items, then DecodeError: {e}")
        return
    failures.append(f"{what}: {len(out)} items and no paging cycle")


def drive_sync(label: str, c: wa_groups.Client) -> None:
    for g in GROUPS:
        p = f"[{label}] {g}"
        check(f"{p}: list", lambda: c.list_join_requests(g))
        check(f"{p}: list limit=1", lambda: c.list_join_requests(g, limit=1))
        check(f"{p}: list limit=1000", lambda: c.list_join_requests(g, limit=1000))
        for cur in CURSORS:
            check(f"{p}: list after", lambda: c.list_join_requests(g, after=cur, limit=50))
            check(f"{p}: list before", lambda: c.list_join_requests(g, before=cur))
        check(f"{p}: iter_join_requests", lambda: until_cycle(f"{p}: iter_join_requests", c.iter_join_requests(g)))
        check(
            f"{p}: iter_join_requests limit",
            lambda: until_cycle(f"{p}: iter_join_requests limit", c.iter_join_requests(g, limit=25)),
        )
        for ids in (IDS[:1], IDS):
            check(f"{p}: approve {len(ids)}", lambda: c.approve_join_requests(g, ids))
            check(f"{p}: reject {len(ids)}", lambda: c.reject_join_requests(g, ids))
    many = [f"MTox{i:06}" for i in range(250)]
    check(f"[{label}] chunked approve", lambda: c.approve_join_requests(GROUPS[0], many))
    check(f"[{label}] chunked reject", lambda: c.reject_join_requests(GROUPS[0], many))


async def drive_async(label: str, c: wa_groups.AsyncClient) -> None:
    for g in GROUPS:
        p = f"[{label}] {g}"
        await acheck(f"{p}: list", lambda: c.list_join_requests(g, limit=10))
        await acheck(f"{p}: list after", lambda: c.list_join_requests(g, after=CURSORS[1]))
        await acheck(f"{p}: list before", lambda: c.list_join_requests(g, before=CURSORS[0]))

        async def listing() -> None:
            # As `until_cycle`: one item, then the paging cycle.
            out = []
            try:
                async for item in c.iter_join_requests(g):
                    out.append(item)
                    if len(out) > 1:
                        break
            except wa_groups.DecodeError as e:
                if "paging cycle" in str(e) and len(out) == 1:
                    return
                failures.append(f"{p}: iter_join_requests: {len(out)} items, then DecodeError: {e}")
                return
            failures.append(f"{p}: iter_join_requests: {len(out)} items and no paging cycle")

        await acheck(f"{p}: iter_join_requests", listing)
        await acheck(f"{p}: approve", lambda: c.approve_join_requests(g, IDS))
        await acheck(f"{p}: reject", lambda: c.reject_join_requests(g, IDS))


def main() -> int:
    if len(sys.argv) != 2:
        print("usage: drive_python.py BASE_URL", file=sys.stderr)
        return 2
    base = sys.argv[1]
    started = time.monotonic()
    common: dict[str, Any] = {"base_url": base, "max_retries": 0, "timeout": 10.0}
    with wa_groups.Client(TOKEN, **common) as c:
        drive_sync("Client", c)
    with wa_groups.Client(TOKEN, user_agent="myapp/1.2.3", api_version="v22.0", **common) as c:
        drive_sync("Client, user agent", c)

    async def run_async() -> None:
        async with wa_groups.AsyncClient(TOKEN, user_agent="myapp/1.2.3", **common) as c:
            await drive_async("AsyncClient", c)

    asyncio.run(run_async())
    print(
        f"conformance (python, static): {calls} calls in {time.monotonic() - started:.1f}s, "
        f"{len(failures)} failed"
    )
    if failures:
        print("calls that failed against the spec:\n  " + "\n  ".join(failures), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
