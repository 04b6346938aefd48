"""Every payload fixture (tests/fixtures/<event>__<variant>.json) read by the product's own parsers, with the
facts each one must give: event, resource id, routing, direction, numbers in E.164, the people and links
the activity text will name. A fixture no row reads is an error: fixtures are kept only
while a test uses them.

Shapes follow aircall-api.md §1-§3, §6 and jobber-api.md §4.3 (the reference's own samples where it has one:
`call.created__early_fields`, `call.ended__inbound_answered`, `message.received__sms`,
`integration.deleted__oauth`, `jobber.CLIENT_UPDATE__webhook`)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest

from domain.calls import Snapshot, line_region, merge_call
from domain.envelope import parse_envelope
from domain.jobber_webhooks import parse_webhook
from domain.payloads import Call, Message
from domain.phone import to_e164
from domain.voice_agent import voice_agent_notes
from tests.support import fixtures

TOKEN = "whk-live-token-0123"
AGENT = "Madelaine Dupont"
EXTERNAL = "+14155550100"
LINE = "+14155550199"


def call_facts(data: dict[str, Any]) -> dict[str, Any]:
    call = Call.model_validate(data)
    region = line_region(call.number)
    return {
        "direction": call.direction,
        "status": call.status,
        "answered": call.answered_at is not None,
        "external": to_e164(call.raw_digits, region),
        "line": (call.number.e164_digits or to_e164(call.number.digits, call.number.country))
        if call.number
        else None,
        "agent": call.user.name if call.user else None,
        "missed_call_reason": call.missed_call_reason,
        "voicemail": call.voicemail is not None,
        "asset": call.asset,
        "duration": call.duration,
        "notes": [c.content for c in call.comments],
        "tags": [t.name for t in call.tags],
        "external_transferred_to": to_e164(call.external_transferred_to, region)
        if call.external_transferred_to
        else None,
    }


def message_facts(data: dict[str, Any]) -> dict[str, Any]:
    message = Message.model_validate(data)
    line = message.number
    return {
        "direction": message.direction,
        "external": to_e164(message.external, line.country if line else None),
        "line": to_e164(line.digits, line.country) if line else None,
        "body": message.body,
        "channel": message.channel,
        "media": len(message.media),
        "created_at": message.created_at.isoformat() if isinstance(message.created_at, datetime) else None,
    }


def voice_agent_facts(event: str, timestamp: int, data: dict[str, Any]) -> dict[str, Any]:
    return {
        "name": data.get("ai_voice_agent_name"),
        "call_end_reason": data.get("call_end_reason"),
        "escalation_reason": data.get("escalation_reason"),
        "notes": voice_agent_notes([Snapshot(event, timestamp, data)]),
    }


def facts(name: str) -> dict[str, Any]:
    """What the product's parsers read from one fixture."""
    doc = fixtures.load(name, token=TOKEN)
    if name.startswith("jobber."):
        hook = parse_webhook(doc)
        return {
            "event": hook.event,
            "account": hook.account_id,
            "resource_id": hook.item_id,
            "occurred_at": hook.occurred_at,
            "routed": hook.routed,
        }
    env = parse_envelope(doc)
    out: dict[str, Any] = {
        "event": env.event,
        "resource_id": env.resource_id,
        "routed": env.routed,
        "token": env.token,
    }
    if env.event.startswith("call."):
        out |= call_facts(env.data)
    elif env.event.startswith("message."):
        out |= message_facts(env.data)
    elif env.event.startswith("ai_voice_agent."):
        out |= voice_agent_facts(env.event, doc["timestamp"], env.data)
    return out


