"""Reconciliation: calls whose webhooks never arrived are found through the Aircall API and logged once."""

from __future__ import annotations

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
from store.ledger import Ledger
from tests.support.poll import until
from tests.support.queues import queued_messages

pytestmark = pytest.mark.flow

AGENT = p.user_object(456, name="Madelaine Dupont", email="madelaine@acme.com")
CALLER = "+14155550100"


def test_missed_webhooks_are_logged_once_and_known_calls_left_alone(r, ingest_url, worker, vendors, tmp_path):
    company = requests.post(f"{vendors.aircall}/_sandbox/companies", json={"name": "Acme"}, timeout=5).json()
    line = company["numbers"][0]
    other_line = {**line, "id": line["id"] + 1000}
    account = requests.post(f"{vendors.jobber}/_sandbox/accounts", json={"name": "Acme"}, timeout=5).json()
    dana = requests.post(
        f"{vendors.jobber}/_sandbox/accounts/{account['account']['id']}/clients",
        json={"firstName": "Dana", "lastName": "Lopez", "phones": [{"number": CALLER}]},
        timeout=5,
    ).json()
    settings_file = tmp_path / "s.json"
    settings_file.write_text(json.dumps({"numbers": [line["id"]]}))
    created = json.loads(
        CliRunner()
        .invoke(
            ajctl,
            [
                "integrations",
                "create",
                "--aircall-api-id",
                company["api_id"],
                "--aircall-api-token",
                company["api_token"],
                "--jobber-access-token",
                account["access_token"],
                "--jobber-refresh-token",
                account["refresh_token"],
                "--settings",
                str(settings_file),
                "--json",
            ],
        )
        .stdout
    )
    token = next(
        w["token"]
        for w in requests.get(f"{vendors.aircall}/_sandbox/state", timeout=5).json()["companies"][0][
            "webhooks"
        ]
    )
    an_hour_ago = int(time.time()) - 3600

    def ended_call(call_id: int, number: dict, started: int) -> dict:
        events = p.inbound_answered_call(
            call_id,
            token=token,
            number=number,
            external=CALLER,
            agent=AGENT,
            started_at=started,
            comments=(),
            tags=(),
        )
        call = next(e for e in events if e["event"] == "call.ended")
        requests.post(
            f"{vendors.aircall}/_sandbox/calls",
            json={"call": call["data"], "company_id": company["id"]},
            timeout=5,
        )
        return call

    missed = [
        ended_call(9_500_000_001 + i, line, an_hour_ago + 60 * i) for i in range(3)
    ]  # no webhook ever came
    delivered = ended_call(9_500_000_010, line, an_hour_ago + 600)
    ended_call(9_500_000_020, other_line, an_hour_ago + 700)  # not a connected number
    ended_call(9_500_000_030, line, int(time.time()) - 60)  # its webhook may still be on its way
    delivered_id = requests.post(f"{ingest_url}/webhooks/aircall", json=delivered, timeout=5).json()["id"]
    until(lambda: (Ledger(r).get(delivered_id) or {}).get("outcome") == "done", what="the delivered call")

    integration = store_for().require(created["id"])
    # The calls are an hour old: as if Jobber had been connected two hours ago (reconciliation starts there).
    ReconcileWatermark(r, integration.id).set(time.time() - 7200)
    assert rc.reconcile(integration) == "enqueued 3"
    state_url = f"{vendors.jobber}/_sandbox/state"

    def notes() -> list[str]:
        clients = requests.get(state_url, timeout=5).json()["accounts"][0]["clients"]
        return [n["message"] for c in clients if c["id"] == dana["id"] for n in c["notes"]]

    until(lambda: len(notes()) == 4, what="the three missed calls to be logged")
    for call in missed:
        assert sum(f"calls/{call['data']['id']}" in n for n in notes()) == 1
    assert rc.reconcile(integration) == "complete"  # nothing left: no duplicates on the next run
    until(lambda: not queued_messages(r) and r.hlen(keys.KOMBU_UNACKED) == 0, what="nothing left to run")
    assert len(notes()) == 4


