"""Helpers of the moderation tests: real servers in threads (uvicorn for
ASGI, waitress for WSGI), and waiting for the engine's state."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, Callable, TypeVar

APP_SECRET = "test-app-secret"
VERIFY_TOKEN = "test-verify-token"
TERMINAL = ("approved", "rejected", "held", "revoked", "gone", "failed")

T = TypeVar("T")


def wait_for(what: str, probe: Callable[[], T], timeout: float = 60.0) -> T:
    """Polls ``probe`` until it returns something truthy. The bound is
    generous: it only turns a hang into a failure, it measures nothing."""
    deadline = time.monotonic() + timeout
    while True:
        value = probe()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


def settled(status: dict[str, Any], n: int) -> bool:
    """Whether ``n`` records are known and every one is in a state the
    workers will not move on their own."""
    requests = status["requests"]
    return len(requests) == n and all(r["state"] in TERMINAL for r in requests)


def wait_settled(moderator: Any, n: int) -> dict[str, Any]:
    """The status once ``n`` records are decided and applied."""
    return wait_for(
        f"{n} settled records",
        lambda: (lambda s: s if settled(s, n) else None)(moderator.status()),
    )


def rules(status: dict[str, Any]) -> dict[str, tuple[str, str]]:
    """``{join_request_id: (state, rule)}``."""
    return {r["join_request_id"]: (r["state"], r["rule"]) for r in status["requests"]}


@contextmanager
def uvicorn_serving(app: Any, loop: str = "auto") -> Iterator[str]:
    """Runs ``app`` under uvicorn on a free port in a thread; yields its
    base URL. ``loop`` is uvicorn's: ``"asyncio"``, ``"uvloop"`` or
    ``"auto"`` (uvloop when installed, as with ``uvicorn[standard]``)."""
    import uvicorn

    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", loop=loop))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    wait_for("uvicorn to start", lambda: server.started)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(30)
        sock.close()


@contextmanager
def waitress_serving(app: Any) -> Iterator[str]:
    """Runs the WSGI ``app`` under waitress on a free port in a thread;
    yields its base URL."""
    import waitress

    server = waitress.create_server(app, host="127.0.0.1", port=0, threads=4)
    port = server.effective_port  # type: ignore[union-attr]
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        # Closing every dispatcher (the listener, keep-alive connections,
        # the trigger) in waitress's own loop thread empties its map, which
        # ends `run()`; then its worker threads are let go.
        def close_all() -> None:
            for dispatcher in list(server._map.values()):  # type: ignore[union-attr]
                dispatcher.close()

        server.trigger.pull_trigger(close_all)  # type: ignore[union-attr]
        thread.join(30)
        server.task_dispatcher.shutdown()  # type: ignore[union-attr]
