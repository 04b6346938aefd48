"""Call and message logging end to end: ingest → Redis → a real worker → the sandbox Jobber (SPEC F2-F6).

Given a Jobber account with clients, when Aircall webhooks arrive (in any order, any number of times),
then exactly one complete activity per call or message lands on the right client.
"""

from __future__ import annotations

import itertools
import json
import random
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from sandbox.scenarios import payloads as p
from store.ledger import Ledger
from tests.support.poll import until
from tests.support.search_readings import (
    SEARCH_READING_IDS,
    SEARCH_READINGS,
    TAIL_MATCHES,
    unreachable,
    use_reading,
)
from tests.support.tenants import make_tenant, scope_of

pytestmark = pytest.mark.flow

LINE = p.number_object(789, e164="+14155550199", name="Support line")
OTHER_LINE = p.number_object(790, e164="+14155550198", name="Sales")
AGENT = p.user_object(456, name="Madelaine Dupont", email="madelaine@acme.com")
AGENT2 = p.user_object(457, name="Joe Bloggs", email="joe@acme.com")
CALLER = "+14155550100"
T0 = 1_790_000_000
_ids = itertools.count(5_000_000_001)


@pytest.fixture
def jobber(vendors):
    account = requests.post(
        f"{vendors.jobber}/_sandbox/accounts", json={"name": "Acme Plumbing"}, timeout=5
    ).json()
    account["base"] = vendors.jobber
    return account


@pytest.fixture(params=SEARCH_READINGS, ids=SEARCH_READING_IDS)
def search_reading(request, jobber) -> dict:
    """Every plausible reading of Jobber's phone search (jobber-api.md §5.3 leaves it unconfirmed)."""
    use_reading(jobber["base"], request.param)
    return request.param


def add_client(jobber, first: str, last: str, phones: list[str], **extra) -> dict:
    body = {
        "firstName": first,
        "lastName": last,
        "phones": [{"number": n, "description": "MAIN"} for n in phones],
        **extra,
    }
    url = f"{jobber['base']}/_sandbox/accounts/{jobber['account']['id']}/clients"
    response = requests.post(url, json=body, timeout=5)
    assert response.status_code == 201, response.text
    return response.json()


def clients(jobber) -> list[dict]:
    state = requests.get(
        f"{jobber['base']}/_sandbox/state", params={"account_id": jobber["account"]["id"]}, timeout=5
    ).json()
    return state["accounts"][0]["clients"]


def client_named(jobber, client_id: str) -> dict:
    return next(c for c in clients(jobber) if c["id"] == client_id)


def graphql_requests(jobber) -> int:
    accounts = requests.get(f"{jobber['base']}/_sandbox/accounts", timeout=5).json()
    return next(a for a in accounts if a["id"] == jobber["account"]["id"])["graphql_requests"]


def send(
    ingest_url: str, events: list[dict], *, duplicates: int = 1, shuffle: bool = False, seed: int = 7
) -> list[str]:
    deliveries = [e for e in events for _ in range(duplicates)]
    if shuffle:
        random.Random(seed).shuffle(deliveries)
    ids = []
    session = requests.Session()
    for event in deliveries:
        response = session.post(f"{ingest_url}/webhooks/aircall", json=event, timeout=5)
        assert response.status_code == 200, response.text
        ids.append(response.json()["id"])
    return sorted(set(i for i in ids if i))


def settled(event_ids: list[str]) -> bool:
    from store.redis import sync_client

    ledger = Ledger(sync_client())
    return all((ledger.get(i) or {}).get("outcome") not in (None, "pending") for i in event_ids)


def log_and_wait(ingest_url, events, **kw) -> list[str]:
    ids = send(ingest_url, events, **kw)
    until(lambda: settled(ids), timeout=30, what="events to settle")
    return ids


def outcomes(event_ids):
    from store.redis import sync_client

    ledger = Ledger(sync_client())
    return {ledger.get(i)["event"] + ":" + ledger.get(i)["outcome"] for i in event_ids}


def only_note(client: dict) -> str:
    assert len(client["notes"]) == 1, [n["message"] for n in client["notes"]]
    return client["notes"][0]["message"]


def answered(token, external=CALLER, **kw):
    return p.inbound_answered_call(
        next(_ids), token=token, number=LINE, external=external, agent=AGENT, started_at=T0, **kw
    )


# ---- calls ----------------------------------------------------------------------------------------