def test_backfill_run_again_counts_honestly(r, ingest_url, worker, vendors):
    """Every run reports the same calls the same way: `already_logged` only for calls whose activity exists
    (as many as Jobber holds), every call not logged on purpose as `skipped` with its reason."""
    from datetime import UTC, datetime

    from config.integration import IntegrationSettings
    from tests.support.tenants import make_tenant

    company = requests.post(f"{vendors.aircall}/_sandbox/companies", json={"name": "Acme"}, timeout=5).json()
    line = company["numbers"][0]
    other_line = {**line, "id": line["id"] + 1}
    account = requests.post(f"{vendors.jobber}/_sandbox/accounts", json={"name": "Acme"}, timeout=5).json()
    requests.post(
        f"{vendors.jobber}/_sandbox/accounts/{account['account']['id']}/clients",
        json={"firstName": "Dana", "lastName": "Lopez", "phones": [{"number": CALLER}]},
        timeout=5,
    )
    tenant = make_tenant(jobber=account, aircall=company, numbers=[line["id"]])
    day_ago = int(time.time()) - 86400

    def in_aircall(events: list[dict], event: str = "call.ended") -> dict:
        call = next(e for e in events if e["event"] == event)
        requests.post(
            f"{vendors.aircall}/_sandbox/calls",
            json={"call": call["data"], "company_id": company["id"]},
            timeout=5,
        ).raise_for_status()
        return call

    def answered(call_id: int, number: dict = line, external: str = CALLER) -> list[dict]:
        return p.inbound_answered_call(
            call_id,
            token=tenant.webhook_token,
            number=number,
            external=external,
            agent=AGENT,
            started_at=day_ago + call_id % 100 * 60,
            comments=(),
            tags=(),
        )

    in_aircall(answered(9_600_000_001))  # a known caller: the backfill logs it
    logged_before = in_aircall(answered(9_600_000_002))  # its webhook came: logged already
    in_aircall(answered(9_600_000_003, number=other_line))  # a number not connected (yet)
    in_aircall(answered(9_600_000_004, external="+14155550166"))  # no such client, and creation is off
    in_aircall(answered(9_600_000_005), event="call.answered")  # still in progress
    in_aircall(
        p.missed_call(
            9_600_000_006,
            token=tenant.webhook_token,
            number=line,
            external="anonymous",
            agent=None,
            started_at=day_ago + 360,
        )
    )  # a withheld number
    voice_agent = p.aiva_call(
        9_600_000_007, token=tenant.webhook_token, number=line, external=CALLER, started_at=day_ago + 420
    )  # the AI Voice Agent handled it; that logging is off
    in_aircall(voice_agent)
    sent = [logged_before, *(e for e in voice_agent if e["event"].startswith("ai_voice_agent."))]
    ids = [requests.post(f"{ingest_url}/webhooks/aircall", json=e, timeout=5).json()["id"] for e in sent]
    until(
        lambda: all((Ledger(r).get(i) or {}).get("outcome") not in (None, "pending") for i in ids),
        what="the webhooks",
    )

    def notes_in_jobber() -> int:
        clients = requests.get(f"{vendors.jobber}/_sandbox/state", timeout=5).json()["accounts"][0]["clients"]
        return sum(len(c["notes"]) for c in clients)

    since = datetime.fromtimestamp(day_ago - 60, UTC).strftime("%Y-%m-%dT%H:%M:%S")
    args = ["backfill", "calls", tenant.id, "--since", since, "--json"]
    first = json.loads(CliRunner().invoke(ajctl, args).stdout)
    again = json.loads(CliRunner().invoke(ajctl, args).stdout)

    reasons = {
        f"Aircall number {other_line['id']} is not connected (settings.numbers)": 1,
        "no Jobber client has +14155550166, and contact creation is off": 1,
        "still in progress (the next run looks again)": 1,
        "withheld or invalid caller number ('anonymous'): not matched": 1,
        "AI Voice Agent call, and ai_voice_agent_logging is off: not logged": 1,
    }
    assert first == {"logged": 1, "already_logged": 1, "skipped": 5, "failed": 0, "reasons": reasons}
    assert again == {"logged": 0, "already_logged": 2, "skipped": 5, "failed": 0, "reasons": reasons}
    assert again["already_logged"] == notes_in_jobber() == 2
    human = CliRunner().invoke(ajctl, args[:-1]).stdout
    assert human.startswith("logged 0, already_logged 2, skipped 5, failed 0\n")
    assert "  skipped 1: no Jobber client has +14155550166, and contact creation is off" in human

    # Once the other number is connected, its call has no reason to be skipped any more: it is logged.
    store_for().set_settings(
        tenant.id, IntegrationSettings.parse({"numbers": [line["id"], other_line["id"]]})
    )
    third = json.loads(CliRunner().invoke(ajctl, args).stdout)
    assert (third["logged"], third["already_logged"], third["skipped"]) == (1, 2, 4)
    assert third["already_logged"] + third["logged"] == notes_in_jobber() == 3


