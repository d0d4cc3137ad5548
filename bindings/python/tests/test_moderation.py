"""``wa_groups.moderation``: the Rust engine mounted in Python servers.

Every test runs for real: the emulator delivers signed webhooks over HTTP
to the ASGI app under uvicorn, the WSGI app under waitress or the engine's
own listener; the engine decides with the test's ``decide``, writes a real
SQLite file and approves or rejects through the emulator."""

from __future__ import annotations

import asyncio
import inspect
import json
import logging
import os
import signal
import socket
import subprocess
import sys
import textwrap
import threading
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any, Callable

import pytest
from moderation_support import (
    APP_SECRET,
    VERIFY_TOKEN,
    rules,
    uvicorn_serving,
    wait_for,
    wait_settled,
    waitress_serving,
)

from wa_groups import InvalidInputError, webhooks
from wa_groups.moderation import (
    AsgiApp,
    ModerationError,
    ModerationRequest,
    Moderator,
    WsgiApp,
)
from wa_groups._native import ModeratorCore
from wa_groups.testing import Emulator


@pytest.fixture
def store(tmp_path: Path) -> str:
    return f"sqlite:{tmp_path / 'moderation.db'}"


def moderator(emu: Emulator, store: str, **kwargs: Any) -> Moderator:
    kwargs.setdefault("batch_window", 0.02)
    kwargs.setdefault("reconcile_every", 3600)
    return Moderator(
        emu.access_token,
        app_secret=APP_SECRET,
        verify_token=VERIFY_TOKEN,
        store=store,
        base_url=emu.base_url,
        **kwargs,
    )


def by_parity(req: ModerationRequest) -> str:
    """Approves requesters whose wa_id ends in an even digit."""
    assert isinstance(req, ModerationRequest)
    assert req.created_at is not None and req.group_id and req.join_request_id
    return "approve" if int((req.wa_id or "1")[-1]) % 2 == 0 else "reject"


def by_parity_answer(wa_id: str | None) -> str:
    return "approve" if int((wa_id or "1")[-1]) % 2 == 0 else "reject"


def deliver(emu: Emulator, group: str, url: str, n: int) -> dict[str, tuple[str, str]]:
    """Points the emulator's webhooks at ``url`` and adds ``n`` join
    requests; returns what ``by_parity`` decides for each."""
    emu.set_webhook(url, APP_SECRET)
    ids = emu.add_join_requests(group, n)
    pending = {r.join_request_id: r.wa_id for r in emu.pending_join_requests(group)}
    return {
        i: ("approved" if by_parity_answer(pending[i]) == "approve" else "rejected", "callback")
        for i in ids
    }


def check_applied(emu: Emulator, group: str, want: dict[str, tuple[str, str]]) -> None:
    assert emu.pending_join_requests(group) == []
    approved = [i for i, (state, _) in want.items() if state == "approved"]
    assert len(emu.participants(group)) == len(approved)


# ---------------------------------------------------------------------------
# ASGI under uvicorn, WSGI under waitress, the engine's own listener
# ---------------------------------------------------------------------------


# Both event loops uvicorn runs on: asyncio's own, and uvloop (what
# `uvicorn[standard]` installs), whose futures are not asyncio's C type.
@pytest.mark.parametrize("loop", ["asyncio", "uvloop"])
@pytest.mark.parametrize("kind", ["sync", "async"])
def test_asgi_app_under_uvicorn_decides_every_delivery(
    emu: Emulator, group: str, store: str, kind: str, loop: str
) -> None:
    async def async_decide(req: ModerationRequest) -> str:
        await asyncio.sleep(0)
        return by_parity(req)

    decide: Callable[[ModerationRequest], Any] = by_parity if kind == "sync" else async_decide
    with moderator(emu, store, decide=decide) as m, uvicorn_serving(m.asgi_app, loop) as url:
        assert m.start(listen=None) is None
        assert m.running and m.address is None
        want = deliver(emu, group, f"{url}/webhook", 6)
        status = wait_settled(m, 6)
        assert rules(status) == want
        check_applied(emu, group, want)
    assert not m.running


def test_wsgi_app_under_waitress_decides_every_delivery(
    emu: Emulator, group: str, store: str
) -> None:
    with moderator(emu, store, decide=by_parity) as m, waitress_serving(m.wsgi_app) as url:
        m.start(listen=None)
        want = deliver(emu, group, f"{url}/webhook", 6)
        status = wait_settled(m, 6)
        assert rules(status) == want
        check_applied(emu, group, want)