def test_inbound_answered_call_with_notes_tags_and_recording(r, ingest_url, worker, jobber, search_reading):
    dana = add_client(jobber, "Dana", "Lopez", ["(415) 555-0100"])
    tenant = make_tenant(jobber=jobber)
    events = answered(
        tenant.webhook_token, comments=["Wants a quote for spring cleanup."], tags=["Quote", "Urgent"]
    )

    log_and_wait(ingest_url, events)

    text = only_note(client_named(jobber, dana["id"]))
    call_id = events[0]["data"]["id"]
    assert text.splitlines() == [
        "Inbound call answered by Madelaine Dupont",
        "Direction: Inbound",
        "From: +14155550100",
        "To: +14155550199 (Support line)",
        "Agent: Madelaine Dupont <madelaine@acme.com>",
        "Started: 2026-09-21 14:13 UTC · Duration: 3m11s",
        f"Recording: https://assets.aircall.io/recording/{call_id}",
        "Tags: Quote, Urgent",
        "Notes:",
        "- Wants a quote for spring cleanup.",
        f"Aircall: https://api.aircall.io/v1/calls/{call_id}",
    ]


@pytest.mark.parametrize(
    ("build", "title", "direction"),
    [
        (
            lambda t, cid: p.missed_call(
                cid, token=t, number=LINE, external=CALLER, agent=AGENT, started_at=T0
            ),
            "Missed inbound call",
            "Missed",
        ),
        (
            lambda t, cid: p.voicemail_call(
                cid, token=t, number=LINE, external=CALLER, agent=AGENT, started_at=T0
            ),
            "Voicemail from +14155550100",
            "Voicemail",
        ),
        (
            lambda t, cid: p.outbound_call(
                cid, token=t, number=LINE, external=CALLER, agent=AGENT2, started_at=T0
            ),
            "Outbound call by Joe Bloggs",
            "Outbound",
        ),
    ],
    ids=["missed", "voicemail", "outbound"],
)
def test_missed_voicemail_and_outbound_calls(r, ingest_url, worker, jobber, build, title, direction):
    dana = add_client(jobber, "Dana", "Lopez", [CALLER])
    tenant = make_tenant(jobber=jobber)
    call_id = next(_ids)

    log_and_wait(ingest_url, build(tenant.webhook_token, call_id))

    lines = only_note(client_named(jobber, dana["id"])).splitlines()
    assert lines[0] == title and lines[1] == f"Direction: {direction}"
    if direction == "Voicemail":
        assert f"Voicemail: https://assets.aircall.io/voicemail/{call_id}" in lines  # the stable asset link
        assert not any(line.startswith("Recording:") for line in lines)
    if direction == "Outbound":
        assert "From: +14155550199 (Support line)" in lines and "To: +14155550100" in lines
    if direction == "Missed":
        assert not any(line.startswith("Agent:") for line in lines)


def test_internal_and_external_transfers(r, ingest_url, worker, jobber):
    dana = add_client(jobber, "Dana", "Lopez", [CALLER])
    tenant = make_tenant(jobber=jobber)
    internal = p.transferred_call(
        next(_ids),
        token=tenant.webhook_token,
        number=LINE,
        external=CALLER,
        agent=AGENT,
        to_agent=AGENT2,
        started_at=T0,
    )
    external = p.external_transferred_call(
        next(_ids),
        token=tenant.webhook_token,
        number=LINE,
        external=CALLER,
        agent=AGENT,
        to_number="+33612345678",
        started_at=T0 + 600,
    )

    log_and_wait(ingest_url, internal + external)

    notes = sorted(n["message"] for n in client_named(jobber, dana["id"])["notes"])
    assert len(notes) == 2
    assert any(
        "Transfers: Madelaine Dupont → Joe Bloggs" in n and "answered by Joe Bloggs" in n for n in notes
    )
    assert any("Transfers: Madelaine Dupont → +33612345678 (external)" in n for n in notes)


def test_late_comments_and_tags_update_the_same_activity(r, ingest_url, worker, jobber):
    dana = add_client(jobber, "Dana", "Lopez", [CALLER])
    tenant = make_tenant(jobber=jobber)
    events = answered(tenant.webhook_token, comments=["First note.", "Second note."], tags=["Quote"])
    ended_at = next(i for i, e in enumerate(events) if e["event"] == "call.ended")

    log_and_wait(ingest_url, events[: ended_at + 1])
    first = only_note(client_named(jobber, dana["id"]))
    assert "Notes:" not in first and "Tags:" not in first
    log_and_wait(ingest_url, events[ended_at + 1 :])

    text = only_note(client_named(jobber, dana["id"]))
    assert "- First note.\n- Second note." in text and "Tags: Quote" in text
    untagged = p.envelope(
        "call.untagged",
        {**events[-1]["data"], "tags": []},
        token=tenant.webhook_token,
        timestamp=events[-1]["timestamp"] + 60,
    )
    log_and_wait(ingest_url, [untagged])
    assert "Tags:" not in only_note(client_named(jobber, dana["id"]))


