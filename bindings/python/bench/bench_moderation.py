"""Moderation benches of the Python binding (run by ``cargo xtask bench``).

- Webhook acknowledgement latency at a steady rate (500 deliveries/s)
  through ``Moderator.asgi_app`` under uvicorn, beside the engine's own
  (Rust, hyper) listener measured in the same run, by the same Rust load
  generator (``crates/moderation/examples/ack_load.rs``). Target: the ASGI
  p99 at most 2x the Rust p99. The target row runs uvicorn as
  ``uvicorn[standard]`` installs it (uvloop, httptools), as deployed; a
  reference row runs it on asyncio and h11 (plain ``pip install uvicorn``).
- Decisions per second through a trivial Python ``decide``: N join
  requests stored first (through ``handle``), then the workers started
  (``dry_run``: decided and recorded, nothing sent) and timed until every
  decision is recorded. Target: at least 5,000/s.

Writes tab-separated rows ``case, ours, baseline, ratio, target, met``.
"""

from __future__ import annotations

import argparse
import json
import socket
import subprocess
import tempfile
import threading
import time
from pathlib import Path
from statistics import median
from typing import Any

import uvicorn

from wa_groups import webhooks
from wa_groups.moderation import ModerationRequest, Moderator

SECRET = "bench-app-secret"
# Nothing is sent anywhere: decisions are "hold" or the engine is in dry run.
NOWHERE = "http://127.0.0.1:9"


def moderator(store: Path, **kwargs: Any) -> Moderator:
    return Moderator(
        "bench-token",
        app_secret=SECRET,
        verify_token="bench",
        store=f"sqlite:{store}",
        base_url=NOWHERE,
        reconcile_every=3600,
        **kwargs,
    )


def hold(req: ModerationRequest) -> str:
    return "hold"


def load(binary: str, url: str, rate: int, count: int) -> dict[str, float]:
    out = subprocess.run(
        [binary, url, str(rate), str(count), SECRET], check=True, capture_output=True, text=True
    )
    result: dict[str, float] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


async def trivial_asgi(scope: Any, receive: Any, send: Any) -> None:
    """The framework's floor: an ASGI app that reads the body and answers
    200 at once."""
    if scope["type"] != "http":
        return
    while (await receive()).get("more_body"):
        pass
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b""})


# uvicorn's (loop, http) settings: as `uvicorn[standard]` runs, and as a
# plain `uvicorn` install runs.
STANDARD = ("uvloop", "httptools")
PLAIN = ("asyncio", "h11")