def test_own_listener_answers_the_handshake_and_deliveries(
    emu: Emulator, group: str, store: str
) -> None:
    m = moderator(emu, store, decide=by_parity)
    address = m.start()
    assert address is not None and address == m.address
    try:
        challenge = urllib.request.urlopen(
            f"http://{address}/webhook?hub.mode=subscribe&hub.verify_token={VERIFY_TOKEN}&hub.challenge=c42"
        ).read()
        assert challenge == b"c42"
        with pytest.raises(ModerationError, match="already started"):
            m.start()
        want = deliver(emu, group, f"http://{address}/webhook", 4)
        assert rules(wait_settled(m, 4)) == want
    finally:
        m.stop()
    assert m.address is None
    # The port is released: it can be listened on again (as servers do,
    # with SO_REUSEADDR, which a port still listened on refuses).
    host, port = address.rsplit(":", 1)
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind((host, int(port)))
        s.listen()


@pytest.mark.parametrize("app", ["asgi", "wsgi"])
def test_apps_answer_the_handshake_and_refuse_bad_signatures(
    emu: Emulator, store: str, app: str
) -> None:
    m = moderator(emu, store, decide=by_parity)
    serving = uvicorn_serving(m.asgi_app) if app == "asgi" else waitress_serving(m.wsgi_app)
    with serving as url:
        ok = urllib.request.urlopen(
            f"{url}/webhook?hub.mode=subscribe&hub.verify_token={VERIFY_TOKEN}&hub.challenge=a+b"
        )
        assert (ok.status, ok.read()) == (200, b"a b")
        for target, data, headers, status in [
            (f"?hub.mode=subscribe&hub.verify_token=wrong&hub.challenge=x", None, {}, 403),
            ("", b'{"object":"whatsapp_business_account","entry":[]}', {}, 401),
            ("", b"{}", {"X-Hub-Signature-256": "sha256=" + "0" * 64}, 401),
        ]:
            req = urllib.request.Request(f"{url}/webhook{target}", data=data, headers=headers)
            with pytest.raises(urllib.error.HTTPError) as e:
                urllib.request.urlopen(req)
            assert e.value.code == status
    assert m.status()["requests"] == []


# ---------------------------------------------------------------------------
# A decide that fails
# ---------------------------------------------------------------------------


def test_a_raising_decide_holds_the_request_and_is_logged(
    emu: Emulator, group: str, store: str, caplog: pytest.LogCaptureFixture
) -> None:
    def decide(req: ModerationRequest) -> str:
        raise ValueError(f"no idea about {req.join_request_id}")

    caplog.set_level(logging.ERROR, logger="wa_groups.moderation")
    with moderator(emu, store, decide=decide) as m, uvicorn_serving(m.asgi_app) as url:
        m.start(listen=None)
        ids = deliver(emu, group, f"{url}/webhook", 3)
        status = wait_settled(m, 3)
    assert rules(status) == {i: ("held", "decider_panicked") for i in ids}
    # The record says why: the exception, as raised for that request.
    reasons = {r["join_request_id"]: r["reason"] for r in status["requests"]}
    assert reasons == {i: f"ValueError: no idea about {i}" for i in ids}
    assert sorted(r.join_request_id for r in emu.pending_join_requests(group)) == sorted(ids)
    logged = [r for r in caplog.records if r.name == "wa_groups.moderation"]
    assert len(logged) == 3
    assert all(r.exc_info and r.exc_info[0] is ValueError for r in logged)


@pytest.mark.parametrize("kind", ["async_raises", "wrong_answer", "slow"])
def test_other_failing_decides_hold_and_the_engine_goes_on(
    emu: Emulator, group: str, store: str, kind: str
) -> None:
    async def async_raises(req: ModerationRequest) -> str:
        raise RuntimeError("boom")

    def wrong_answer(req: ModerationRequest) -> Any:
        return "Approve"

    async def slow(req: ModerationRequest) -> str:
        await asyncio.sleep(30)
        return "approve"

    decide = {"async_raises": async_raises, "wrong_answer": wrong_answer, "slow": slow}[kind]
    rule = "decider_timeout" if kind == "slow" else "decider_panicked"
    reason = {
        "async_raises": "RuntimeError: boom",
        "wrong_answer": 'decide returned "Approve"; expected "approve", "reject" or "hold"',
        "slow": "no answer within 200ms",
    }[kind]
    with moderator(emu, store, decide=decide, decider_timeout=0.2) as m:
        address = m.start()
        ids = deliver(emu, group, f"http://{address}/webhook", 2)
        status = wait_settled(m, 2)
        assert rules(status) == {i: ("held", rule) for i in ids}
        assert {r["reason"] for r in status["requests"]} == {reason}