# name → the facts it must give (a subset of `facts(name)`); `event` and `token` are checked for every row.
EXPECTED: dict[str, dict[str, Any]] = {
    "call.created__early_fields": {
        "resource_id": "123",
        "routed": True,
        "direction": "outbound",
        "status": "initial",
        "answered": False,
        "external": "+18001234567",
        "line": None,
        "agent": None,  # `user: {}` and `number: {}` read as absent
    },
    "call.created__inbound": {
        "resource_id": "1234567890",
        "routed": True,
        "direction": "inbound",
        "status": "initial",
        "answered": False,
        "external": EXTERNAL,
        "line": LINE,
        "agent": None,
    },
    "call.ended__inbound_answered": {
        "resource_id": "1234567890",
        "routed": True,
        "direction": "inbound",
        "status": "done",
        "answered": True,
        "external": EXTERNAL,
        "line": LINE,
        "agent": AGENT,
        "voicemail": False,
        "duration": 191,
        "asset": "https://assets.aircall.io/recording/1234567890",
        "notes": [],
        "tags": [],
    },
    "call.commented__after_call_note": {
        "resource_id": "1234567890",
        "routed": True,
        "answered": True,
        "agent": AGENT,
        "notes": ["Customer wants a quote for spring cleanup."],
    },
    "call.ended__missed": {
        "resource_id": "1234567891",
        "direction": "inbound",
        "status": "done",
        "answered": False,
        "agent": None,
        "missed_call_reason": "agents_did_not_answer",
        "voicemail": False,
        "external": EXTERNAL,
    },
    "call.ended__voicemail": {
        "resource_id": "1234567892",
        "answered": False,
        "agent": None,
        "voicemail": True,
        "asset": "https://assets.aircall.io/voicemail/1234567892",
        "external": EXTERNAL,
        "line": LINE,
    },
    "call.ended__anonymous": {
        "resource_id": "1234567893",
        "routed": True,
        "external": None,
        "line": LINE,
        "answered": False,
    },
    "call.external_transferred__to_mobile": {
        "resource_id": "1234567894",
        "routed": True,
        "agent": AGENT,
        "external": EXTERNAL,
        "external_transferred_to": "+33612345678",
    },
    "call.ended__external_transfer": {
        # aircall-api.md §1.4: only the call.external_transferred event carries external_transferred_to
        "resource_id": "1234567894",
        "answered": True,
        "agent": AGENT,
        "external_transferred_to": None,
    },
    "message.received__sms": {
        "resource_id": "abdcSM11da5c8f3e",
        "routed": True,
        "direction": "inbound",
        "external": EXTERNAL,
        "line": "+14244162288",
        "body": "Can you come Tuesday?",
        "channel": None,
        "media": 0,
        "created_at": "2026-03-03T09:35:00+00:00",
    },
    "message.received__mms_media_url": {
        "resource_id": "abdcSM22mms0001",
        "direction": "inbound",
        "external": EXTERNAL,
        "media": 2,
        "created_at": "2024-08-02T13:23:00+00:00",  # UNIX milliseconds, read as such
    },
    "message.sent__whatsapp": {
        "resource_id": "abdcWA33wa0001",
        "routed": True,
        "direction": "outbound",
        "channel": "whatsapp",
        "external": "+447700900123",
        "media": 1,
        "body": "Your visit is confirmed for Tuesday 9am ✅",
    },
    "summary.created__call": {"resource_id": "1234567890", "routed": True},  # the call, not the summary's id
    "sentiment.created__call": {"resource_id": "1234567890", "routed": True},
    "ai_voice_agent.summary__parallel_arrays": {
        "resource_id": "1234567895",
        "routed": True,
        "name": "Ava (AI Voice Agent)",
        "notes": [
            "Caller needs a plumber for a burst pipe; prefers tomorrow morning.",
            "What is your name?: Pat Doe",
            "What is the problem?: Burst pipe",
            "When can we come?: Tomorrow 9am",
        ],
    },
    "ai_voice_agent.summary__flat_object": {
        "resource_id": "1234567896",
        "routed": True,
        "notes": [
            "Caller needs a plumber for a burst pipe; prefers tomorrow morning.",
            "name: Pat Doe",
            "issue: Burst pipe",
            "preferred_time: Tomorrow 9am",
        ],
    },
    "ai_voice_agent.escalated__caller_requested_human": {
        "resource_id": "1234567895",
        "routed": True,
        "escalation_reason": "caller_requested_human",
        "notes": [],
    },
    "ai_voice_agent.ended__caller_hung_up": {
        "resource_id": "1234567896",
        "routed": True,
        "call_end_reason": "caller_hung_up",
        "notes": [],
    },
    "integration.deleted__oauth": {"resource_id": "42", "routed": True},
    "user.opened.v2__unrouted": {"resource_id": "456", "routed": False},
    "jobber.CLIENT_UPDATE__webhook": {
        "account": "Z2lkOi8vSm9iYmVyL0FjY291bnQvMTIzNDU=",
        "resource_id": "Z2lkOi8vSm9iYmVyL0NsaWVudC85ODc2NQ==",
        "occurred_at": "2025-06-01T16:31:36-06:00",
        "routed": True,
    },
    "jobber.CLIENT_DESTROY__webhook": {"resource_id": "Z2lkOi8vSm9iYmVyL0NsaWVudC85ODc2NQ==", "routed": True},
    "jobber.APP_DISCONNECT__legacy_occured_at": {
        "account": "Z2lkOi8vSm9iYmVyL0FjY291bnQvMTIzNDU=",
        "occurred_at": "2025-06-03T10:00:00-06:00",
        "routed": True,
    },
    "jobber.QUOTE_CREATE__unrouted": {"resource_id": "Z2lkOi8vSm9iYmVyL1F1b3RlLzQy", "routed": False},
}


