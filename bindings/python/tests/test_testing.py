"""The Emulator test helper: the same methods as Node's (one list in
testdata/), and its inputs checked in Rust."""

from pathlib import Path

import pytest

from wa_groups.testing import Emulator

METHODS = Path(__file__).resolve().parents[3] / "testdata" / "emulator-methods.txt"

# Python's own lifecycle: the constructor starts it, close() and `with` stop it.
LIFECYCLE = {"close"}


def listed() -> set[str]:
    lines = METHODS.read_text(encoding="utf-8").splitlines()
    return {line.strip() for line in lines if line.strip() and not line.startswith("#")}


def test_the_methods_match_the_shared_list() -> None:
    public = {name for name in dir(Emulator) if not name.startswith("_")}
    assert public - LIFECYCLE == listed()


def test_bad_inputs_are_refused_naming_the_field() -> None:
    with pytest.raises(ValueError, match="cursor_ttl"):
        Emulator(cursor_ttl=-1.0)
    with Emulator() as emu:
        group = emu.create_group()
        with pytest.raises(ValueError, match="count"):
            emu.add_join_requests(group, 10**6)
        with pytest.raises(ValueError, match="per_second"):
            emu.set_rate_limit(1e-300)
        with pytest.raises(ValueError, match="join_approval_mode|unknown variant"):
            emu.create_group(join_approval_mode="sometimes")
        with pytest.raises(ValueError, match="seconds"):
            emu.advance_clock(1e300)
        with pytest.raises(ValueError, match="advance_seconds"):
            emu.advance_clock(1e10)
        assert emu.pending_join_requests(group) == []


def test_webhook_delivery_faults_are_injected_and_cleared() -> None:
    with Emulator() as emu:
        emu.inject_fault("webhook", drop=0.5, duplicate=0.25, delay_ms=(0, 100), seed=7)
        (fault,) = emu.faults()
        assert fault["kind"] == "webhook"
        assert fault["delay_ms"] == [0, 100]
        assert fault["remaining"] is None
        with pytest.raises(ValueError, match="drop"):
            emu.inject_fault("webhook", drop=2.0)
        assert emu.clear_faults() == 1
        emu.inject_fault("malformed_json")
        assert emu.faults()[0]["remaining"] == 1