def test_a_call_listed_for_the_window_but_started_before_since_is_skipped_once() -> None:
    """Which timestamp Aircall's `from` filters on is unconfirmed: a call that started before --since is not
    run through the flow whatever the listing says."""
    since = 1_790_000_000
    call = {"id": 1, "status": "done", "ended_at": since + 100, "started_at": since - 30, "number": {"id": 7}}
    assert rc._not_logged_because(call, {7}, since) == f"started before --since ({since})"
    assert rc._not_logged_because({**call, "started_at": since}, {7}, since) is None
    assert rc._not_logged_because(call, {8}, since) == "Aircall number 7 is not connected (settings.numbers)"


# ---- beyond Aircall's 10,000-item paging ceiling (aircall-api.md §2) ---------------------------------------


def _many_calls(aircall_url: str, company: dict, token: str, n: int, start: int, tied: int = 0) -> set[int]:
    """`n` ended calls on the company's first line, one a minute from `start`; the first `tied` of them start
    in the same second (ties at a window boundary)."""
    line = company["numbers"][0]
    ids = set()
    for i in range(n):
        call_id = 9_700_000_000 + i
        started = start + (0 if i < tied else 60 * i)
        events = p.inbound_answered_call(
            call_id,
            token=token,
            number=line,
            external=CALLER,
            agent=AGENT,
            started_at=started,
            comments=(),
            tags=(),
        )
        ended = next(e for e in events if e["event"] == "call.ended")
        requests.post(
            f"{aircall_url}/_sandbox/calls",
            json={"call": ended["data"], "company_id": company["id"]},
            timeout=5,
        ).raise_for_status()
        ids.add(call_id)
    return ids


def test_listing_calls_beyond_the_paging_ceiling_sees_each_call_once(vendors):
    from clients.aircall import AircallClient

    company = requests.post(f"{vendors.aircall}/_sandbox/companies", json={"name": "Acme"}, timeout=5).json()
    requests.post(f"{vendors.aircall}/_sandbox/paging", json={"ceiling": 100}, timeout=5).raise_for_status()
    start = int(time.time()) - 2 * 86400
    expected = _many_calls(vendors.aircall, company, "t", 250, start, tied=30)
    aircall = AircallClient(vendors.aircall, api_id=company["api_id"], api_token=company["api_token"])

    listed = [int(c["id"]) for c in rc.recent_calls(aircall, start, time.time())]

    assert len(listed) == len(set(listed)) == 250 and set(listed) == expected
    # Paging itself stopped at the ceiling, as Aircall's does: no page past it was ever asked for.
    routes = requests.get(f"{vendors.aircall}/_sandbox/state", timeout=5).json()["companies"][0]["requests"]
    assert routes["by_route"]["GET /v1/calls"] <= 20


def test_backfill_logs_every_call_beyond_the_paging_ceiling_exactly_once(r, vendors, tmp_path):
    from datetime import UTC, datetime

    from tests.support.tenants import make_tenant

    company = requests.post(f"{vendors.aircall}/_sandbox/companies", json={"name": "Acme"}, timeout=5).json()
    account = requests.post(f"{vendors.jobber}/_sandbox/accounts", json={"name": "Acme"}, timeout=5).json()
    dana = requests.post(
        f"{vendors.jobber}/_sandbox/accounts/{account['account']['id']}/clients",
        json={"firstName": "Dana", "lastName": "Lopez", "phones": [{"number": CALLER}]},
        timeout=5,
    ).json()
    tenant = make_tenant(jobber=account, aircall=company, numbers=[company["numbers"][0]["id"]])
    requests.post(f"{vendors.aircall}/_sandbox/paging", json={"ceiling": 100}, timeout=5).raise_for_status()
    start = int(time.time()) - 2 * 86400
    expected = _many_calls(vendors.aircall, company, tenant.webhook_token, 250, start)

    since = datetime.fromtimestamp(start - 60, UTC).strftime("%Y-%m-%dT%H:%M:%S")
    out = CliRunner().invoke(ajctl, ["backfill", "calls", tenant.id, "--since", since, "--json"])

    assert out.exit_code == 0, out.output
    counts = json.loads(out.stdout)
    assert (counts["logged"], counts["already_logged"], counts["skipped"], counts["failed"]) == (250, 0, 0, 0)
    clients = requests.get(f"{vendors.jobber}/_sandbox/state", timeout=5).json()["accounts"][0]["clients"]
    notes = [n["message"] for c in clients if c["id"] == dana["id"] for n in c["notes"]]
    assert sorted(int(n.split("/v1/calls/")[1].split()[0]) for n in notes) == sorted(expected)
