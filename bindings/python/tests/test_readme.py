"""The root README's Python example runs as written against the emulator:
its names (``ACCESS_TOKEN``, ``GROUP_ID``) are bound to the emulator's, and
the one change is ``base_url`` pointing the client there."""

from __future__ import annotations

import contextlib
import io
import re
from pathlib import Path

from wa_groups.testing import Emulator

README = Path(__file__).resolve().parents[3] / "README.md"


def example() -> str:
    """The first ```python block of the root README's "## Python" section,
    pointed at the emulator."""
    text = README.read_text(encoding="utf-8")
    section = text[text.index("\n## Python\n") :]
    match = re.search(r"```python\n(.*?)```", section, re.S)
    assert match, "no python block under ## Python"
    code = match.group(1)
    # The one adaptation: the client talks to the emulator.
    adapted = code.replace("Client(ACCESS_TOKEN, ", "Client(ACCESS_TOKEN, base_url=BASE_URL, ")
    assert adapted.count("base_url=BASE_URL") == 1, "the README's Client(...) call changed shape"
    return adapted


def run_example(emu: Emulator, group: str) -> list[str]:
    out = io.StringIO()
    names = {"ACCESS_TOKEN": emu.access_token, "BASE_URL": emu.base_url, "GROUP_ID": group}
    with contextlib.redirect_stdout(out):
        exec(compile(example(), str(README), "exec"), names)  # noqa: S102 - our own README
    return out.getvalue().splitlines()


def test_the_python_example_runs_against_the_emulator(emu: Emulator) -> None:
    group = emu.create_group()
    ids = emu.add_join_requests(group, 3)
    lines = run_example(emu, group)
    # Every pending request printed, then the made-up ID's per-item failure.
    assert [line.split()[0] for line in lines[:3]] == ids
    assert lines[3].split()[0] == "MTY0NjcwNDM1OTU6..."
    assert lines[3].split()[1].isdigit()
    assert len(lines) == 4
    # reject_all ran: nothing is pending.
    assert emu.pending_join_requests(group) == []


def test_the_python_examples_rate_limit_branch_runs(emu: Emulator) -> None:
    group = emu.create_group()
    emu.add_join_requests(group, 1)
    # The reject (DELETE) is throttled on every attempt (1 + 3 retries).
    emu.inject_fault("rate_limited", retry_after=0, method="DELETE", times=4)
    lines = run_example(emu, group)
    assert lines[-1].startswith("throttled, retry after ")
    assert len(emu.pending_join_requests(group)) == 1
