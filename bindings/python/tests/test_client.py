"""The blocking Client against the emulator: every method, paging,
chunking, partial failures, and the result classes."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

import wa_groups
from wa_groups import (
    ApproveOutcome,
    Client,
    ErrorDetail,
    FailedJoinRequest,
    JoinRequest,
    JoinRequestPage,
    RejectOutcome,
)
from wa_groups.testing import Emulator

from conftest import requests_sent


def test_list_join_requests(emu: Emulator, group: str, client: Client) -> None:
    ids = emu.add_join_requests(group, 3)
    page = client.list_join_requests(group)
    assert isinstance(page, JoinRequestPage)
    assert type(page.data) is list
    assert [r.join_request_id for r in page.data] == ids
    assert page.after is None and page.before is None
    first = page.data[0]
    assert isinstance(first, JoinRequest)
    assert type(first.creation_timestamp) is int
    assert first.creation_timestamp > 1_600_000_000
    assert first.wa_id is not None and first.wa_id.startswith("1555")
    assert first.user_id is None and first.username is None and first.parent_user_id is None
    assert page.data == emu.pending_join_requests(group)


def test_business_scoped_requesters(emu: Emulator, group: str, client: Client) -> None:
    emu.add_join_requests(group, 1, business_scoped=True)
    (r,) = client.list_join_requests(group).data
    assert r.wa_id is None
    assert r.user_id is not None and r.user_id.startswith("US.")
    assert r.username is not None


def test_empty_group(group: str, client: Client) -> None:
    page = client.list_join_requests(group)
    assert page.data == [] and page.after is None
    assert list(client.iter_join_requests(group)) == []
    assert client.approve_all(group) == ApproveOutcome()
    assert client.reject_all(group) == RejectOutcome()


def test_paging_with_cursors() -> None:
    with Emulator(page_size=2) as emu:
        group = emu.create_group()
        ids = emu.add_join_requests(group, 5)
        with Client(emu.access_token, base_url=emu.base_url) as client:
            p1 = client.list_join_requests(group)
            assert [r.join_request_id for r in p1.data] == ids[:2]
            assert p1.after is not None and p1.before is None
            p2 = client.list_join_requests(group, after=p1.after)
            assert [r.join_request_id for r in p2.data] == ids[2:4]
            assert p2.before is not None
            p3 = client.list_join_requests(group, after=p2.after)
            assert [r.join_request_id for r in p3.data] == ids[4:]
            assert p3.after is None
            back = client.list_join_requests(group, before=p2.before)
            assert [r.join_request_id for r in back.data] == ids[:2]
            one = client.list_join_requests(group, limit=1)
            assert len(one.data) == 1 and len(one) == 1 and one.after is not None
            # The iterator follows every page: 3 list calls.
            emu.reset_stats()
            assert [r.join_request_id for r in client.iter_join_requests(group)] == ids
            assert emu.stats()["endpoints"]["list"] == 3
            emu.reset_stats()
            assert [r.join_request_id for r in client.iter_join_requests(group, limit=4)] == ids
            assert emu.stats()["endpoints"]["list"] == 2


def test_approve_and_reject(emu: Emulator, group: str, client: Client) -> None:
    ids = emu.add_join_requests(group, 4)
    approved = client.approve_join_requests(group, ids[:2])
    assert approved.approved == ids[:2]
    assert approved.failed == [] and approved.errors == []
    assert type(approved.approved) is list
    assert approved.request_id is not None
    rejected = client.reject_join_requests(group, (i for i in ids[2:]))
    assert rejected.rejected == ids[2:]
    assert emu.pending_join_requests(group) == []
    assert len(emu.participants(group)) == 2


def test_new_group_has_no_participants(emu: Emulator) -> None:
    group = emu.create_group()
    assert emu.participants(group) == []
    assert emu.pending_join_requests(group) == []
    assert group in emu.groups()


def test_approve_all_and_reject_all_over_pages() -> None:
    with Emulator(page_size=2) as emu:
        a = emu.create_group(participant_cap=10)
        b = emu.create_group()
        a_ids = emu.add_join_requests(a, 5)
        b_ids = emu.add_join_requests(b, 3)
        with Client(emu.access_token, base_url=emu.base_url) as client:
            out = client.approve_all(a)
            assert out.approved == a_ids and out.failed == []
            assert len(emu.participants(a)) == 5
            out2 = client.reject_all(b)
            assert out2.rejected == b_ids
            assert emu.pending_join_requests(b) == [] and emu.participants(b) == []


def test_partial_failure_unknown_ids(emu: Emulator, group: str, client: Client) -> None:
    ids = emu.add_join_requests(group, 2)
    out = client.approve_join_requests(group, [ids[0], "dW5rbm93bg==", ids[1]])
    assert out.approved == ids
    (failed,) = out.failed
    assert isinstance(failed, FailedJoinRequest)
    assert failed.join_request_id == "dW5rbm93bg=="
    (err,) = failed.errors
    assert isinstance(err, ErrorDetail)
    assert err.code == 131213 and type(err.code) is int
    # Already handled: a repeat reports 131213 too.
    again = client.reject_join_requests(group, ids)
    assert again.rejected == []
    assert [f.join_request_id for f in again.failed] == ids
    assert {f.errors[0].code for f in again.failed} == {131213}


def test_partial_failure_over_the_participant_cap(emu: Emulator, client: Client) -> None:
    small = emu.create_group(participant_cap=2)
    ids = emu.add_join_requests(small, 3)
    out = client.approve_join_requests(small, ids)
    assert out.approved == ids[:2]
    assert [f.join_request_id for f in out.failed] == ids[2:]
    assert out.failed[0].errors[0].code == 131204
    assert emu.pending_join_requests(small)[0].join_request_id == ids[2]


def test_chunking_in_input_order(emu: Emulator, group: str) -> None:
    ids = emu.add_join_requests(group, 7)
    with Client(emu.access_token, base_url=emu.base_url, max_ids_per_request=2, max_concurrency=3) as client:
        emu.reset_stats()
        ordered = [ids[3], ids[0], ids[6], ids[0], ids[5], ids[1], ids[2], ids[4]]
        out = client.approve_join_requests(group, ordered)
        # The duplicate is sent once; 7 distinct IDs in chunks of 2.
        assert emu.stats()["endpoints"]["approve"] == 4
        assert out.approved == [ids[3], ids[0], ids[6], ids[5], ids[1], ids[2], ids[4]]
        assert out.failed == []


def test_a_failed_chunk_puts_its_ids_in_failed(emu: Emulator, group: str) -> None:
    ids = emu.add_join_requests(group, 4)
    with Client(
        emu.access_token, base_url=emu.base_url, max_ids_per_request=2, max_concurrency=1, max_retries=0
    ) as client:
        emu.inject_fault("server_error", status=500, times=1)
        out = client.approve_join_requests(group, ids)
        assert out.approved == ids[2:]
        assert [f.join_request_id for f in out.failed] == ids[:2]
        assert out.failed[0].errors[0].code == 1


def test_result_classes_are_frozen_values() -> None:
    r = JoinRequest("id1", 1700000000, wa_id="155")
    assert r == JoinRequest("id1", 1700000000, wa_id="155")
    assert r != JoinRequest("id2", 1700000000, wa_id="155")
    assert hash(r) == hash(JoinRequest("id1", 1700000000, wa_id="155"))
    assert len({r, JoinRequest("id1", 1700000000, wa_id="155")}) == 1
    with pytest.raises(AttributeError):
        r.wa_id = "x"  # type: ignore[misc]
    assert repr(r) == "JoinRequest(join_request_id='id1', wa_id='155', creation_timestamp=1700000000)"
    e = ErrorDetail(131213, "Not found", "gone")
    assert repr(e) == "ErrorDetail(code=131213, title='Not found', message='gone', details=None)"
    assert hash(e) == hash(ErrorDetail(131213, "Not found", "gone"))
    f = FailedJoinRequest("id1", [e])
    out = ApproveOutcome(["a"], [f], [], request_id="r1")
    # request_id is informative: not compared.
    assert out == ApproveOutcome(["a"], [f], [])
    assert out != ApproveOutcome(["b"], [f], [])
    assert "approved=['a']" in repr(out) and "131213" in repr(out)
    with pytest.raises(TypeError):
        hash(out)
    with pytest.raises(AttributeError):
        out.approved = []  # type: ignore[misc]
    rej = RejectOutcome(rejected=["a"])
    assert rej.rejected == ["a"] and rej.failed == [] and rej.errors == []
    page = JoinRequestPage([r], after="c")
    assert page == JoinRequestPage([r], after="c") and page.before is None
    assert repr(page).startswith("JoinRequestPage(data=[JoinRequest(")


def test_ids_must_be_an_iterable_of_str(group: str, client: Client) -> None:
    with pytest.raises(TypeError):
        client.approve_join_requests(group, "abc")
    with pytest.raises(TypeError):
        client.approve_join_requests(group, [1, 2])  # type: ignore[list-item]


def test_calls_release_the_gil(emu: Emulator, group: str, client: Client) -> None:
    emu.inject_fault("latency", ms=400)
    ticks = 0
    done = threading.Event()

    def spin() -> None:
        nonlocal ticks
        while not done.is_set():
            ticks += 1
            time.sleep(0.001)

    t = threading.Thread(target=spin)
    t.start()
    try:
        client.list_join_requests(group)
    finally:
        done.set()
        t.join()
    assert ticks > 50


def test_one_client_from_many_threads(emu: Emulator, group: str, client: Client) -> None:
    ids = emu.add_join_requests(group, 64)
    with ThreadPoolExecutor(16) as pool:
        outs = list(pool.map(lambda i: client.approve_join_requests(group, [i]), ids))
    assert [o.approved for o in outs] == [[i] for i in ids]


def test_close_and_context_manager(emu: Emulator, group: str) -> None:
    c = Client(emu.access_token, base_url=emu.base_url)
    with c as entered:
        assert entered is c
        c.list_join_requests(group)
    with pytest.raises(RuntimeError):
        c.list_join_requests(group)
    c.close()  # idempotent


def test_module_surface() -> None:
    assert wa_groups.__version__ == "0.1.0"
    assert wa_groups.DEFAULT_API_VERSION == "v23.0"
    for name in wa_groups.__all__:
        assert hasattr(wa_groups, name), name
    assert Client.__module__ == "wa_groups"
    assert wa_groups.ApiError.__module__ == "wa_groups"


def test_emulator_helpers(emu: Emulator) -> None:
    assert emu.base_url.startswith("http://127.0.0.1:")
    assert "127.0.0.1" in repr(emu)
    with pytest.raises(KeyError):
        emu.add_join_requests("bm9wZQ", 1)
    with pytest.raises(ValueError):
        emu.inject_fault("nonsense")  # type: ignore[arg-type]
    g = emu.create_group(subject="Book club", participant_cap=3)
    ids = emu.add_join_requests(g, 2)
    emu.revoke_join_request(g, ids[0])
    assert [r.join_request_id for r in emu.pending_join_requests(g)] == ids[1:]
    assert len(emu.add_participants(g, 2)) == 2
    emu.inject_fault("latency", ms=1, times=3, method="get", path_contains="/join_requests")
    (f,) = emu.faults()
    assert f["kind"] == "latency" and f["remaining"] == 3 and f["method"] == "GET"
    assert emu.clear_faults() == 1
    before = emu.now()
    emu.advance_clock(60)
    assert emu.now() >= before + 60
    emu.set_rate_limit(5.0, burst=5, scope="phone")
    emu.set_rate_limit(None)
    stats = emu.stats()
    assert stats["requests"] == 0 and "faults_applied" in stats


def test_iterator_errors_and_exhaustion(emu: Emulator, group: str, client: Client) -> None:
    it = client.iter_join_requests("bm9wZQ")
    with pytest.raises(wa_groups.NotFoundError):
        next(it)
    assert list(it) == []
    emu.add_join_requests(group, 2)
    it2 = client.iter_join_requests(group)
    assert iter(it2) is it2
    assert len(list(it2)) == 2
    with pytest.raises(StopIteration):
        next(it2)


def test_ctrl_c_interrupts_a_blocking_call(emu: Emulator, group: str, client: Client) -> None:
    import _thread

    emu.inject_fault("latency", ms=5000)
    timer = threading.Timer(0.3, _thread.interrupt_main)
    timer.start()
    started = time.monotonic()
    with pytest.raises(KeyboardInterrupt):
        client.list_join_requests(group)
    timer.join()
    assert time.monotonic() - started < 2.0
    # The client still works.
    emu.clear_faults()
    assert client.list_join_requests(group).data == []
