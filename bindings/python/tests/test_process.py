"""Process-level behaviour: fork safety, the user agent, import cost."""

from __future__ import annotations

import asyncio
import os
import re
import subprocess
import sys
import time
import warnings

import pytest

import wa_groups
from wa_groups import AsyncClient, Client
from wa_groups.testing import Emulator

# The spec's User-Agent pattern (docs/design.md).
UA = re.compile(r"^[a-zA-Z0-9\-_]+\/[0-9]+\.[0-9]+\.[0-9]+(;[a-zA-Z0-9\-=\.]+)?(\s+[a-zA-Z0-9\-_]+\/[0-9\-\.]+)?$")


def test_user_agent() -> None:
    v = sys.version_info
    runtime = f"python={v.major}.{v.minor}.{v.micro}"
    plain = Client("tok")
    assert plain.user_agent == f"wa-groups/{wa_groups.__version__};{runtime}"
    mine = AsyncClient("tok", user_agent="myapp/1.2.3")
    assert mine.user_agent == f"wa-groups/{wa_groups.__version__};{runtime} myapp/1.2.3"
    for ua in (plain.user_agent, mine.user_agent):
        assert UA.match(ua), ua
    assert "user_agent='wa-groups/" in repr(mine)


def _wait(pid: int, seconds: float = 30.0) -> int:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            return os.waitstatus_to_exitcode(status) if hasattr(os, "waitstatus_to_exitcode") else status >> 8
        time.sleep(0.02)
    os.kill(pid, 9)
    os.waitpid(pid, 0)
    raise AssertionError("the forked child hung")


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
def test_fork_child_uses_clients(emu: Emulator, group: str, client: Client) -> None:
    ids = emu.add_join_requests(group, 3)
    # The parent's runtime and connection pool are in use before the fork.
    assert len(client.list_join_requests(group).data) == 3
    aclient = AsyncClient(emu.access_token, base_url=emu.base_url)

    async def parent_async() -> int:
        return len((await aclient.list_join_requests(group)).data)

    assert asyncio.run(parent_async()) == 3
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # 3.12+: fork with threads
        pid = os.fork()
    if pid == 0:  # pragma: no cover - the child reports through its exit code
        code = 1
        try:
            # The parent's client, a new client, and the asyncio client.
            ok = client.approve_join_requests(group, ids[:1]).approved == ids[:1]
            with Client(emu.access_token, base_url=emu.base_url) as fresh:
                ok = ok and fresh.approve_join_requests(group, ids[1:2]).approved == ids[1:2]

            async def child_async() -> bool:
                out = await aclient.approve_join_requests(group, ids[2:])
                return out.approved == ids[2:]

            ok = ok and asyncio.run(child_async())
            code = 0 if ok else 3
        except BaseException:  # noqa: BLE001
            import traceback

            traceback.print_exc()
            code = 2
        finally:
            os._exit(code)
    assert _wait(pid) == 0
    # The parent's clients still work after the fork.
    assert client.list_join_requests(group).data == []
    assert asyncio.run(parent_async()) == 0
    assert len(emu.participants(group)) == 3


def test_import_is_cheap() -> None:
    # A fresh interpreter: `import wa_groups` loads the extension and the
    # exception classes only (no asyncio, no json).
    code = (
        "import sys, time; t = time.perf_counter(); import wa_groups; "
        "dt = time.perf_counter() - t; "
        "print(dt, 'asyncio' in sys.modules, 'json' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True).stdout.split()
    assert out[1:] == ["False", "False"]
    # Generous: a debug build on a busy CI machine; `cargo xtask bench` reports the release figure.
    assert float(out[0]) < 0.5
