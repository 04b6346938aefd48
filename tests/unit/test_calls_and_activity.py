"""The call merge is order-independent; the activity text follows SPEC §4."""

import itertools
import random
from datetime import UTC, datetime

import pytest

from domain.activity import duration, render_call, render_message
from domain.calls import Snapshot, has_ended, merge_call
from domain.payloads import Message
from sandbox.scenarios import payloads as p

LINE = p.number_object(789, e164="+14155550199", name="Support line")
AGENT = p.user_object(456, name="Madelaine Dupont", email="madelaine@acme.com")
AGENT2 = p.user_object(457, name="Joe Bloggs", email="joe@acme.com")
T0 = 1_790_000_000


def snaps(events):
    return [Snapshot(e["event"], e["timestamp"], e["data"]) for e in events if e["resource"] == "call"]


LIFECYCLES = {
    "answered": p.inbound_answered_call(
        1,
        token="t",
        number=LINE,
        external="+14155550100",
        agent=AGENT,
        started_at=T0,
        comments=["one", "two"],
        tags=["Quote", "Urgent"],
    ),
    "missed": p.missed_call(2, token="t", number=LINE, external="+14155550100", agent=AGENT, started_at=T0),
    "voicemail": p.voicemail_call(
        3, token="t", number=LINE, external="+14155550100", agent=AGENT, started_at=T0
    ),
    "outbound": p.outbound_call(
        4, token="t", number=LINE, external="+14155550100", agent=AGENT2, started_at=T0
    ),
    "transfer": p.transferred_call(
        5, token="t", number=LINE, external="+14155550100", agent=AGENT, to_agent=AGENT2, started_at=T0
    ),
    "external": p.external_transferred_call(
        6,
        token="t",
        number=LINE,
        external="+14155550100",
        agent=AGENT,
        to_number="+33612345678",
        started_at=T0,
    ),
    "external_by": p.external_transferred_call(
        8,
        token="t",
        number=LINE,
        external="+14155550100",
        agent=AGENT,
        to_number="+33612345678",
        started_at=T0,
        transferred_by=AGENT2,
    ),
    "untagged": p.untagged_call(
        7, token="t", number=LINE, external="+14155550100", agent=AGENT, started_at=T0
    ),
}


