"""The golden response and error vectors of testdata/, fed through the
real client by the emulator's canned-response fault: Python parses every
body exactly as the Rust tests say it must."""

from __future__ import annotations

from typing import Any

import pytest

import wa_groups
from wa_groups import Client
from wa_groups.testing import Emulator

from conftest import load

RESPONSES = load("responses.json")["cases"]
ERRORS = load("errors.json")["cases"]

ERROR_CLASSES = {
    "auth": wa_groups.AuthError,
    "rate_limited": wa_groups.RateLimitedError,
    "not_found": wa_groups.NotFoundError,
    "api": wa_groups.ApiError,
    "decode": wa_groups.DecodeError,
}


def join_request(r: wa_groups.JoinRequest) -> dict[str, Any]:
    return {
        "join_request_id": r.join_request_id,
        "wa_id": r.wa_id,
        "creation_timestamp": r.creation_timestamp,
        "user_id": r.user_id,
        "parent_user_id": r.parent_user_id,
        "username": r.username,
    }


def detail(d: wa_groups.ErrorDetail) -> dict[str, Any]:
    return {"code": d.code, "title": d.title, "message": d.message, "details": d.details}


def asked(case: dict[str, Any]) -> list[str]:
    """The IDs a decide call must send for the vector's response to answer."""
    want = case["expected"]
    key = "approved" if case["operation"] == "approve" else "rejected"
    return list(want[key]) + [f["join_request_id"] for f in want["failed"]]


def call(client: Client, case: dict[str, Any], group: str) -> dict[str, Any]:
    operation = case["operation"]
    if operation == "list":
        page = client.list_join_requests(group)
        return {"data": [join_request(r) for r in page.data], "after": page.after, "before": page.before}
    ids = asked(case) or ["x"]
    outcome = (client.approve_join_requests if operation == "approve" else client.reject_join_requests)(group, ids)
    key = "approved" if operation == "approve" else "rejected"
    return {
        key: list(getattr(outcome, key)),
        "failed": [{"join_request_id": f.join_request_id, "errors": [detail(e) for e in f.errors]} for f in outcome.failed],
        "errors": [detail(e) for e in outcome.errors],
        "request_id": outcome.request_id,
    }


@pytest.mark.parametrize("case", RESPONSES, ids=[c["name"] for c in RESPONSES])
def test_response_vectors_parse_as_in_rust(emu: Emulator, case: dict[str, Any]) -> None:
    group = emu.create_group()
    emu.inject_fault("response", status=case["status"], body=case["body"])
    want = dict(case["expected"])
    unreported = case["operation"] != "list" and not asked(case)
    if unreported:
        # A call must send an ID; one the response leaves out is reported as
        # failed with one "unreported" error carrying the first call-level
        # code (the call-level errors stay in `errors`, never copied per ID).
        code = want["errors"][0]["code"] if want["errors"] else 0
        want["failed"] = [{"join_request_id": "x", "errors": [{"code": code, "title": "unreported"}]}]
    with Client(emu.access_token, base_url=emu.base_url, max_retries=0) as client:
        got = call(client, case, group)
    if unreported:
        for f in got["failed"]:
            for e in f["errors"]:
                assert "did not mention this join request" in e.pop("message")
                assert e.pop("details") is None
    assert got == want


@pytest.mark.parametrize("case", ERRORS, ids=[c["name"] for c in ERRORS])
def test_error_vectors_raise_as_in_rust(emu: Emulator, case: dict[str, Any]) -> None:
    group = emu.create_group()
    emu.inject_fault("response", status=case["status"], headers=case["headers"], body=case["body"])
    want = case["expected"]
    with Client(emu.access_token, base_url=emu.base_url, max_retries=0) as client:
        with pytest.raises(ERROR_CLASSES[want["kind"]]) as info:
            client.list_join_requests(group)
    err = info.value
    assert type(err) is ERROR_CLASSES[want["kind"]]
    assert err.status == want["status"]
    if want["kind"] == "decode":
        return
    got = {
        "kind": want["kind"],
        "status": err.status,
        "code": err.code,
        "subcode": err.subcode,
        "type": err.type,
        "title": err.title,
        "message": err.message,
        "details": err.details,
        "fbtrace_id": err.fbtrace_id,
        "is_transient": err.is_transient,
        "retry_after_seconds": getattr(err, "retry_after", None),
        "retried": want["retried"],
    }
    assert got == want