def test_every_event_three_times_in_shuffled_order_gives_one_complete_activity(r, ingest_url, worker, jobber):
    dana = add_client(jobber, "Dana", "Lopez", [CALLER])
    tenant = make_tenant(jobber=jobber)
    events = answered(tenant.webhook_token, comments=["Gate code 1234."], tags=["Quote", "Urgent"])

    for seed in (1, 2):
        log_and_wait(ingest_url, events, duplicates=3, shuffle=True, seed=seed)

    text = only_note(client_named(jobber, dana["id"]))
    assert "Inbound call answered by Madelaine Dupont" in text
    assert "Tags: Quote, Urgent" in text and "- Gate code 1234." in text and "Recording: " in text


# ---- messages -------------------------------------------------------------------------------------


def test_sms_sent_and_received_and_media(r, ingest_url, worker, jobber):
    dana = add_client(jobber, "Dana", "Lopez", [CALLER])
    tenant = make_tenant(jobber=jobber)
    t = tenant.webhook_token
    received = p.message_object(
        "SMr1", direction="inbound", number=LINE, external=CALLER, body="Can you come Tuesday?", created_at=T0
    )
    sent = p.message_object(
        "SMs1",
        direction="outbound",
        number=LINE,
        external=CALLER,
        body="Yes, 9am.",
        created_at=T0 + 60,
        user=AGENT,
    )
    mms = p.message_object(
        "SMm1",
        direction="inbound",
        number=LINE,
        external=CALLER,
        body="The leak",
        created_at=T0 + 120,
        media=[p.media_item("leak.jpg")],
    )
    whatsapp = p.message_object(
        "SMw1",
        direction="inbound",
        number=LINE,
        external=CALLER,
        body="Thanks!",
        created_at=T0 + 180,
        channel="whatsapp",
        media=[p.media_item("a.pdf", "application/pdf")],
    )
    events = [
        p.message_event(received, token=t, timestamp=T0),
        p.envelope("message.sent", sent, token=t, timestamp=T0 + 60),
        p.message_event(mms, token=t, timestamp=T0 + 120),
        p.message_event(whatsapp, token=t, timestamp=T0 + 180),
    ]
    events[0]["event"] = "message.received"

    log_and_wait(ingest_url, events, duplicates=2, shuffle=True)

    notes = [n["message"] for n in client_named(jobber, dana["id"])["notes"]]
    assert len(notes) == 4
    by_title = {n.splitlines()[0]: n for n in notes}
    assert "Direction: Received" in by_title["SMS received from +14155550100"]
    assert "Message: Can you come Tuesday?" in by_title["SMS received from +14155550100"]
    assert "Agent: Madelaine Dupont <madelaine@acme.com>" in by_title["SMS sent to +14155550100"]
    assert (
        "Media: https://aircall-media.s3.amazonaws.com/leak.jpg" in by_title["MMS received from +14155550100"]
    )
    assert "a.pdf" in by_title["WhatsApp message received from +14155550100"]


# ---- where it lands and matching ------------------------------------------------------------------


def test_log_activity_as_request(r, ingest_url, worker, jobber):
    dana = add_client(jobber, "Dana", "Lopez", [CALLER])
    tenant = make_tenant(jobber=jobber, log_activity_as="request")
    events = answered(tenant.webhook_token, comments=["Quote please."], tags=[])

    log_and_wait(ingest_url, events, duplicates=2, shuffle=True)

    client = client_named(jobber, dana["id"])
    assert client["notes"] == []
    [request] = client["requests"]
    call_id = events[0]["data"]["id"]
    assert request["title"] == f"Inbound call answered by Madelaine Dupont (Aircall call {call_id})"
    [note] = request["notes"]
    assert "- Quote please." in note["message"]


def test_unknown_number_with_creation_on_creates_one_client_even_when_events_race(
    r, ingest_url, worker, jobber, search_reading
):
    tenant = make_tenant(jobber=jobber, create_missing_clients=True)
    new_number = "+14155550177"
    calls = [
        p.missed_call(
            next(_ids),
            token=tenant.webhook_token,
            number=LINE,
            external=new_number,
            agent=None,
            started_at=T0 + i,
        )
        for i in range(4)
    ]
    ended = [next(e for e in c if e["event"] == "call.ended") for c in calls]

    with ThreadPoolExecutor(4) as pool:
        ids = [i for batch in pool.map(lambda e: send(ingest_url, [e]), ended) for i in batch]
    until(lambda: settled(ids), timeout=30, what="racing events")

    created = [
        c for c in clients(jobber) if any(ph["normalizedPhoneNumber"] == new_number for ph in c["phones"])
    ]
    assert len(created) == 1
    assert (created[0]["firstName"], created[0]["lastName"]) == ("Aircall", "new client")
    assert len(created[0]["notes"]) == 4


