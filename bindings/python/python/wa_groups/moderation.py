"""The moderation engine: every join request that arrives over webhooks
decided by your policy file or your function, applied exactly once.

It is the Rust engine of ``wa-groups moderate serve`` (the same receiver,
ledger, decider, applier and reconciler), mounted where your app runs::

    from wa_groups.moderation import Moderator, ModerationRequest

    def decide(req: ModerationRequest) -> str:
        return "approve" if (req.wa_id or "").startswith("44") else "hold"

    moderator = Moderator(ACCESS_TOKEN, app_secret=APP_SECRET,
                          verify_token=VERIFY_TOKEN, decide=decide)
    moderator.serve("127.0.0.1:8080")      # blocking; Ctrl-C stops it

Or run the workers in the background (``start(listen=None)``) and mount
``moderator.asgi_app`` in FastAPI or Starlette, or ``moderator.wsgi_app``
in Flask or Django. The apps only carry the method, path, headers and raw
body to the engine and its answer back; the handshake, the signature
check and the ledger are the engine's.

``decide`` may be a function or a coroutine function. It runs with the
GIL only while it runs: a function on one of the moderator's decide
threads (16, as many as the calls the engine makes at once), a coroutine
on an event loop the moderator owns in a thread of its own. A free decide
thread makes the calls waiting together under one hold of the GIL; a
function that blocks on I/O ties up only its own thread. One
that raises, returns anything but ``"approve"``, ``"reject"`` or
``"hold"``, or takes longer than ``decider_timeout`` (10 s by default)
leaves its request ``held`` (rule ``decider_panicked`` or
``decider_timeout``, and the exception, such as ``"ValueError: ..."``, or
the timeout as its ``reason``) and is logged on the
``wa_groups.moderation`` logger; the engine goes on.
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Iterable, MutableMapping
from typing import Any, Callable
from urllib.parse import quote

from ._errors import WaGroupsError
from ._native import ModerationRequest, ModeratorCore

__all__ = ["Moderator", "ModerationRequest", "ModerationError", "AsgiApp", "WsgiApp"]

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
StartResponse = Callable[..., Any]


class ModerationError(WaGroupsError):
    """The engine could not start or run: it is already running, another
    engine holds the store (one engine per SQLite file), or the store
    failed."""

    kind = "moderation"


class Moderator(ModeratorCore):
    """The moderation engine.

    ``Moderator(access_token, *, app_secret, verify_token,
    store="sqlite:wa-groups-moderation.db", policy=None, decide=None,
    base_url=None, batch_window=None, reconcile_every=None,
    decider_timeout=None, groups=None, dry_run=False, webhook_path=None)``

    Give exactly one of ``policy`` (the path of a TOML policy file) and
    ``decide`` (a function or coroutine function of a
    ``ModerationRequest`` returning ``"approve"``, ``"reject"`` or
    ``"hold"``). Durations are in seconds. Any bad argument raises
    ``wa_groups.InvalidInputError`` naming it; no secret is ever shown.
    The store is opened (and created) by the constructor.

    ``serve()`` blocks; ``start()`` runs in the background until ``stop()``
    (or the end of a ``with`` block).
    """

    @functools.cached_property
    def asgi_app(self) -> AsgiApp:
        """An ASGI application answering Meta's handshake and deliveries, to
        mount in FastAPI or Starlette (``app.mount("/webhook",
        moderator.asgi_app)``) or to run under uvicorn. The workers run
        while the moderator is started (``start(listen=None)``)."""
        return AsgiApp(self)

    @functools.cached_property
    def wsgi_app(self) -> WsgiApp:
        """A WSGI application answering Meta's handshake and deliveries, for
        Flask, Django or any WSGI server. The workers run while the
        moderator is started (``start(listen=None)``)."""
        return WsgiApp(self)


class AsgiApp:
    """The ASGI side of a ``Moderator``: it reads the request's raw body
    and hands it to the engine with the method, path and headers."""

    def __init__(self, moderator: ModeratorCore) -> None:
        """Wraps ``moderator``; use ``Moderator.asgi_app``."""
        self._moderator = moderator

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Answers one ASGI connection (``http``; ``lifespan`` is
        acknowledged)."""
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                if message["type"] == "lifespan.startup":
                    await send({"type": "lifespan.startup.complete"})
                elif message["type"] == "lifespan.shutdown":
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        if scope["type"] != "http":
            raise ValueError(f"wa_groups.moderation.AsgiApp serves http, not {scope['type']}")
        body = bytearray()
        limit = ModeratorCore.MAX_BODY_BYTES
        while len(body) <= limit:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            body += message.get("body", b"")
            if not message.get("more_body", False):
                break
        target = quote(scope.get("path", "/"))
        query = scope.get("query_string", b"")
        if query:
            target += "?" + query.decode("latin-1")
        status, _reason, headers, out = await self._moderator.handle_async(
            scope["method"], target, scope.get("headers", []), bytes(body)
        )
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": out})


class WsgiApp:
    """The WSGI side of a ``Moderator``: it reads the request's raw body
    and hands it to the engine with the method, path and headers."""

    def __init__(self, moderator: ModeratorCore) -> None:
        """Wraps ``moderator``; use ``Moderator.wsgi_app``."""
        self._moderator = moderator

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        """Answers one WSGI request (the GIL is released while the engine
        works)."""
        limit = ModeratorCore.MAX_BODY_BYTES
        stream = environ["wsgi.input"]
        try:
            length = int(environ.get("CONTENT_LENGTH") or -1)
        except ValueError:
            length = -1
        if length >= 0:
            body = stream.read(min(length, limit + 1)) if length else b""
        elif environ.get("wsgi.input_terminated"):
            body = stream.read(limit + 1)
        else:
            body = b""
        headers = [
            (key[5:].replace("_", "-").lower(), value.encode("latin-1"))
            for key, value in environ.items()
            if key.startswith("HTTP_")
        ]
        for key in ("CONTENT_TYPE", "CONTENT_LENGTH"):
            if environ.get(key):
                headers.append((key.replace("_", "-").lower(), environ[key].encode("latin-1")))
        target = quote(environ.get("SCRIPT_NAME", "") + environ.get("PATH_INFO", "/"))
        if environ.get("QUERY_STRING"):
            target += "?" + environ["QUERY_STRING"]
        status, reason, out_headers, out = self._moderator.handle(
            environ["REQUEST_METHOD"], target, headers, body
        )
        start_response(
            f"{status} {reason}",
            [(k.decode("latin-1"), v.decode("latin-1")) for k, v in out_headers]
            + [("Content-Length", str(len(out)))],
        )
        return [out]
