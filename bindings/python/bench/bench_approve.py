"""Approve calls per second: wa_groups' Client and AsyncClient against the
same calls made with httpx.Client, httpx.AsyncClient, aiohttp (and pywa 4.5
when it is installed), all against one in-process emulator, in one run.

Run by `cargo xtask bench` (xtask/src/python.rs) with the release wheel
installed; it writes tab-separated rows `case, ours, baseline, ratio,
target, met` to --out. Ratios are "higher is better": our calls per second
over the baseline's (and, for the wheel size and the import time, the
target over the measurement).

Every approve call approves one pending join request of a group with room
for all of them, so each call is a real 200 with a full outcome to parse.
Each figure is the median of three timed rounds of about 0.6 s, after a
warm-up round.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Awaitable, Callable, Optional

import aiohttp
import httpx

from wa_groups import AsyncClient, Client
from wa_groups.testing import Emulator

ROUNDS = 3
ROUND_SECONDS = 0.6
INFLIGHT = 64
API_VERSION = "v23.0"


class Bench:
    def __init__(self) -> None:
        self.emu = Emulator()
        self.token = self.emu.access_token
        self.base = self.emu.base_url
        self.headers = {"Authorization": f"Bearer {self.token}"}

    def batch(self, n: int) -> tuple[str, list[str]]:
        group = self.emu.create_group(participant_cap=10**9)
        ids: list[str] = []
        # The emulator adds at most 10,000 join requests a call.
        while len(ids) < n:
            ids += self.emu.add_join_requests(group, min(n - len(ids), 10_000))
        return group, ids

    def url(self, group: str) -> str:
        return f"{self.base}/{API_VERSION}/{group}/join_requests"

    @staticmethod
    def body(jr: str) -> dict[str, Any]:
        return {"messaging_product": "whatsapp", "join_requests": [jr]}

    def rate(self, run_batch: Callable[[str, list[str]], None]) -> float:
        """Calls per second: warm-up, then the median of timed rounds."""
        group, ids = self.batch(200)
        t = time.perf_counter()
        run_batch(group, ids)
        warm = len(ids) / (time.perf_counter() - t)
        n = int(min(max(warm * ROUND_SECONDS, 200), 30000))
        rates = []
        for _ in range(ROUNDS):
            group, ids = self.batch(n)
            t = time.perf_counter()
            run_batch(group, ids)
            rates.append(n / (time.perf_counter() - t))
        self.emu.reset_stats()
        return statistics.median(rates)

    def arate(self, make: Callable[[], Any], call: Callable[[Any, str, str], Awaitable[None]], inflight: int) -> float:
        """`rate` for an async client made by `make` (inside the loop), with
        `inflight` workers each approving its share one call at a time."""

        async def main() -> float:
            client = make()
            try:

                async def run(group: str, ids: list[str]) -> None:
                    async def worker(share: list[str]) -> None:
                        for jr in share:
                            await call(client, group, jr)

                    await asyncio.gather(*(worker(ids[k::inflight]) for k in range(inflight)))

                group, ids = self.batch(200)
                t = time.perf_counter()
                await run(group, ids)
                warm = len(ids) / (time.perf_counter() - t)
                n = int(min(max(warm * ROUND_SECONDS, 200), 30000))
                rates = []
                for _ in range(ROUNDS):
                    group, ids = self.batch(n)
                    t = time.perf_counter()
                    await run(group, ids)
                    rates.append(n / (time.perf_counter() - t))
                return statistics.median(rates)
            finally:
                closing = client.close()
                if asyncio.iscoroutine(closing) or isinstance(closing, asyncio.Future):
                    await closing

        out = asyncio.run(main())
        self.emu.reset_stats()
        return out

    # -- sync -------------------------------------------------------------

    def ours_sync(self, threads: int) -> float:
        with Client(self.token, base_url=self.base) as client:

            def one(group: str, jr: str) -> None:
                out = client.approve_join_requests(group, [jr])
                assert out.approved == [jr], out

            return self.rate(sequential_or_threads(one, threads))

    def httpx_sync(self, threads: int) -> float:
        # httpx's defaults (100 connections, 20 kept alive): faster here than
        # 64 kept alive. Under 64 threads httpcore now and then fails a
        # request with EBADF; `retrying` runs such a round again.
        with httpx.Client() as session:

            def one(group: str, jr: str) -> None:
                r = session.post(self.url(group), json=self.body(jr), headers=self.headers)
                r.raise_for_status()
                assert r.json()["approved_join_requests"] == [jr]

            return retrying(lambda: self.rate(sequential_or_threads(one, threads)))

    def pywa_sync(self) -> Optional[float]:
        try:
            from pywa import WhatsApp  # type: ignore[import-not-found]
        except ImportError:
            return None
        with httpx.Client() as session:
            wa = WhatsApp(phone_id="106540352242922", token=self.token, session=session, api_version="23.0")
            # pywa always targets graph.facebook.com; point its session here.
            session.base_url = httpx.URL(f"{self.base}/{API_VERSION}/")

            def one(group: str, jr: str) -> None:
                op = wa.approve_group_join_requests(group, [jr])
                assert op.request_id

            return self.rate(sequential_or_threads(one, 1))

    # -- async ------------------------------------------------------------

    def ours_async(self, inflight: int) -> float:
        async def call(client: AsyncClient, group: str, jr: str) -> None:
            out = await client.approve_join_requests(group, [jr])
            assert out.approved == [jr], out

        return self.arate(lambda: AsyncClient(self.token, base_url=self.base), call, inflight)

    def httpx_async(self, inflight: int) -> float:
        async def call(session: httpx.AsyncClient, group: str, jr: str) -> None:
            r = await session.post(self.url(group), json=self.body(jr), headers=self.headers)
            r.raise_for_status()
            assert r.json()["approved_join_requests"] == [jr]

        # httpx's default limits: here about 3x faster at 64 in flight than
        # 64 kept-alive connections (its pool is the bottleneck either way).
        return retrying(lambda: self.arate(_HttpxAsync, call, inflight))

    def aiohttp_async(self, inflight: int) -> float:
        async def call(session: aiohttp.ClientSession, group: str, jr: str) -> None:
            async with session.post(self.url(group), json=self.body(jr), headers=self.headers) as r:
                r.raise_for_status()
                assert (await r.json())["approved_join_requests"] == [jr]

        return retrying(
            lambda: self.arate(
                lambda: aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=INFLIGHT)), call, inflight
            )
        )


class _HttpxAsync(httpx.AsyncClient):
    def close(self) -> Awaitable[None]:  # type: ignore[override]
        return self.aclose()


def sequential_or_threads(one: Callable[[str, str], None], threads: int) -> Callable[[str, list[str]], None]:
    if threads <= 1:

        def run(group: str, ids: list[str]) -> None:
            for jr in ids:
                one(group, jr)

        return run

    pool = ThreadPoolExecutor(threads)

    def run_threads(group: str, ids: list[str]) -> None:
        def share(part: list[str]) -> None:
            for jr in part:
                one(group, jr)

        list(pool.map(share, [ids[k::threads] for k in range(threads)]))

    return run_threads


def retrying(measure: Callable[[], float], attempts: int = 3) -> float:
    """A baseline's measurement, run again when the baseline itself fails."""
    for attempt in range(attempts):
        try:
            return measure()
        except (httpx.HTTPError, aiohttp.ClientError) as e:
            if attempt == attempts - 1:
                raise
            print(f"baseline failed ({e!r}); measuring again", file=sys.stderr, flush=True)
    raise AssertionError("unreachable")


