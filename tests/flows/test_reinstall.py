"""Issue 16 (SPEC §5): uninstall, then install again for the same Aircall company and Jobber account, and
nothing is logged or synced twice: what is already logged and synced is keyed on the Jobber account and
the Aircall company (domain/scope.py), not on the integration's id, and a new integration's reconciliation
starts at its connect time. Contact sync finds a contact of ours whose mapping was lost instead
of creating another."""

from __future__ import annotations

import copy
import itertools
import json
import time

import pytest
import requests
from click.testing import CliRunner

from cli import main as ajctl
from flows import reconcile as rc
from flows.vendors import store_for
from sandbox.scenarios import payloads as p
from store import keys
from store.backfill import ReconcileWatermark
from store.contacts import SyncStatus
from store.ledger import Ledger
from tests.support.poll import until
from tests.support.purge import run_purge_to_the_end
from tests.support.queues import queued_messages
from tests.support.tenants import make_tenant

pytestmark = pytest.mark.flow

AGENT = p.user_object(456, name="Madelaine Dupont", email="madelaine@acme.com")
CALLER = "+14155550100"
_ids = itertools.count(9_900_000_001)
CONTENT = {
    "summary": "Burst pipe under the sink.",
    "topics": ["plumbing"],
    "sentiment": "NEGATIVE",
    "action_items": ["Book a visit for tomorrow 9am", "Send a quote"],
    "utterances": [{"text": "My pipe burst.", "participant_type": "external"}],
}


@pytest.fixture
def world(vendors):
    company = requests.post(
        f"{vendors.aircall}/_sandbox/companies", json={"name": "Acme", "ai_assist": True}, timeout=5
    ).json()
    account = requests.post(f"{vendors.jobber}/_sandbox/accounts", json={"name": "Acme"}, timeout=5).json()
    clients_url = f"{vendors.jobber}/_sandbox/accounts/{account['account']['id']}/clients"
    dana = requests.post(
        clients_url,
        json={"firstName": "Dana", "lastName": "Lopez", "phones": [{"number": CALLER}]},
        timeout=5,
    ).json()
    requests.post(
        clients_url,
        json={
            "companyName": "Lakeside Office Park",
            "isCompany": True,
            "phones": [{"number": "+14155550102"}],
        },
        timeout=5,
    ).raise_for_status()
    line = {**company["numbers"][0], "e164_digits": "+14155550199"}
    return type(
        "World",
        (),
        {
            "aircall": vendors.aircall,
            "jobber": vendors.jobber,
            "company": company,
            "account": account,
            "dana": dana["id"],
            "line": line,
            "clients_url": clients_url,
        },
    )