@pytest.mark.parametrize("name", list(LIFECYCLES))
def test_any_arrival_order_and_duplication_gives_the_same_text(name):
    events = snaps(LIFECYCLES[name])
    expected = render_call(merge_call(events)).text
    rng = random.Random(name)
    for _ in range(25):
        shuffled = events + rng.sample(events, k=len(events) // 2)
        rng.shuffle(shuffled)
        assert render_call(merge_call(shuffled)).text == expected


@pytest.mark.parametrize(
    ("name", "title", "present", "absent"),
    [
        (
            "answered",
            "Inbound call answered by Madelaine Dupont",
            [
                "Tags: Quote, Urgent",
                "Notes:\n- one\n- two",
                "Recording: https://assets.aircall.io/recording/1",
            ],
            ["Voicemail:"],
        ),
        (
            "missed",
            "Missed inbound call",
            ["Direction: Missed", "From: +14155550100"],
            ["Agent:", "Recording:"],
        ),
        (
            "voicemail",
            "Voicemail from +14155550100",
            ["Direction: Voicemail", "Voicemail: https://assets.aircall.io/voicemail/3"],
            ["Recording:"],
        ),
        (
            "outbound",
            "Outbound call by Joe Bloggs",
            ["From: +14155550199 (Support line)", "To: +14155550100"],
            [],
        ),
        ("transfer", "Inbound call answered by Joe Bloggs", ["Transfers: Madelaine Dupont → Joe Bloggs"], []),
        # No `transferred_by` on an external transfer: the agent who transferred is the call's user.
        (
            "external",
            "Inbound call answered by Madelaine Dupont",
            ["Transfers: Madelaine Dupont → +33612345678 (external)"],
            ["Agent →"],
        ),
        (
            "external_by",
            "Inbound call answered by Madelaine Dupont",
            ["Transfers: Joe Bloggs → +33612345678 (external)"],
            [],
        ),
        ("untagged", "Inbound call answered by Madelaine Dupont", ["Tags: Quote"], ["Urgent"]),
    ],
)
def test_call_text(name, title, present, absent):
    text = render_call(merge_call(snaps(LIFECYCLES[name]))).text
    assert text.splitlines()[0] == title
    for fragment in present:
        assert fragment in text
    for fragment in absent:
        assert fragment not in text


def test_a_call_without_call_ended_is_not_rendered():
    early = [s for s in snaps(LIFECYCLES["answered"]) if s.event in ("call.created", "call.answered")]
    assert not has_ended(early)
    with pytest.raises(ValueError):
        merge_call(early)


def test_snapshot_ties_break_on_content_not_arrival():
    a = Snapshot("call.tagged", 5, {"id": 1, "tags": [{"name": "A"}]})
    b = Snapshot("call.tagged", 5, {"id": 1, "tags": [{"name": "B"}]})
    ended = Snapshot("call.ended", 4, {"id": 1, "direction": "inbound", "number": {"id": 1}})
    orders = {tuple(merge_call(list(order)).tags) for order in itertools.permutations([a, b, ended])}
    assert len(orders) == 1


@pytest.mark.parametrize(
    ("seconds", "text"), [(None, None), (0, None), (45, "45s"), (252, "4m12s"), (3725, "1h02m05s")]
)
def test_duration(seconds, text):
    assert duration(seconds) == text


def test_message_text_received_with_media_and_sent():
    line = {"id": 789, "name": "Support line", "digits": "+1 415-555-0199", "country": "US"}
    received = Message.model_validate(
        {
            "id": "SM1",
            "direction": "inbound",
            "body": "Leak photo",
            "external_number": "(415) 555-0100",
            "number": line,
            "media_details": [{"presigned_url": "https://m/1.jpg"}, {"presigned_url": "https://m/2.jpg"}],
            "direct_link": "https://api.aircall.io/v1/messages/SM1",
            "created_at": datetime(2026, 1, 1, tzinfo=UTC).isoformat(),
        }
    )
    assert render_message(received, sent=False).text.splitlines() == [
        "MMS received from +14155550100",
        "Direction: Received",
        "From: +14155550100",
        "To: +14155550199 (Support line)",
        "Message: Leak photo",
        "Media: https://m/1.jpg",
        "Media: https://m/2.jpg",
        "Aircall: https://api.aircall.io/v1/messages/SM1",
    ]
    sent = Message.model_validate(
        {
            "id": "SM2",
            "body": "On our way",
            "raw_digits": "+1 415-555-0100",
            "number": line,
            "channel": "whatsapp",
            "user": {"name": "Joe Bloggs", "email": "joe@acme.com"},
        }
    )
    text = render_message(sent, sent=True).text
    assert text.startswith(
        "WhatsApp message sent to +14155550100\nDirection: Sent\nFrom: +14155550199 (Support line)"
    )
    assert "Agent: Joe Bloggs <joe@acme.com>" in text


@pytest.mark.parametrize(
    ("path", "title"),
    [
        ("agent_only", "Inbound call handled by Ava (AI Voice Agent)"),
        (
            "transfer_answered",
            "Inbound call transferred by Ava (AI Voice Agent), answered by Madelaine Dupont",
        ),
        ("transfer_missed", "Missed call transferred by Ava (AI Voice Agent)"),
        ("voicemail", "Voicemail from +14155550100 after an escalation by Ava (AI Voice Agent)"),
    ],
)
def test_voice_agent_paths_are_order_independent(path, title):
    from domain.voice_agent import voice_agent_view

    events = p.aiva_call(
        9,
        token="t",
        number=LINE,
        external="+14155550100",
        started_at=T0,
        path=path,
        agent=AGENT if path == "transfer_answered" else None,
    )
    snapshots = [Snapshot(e["event"], e["timestamp"], e["data"]) for e in events]
    texts = set()
    for seed in range(10):
        shuffled = random.Random(seed).sample(snapshots, k=len(snapshots))
        call = merge_call(shuffled)
        texts.add(render_call(call, voice_agent_view(shuffled, call)).text)
    [text] = texts
    assert text.splitlines()[0] == title
    assert "Tags: AI Voice Agent" in text and "AI Voice Agent notes:\n- Caller needs a plumber" in text


def test_calls_without_the_voice_agent_have_no_voice_agent_view():
    from domain.voice_agent import voice_agent_view

    snapshots = snaps(LIFECYCLES["answered"])
    assert voice_agent_view(snapshots, merge_call(snapshots)) is None
