"""Calls the AI Voice Agent touched (SPEC F9), end to end through a real worker into the sandbox Jobber."""

from __future__ import annotations

import itertools
import random
import time

import pytest
import requests

from sandbox.scenarios import payloads as p
from store.ledger import Ledger
from tests.support.poll import until
from tests.support.tenants import make_tenant

pytestmark = pytest.mark.flow

LINE = p.number_object(789, e164="+14155550199", name="Support line")
AGENT = p.user_object(456, name="Madelaine Dupont", email="madelaine@acme.com")
CALLER = "+14155550100"
_ids = itertools.count(9_700_000_001)


@pytest.fixture
def jobber(vendors):
    account = requests.post(f"{vendors.jobber}/_sandbox/accounts", json={"name": "Acme"}, timeout=5).json()
    client = requests.post(
        f"{vendors.jobber}/_sandbox/accounts/{account['account']['id']}/clients",
        json={"firstName": "Dana", "lastName": "Lopez", "phones": [{"number": CALLER}]},
        timeout=5,
    ).json()
    return {**account, "base": vendors.jobber, "client_id": client["id"]}


def notes(jobber) -> list[str]:
    state = requests.get(f"{jobber['base']}/_sandbox/state", timeout=5).json()
    return [
        n["message"]
        for a in state["accounts"]
        for c in a["clients"]
        if c["id"] == jobber["client_id"]
        for n in c["notes"]
    ]


def deliver(ingest_url, r, events, *, seed: int = 3, duplicates: int = 2) -> list[str]:
    batch = [e for e in events for _ in range(duplicates)]
    random.Random(seed).shuffle(batch)
    ids = sorted(
        {requests.post(f"{ingest_url}/webhooks/aircall", json=e, timeout=5).json()["id"] for e in batch}
    )
    until(
        lambda: all((Ledger(r).get(i) or {}).get("outcome") not in (None, "pending") for i in ids),
        timeout=30,
        what="events",
    )
    return ids


def aiva(token: str, path: str) -> list[dict]:
    return p.aiva_call(
        next(_ids),
        token=token,
        number=LINE,
        external=CALLER,
        started_at=int(time.time()) - 600,
        path=path,
        agent=AGENT if path == "transfer_answered" else None,
    )


@pytest.mark.parametrize("path", ["agent_only", "transfer_answered", "transfer_missed", "voicemail"])
def test_without_voice_agent_logging_nothing_is_logged(r, ingest_url, worker, jobber, path):
    tenant = make_tenant(jobber=jobber)
    ids = deliver(ingest_url, r, aiva(tenant.webhook_token, path))
    assert notes(jobber) == []
    # Whichever event revealed the voice agent says why (a call.ended that came first may have logged, and
    # the later voice-agent event took the note back).
    reasons = {Ledger(r).get(i)["reason"] for i in ids}
    assert "AI Voice Agent call, and ai_voice_agent_logging is off: not logged" in reasons


def test_a_note_written_before_the_voice_agent_events_arrived_is_taken_back(r, ingest_url, worker, jobber):
    tenant = make_tenant(jobber=jobber)
    events = aiva(tenant.webhook_token, "agent_only")
    calls = [e for e in events if e["event"].startswith("call.")]
    deliver(ingest_url, r, calls, duplicates=1)
    assert len(notes(jobber)) == 1  # nothing said yet that the voice agent was involved
    deliver(ingest_url, r, [e for e in events if e["event"].startswith("ai_voice_agent.")], duplicates=1)
    assert notes(jobber) == []


EXPECTED = {
    "agent_only": ("Inbound call handled by Ava (AI Voice Agent)", "Direction: Inbound", None),
    "transfer_answered": (
        "Inbound call transferred by Ava (AI Voice Agent), answered by Madelaine Dupont",
        "Direction: Inbound",
        "Agent: Madelaine Dupont <madelaine@acme.com>",
    ),
    "transfer_missed": (
        "Missed call transferred by Ava (AI Voice Agent)",
        "Direction: Missed",
        "Recording: ",
    ),
    "voicemail": (
        "Voicemail from +14155550100 after an escalation by Ava (AI Voice Agent)",
        "Direction: Voicemail",
        "Voicemail: ",
    ),
}


@pytest.mark.parametrize("path", list(EXPECTED))
def test_with_voice_agent_logging_each_path_has_its_own_activity(r, ingest_url, worker, jobber, path):
    tenant = make_tenant(jobber=jobber, ai_voice_agent_logging=True)
    deliver(ingest_url, r, aiva(tenant.webhook_token, path))

    [text] = notes(jobber)
    title, direction, extra = EXPECTED[path]
    lines = text.splitlines()
    assert lines[0] == title and lines[1] == direction
    if extra:
        assert any(line.startswith(extra) for line in lines)
    assert "Tags: AI Voice Agent" in text
    assert text.split("AI Voice Agent notes:\n", 1)[1].splitlines()[:4] == [
        "- Caller needs a plumber for a burst pipe; prefers tomorrow morning.",
        "- name: Pat Doe",
        "- issue: Burst pipe",
        "- preferred_time: Tomorrow 9am",
    ]


@pytest.mark.parametrize(
    ("shape", "expected"),
    [
        (
            {"extracted_data": p.parallel_answers(), "summary": {"content": "Burst pipe; tomorrow morning."}},
            [
                "- Burst pipe; tomorrow morning.",
                "- What is your name?: Pat Doe",
                "- What is the problem?: Burst pipe",
                "- When can we come?: Tomorrow 9am",
            ],
        ),
        ({"summary": None}, ["- name: Pat Doe", "- issue: Burst pipe", "- preferred_time: Tomorrow 9am"]),
    ],
    ids=["parallel-arrays-and-summary-object", "no-summary"],
)
def test_other_summary_payload_shapes_give_readable_notes(r, ingest_url, worker, jobber, shape, expected):
    tenant = make_tenant(jobber=jobber, ai_voice_agent_logging=True)
    events = p.aiva_call(
        next(_ids),
        token=tenant.webhook_token,
        number=LINE,
        external=CALLER,
        started_at=int(time.time()) - 600,
        path="agent_only",
        **shape,
    )
    deliver(ingest_url, r, events)

    [text] = notes(jobber)
    section = text.split("AI Voice Agent notes:\n", 1)[1].splitlines()
    assert section[: len(expected)] == expected
    assert section[len(expected)].startswith("Aircall: ")