def run(*args: str) -> dict:
    result = CliRunner().invoke(ajctl, [*args, "--json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def aircall_company(world) -> dict:
    state = requests.get(f"{world.aircall}/_sandbox/state", timeout=5).json()
    return next(c for c in state["companies"] if c["id"] == world.company["id"])


def install(world, tmp_path, tokens: dict, mode: str) -> tuple[str, str]:
    """`ajctl integrations create` for the company and the Jobber account: the integration's id and the token
    its Aircall webhook delivers with."""
    settings = {
        "numbers": [world.line["id"]],
        "log_activity_as": mode,
        "contact_sync": True,
        "aircall_plan_ai_assist": True,
        "ai_logging": {"enabled": True, "action_items_as_tasks": True},
    }
    settings_file = tmp_path / "settings.json"
    settings_file.write_text(json.dumps(settings))
    created = run(
        "integrations",
        "create",
        "--aircall-api-id",
        world.company["api_id"],
        "--aircall-api-token",
        world.company["api_token"],
        "--jobber-access-token",
        tokens["access_token"],
        "--jobber-refresh-token",
        tokens["refresh_token"],
        "--settings",
        str(settings_file),
    )
    webhook_id = store_for().require(created["id"]).aircall_webhook_id
    token = next(w["token"] for w in aircall_company(world)["webhooks"] if w["webhook_id"] == webhook_id)
    return created["id"], token


def contacts(world) -> list[tuple]:
    return sorted(
        (c["id"], c["first_name"], c["last_name"], tuple(sorted(n["value"] for n in c["phone_numbers"])))
        for c in aircall_company(world)["contacts"]
    )


def jobber(world) -> dict:
    """What Dana's client holds in Jobber: every activity text (client notes, and the notes of requests),
    request titles, and the account's tasks."""
    state = requests.get(f"{world.jobber}/_sandbox/state", timeout=5).json()
    [account] = state["accounts"]
    dana = next(c for c in account["clients"] if c["id"] == world.dana)
    return {
        "texts": sorted(
            [n["message"] for n in dana["notes"]]
            + [n["message"] for req in dana["requests"] for n in req["notes"]]
        ),
        "requests": sorted(req["title"] for req in dana["requests"]),
        "tasks": sorted(t["title"] for t in account["tasks"]),
    }


def activities_of(state: dict, link: str, ai: bool = False) -> list[str]:
    return [t for t in state["texts"] if link in t and t.startswith("AI insights — ") == ai]


def send(ingest_url, r, events: list[dict]) -> None:
    ids = {requests.post(f"{ingest_url}/webhooks/aircall", json=e, timeout=5).json()["id"] for e in events}
    until(
        lambda: all((Ledger(r).get(i) or {}).get("outcome") not in (None, "pending") for i in ids),
        timeout=40,
        what="the events to settle",
    )


def settle(r) -> None:
    """Follow-up work (AI notes, reconciliation's calls) done: nothing queued, held or waiting to retry."""
    until(
        lambda: not queued_messages(r) and r.hlen(keys.KOMBU_UNACKED) == 0 and r.zcard(keys.DUE) == 0,
        timeout=40,
        what="nothing left to run",
    )


def in_aircall(world, call: dict) -> None:
    requests.post(
        f"{world.aircall}/_sandbox/calls", json={"call": call, "company_id": world.company["id"]}, timeout=5
    ).raise_for_status()


def ended_call(world, token: str, started_at: int) -> tuple[int, list[dict]]:
    """A call answered by Madelaine, with her notes and tags coming after call.ended; Aircall lists it."""
    call_id = next(_ids)
    events = p.inbound_answered_call(
        call_id, token=token, number=world.line, external=CALLER, agent=AGENT, started_at=started_at
    )
    in_aircall(world, p.final_call(events))
    return call_id, events


def for_token(events: list[dict], token: str) -> list[dict]:
    """The same webhooks, as the reinstalled integration's webhook delivers them."""
    return [{**copy.deepcopy(e), "token": token} for e in events]


@pytest.mark.parametrize("mode", ["note", "request"])
def test_a_reinstall_for_the_same_company_and_account_logs_and_syncs_nothing_twice(
    r, ingest_url, worker, world, tmp_path, mode
):
    now = int(time.time())
    # Given integration A for company C and Jobber account J, contact sync on: it synced both clients and
    # logged a call (with its notes and tags), its AI insights (note + two tasks) and an SMS.
    a_id, a_token = install(world, tmp_path, world.account, mode)
    until(lambda: len(contacts(world)) == 2, timeout=30, what="A's contact backfill")
    call_id, call_events = ended_call(world, a_token, started_at=now - 3600)
    requests.post(f"{world.aircall}/_sandbox/calls/{call_id}/ai", json={"content": CONTENT}, timeout=5)
    ai_events = p.ai_insight_events(
        p.final_call(call_events), token=a_token, after=call_events[-1]["timestamp"]
    )
    sms = p.message_object(
        "SMreinstall1",
        direction="inbound",
        number=world.line,
        external=CALLER,
        body="Can you come Tuesday?",
        created_at=now - 3000,
    )
    sms_event = p.message_event(sms, token=a_token, timestamp=now - 3000)
    send(ingest_url, r, [*call_events, sms_event])
    send(ingest_url, r, ai_events)
    until(
        lambda: (
            len(jobber(world)["tasks"]) == 2 and activities_of(jobber(world), f"calls/{call_id}", ai=True)
        ),
        timeout=30,
        what="A's AI insights",
    )
    settle(r)
    logged, synced = jobber(world), contacts(world)
    assert (
        len(activities_of(logged, f"calls/{call_id}")) == 1
        and "Notes:" in activities_of(logged, f"calls/{call_id}")[0]
    )

    # When A is uninstalled (the purge removes its call events and AI content; what is done stays recorded)
    # and A' installed for the same company and account (a new Jobber connection) ...
    run("integrations", "delete", a_id)
    run_purge_to_the_end(r)
    tokens = requests.post(
        f"{world.jobber}/_sandbox/tokens", json={"account_id": world.account["account"]["id"]}, timeout=5
    ).json()
    b_id, b_token = install(world, tmp_path, tokens, mode)
    assert b_id != a_id
    # ... its contact backfill finds every contact synced before ...
    until(
        lambda: getattr(SyncStatus(r).latest(b_id), "state", "") == "finished", timeout=30, what="A' backfill"
    )
    assert SyncStatus(r).latest(b_id).counts == {"created": 0, "updated": 0, "deleted": 0, "unchanged": 2}
    # ... and the same webhooks reach A' (the call's end alone, its AI insights, the SMS).
    ended = [e for e in call_events if e["event"] == "call.ended"]
    send(ingest_url, r, for_token([*ended, sms_event, *ai_events], b_token))
    settle(r)

    # Then nothing is logged twice: the same activities, requests and tasks (the purge took the call's earlier
    # events, so the replayed end edits the note to what it carries; Aircall never sends A' A's old events).
    replayed = jobber(world)
    assert [len(replayed[k]) for k in ("texts", "requests", "tasks")] == [
        len(logged[k]) for k in ("texts", "requests", "tasks")
    ]
    assert replayed["requests"] == logged["requests"] and replayed["tasks"] == logged["tasks"]
    assert contacts(world) == synced
    logged = replayed

    # The first reconciliation of A' starts at its connect time: a call before it that no webhook brought (in
    # the gap between uninstall and reinstall) is not its to catch up, nor are A's calls; one after it is.
    gap_id, _ = ended_call(world, b_token, started_at=now - 1200)
    connected_at = ReconcileWatermark(r, b_id).get()
    assert connected_at is not None and connected_at > now
    after_id, _ = ended_call(world, b_token, started_at=int(connected_at))
    b = store_for().require(b_id)
    assert rc.reconcile(b, now=time.time() + rc.GRACE_S + 60) == "enqueued 1"
    until(
        lambda: activities_of(jobber(world), f"calls/{after_id}"),
        timeout=30,
        what="the call after the connect",
    )
    settle(r)
    # A backfill over the whole period logs the gap's call; a reconciliation over it then finds nothing left.
    counts = rc.backfill(b, since=now - 7200)
    assert (counts["logged"], counts["already_logged"], counts["skipped"]) == (1, 2, 0), counts
    ReconcileWatermark(r, b_id).set(now - 7200)
    assert rc.reconcile(b) == "complete"
    settle(r)

    final = jobber(world)
    for cid in (call_id, gap_id, after_id):
        assert len(activities_of(final, f"calls/{cid}")) == 1, cid
    assert activities_of(final, f"calls/{call_id}") == activities_of(logged, f"calls/{call_id}")  # untouched
    assert len(activities_of(final, f"calls/{call_id}", ai=True)) == 1
    assert len(activities_of(final, "Can you come Tuesday?")) == 1
    assert final["tasks"] == logged["tasks"]
    assert len(final["requests"]) == (
        5 if mode == "request" else 0
    )  # the call, its AI, the SMS, two more calls
    assert contacts(world) == synced


def test_a_new_integrations_first_reconciliation_starts_at_its_connect_time(
    r, ingest_url, worker, world, tmp_path
):
    """Not 6 hours back: calls before the Jobber connection are not the new integration's to catch up (after
    a reinstall, they are its predecessor's)."""
    integration_id, token = install(world, tmp_path, world.account, "note")
    connected_at = ReconcileWatermark(r, integration_id).get()
    assert connected_at is not None
    before_id, _ = ended_call(world, token, started_at=int(connected_at) - 1200)  # no webhook ever came
    after_id, _ = ended_call(world, token, started_at=int(connected_at))  # no webhook either

    integration = store_for().require(integration_id)
    assert rc.reconcile(integration, now=time.time() + rc.GRACE_S + 60) == "enqueued 1"
    until(
        lambda: activities_of(jobber(world), f"calls/{after_id}"),
        timeout=30,
        what="the call after the connect",
    )
    settle(r)
    assert activities_of(jobber(world), f"calls/{before_id}") == []


def test_a_contact_whose_mapping_was_lost_is_found_not_created_again(r, world):
    """The client → contact map expired (or was lost): the next sync finds our contacts by their numbers and
    the marker in their `information`, adopts them (updating what changed meanwhile), and never adopts
    a contact someone else made with the same number."""
    integration_id = make_tenant(jobber=world.account, aircall=world.company, contact_sync=True).id
    before = aircall_company(world)["requests"]["total"]
    assert run("sync", "contacts", integration_id, "--full")["created"] == 2
    # A scope that never synced needs no search before its creates: one request per contact.
    assert aircall_company(world)["requests"]["total"] - before == 2
    synced = {c[0]: c for c in contacts(world)}

    for key in r.scan_iter("aj:contacts:*"):  # the map is gone, as when its TTL ran out
        r.delete(key)
    requests.patch(
        f"{world.jobber}/_sandbox/clients/{world.dana}", json={"lastName": "Lopez-Garcia"}, timeout=5
    )
    requests.post(
        world.clients_url,
        json={"firstName": "Sam", "lastName": "Reyes", "phones": [{"number": "+14155550177"}]},
        timeout=5,
    ).raise_for_status()
    # Someone made Sam's contact by hand in Aircall: same name and number, but not ours.
    theirs = requests.post(
        f"{world.aircall}/v1/contacts",
        auth=(world.company["api_id"], world.company["api_token"]),
        json={
            "first_name": "Sam",
            "last_name": "Reyes",
            "phone_numbers": [{"label": "Mobile", "value": "+14155550177"}],
        },
        timeout=5,
    ).json()

    counts = run("sync", "contacts", integration_id, "--full")

    assert counts == {"created": 1, "updated": 1, "deleted": 0, "unchanged": 1}
    after = {c[0]: c for c in contacts(world)}
    assert set(synced) < set(after) and len(after) == 4  # ours, adopted; theirs; Sam's, created
    assert [c[2] for c in after.values() if c[1] == "Sam"] == ["Reyes", "Reyes"]
    dana = next(c for c in after.values() if c[1] == "Dana")
    assert dana[0] in synced and dana[2] == "Lopez-Garcia"  # the same contact, renamed
    assert after[theirs["contact"]["id"]] == (theirs["contact"]["id"], "Sam", "Reyes", ("+14155550177",))
    # Synced again with nothing changed: nothing to do.
    assert run("sync", "contacts", integration_id, "--full") == {
        "created": 0,
        "updated": 0,
        "deleted": 0,
        "unchanged": 3,
    }
