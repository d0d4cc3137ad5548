"""Group webhooks: parse Meta's deliveries and check their signatures.

Both are done by the Rust protocol crate::

    from wa_groups import webhooks

    def handle(body: bytes, signature_header: str | None) -> None:
        webhooks.verify_signature(APP_SECRET, body, signature_header)  # raises on mismatch
        for event in webhooks.parse(body).events():
            if isinstance(event, webhooks.JoinRequestCreated):
                print(event.group_id, event.join_request_id, event.wa_id)

``verify_signature`` returns ``None`` when the ``X-Hub-Signature-256``
header matches the body, and raises ``wa_groups.InvalidInputError``
otherwise (``field`` is ``"app_secret"`` for an empty secret and
``"signature"`` for a missing, malformed or wrong signature). A body
given as ``str`` is read as UTF-8; one holding a lone surrogate is an
``InvalidInputError`` with ``field`` ``"raw_body"``. ``parse`` raises
``wa_groups.DecodeError`` for a body that is not a webhook payload.
Event types this version does not know are kept as ``UnknownEvent``, and
changes of other fields (``messages``...) as ``OtherChange``, with their
JSON as plain Python objects.
"""

from ._native import (
    Entry,
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
    ProfilePicture,
    SettingsUpdated,
    Suspended,
    SuspensionCleared,
    UnknownEvent,
    WebhookPayload,
    parse,
    sign,
    verify_signature,
)

__all__ = [
    "parse",
    "verify_signature",
    "sign",
    "WebhookPayload",
    "Entry",
    "GroupChange",
    "OtherChange",
    "GroupEvent",
    "JoinRequestCreated",
    "JoinRequestRevoked",
    "ParticipantsAdded",
    "ParticipantsRemoved",
    "GroupCreated",
    "GroupDeleted",
    "SettingsUpdated",
    "Suspended",
    "SuspensionCleared",
    "UnknownEvent",
    "GroupParticipant",
    "ProfilePicture",
]
