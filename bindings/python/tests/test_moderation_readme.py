"""The root README's Python moderation examples (FastAPI, Flask) run as
written under real servers, receiving signed deliveries from the emulator.
Their environment variables are set to the emulator's; the one adaptation
points the moderator at the emulator and at a fresh SQLite file (and the
Flask one at a policy file of the test's)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

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

from wa_groups.testing import Emulator

README = Path(__file__).resolve().parents[3] / "README.md"


def examples() -> list[str]:
    """The ```python blocks of the README's moderation section."""
    text = README.read_text(encoding="utf-8")
    section = text[text.index("\n## Moderate join requests\n") :]
    section = section[: section.index("\n## ", 1)]
    return re.findall(r"```python\n(.*?)```", section, re.S)


def run_example(
    code: str, old: str, new: str, monkeypatch: pytest.MonkeyPatch, emu: Emulator
) -> dict[str, Any]:
    assert code.count(old) == 1, "the README's Moderator(...) call changed shape"
    monkeypatch.setenv("WHATSAPP_ACCESS_TOKEN", emu.access_token)
    monkeypatch.setenv("WHATSAPP_APP_SECRET", APP_SECRET)
    monkeypatch.setenv("WHATSAPP_VERIFY_TOKEN", VERIFY_TOKEN)
    names: dict[str, Any] = {"__name__": "readme_example"}
    exec(compile(code.replace(old, new), str(README), "exec"), names)  # noqa: S102 - our own README
    return names


def adapted(emu: Emulator, tmp_path: Path) -> str:
    store = f"sqlite:{tmp_path / 'readme.db'}"
    return f"    base_url={emu.base_url!r}, store={store!r}, batch_window=0.02,\n)"


def test_the_fastapi_example_decides_deliveries_under_uvicorn(
    emu: Emulator, group: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fastapi_example = next(c for c in examples() if "FastAPI" in c)
    names = run_example(
        fastapi_example,
        "    decide=decide,\n)",
        "    decide=decide,\n" + adapted(emu, tmp_path),
        monkeypatch,
        emu,
    )
    moderator = names["moderator"]
    with uvicorn_serving(names["app"]) as url:
        wait_for("the lifespan to start the workers", lambda: moderator.running)
        emu.set_webhook(f"{url}/webhook", APP_SECRET)
        ids = emu.add_join_requests(group, 4)
        status = wait_settled(moderator, 4)
    assert not moderator.running  # the lifespan stopped it
    # The emulator's requesters have wa_ids outside the blocked prefixes.
    assert rules(status) == {i: ("approved", "callback") for i in ids}
    assert emu.pending_join_requests(group) == []


def test_the_flask_example_decides_deliveries_under_waitress(
    emu: Emulator, group: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    flask_example = next(c for c in examples() if "Flask" in c)
    policy = tmp_path / "policy.toml"
    policy.write_text('default = "reject"\n', encoding="utf-8")
    names = run_example(
        flask_example,
        '    policy="policy.toml",\n)',
        f"    policy={str(policy)!r},\n" + adapted(emu, tmp_path),
        monkeypatch,
        emu,
    )
    moderator = names["moderator"]
    try:
        with waitress_serving(names["app"]) as url:
            emu.set_webhook(f"{url}/webhook", APP_SECRET)
            ids = emu.add_join_requests(group, 3)
            status = wait_settled(moderator, 3)
    finally:
        moderator.stop()
    assert rules(status) == {i: ("rejected", "default") for i in ids}
    assert emu.pending_join_requests(group) == []