def test_unknown_number_with_creation_off_writes_nothing_and_records_the_skip(
    r, ingest_url, worker, jobber, search_reading
):
    tenant = make_tenant(jobber=jobber)
    events = answered(tenant.webhook_token, external="+14155550166")

    ids = log_and_wait(ingest_url, events)

    assert clients(jobber) == []
    ended = next(i for i in ids if Ledger(r).get(i)["event"] == "call.ended")
    shown = Ledger(r).show(ended)
    assert shown["outcome"] == "skipped"
    assert shown["skips"][-1]["reason"] == "no Jobber client has +14155550166, and contact creation is off"


def test_secondary_contact_phone_matches_the_client(r, ingest_url, worker, jobber, search_reading):
    household = add_client(
        jobber,
        "Sam",
        "Rivera",
        ["+14155550111"],
        contacts=[{"firstName": "Ava", "lastName": "Rivera", "phones": [{"number": "415.555.0100"}]}],
    )
    tenant = make_tenant(jobber=jobber)

    log_and_wait(ingest_url, answered(tenant.webhook_token))

    assert "Inbound call answered" in only_note(client_named(jobber, household["id"]))


def test_shared_number_goes_to_the_most_recently_updated_client(
    r, ingest_url, worker, jobber, search_reading
):
    older = add_client(jobber, "Old", "Client", [CALLER])
    newer = add_client(jobber, "New", "Client", ["415-555-0100"])
    archived = add_client(jobber, "Gone", "Client", [CALLER], isArchived=True)
    requests.patch(
        f"{jobber['base']}/_sandbox/clients/{archived['id']}", json={"lastName": "Client!"}, timeout=5
    )
    tenant = make_tenant(jobber=jobber)

    log_and_wait(ingest_url, answered(tenant.webhook_token))

    assert client_named(jobber, older["id"])["notes"] == []
    assert client_named(jobber, archived["id"])["notes"] == []
    assert len(client_named(jobber, newer["id"])["notes"]) == 1


# The same caller's number as Jobber users type it; each client below has one of these (other last digits).
TYPED = [
    "(415) 555-0101",
    "415.555.0102",
    "415-555-0103",
    "+1 415 555 0104",
    "14155550105",
    "1-415-555-0106",
    "+1 (415) 555-0107",
    "4155550108",
    "415 555 0109",
    "+14155550110",
    "1 (415) 555-0111",
    "415-555-0112 x3",
]


def test_the_client_is_found_whatever_format_its_number_was_typed_in(
    r, ingest_url, worker, jobber, search_reading
):
    """A miss would create a duplicate "Aircall new client" on every call: creation is on here."""
    from domain.phone import to_e164

    typed_here = [typed for typed in TYPED if not unreachable(search_reading, typed)]
    owners = {to_e164(typed, "US"): add_client(jobber, "Typed", typed, [typed])["id"] for typed in typed_here}
    tenant = make_tenant(jobber=jobber, create_missing_clients=True)
    calls = [answered(tenant.webhook_token, external=e164, comments=[], tags=[]) for e164 in owners]

    log_and_wait(ingest_url, [e for call in calls for e in call if e["event"] == "call.ended"])

    assert len(clients(jobber)) == len(typed_here)  # nobody created
    for e164, client_id in owners.items():
        assert f"From: {e164}" in only_note(client_named(jobber, client_id))


def test_a_match_beyond_the_first_page_of_hits_is_found(r, ingest_url, worker, jobber, search_reading):
    """Sixty numbers share the caller's last four digits and were all updated after the caller's client. Where
    the tail alone finds them, the search pages on (25 hits a page: any of them could have been the number
    typed some other way) and still decides by parsing: 3 rounds + the note = 4 Jobber requests; under the
    other readings the tail finds none of them: 1 + 1."""
    dana = add_client(jobber, "Dana", "Lopez", ["(415) 555-0100"])
    for i in range(60):
        add_client(jobber, "Same", f"Tail {i}", [f"({300 + i}) 555-0100"])
    tenant = make_tenant(jobber=jobber, create_missing_clients=True)
    before = graphql_requests(jobber)

    log_and_wait(ingest_url, [e for e in answered(tenant.webhook_token) if e["event"] == "call.ended"])

    assert "Inbound call answered" in only_note(client_named(jobber, dana["id"]))
    assert len(clients(jobber)) == 61
    assert graphql_requests(jobber) - before == (4 if search_reading["reading"] in TAIL_MATCHES else 2)