def join_requests_delivery(group: str, n: int) -> bytes:
    """One signed-webhook body carrying ``n`` new join requests."""
    events = [
        {
            "timestamp": "1700000000",
            "group_id": group,
            "type": "group_join_request_created",
            "join_request_id": f"JR{i}",
            "wa_id": f"1555{i:07d}",
        }
        for i in range(n)
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


def test_a_plain_decide_runs_on_decide_threads_and_one_that_blocks_holds_up_only_itself(
    emu: Emulator, store: str
) -> None:
    # Many requests pending at start: the decider asks for 16 at once. The
    # calls run on the moderator's decide threads, never on the caller's;
    # one call that blocks (the GIL released, as I/O does) leaves the
    # others to the free threads: the rest of the decider's 16 in flight
    # are made while it blocks. (The decider stores a round's decisions
    # together, so the calls made are counted here, not stored states.)
    threads: set[int] = set()
    gate = threading.Event()
    made: list[str] = []

    def decide(req: ModerationRequest) -> str:
        threads.add(threading.get_native_id())
        if req.join_request_id == "JR0":
            gate.wait(120)
        made.append(req.join_request_id)
        return by_parity(req)

    n = 64
    body = join_requests_delivery("G1", n)
    headers = [("x-hub-signature-256", webhooks.sign(APP_SECRET, body))]
    with moderator(emu, store, decide=decide, dry_run=True, decider_timeout=300) as m:
        status, *_ = m.handle("POST", "/webhook", headers, body)
        assert status == 200
        assert m.status()["total"]["pending"] == n
        m.start(listen=None)
        try:
            wait_for("15 calls made while one blocks", lambda: len(made) >= 15)
            assert "JR0" not in made
        finally:
            gate.set()
        total = wait_for(
            f"{n} decisions",
            lambda: (lambda t: t if t["approving"] + t["rejecting"] == n else None)(
                m.status()["total"]
            ),
        )
    assert len(threads) > 1
    assert threading.get_native_id() not in threads


# ---------------------------------------------------------------------------
# status, restart, serve and Ctrl-C
# ---------------------------------------------------------------------------


def test_status_is_the_clis_json(emu: Emulator, group: str, store: str) -> None:
    with moderator(emu, store, decide=by_parity) as m:
        empty = m.status()
        assert set(empty) == {"total", "groups", "requests"}
        assert set(empty["total"]) == {
            "pending", "approving", "rejecting", "held", "approved",
            "rejected", "revoked", "gone", "failed",
        }  # fmt: skip
        assert all(v == 0 for v in empty["total"].values())
        address = m.start()
        want = deliver(emu, group, f"http://{address}/webhook", 4)
        status = wait_settled(m, 4)
    assert status["groups"][0]["group_id"] == group
    states = [s for s, _ in want.values()]
    assert status["total"]["approved"] == states.count("approved")
    assert status["total"]["rejected"] == states.count("rejected")
    row = status["requests"][0]
    assert {"group_id", "join_request_id", "state", "rule", "reason", "updated_at"} <= set(row)


def test_restart_on_the_same_sqlite_file_loses_nothing(
    emu: Emulator, group: str, store: str
) -> None:
    first = moderator(emu, store, decide=lambda req: "hold")
    address = first.start()
    held = deliver(emu, group, f"http://{address}/webhook", 3)
    wait_settled(first, 3)
    first.stop()

    second = moderator(emu, store, decide=by_parity)
    with second:
        address = second.start()
        # Everything the first engine recorded is there.
        assert rules(second.status()) == {i: ("held", "callback") for i in held}
        more = deliver(emu, group, f"http://{address}/webhook", 2)
        status = wait_settled(second, 5)
    assert rules(status) == {**{i: ("held", "callback") for i in held}, **more}
    assert sorted(r.join_request_id for r in emu.pending_join_requests(group)) == sorted(held)


def test_serve_blocks_and_ctrl_c_stops_it_cleanly(emu: Emulator, tmp_path: Path) -> None:
    script = textwrap.dedent(
        f"""
        import sys
        from wa_groups.moderation import Moderator
        m = Moderator({emu.access_token!r}, app_secret="s", verify_token="v",
                      store={f"sqlite:{tmp_path / 'serve.db'}"!r}, base_url={emu.base_url!r},
                      decide=lambda req: "hold")
        address = m.start()
        m.stop()
        print(address, flush=True)
        m.serve(address)
        print("stopped", m.running, flush=True)
        """
    )
    proc = subprocess.Popen(
        [sys.executable, "-c", script], stdout=subprocess.PIPE, text=True, env=dict(os.environ)
    )
    try:
        assert proc.stdout is not None
        address = proc.stdout.readline().strip()
        wait_for("/healthz", lambda: _healthy(address))
        proc.send_signal(signal.SIGINT)
        out, _ = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0
    assert out.strip() == "stopped False"


def _healthy(address: str) -> bool:
    try:
        return urllib.request.urlopen(f"http://{address}/healthz").status == 200
    except OSError:
        return False


# ---------------------------------------------------------------------------
# Bad input
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "kwargs,field",
    [
        ({}, "policy"),
        ({"decide": by_parity, "policy": "p.toml"}, "decide"),
        ({"decide": 42}, "decide"),
        ({"decide": by_parity, "batch_window": "soon"}, "batch_window"),
        ({"decide": by_parity, "reconcile_every": -1}, "reconcile_every"),
        ({"decide": by_parity, "reconcile_every": 0}, "reconcile_every"),
        ({"decide": by_parity, "groups": "G1"}, "groups"),
        ({"decide": by_parity, "webhook_path": "hook"}, "webhook_path"),
        ({"decide": by_parity, "app_secret": ""}, "app_secret"),
        ({"decide": by_parity, "verify_token": 7}, "verify_token"),
        ({"decide": by_parity, "base_url": "ftp://x"}, "base_url"),
        ({"decide": by_parity, "store": "redis://x"}, "store"),
        ({"policy": "/nonexistent/policy.toml"}, "policy"),
    ],
)
def test_bad_input_is_invalid_input_naming_the_argument(
    store: str, kwargs: dict[str, Any], field: str
) -> None:
    args: dict[str, Any] = {"app_secret": "app-s3cret", "verify_token": "verify-s3cret", "store": store}
    args.update(kwargs)
    with pytest.raises(InvalidInputError) as e:
        Moderator("token-s3cret", **args)
    assert e.value.field == field, e.value
    for secret in ("token-s3cret", "app-s3cret", "verify-s3cret"):
        assert secret not in str(e.value)