def under_uvicorn(binary: str, app: Any, rate: int, count: int, setup: tuple[str, str]) -> float:
    """The p99 of ``app`` under uvicorn (``setup``: its loop and HTTP
    implementation) in a thread, after a warm-up."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    loop, http = setup
    config = uvicorn.Config(app, log_level="warning", lifespan="off", loop=loop, http=http)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.01)
    try:
        url = f"http://127.0.0.1:{port}/webhook"
        load(binary, url, rate, 200)  # warm-up
        return load(binary, url, rate, count)["p99_ms"]
    finally:
        server.should_exit = True
        thread.join(30)


def ack_latency(
    binary: str, rate: int, count: int, tmp: Path, setup: tuple[str, str], rounds: int
) -> tuple[float, float, float]:
    """(Rust listener p99, ASGI under uvicorn p99, a trivial ASGI app's
    p99 under the same uvicorn), in milliseconds, uvicorn run as ``setup``
    says: each the median over ``rounds`` rounds that take the three in
    turn, so that a burst of load elsewhere on the machine falls on one
    round rather than on one of the three."""
    name = "-".join(setup)
    rust_p99s, asgi_p99s, floor_p99s = [], [], []
    for i in range(rounds):
        rust = moderator(tmp / f"rust-{name}-{i}.db", decide=hold)
        address = rust.start("127.0.0.1:0")
        try:
            load(binary, f"http://{address}/webhook", rate, 200)  # warm-up
            rust_p99s.append(load(binary, f"http://{address}/webhook", rate, count)["p99_ms"])
        finally:
            rust.stop()

        asgi = moderator(tmp / f"asgi-{name}-{i}.db", decide=hold)
        asgi.start(listen=None)
        try:
            asgi_p99s.append(under_uvicorn(binary, asgi.asgi_app, rate, count, setup))
        finally:
            asgi.stop()
        floor_p99s.append(under_uvicorn(binary, trivial_asgi, rate, count, setup))
    return median(rust_p99s), median(asgi_p99s), median(floor_p99s)


def payload(group: str, ids: range) -> bytes:
    events = [
        {
            "timestamp": "1700000000",
            "group_id": group,
            "type": "group_join_request_created",
            "join_request_id": f"JR{i}",
            "wa_id": f"1555{i:07d}",
        }
        for i in ids
    ]
    change = {
        "value": {
            "messaging_product": "whatsapp",
            "metadata": {"display_phone_number": "15550783881", "phone_number_id": "106540352242922"},
            "groups": events,
        },
        "field": "group_participants_update",
    }
    body = {"object": "whatsapp_business_account", "entry": [{"id": "102290129340398", "changes": [change]}]}
    return json.dumps(body).encode()


def decisions_per_second(n: int, tmp: Path) -> float:
    m = moderator(tmp / "decide.db", decide=lambda req: "approve", dry_run=True)
    per_delivery = 500
    for start in range(0, n, per_delivery):
        body = payload("GBENCH", range(start, min(start + per_delivery, n)))
        headers = [("x-hub-signature-256", webhooks.sign(SECRET, body))]
        status, *_ = m.handle("POST", "/webhook", headers, body)
        assert status == 200, status
    assert m.status()["total"]["pending"] == n
    started = time.perf_counter()
    m.start(listen=None)
    try:
        while m.status()["total"]["approving"] < n:
            time.sleep(0.05)
        took = time.perf_counter() - started
    finally:
        m.stop()
    return n / took


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", required=True)
    parser.add_argument("--load", required=True, help="the ack_load example binary")
    parser.add_argument("--rate", type=int, default=500)
    parser.add_argument("--count", type=int, default=2000)
    parser.add_argument("--decisions", type=int, default=20000)
    parser.add_argument("--rounds", type=int, default=3, help="ack latency rounds (medians)")
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for setup, target in [(STANDARD, True), (PLAIN, False)]:
            rust_p99, asgi_p99, floor_p99 = ack_latency(
                args.load, args.rate, args.count, Path(tmp), setup, args.rounds
            )
            ratio = rust_p99 / asgi_p99
            loop, http = setup
            rows.append(
                (
                    f"moderation webhook ack p99 at {args.rate}/s: asgi_app under uvicorn "
                    f"({loop}, {http}) vs the engine's listener",
                    f"p99 {asgi_p99:.2f} ms (median of {args.rounds} rounds)",
                    f"Rust listener p99 {rust_p99:.2f} ms (a trivial ASGI app under the same "
                    f"uvicorn: p99 {floor_p99:.2f} ms)",
                    f"{ratio:.3f}",
                    "≥ 0.5× (p99 ≤ 2× Rust)" if target else "reference",
                    ("yes" if ratio >= 0.5 else "no") if target else "—",
                )
            )
        rate = decisions_per_second(args.decisions, Path(tmp))
        rows.append(
            (
                "moderation decisions/s through a trivial Python decide",
                f"{rate:.0f} decisions/s",
                "target 5000/s",
                f"{rate / 5000:.3f}",
                "≥ 1× (≥ 5,000/s)",
                "yes" if rate >= 5000 else "no",
            )
        )
    text = "".join("\t".join(r) + "\n" for r in rows)
    print(text, end="")
    Path(args.out).write_text(text, encoding="utf-8")


if __name__ == "__main__":
    main()