def test_unconnected_number_and_inactive_integration_write_nothing(r, ingest_url, worker, jobber):
    dana = add_client(jobber, "Dana", "Lopez", [CALLER])
    tenant = make_tenant(jobber=jobber)
    other = p.inbound_answered_call(
        next(_ids), token=tenant.webhook_token, number=OTHER_LINE, external=CALLER, agent=AGENT, started_at=T0
    )
    ids = log_and_wait(ingest_url, other)
    ended = next(i for i in ids if Ledger(r).get(i)["event"] == "call.ended")
    assert (
        Ledger(r).show(ended)["skips"][-1]["reason"]
        == "Aircall number 790 is not connected (settings.numbers)"
    )

    inactive = make_tenant(jobber=jobber, active=False)
    ids = log_and_wait(ingest_url, answered(inactive.webhook_token))
    assert {Ledger(r).get(i)["outcome"] for i in ids} == {"skipped"}
    assert client_named(jobber, dana["id"])["notes"] == []


def test_withheld_numbers_are_never_matched_or_created(r, ingest_url, worker, jobber):
    tenant = make_tenant(jobber=jobber, create_missing_clients=True)
    events = p.missed_call(
        next(_ids), token=tenant.webhook_token, number=LINE, external="anonymous", agent=None, started_at=T0
    )
    ids = log_and_wait(ingest_url, events)
    assert clients(jobber) == []
    assert any("withheld" in s["reason"] for i in ids for s in Ledger(r).show(i)["skips"])


# ---- vendor trouble and economy -------------------------------------------------------------------


@pytest.mark.slow
def test_jobber_5xx_and_throttled_during_the_flow_still_give_exactly_one_activity(
    r, ingest_url, worker, jobber
):
    dana = add_client(jobber, "Dana", "Lopez", [CALLER])
    tenant = make_tenant(jobber=jobber)
    base = jobber["base"]
    requests.post(
        f"{base}/_sandbox/faults", json={"reset": True, "fail_next": 3, "error_status": 503}, timeout=5
    )
    requests.post(
        f"{base}/_sandbox/bucket", json={"account_id": jobber["account"]["id"], "available": 0}, timeout=5
    )
    try:
        ids = log_and_wait(
            ingest_url,
            answered(tenant.webhook_token, comments=["x"], tags=["Quote"]),
            duplicates=2,
            shuffle=True,
        )
    finally:
        requests.post(f"{base}/_sandbox/faults", json={"reset": True}, timeout=5)
    assert "Tags: Quote" in only_note(client_named(jobber, dana["id"]))
    kinds = {a["kind"] for i in ids for a in Ledger(r).show(i)["attempts"]}
    assert {"transient", "rate_limited"} <= kinds
    logged = [i for i in ids if Ledger(r).get(i)["event"] not in ("call.created", "call.ringing_on_agent")]
    assert {Ledger(r).get(i)["outcome"] for i in logged} == {"done"}


def test_known_caller_costs_two_jobber_requests_and_a_repeat_caller_one(
    r, ingest_url, worker, jobber, search_reading
):
    add_client(jobber, "Dana", "Lopez", [CALLER])
    tenant = make_tenant(jobber=jobber)

    def ended():
        return [e for e in answered(tenant.webhook_token, comments=[], tags=[]) if e["event"] == "call.ended"]

    before = graphql_requests(jobber)
    log_and_wait(ingest_url, ended())
    first = graphql_requests(jobber) - before
    log_and_wait(ingest_url, ended())
    repeat = graphql_requests(jobber) - before - first

    assert (first, repeat) == (2, 1)


@pytest.fixture
def log_lines():
    """What the service's log handler writes (JSON lines), the worker's threads included, for one test."""
    import io
    import logging

    from config import logging as log_config

    root = logging.getLogger()
    before, level = [h for h in root.handlers if isinstance(h, log_config._Handler)], root.level
    stream = io.StringIO()
    log_config.configure(fmt="json", stream=stream)
    yield stream
    for handler in [h for h in root.handlers if isinstance(h, log_config._Handler)]:
        root.removeHandler(handler)
    for handler in before:
        root.addHandler(handler)
    root.setLevel(level)


