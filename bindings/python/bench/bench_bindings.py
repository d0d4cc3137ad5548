"""One client of `cargo xtask bench bindings` (the harness is
crates/transport/examples/bindings_bench.rs): approves the join requests it
is given, one ID a call, with wa_groups' `Client` (sequential) or
`AsyncClient` (WA_BENCH_IN_FLIGHT calls at a time), against the harness's
emulator, and prints `{"rate": calls per second, "cpu_us": CPU µs per
call}` for the measured part (the IDs after the first WA_BENCH_WARMUP).
"""

from __future__ import annotations

import asyncio
import json
import os
import time

from wa_groups import AsyncClient, Client


def sync_run(client: Client, group: str, ids: list[str]) -> None:
    approve = client.approve_join_requests
    for jr in ids:
        out = approve(group, [jr])
        assert out.approved == [jr], out


async def async_run(client: AsyncClient, group: str, ids: list[str], in_flight: int) -> None:
    it = iter(ids)

    async def lane() -> None:
        for jr in it:
            out = await client.approve_join_requests(group, [jr])
            assert out.approved == [jr], out

    await asyncio.gather(*(lane() for _ in range(in_flight)))


def main() -> None:
    env = os.environ
    base, token, group = env["WA_BENCH_BASE_URL"], env["WA_BENCH_TOKEN"], env["WA_BENCH_GROUP"]
    with open(env["WA_BENCH_IDS"], encoding="utf-8") as f:
        ids = f.read().split("\n")
    warmup = int(env["WA_BENCH_WARMUP"])
    in_flight = int(env["WA_BENCH_IN_FLIGHT"])
    warm, measured = ids[:warmup], ids[warmup:]
    if env["WA_BENCH_FLAVOUR"] == "sync":
        with Client(token, base_url=base) as client:
            sync_run(client, group, warm)
            cpu, t = time.process_time(), time.perf_counter()
            sync_run(client, group, measured)
            secs, cpu = time.perf_counter() - t, time.process_time() - cpu
    else:

        async def run() -> tuple[float, float]:
            async with AsyncClient(token, base_url=base) as client:
                await async_run(client, group, warm, in_flight)
                cpu, t = time.process_time(), time.perf_counter()
                await async_run(client, group, measured, in_flight)
                return time.perf_counter() - t, time.process_time() - cpu

        secs, cpu = asyncio.run(run())
    print(json.dumps({"rate": len(measured) / secs, "cpu_us": cpu * 1e6 / len(measured)}))


if __name__ == "__main__":
    main()