def import_ms() -> float:
    """`import wa_groups` in a fresh interpreter, median of 7, in ms."""
    code = "import time; t = time.perf_counter(); import wa_groups; print(time.perf_counter() - t)"
    runs = [
        float(subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True).stdout)
        for _ in range(7)
    ]
    return statistics.median(runs) * 1000


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", required=True)
    ap.add_argument("--wheel")
    args = ap.parse_args()

    rows: list[tuple[str, str, str, float, str, str]] = []

    def ratio_row(case: str, ours: float, base_name: str, base: float, target: float) -> None:
        r = ours / base
        rows.append(
            (case, f"{ours:,.0f} calls/s", f"{base_name} {base:,.0f} calls/s", r, f"≥ {target:g}×", "yes" if r >= target else "no")
        )
        print(f"{case}: {ours:,.0f} vs {base_name} {base:,.0f} calls/s = {r:.2f}× (target {target:g}×)", flush=True)

    b = Bench()
    try:
        ours = b.ours_sync(1)
        ratio_row("approve, sequential: Client vs httpx.Client", ours, "httpx.Client", b.httpx_sync(1), 3)
        pywa = b.pywa_sync()
        if pywa is None:
            print("pywa is not installed: skipped", flush=True)
        else:
            r = ours / pywa
            rows.append(("approve, sequential: Client vs pywa 4.5", f"{ours:,.0f} calls/s", f"pywa {pywa:,.0f} calls/s", r, "reference", "—"))
            print(f"pywa: {pywa:,.0f} calls/s ({r:.2f}×)", flush=True)
        ratio_row(
            f"approve, {INFLIGHT} threads: Client vs httpx.Client", b.ours_sync(INFLIGHT), "httpx.Client", b.httpx_sync(INFLIGHT), 3
        )
        ours_a1 = b.ours_async(1)
        ratio_row("approve, sequential: AsyncClient vs httpx.AsyncClient", ours_a1, "httpx.AsyncClient", b.httpx_async(1), 5)
        ratio_row("approve, sequential: AsyncClient vs aiohttp", ours_a1, "aiohttp", b.aiohttp_async(1), 1.2)
        ours_a = b.ours_async(INFLIGHT)
        ratio_row(
            f"approve, {INFLIGHT} in flight: AsyncClient vs httpx.AsyncClient", ours_a, "httpx.AsyncClient", b.httpx_async(INFLIGHT), 5
        )
        ratio_row(f"approve, {INFLIGHT} in flight: AsyncClient vs aiohttp", ours_a, "aiohttp", b.aiohttp_async(INFLIGHT), 1.2)
    finally:
        b.emu.close()

    if args.wheel:
        mb = os.path.getsize(args.wheel) / 1_000_000
        rows.append(("wheel size (abi3, release)", f"{mb:.2f} MB", "target 4 MB", 4 / mb, "≥ 1× (≤ 4 MB)", "yes" if mb <= 4 else "no"))
        print(f"wheel: {mb:.2f} MB", flush=True)
    ms = import_ms()
    rows.append(("import wa_groups", f"{ms:.1f} ms", "target 30 ms", 30 / ms, "≥ 1× (≤ 30 ms)", "yes" if ms <= 30 else "no"))
    print(f"import wa_groups: {ms:.1f} ms", flush=True)

    with open(args.out, "w", encoding="utf-8") as f:
        for case, ours_s, base_s, r, target, met in rows:
            f.write(f"{case}\t{ours_s}\t{base_s}\t{r:.3f}\t{target}\t{met}\n")


if __name__ == "__main__":
    main()