def test_log_lines_never_carry_a_callers_full_number(r, ingest_url, worker, jobber, log_lines):
    """Callers' numbers are masked in log lines (a skip reason, a created client); the ledger keeps the full
    reason for operators and the admin."""
    from store.integrations import IntegrationStore

    tenant = make_tenant(jobber=jobber)
    unknown, created = "+14155550144", "+14155550177"
    [skipped_id] = log_and_wait(
        ingest_url,
        [e for e in answered(tenant.webhook_token, external=unknown) if e["event"] == "call.ended"],
    )
    store = IntegrationStore(r, "unused")
    integration = store.require(tenant.id)
    store.set_settings(tenant.id, integration.settings.with_changes({"create_missing_clients": True}))
    log_and_wait(
        ingest_url,
        [e for e in answered(tenant.webhook_token, external=created) if e["event"] == "call.ended"],
    )

    def written() -> str:
        text = log_lines.getvalue()
        wanted = ("tasks.skipped", "tasks.client_created", "tasks.activity_logged")
        return text if all(w in text for w in wanted) else ""

    text = until(written, timeout=30, what="the skip and the client-created lines")
    assert unknown not in text and created not in text
    assert "5550144" not in text and "5550177" not in text
    assert "reason=no Jobber client has +1415•••0144, and contact creation is off" in text
    assert (
        Ledger(r).show(skipped_id)["skips"][-1]["reason"]
        == f"no Jobber client has {unknown}, and contact creation is off"
    )
    assert any(ph["normalizedPhoneNumber"] == created for c in clients(jobber) for ph in c["phones"])


def test_events_show_explains_a_skipped_event(r, ingest_url, worker, jobber):
    from click.testing import CliRunner

    from cli import main as ajctl

    tenant = make_tenant(jobber=jobber)
    [event_id] = log_and_wait(
        ingest_url,
        [e for e in answered(tenant.webhook_token, external="+14155550144") if e["event"] == "call.ended"],
    )
    shown = json.loads(CliRunner().invoke(ajctl, ["events", "show", event_id, "--json"]).stdout)
    assert shown["outcome"] == "skipped" and "contact creation is off" in shown["skips"][0]["reason"]
    # The raw body was dropped when the event settled; the call's snapshot keeps what a replay reads.
    assert shown["raw"] is None and shown["raw_dropped_at"] == shown["settled_at"]


def test_a_note_created_just_before_a_crash_is_adopted_not_duplicated(r, ingest_url, worker, jobber):
    """The worker died after Jobber created the note but before the activity map said so."""
    from clients.jobber import JobberClient
    from store.activities import Activities, ActivityRecord

    dana = add_client(jobber, "Dana", "Lopez", [CALLER])
    tenant = make_tenant(jobber=jobber)
    events = answered(tenant.webhook_token, comments=[], tags=[])
    call_id = events[0]["data"]["id"]
    Activities(r).put(
        scope_of(tenant.id),
        "call",
        str(call_id),
        ActivityRecord(state="creating", kind="note", client_id=dana["id"]),
    )
    client = JobberClient(f"{jobber['base']}/api/graphql", jobber["access_token"], api_version="2025-04-16")
    client.create_client_note(dana["id"], f"half-written\nAircall: https://api.aircall.io/v1/calls/{call_id}")

    log_and_wait(ingest_url, [e for e in events if e["event"] == "call.ended"])

    text = only_note(client_named(jobber, dana["id"]))
    assert text.startswith("Inbound call answered by Madelaine Dupont")
    assert Activities(r).get(scope_of(tenant.id), "call", str(call_id)).state == "done"


def test_a_note_of_a_call_whose_link_extends_ours_is_never_adopted(r, ingest_url, worker, jobber):
    """Call 123's interrupted create must not adopt call 1234's note: the marker is a whole line, not a
    substring (`…/calls/123` is the start of `…/calls/1234`)."""
    from clients.jobber import JobberClient
    from flows.activity import now_iso
    from store.activities import Activities, ActivityRecord

    dana = add_client(jobber, "Dana", "Lopez", [CALLER])
    tenant = make_tenant(jobber=jobber)
    events = answered(tenant.webhook_token, comments=[], tags=[])
    call_id = events[0]["data"]["id"]
    client = JobberClient(f"{jobber['base']}/api/graphql", jobber["access_token"], api_version="2025-04-16")
    longer = f"Aircall: https://api.aircall.io/v1/calls/{call_id}7"
    client.create_client_note(dana["id"], f"Inbound call answered by Joe Bloggs\n{longer}")
    interrupted = ActivityRecord(state="creating", kind="note", client_id=dana["id"], started_at=now_iso())
    Activities(r).put(scope_of(tenant.id), "call", str(call_id), interrupted)

    log_and_wait(ingest_url, [e for e in events if e["event"] == "call.ended"])

    notes = {n["message"].splitlines()[-1]: n["message"] for n in client_named(jobber, dana["id"])["notes"]}
    assert set(notes) == {longer, f"Aircall: https://api.aircall.io/v1/calls/{call_id}"}
    assert notes[longer].startswith("Inbound call answered by Joe Bloggs")  # the other call's note, untouched
    assert Activities(r).get(scope_of(tenant.id), "call", str(call_id)).state == "done"