def test_a_policy_file_decides(emu: Emulator, group: str, store: str, tmp_path: Path) -> None:
    policy = tmp_path / "policy.toml"
    policy.write_text('default = "reject"\n', encoding="utf-8")
    with moderator(emu, store, policy=policy) as m:
        address = m.start()
        ids = deliver(emu, group, f"http://{address}/webhook", 2)
        assert rules(wait_settled(m, 2)) == {i: ("rejected", "default") for i in ids}


def test_public_names_have_docstrings() -> None:
    for obj in (Moderator, ModeratorCore, ModerationRequest, ModerationError, AsgiApp, WsgiApp):
        assert (obj.__doc__ or "").strip(), obj
        for name, member in vars(obj).items():
            if not name.startswith("_") and not isinstance(member, (int, str)):
                assert (getattr(member, "__doc__", "") or "").strip(), f"{obj.__name__}.{name}"


def test_handle_takes_header_pairs_as_tuples_or_lists(emu: Emulator, store: str) -> None:
    m = moderator(emu, store, decide=by_parity)
    target = f"/webhook?hub.mode=subscribe&hub.verify_token={VERIFY_TOKEN}&hub.challenge=x"
    for headers in ([(b"host", b"a")], [[b"host", b"a"]], [("host", "a")]):
        status, reason, out_headers, body = m.handle("GET", target, headers, b"")
        assert (status, reason, body) == (200, "OK", b"x")
        assert (b"content-type", b"text/plain; charset=utf-8") in out_headers
    with pytest.raises((TypeError, ValueError)):
        m.handle("GET", target, [(b"host",)], b"")
