"""Webhooks: the golden vectors of testdata/webhooks (see its README), read
through the typed classes."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from wa_groups import DecodeError, ErrorDetail, InvalidInputError, webhooks
from wa_groups.webhooks import (
    GroupChange,
    GroupCreated,
    GroupDeleted,
    GroupEvent,
    GroupParticipant,
    JoinRequestCreated,
    JoinRequestRevoked,
    OtherChange,
    ParticipantsAdded,
    ParticipantsRemoved,
    SettingsUpdated,
    Suspended,
    SuspensionCleared,
    UnknownEvent,
    WebhookPayload,
)

from conftest import TESTDATA

VECTORS = {p.name: json.loads(p.read_text(encoding="utf-8")) for p in sorted((TESTDATA / "webhooks").glob("*.json"))}


def of_kind(kind: str) -> list[str]:
    return [name for name, v in VECTORS.items() if v["kind"] == kind]


def error_dict(e: ErrorDetail) -> dict[str, Any]:
    return {"code": e.code, "title": e.title, "message": e.message, "details": e.details}


def participant_dict(p: GroupParticipant) -> dict[str, Any]:
    return {
        "input": p.input,
        "wa_id": p.wa_id,
        "user_id": p.user_id,
        "parent_user_id": p.parent_user_id,
        "username": p.username,
    }


def event_dict(e: GroupEvent) -> dict[str, Any]:
    d: dict[str, Any] = {
        "type": e.type,
        "timestamp": e.timestamp,
        "group_id": e.group_id,
        "request_id": e.request_id,
        "errors": [error_dict(x) for x in e.errors],
    }
    assert type(e.timestamp) is int
    if isinstance(e, (JoinRequestCreated, JoinRequestRevoked)):
        d.update(
            join_request_id=e.join_request_id,
            wa_id=e.wa_id,
            user_id=e.user_id,
            parent_user_id=e.parent_user_id,
            username=e.username,
            reason=e.reason,
        )
    elif isinstance(e, ParticipantsAdded):
        d.update(
            reason=e.reason,
            join_request_id=e.join_request_id,
            participants=[participant_dict(p) for p in e.participants],
        )
    elif isinstance(e, ParticipantsRemoved):
        d.update(initiated_by=e.initiated_by, participants=[participant_dict(p) for p in e.participants])
    elif isinstance(e, GroupCreated):
        d.update(
            subject=e.subject,
            description=e.description,
            invite_link=e.invite_link,
            join_approval_mode=e.join_approval_mode,
            participants=[participant_dict(p) for p in e.participants],
        )
    elif isinstance(e, SettingsUpdated):
        pic = e.profile_picture
        d.update(
            subject=e.subject,
            description=e.description,
            profile_picture=None if pic is None else {"mime_type": pic.mime_type, "sha256": pic.sha256},
            other_fields=e.other_fields,
        )
    elif isinstance(e, UnknownEvent):
        d.update(fields=e.fields)
    else:
        assert isinstance(e, (GroupDeleted, Suspended, SuspensionCleared)), type(e)
    return d


def payload_dict(p: WebhookPayload) -> dict[str, Any]:
    entries = []
    for entry in p.entries:
        changes: list[dict[str, Any]] = []
        for ch in entry.changes:
            if isinstance(ch, GroupChange):
                changes.append(
                    {
                        "kind": "group",
                        "field": ch.field,
                        "display_phone_number": ch.display_phone_number,
                        "phone_number_id": ch.phone_number_id,
                        "events": [event_dict(e) for e in ch.events],
                    }
                )
            else:
                assert isinstance(ch, OtherChange)
                changes.append({"kind": "other", "field": ch.field, "value": ch.value})
        entries.append({"id": entry.id, "changes": changes})
    return {"object": p.object, "entries": entries}


@pytest.mark.parametrize("name", of_kind("parse"))
def test_parse_vector(name: str) -> None:
    v = VECTORS[name]
    body = json.dumps(v["payload"]).encode()
    payload = webhooks.parse(body)
    assert payload_dict(payload) == v["expected"]
    # The flat list: every group event, in order, with where it came from.
    flat = payload.events()
    nested = [
        (entry.id, e) for entry in payload.entries for ch in entry.changes if isinstance(ch, GroupChange) for e in ch.events
    ]
    assert [e for _, e in nested] == flat
    for waba, e in nested:
        assert e.waba_id == waba and e.phone_number_id and e.field.startswith("group_")
    assert all(isinstance(c, OtherChange) for c in payload.other_changes())
    # Encoding and parsing again gives the same payload.
    again = webhooks.parse(payload.to_json())
    assert again == payload
    assert payload_dict(again) == v["expected"]
    # Any bytes-like body (and str) parses the same.
    assert webhooks.parse(bytearray(body)) == payload
    assert webhooks.parse(memoryview(body)) == payload
    assert webhooks.parse(body.decode()) == payload
    repr(payload), [repr(e) for e in flat], [repr(c) for c in payload.entries]


def test_join_request_created_event() -> None:
    v = VECTORS["join_request_created.json"]
    (event,) = webhooks.parse(json.dumps(v["payload"])).events()
    assert isinstance(event, JoinRequestCreated) and isinstance(event, GroupEvent)
    assert event.type == "group_join_request_created"
    assert event.waba_id == "102290129340398"
    assert event.phone_number_id == "106540352242922"
    assert event.join_request_id == "MTY0NjcwNDM1OTU6MTIwMzYzNDA0Njk0MjMzODIw"
    assert event.wa_id == "16505551234"
    assert event.timestamp == 1750269342
    assert "join_request_id='MTY0NjcwNDM1OTU6MTIwMzYzNDA0Njk0MjMzODIw'" in repr(event)
    assert json.loads(event.to_json())["type"] == "group_join_request_created"
    with pytest.raises(AttributeError):
        event.group_id = "x"  # type: ignore[misc]


def test_unknown_kept_raw() -> None:
    (event,) = webhooks.parse(json.dumps(VECTORS["unknown_type.json"]["payload"])).events()
    assert isinstance(event, UnknownEvent)
    fields = event.fields
    assert fields["note"] == "future"
    fields["note"] = "changed"  # a copy: the event stays as parsed
    assert event.fields["note"] == "future"
    (change,) = webhooks.parse(json.dumps(VECTORS["messages_change.json"]["payload"])).other_changes()
    assert change.field == "messages" and change.value["messages"][0]["text"]["body"] == "Hello"


@pytest.mark.parametrize("name", of_kind("parse_error"))
def test_parse_error_vector(name: str) -> None:
    v = VECTORS[name]
    with pytest.raises(DecodeError) as info:
        webhooks.parse(v["raw_body"].encode())
    for mention in v["error_mentions"]:
        assert mention in str(info.value)


SIGNATURE_CLASSES = {
    # The class of error each vector names, as the text of the Rust error says it.
    "empty_secret": ("app_secret", "empty"),
    "missing": ("signature", "missing"),
    "malformed": ("signature", ""),
    "mismatch": ("signature", "does not match"),
}


@pytest.mark.parametrize("name", of_kind("signature"))
def test_signature_vector(name: str) -> None:
    v = VECTORS[name]
    secret, body, header = v["app_secret"], v["raw_body"].encode(), v["header"]
    if v["valid"]:
        webhooks.verify_signature(secret, body, header)  # returns None
        webhooks.verify_signature(secret.encode(), body, header)
        assert webhooks.sign(secret, body) == header.lower()
    else:
        field, mention = SIGNATURE_CLASSES[v["error"]]
        with pytest.raises(InvalidInputError) as info:
            webhooks.verify_signature(secret, body, header)
        assert info.value.field == field
        assert mention in str(info.value)
        if v["error"] == "malformed":
            assert "does not match" not in str(info.value) and "missing" not in str(info.value)
        # The secret never shows in the error.
        if secret:
            assert secret not in str(info.value) and secret not in repr(info.value)


def test_missing_header_as_none() -> None:
    with pytest.raises(InvalidInputError) as info:
        webhooks.verify_signature("secret", b"{}", None)
    assert info.value.field == "signature"


def test_sign_and_verify_roundtrip() -> None:
    body = Path(TESTDATA / "webhooks" / "join_request_created.json").read_bytes()
    header = webhooks.sign("s3cret", body)
    webhooks.verify_signature("s3cret", body, header)
    with pytest.raises(InvalidInputError):
        webhooks.verify_signature("s3cret", body + b" ", header)


def test_equality_is_the_rust_values() -> None:
    # Equal when the Rust values are (key order and number-vs-string
    # spellings aside); a field changed anywhere makes every level differ.
    v = VECTORS["join_request_created.json"]["payload"]
    payload = webhooks.parse(json.dumps(v).encode())
    reordered = webhooks.parse(json.dumps(v, sort_keys=True, indent=2).encode())
    assert reordered == payload and reordered.events() == payload.events()
    changed = json.loads(json.dumps(v))
    changed["entry"][0]["changes"][0]["value"]["groups"][0]["wa_id"] = "10000000000"
    other = webhooks.parse(json.dumps(changed).encode())
    assert other != payload
    assert other.entries != payload.entries
    assert other.entries[0].changes != payload.entries[0].changes
    assert other.events() != payload.events()
    # The same event under another WABA is another event.
    moved = json.loads(json.dumps(v))
    moved["entry"][0]["id"] = "999"
    assert webhooks.parse(json.dumps(moved).encode()).events() != payload.events()