def test_a_note_older_than_the_interrupted_attempt_is_not_adopted(r, ingest_url, worker, jobber):
    """A note carrying the same line but created before the attempt began (beyond the clock slack) is not
    what the attempt created: the retry creates its own."""
    from datetime import UTC, datetime, timedelta

    from clients.jobber import JobberClient
    from flows.activity import CLOCK_SLACK_S
    from store.activities import Activities, ActivityRecord

    dana = add_client(jobber, "Dana", "Lopez", [CALLER])
    tenant = make_tenant(jobber=jobber)
    events = answered(tenant.webhook_token, comments=[], tags=[])
    call_id = events[0]["data"]["id"]
    client = JobberClient(f"{jobber['base']}/api/graphql", jobber["access_token"], api_version="2025-04-16")
    client.create_client_note(
        dana["id"], f"Written by hand\nAircall: https://api.aircall.io/v1/calls/{call_id}"
    )
    # The attempt began well after that note (seen from the note: it is older than the attempt and its slack).
    began = (datetime.now(UTC) + timedelta(seconds=CLOCK_SLACK_S + 600)).isoformat(timespec="seconds")
    interrupted = ActivityRecord(state="creating", kind="note", client_id=dana["id"], started_at=began)
    Activities(r).put(scope_of(tenant.id), "call", str(call_id), interrupted)

    log_and_wait(ingest_url, [e for e in events if e["event"] == "call.ended"])

    messages = sorted(n["message"] for n in client_named(jobber, dana["id"])["notes"])
    assert (
        len(messages) == 2
        and messages[1] == f"Written by hand\nAircall: https://api.aircall.io/v1/calls/{call_id}"
    )
    assert messages[0].startswith("Inbound call answered by Madelaine Dupont")


@pytest.mark.parametrize("default_order", ["newest", "oldest"])
def test_an_interrupted_note_is_found_behind_many_others_whatever_jobbers_default_order(
    r, ingest_url, worker, jobber, default_order
):
    """Jobber's default order of `notes` is unconfirmed: the retry asks for the newest first, so the note it
    created is found even when the client has more notes than one page."""
    from clients.jobber import JobberClient
    from flows.activity import now_iso
    from store.activities import Activities, ActivityRecord

    requests.post(f"{jobber['base']}/_sandbox/notes_order", json={"default": default_order}, timeout=5)
    dana = add_client(jobber, "Dana", "Lopez", [CALLER])
    tenant = make_tenant(jobber=jobber)
    events = answered(tenant.webhook_token, comments=[], tags=[])
    call_id = events[0]["data"]["id"]
    client = JobberClient(f"{jobber['base']}/api/graphql", jobber["access_token"], api_version="2025-04-16")
    for n in range(60):
        client.create_client_note(dana["id"], f"Older note {n}")
    started = now_iso()
    client.create_client_note(dana["id"], f"half-written\nAircall: https://api.aircall.io/v1/calls/{call_id}")
    interrupted = ActivityRecord(state="creating", kind="note", client_id=dana["id"], started_at=started)
    Activities(r).put(scope_of(tenant.id), "call", str(call_id), interrupted)

    log_and_wait(ingest_url, [e for e in events if e["event"] == "call.ended"])

    notes = client_named(jobber, dana["id"])["notes"]
    assert len(notes) == 61
    ours = [n["message"] for n in notes if not n["message"].startswith("Older note")]
    assert len(ours) == 1 and ours[0].startswith("Inbound call answered by Madelaine Dupont")