def test_every_fixture_file_is_in_the_table_and_every_row_has_its_file() -> None:
    assert fixtures.names() == sorted(EXPECTED)


@pytest.mark.parametrize("name", [pytest.param(name, id=name) for name in sorted(EXPECTED)])
def test_fixture_gives_its_facts(name: str) -> None:
    got = facts(name)
    assert got["event"] == fixtures.event_of(name)
    if not name.startswith("jobber."):
        assert got["token"] == TOKEN
    assert {key: got[key] for key in EXPECTED[name]} == EXPECTED[name]


@pytest.mark.parametrize("name", [pytest.param(name, id=name) for name in sorted(EXPECTED)])
def test_aircall_fixtures_carry_the_token_placeholder_only_in_the_envelope(name: str) -> None:
    raw = fixtures.body(name)
    if name.startswith("jobber."):
        assert fixtures.TOKEN not in raw  # Jobber signs the body; it carries no token
    else:
        assert raw.count(fixtures.TOKEN) == 1 and fixtures.load(name)["token"] == fixtures.TOKEN


# Fixtures of one call read together, in any order, as the flows merge them (domain/calls.py).
@pytest.mark.parametrize(
    ("names", "expected"),
    [
        pytest.param(
            ["call.ended__inbound_answered", "call.commented__after_call_note", "call.created__inbound"],
            {
                "kind": "answered",
                "agent": AGENT,
                "notes": ["Customer wants a quote for spring cleanup."],
                "tags": [],
                "recording": "https://assets.aircall.io/recording/1234567890",
                "transfers": [],
            },
            id="answered-with-a-later-note",
        ),
        pytest.param(
            ["call.ended__external_transfer", "call.external_transferred__to_mobile"],
            {"kind": "answered", "agent": AGENT, "transfers": [f"{AGENT} → +33612345678 (external)"]},
            id="external-transfer-named-from-its-own-event",
        ),
        pytest.param(
            ["call.ended__voicemail"],
            {
                "kind": "voicemail",
                "agent": None,
                "recording": None,
                "voicemail": "https://assets.aircall.io/voicemail/1234567892",
            },
            id="voicemail-prefers-the-asset",
        ),
        pytest.param(
            ["call.ended__missed"], {"kind": "missed", "agent": None, "voicemail": None}, id="missed"
        ),
        pytest.param(
            ["call.ended__anonymous"],
            {"kind": "missed", "external": None, "external_raw": "anonymous"},
            id="withheld-number-is-never-a-match-key",
        ),
    ],
)
def test_fixtures_of_one_call_merge_into_its_activity(names: list[str], expected: dict[str, Any]) -> None:
    for order in (names, list(reversed(names))):
        snapshots = []
        for name in order:
            doc = fixtures.load(name)
            snapshots.append(Snapshot(doc["event"], doc["timestamp"], doc["data"]))
        view = merge_call(snapshots)
        got = {
            "kind": view.kind,
            "agent": view.agent.name if view.agent else None,
            "notes": view.notes,
            "tags": view.tags,
            "recording": view.recording,
            "voicemail": view.voicemail,
            "transfers": view.transfers,
            "external": view.external,
            "external_raw": view.external_raw,
        }
        assert {key: got[key] for key in expected} == expected


@pytest.mark.parametrize(
    "bad",
    [
        pytest.param("call.ended", id="no-variant"),
        pytest.param("__voicemail", id="no-event"),
        pytest.param("call.ended__", id="empty-variant"),
    ],
)
def test_fixture_names_must_be_event_and_variant(bad: str) -> None:
    with pytest.raises(ValueError, match="<event>__<variant>"):
        fixtures.event_of(bad)


def test_a_live_token_is_substituted_json_escaped() -> None:
    doc = fixtures.load("call.ended__inbound_answered", token='tok"with\\quotes')
    assert doc["token"] == 'tok"with\\quotes'