def test_an_expired_jobber_token_is_refreshed_once_and_the_new_pair_saved(r, ingest_url, worker, jobber):
    from config.settings import get_settings
    from store.integrations import IntegrationStore

    dana = add_client(jobber, "Dana", "Lopez", [CALLER])
    expired = requests.post(
        f"{jobber['base']}/_sandbox/tokens",
        json={"account_id": jobber["account"]["id"], "access_token_ttl_s": -5},
        timeout=5,
    ).json()
    tenant = make_tenant(jobber={**jobber, **expired})
    calls = [
        next(e for e in answered(tenant.webhook_token, comments=[], tags=[]) if e["event"] == "call.ended")
        for _ in range(4)
    ]

    log_and_wait(ingest_url, calls)  # four workers want a fresh token at once

    assert len(client_named(jobber, dana["id"])["notes"]) == 4
    saved = IntegrationStore(r, get_settings().secret_key()).secrets(tenant.id)
    assert saved.jobber_access_token != expired["access_token"]
    assert saved.jobber_refresh_token != expired["refresh_token"]
    # Rotation: the old refresh token is dead, the saved one works (a second refresh happened at most once).
    token_url = f"{jobber['base']}/api/oauth/token"
    form = {
        "client_id": "sandbox-client-id",
        "client_secret": "sandbox-client-secret",
        "grant_type": "refresh_token",
    }
    assert (
        requests.post(
            token_url, data={**form, "refresh_token": expired["refresh_token"]}, timeout=5
        ).status_code
        == 401
    )
    assert (
        requests.post(
            token_url, data={**form, "refresh_token": saved.jobber_refresh_token}, timeout=5
        ).status_code
        == 200
    )


def test_a_request_note_created_just_before_a_crash_is_adopted_not_duplicated(r, ingest_url, worker, jobber):
    """Request mode: the worker died after Jobber created the request and its note, before the map said so.
    The retry reads the request's notes (a `RequestNoteUnion` connection in the real schema)
    and adopts the note."""
    from clients.jobber import JobberClient
    from store.activities import Activities, ActivityRecord

    dana = add_client(jobber, "Dana", "Lopez", [CALLER])
    tenant = make_tenant(jobber=jobber, log_activity_as="request")
    events = answered(tenant.webhook_token, comments=[], tags=[])
    call_id = events[0]["data"]["id"]
    client = JobberClient(f"{jobber['base']}/api/graphql", jobber["access_token"], api_version="2025-04-16")
    request_id = client.create_request(dana["id"], "Inbound call answered by Madelaine Dupont")
    client.create_request_note(
        request_id, f"half-written\nAircall: https://api.aircall.io/v1/calls/{call_id}"
    )
    Activities(r).put(
        scope_of(tenant.id),
        "call",
        str(call_id),
        ActivityRecord(state="creating", kind="request", client_id=dana["id"], request_id=request_id),
    )

    [event_id] = log_and_wait(ingest_url, [e for e in events if e["event"] == "call.ended"])

    assert Ledger(r).get(event_id)["outcome"] == "done", Ledger(r).show(event_id)
    [request] = client_named(jobber, dana["id"])["requests"]
    [note] = request["notes"]
    assert note["message"].startswith("Inbound call answered by Madelaine Dupont")
    assert Activities(r).get(scope_of(tenant.id), "call", str(call_id)).state == "done"


def test_a_request_created_just_before_a_crash_is_found_again_not_duplicated(r, ingest_url, worker, jobber):
    """Request mode: Jobber created the request but its answer never came back (the worker died, or the
    connection dropped), so its id was never saved. The retry finds the request again by the marker in its
    title and writes only the note."""
    dana = add_client(jobber, "Dana", "Lopez", [CALLER])
    tenant = make_tenant(jobber=jobber, log_activity_as="request")
    requests.post(f"{jobber['base']}/_sandbox/lose_answer", json={"field": "requestCreate"}, timeout=5)
    events = answered(tenant.webhook_token, comments=[], tags=[])
    call_id = events[0]["data"]["id"]

    [event_id] = log_and_wait(ingest_url, [e for e in events if e["event"] == "call.ended"])

    assert Ledger(r).get(event_id)["outcome"] == "done"
    assert any(a["kind"] == "transient" for a in Ledger(r).show(event_id)["attempts"])  # the lost answer
    [request] = client_named(jobber, dana["id"])["requests"]
    assert request["title"] == f"Inbound call answered by Madelaine Dupont (Aircall call {call_id})"
    [note] = request["notes"]
    assert note["message"].endswith(f"Aircall: https://api.aircall.io/v1/calls/{call_id}")


def test_a_malformed_snapshot_does_not_poison_the_rest_of_its_call(r, ingest_url, worker, jobber):
    """One event with an impossible time (1e20) must not make every later event of its call fail."""
    dana = add_client(jobber, "Dana", "Lopez", ["(415) 555-0100"])
    tenant = make_tenant(jobber=jobber)
    events = answered(tenant.webhook_token)
    answered_event = next(e for e in events if e["event"] == "call.answered")
    answered_event["data"]["answered_at"] = 1e20
    answered_event["timestamp"] = 1e20
    ids = log_and_wait(ingest_url, events)

    assert {o.rsplit(":", 1)[1] for o in outcomes(ids)} <= {"done", "skipped"}, outcomes(ids)
    assert only_note(client_named(jobber, dana["id"])).startswith("Inbound call answered by Madelaine Dupont")
