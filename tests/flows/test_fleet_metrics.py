"""What the workers record for on-call (issue 17), through a real embedded worker against the sandbox vendors,
as the ingest's /metrics exports it: workers alive, beat jobs' last runs (also in `ajctl status`), rate-limit
waits per integration and vendor, Jobber token refreshes, vendor request and insight-card latency."""

from __future__ import annotations

import itertools
import json
import time

import pytest
import requests
from click.testing import CliRunner

from cli import main as ajctl
from config.settings import get_settings
from sandbox.scenarios import payloads as p
from store import keys
from store.integrations import IntegrationStore
from store.ledger import Ledger
from store.queues import enqueue
from store.stats import BeatJobs
from store.workers import WorkerBeats
from tests.support.metrics import scrape, value, values
from tests.support.poll import until
from tests.support.tenants import make_tenant
from worker.metrics import BEAT_JOBS

pytestmark = pytest.mark.flow

LINE = p.number_object(789, e164="+14155550199", name="Support line")
AGENT = p.user_object(456, name="Madelaine Dupont", email="madelaine@acme.com")
CALLER = "+14155550100"
_ids = itertools.count(9_400_000_001)


def status_doc() -> dict:
    out = CliRunner().invoke(ajctl, ["status", "--json"])
    assert out.exit_code == 0, out.output
    return json.loads(out.stdout)


def metric(ingest_url: str, name: str, **labels: str) -> float | None:
    return value(scrape(ingest_url), name, **labels)


@pytest.fixture
def world(vendors):
    """A fresh Jobber account with the caller as a client, an Aircall company, and their integration."""
    account = requests.post(f"{vendors.jobber}/_sandbox/accounts", json={"name": "Acme"}, timeout=5).json()
    client = {"firstName": "Dana", "lastName": "Caller", "phones": [{"number": CALLER}]}
    clients = f"{vendors.jobber}/_sandbox/accounts/{account['account']['id']}/clients"
    requests.post(clients, json=client, timeout=5).raise_for_status()
    company = requests.post(
        f"{vendors.aircall}/_sandbox/companies", json={"name": "Acme", "rate_limit_per_min": 600}, timeout=5
    ).json()
    tenant = make_tenant(jobber=account, aircall=company, numbers=[LINE["id"]])
    faults = f"{vendors.jobber}/_sandbox/faults"
    yield type(
        "World",
        (),
        {
            "tenant": tenant,
            "company": company,
            "account": account,
            "faults": faults,
            "aircall": vendors.aircall,
            "jobber": vendors.jobber,
        },
    )
    requests.post(faults, json={"reset": True}, timeout=5)


def call_event(token: str, kind: str) -> dict:
    """One event (call.created, call.ended…) of a new inbound call from the client."""
    events = p.inbound_answered_call(
        next(_ids), token=token, number=LINE, external=CALLER, agent=AGENT, started_at=int(time.time())
    )
    return next(e for e in events if e["event"] == kind)


def post(ingest_url: str, event: dict) -> str:
    response = requests.post(f"{ingest_url}/webhooks/aircall", json=event, timeout=5)
    assert response.status_code == 200, response.text
    return str(response.json()["id"])


def settled(r, event_id: str) -> str:
    return (Ledger(r).get(event_id) or {}).get("outcome") not in (None, "pending")


def test_live_workers_are_counted_and_a_silent_one_is_not(r, ingest_url, worker):
    # The embedded worker heartbeats every few seconds (worker/upkeep.py).
    until(lambda: metric(ingest_url, "aj_workers_alive") == 1, timeout=20, what="the worker's heartbeat")
    beats = WorkerBeats(r)
    now = time.time()
    beats.beat("worker.silent", 1, 0, now - 600, now=now - 120)  # last heard of two minutes ago
    beats.beat("worker.other", 2, 0, now)
    assert metric(ingest_url, "aj_workers_alive") == 2
    assert "worker.silent" not in {w["name"] for w in status_doc()["workers"]}
    beats.gone("worker.other")  # a clean stop
    assert metric(ingest_url, "aj_workers_alive") == 1
    assert [w["name"] for w in status_doc()["workers"]] == [worker.hostname]


def test_beat_jobs_record_their_last_run_and_status_shows_the_overdue(r, ingest_url, worker):
    began = time.time()
    task = "maintenance.recover_lost_deliveries"
    enqueue(task, [], tenant="")  # as beat sends it, run by the worker

    def last_run() -> float:
        return metric(ingest_url, "aj_beat_job_last_run_timestamp_seconds", task=task) or 0.0

    assert until(last_run, what="the job's run in /metrics") >= began
    assert metric(ingest_url, "aj_beat_job_interval_seconds", task=task) == 300

    # A worker that started an hour ago expects every job since then: those beat never sent are overdue.
    r.hset(
        keys.STAT_BEAT_JOBS, mapping={"old.job|every": 60, "old.job|since": 1}
    )  # dropped from the schedule
    BeatJobs(r).register(BEAT_JOBS, time.time() - 3600)
    text = scrape(ingest_url)
    exported = {dict(k)["task"]: v for k, v in values(text, "aj_beat_job_last_run_timestamp_seconds").items()}
    assert set(exported) == set(BEAT_JOBS)
    assert exported[task] >= began
    assert exported["maintenance.reconcile_calls"] <= time.time() - 3600  # never ran: since it was expected

    beat = {b["task"]: b for b in status_doc()["beat"]}
    assert set(beat) == set(BEAT_JOBS)
    assert beat[task]["overdue"] is False and beat[task]["last_run_age_s"] is not None
    assert beat[task]["every_s"] == 300
    reconcile = beat["maintenance.reconcile_calls"]
    # Expected for an hour: over three of its 15-minute intervals.
    assert reconcile["overdue"] is True and reconcile["last_run_at"] is None
    shown = CliRunner().invoke(ajctl, ["status"]).output
    assert "maintenance.reconcile_calls" in shown and "OVERDUE" in shown


def test_rate_limit_waits_are_counted_per_integration_and_vendor(r, ingest_url, worker, world):
    requests.post(world.faults, json={"throttle": True}, timeout=5)  # Jobber answers THROTTLED
    event_id = post(ingest_url, call_event(world.tenant.webhook_token, "call.ended"))

    def waits() -> float:
        return (
            metric(ingest_url, "aj_rate_limit_waits_total", integration=world.tenant.id, vendor="jobber") or 0
        )

    until(waits, what="a rate-limit wait counted")
    requests.post(world.faults, json={"throttle": False}, timeout=5)
    until(
        lambda: (Ledger(r).get(event_id) or {}).get("outcome") == "done", timeout=30, what="the call logged"
    )
    parked = [a for a in Ledger(r).show(event_id)["attempts"] if a["kind"] == "rate_limited"]
    # Every wait the event went through is counted once, under its integration
    # (the worker flushes each second).
    until(lambda: waits() == len(parked), what="every wait counted")
    assert {dict(k)["vendor"] for k in values(scrape(ingest_url), "aj_rate_limit_waits_total")} == {"jobber"}


def test_jobber_token_refreshes_are_counted_by_outcome(r, ingest_url, worker, world):
    store = IntegrationStore(r, get_settings().secret_key())
    tokens, expiring = (
        f"{world.jobber}/_sandbox/tokens",
        {"account_id": world.account["account"]["id"], "access_token_ttl_s": 300},
    )
    soon = requests.post(tokens, json=expiring, timeout=5).json()
    store.set_jobber_tokens(world.tenant.id, soon["access_token"], soon["refresh_token"])
    enqueue("maintenance.refresh_jobber_token", [world.tenant.id], tenant=world.tenant.id)
    until(lambda: metric(ingest_url, "aj_jobber_token_refreshes_total", outcome="ok") == 1, what="a refresh")
    assert store.secrets(world.tenant.id).jobber_access_token != soon["access_token"]

    soon = requests.post(tokens, json=expiring, timeout=5).json()
    store.set_jobber_tokens(world.tenant.id, soon["access_token"], "a-refresh-token-jobber-never-issued")
    enqueue("maintenance.refresh_jobber_token", [world.tenant.id], tenant=world.tenant.id)
    until(
        lambda: metric(ingest_url, "aj_jobber_token_refreshes_total", outcome="failed") == 1, what="a refusal"
    )
    assert store.require(world.tenant.id).status == "needs_reconnect"
    assert metric(ingest_url, "aj_jobber_token_refreshes_total", outcome="ok") == 1


def test_vendor_requests_and_cards_are_timed(r, ingest_url, worker, world):
    """With every Jobber request taking at least 0.3 s: Jobber's requests all land above 0.25 s, and the card
    (its webhook received → posted, a Jobber search in between) too."""
    requests.post(world.faults, json={"latency_s": 0.3}, timeout=5)
    created = call_event(world.tenant.webhook_token, "call.created")
    ringing = {"call": created["data"], "company_id": world.company["id"]}
    requests.post(f"{world.aircall}/_sandbox/calls", json=ringing, timeout=5).raise_for_status()
    event_id = post(ingest_url, created)
    until(lambda: settled(r, event_id), timeout=30, what="the card")
    assert Ledger(r).get(event_id)["outcome"] == "done"

    def timed() -> str:
        # The worker flushes its counts about once a second: wait until they are all there.
        text = scrape(ingest_url)
        jobber = sum(
            n for k, n in values(text, "aj_vendor_requests_total").items() if ("vendor", "jobber") in k
        )
        count = value(text, "aj_vendor_request_seconds_count", vendor="jobber")
        aircall = value(text, "aj_vendor_request_seconds_count", vendor="aircall")
        return text if jobber and count == jobber and aircall else ""

    text = until(timed, what="the vendor requests timed")
    count = value(text, "aj_vendor_request_seconds_count", vendor="jobber")
    assert value(text, "aj_vendor_request_seconds_bucket", vendor="jobber", le="0.25") == 0
    assert value(text, "aj_vendor_request_seconds_bucket", vendor="jobber", le="+Inf") == count
    assert value(text, "aj_vendor_request_seconds_sum", vendor="jobber") >= 0.3 * count

    assert value(text, "aj_card_seconds_count") == 1
    assert value(text, "aj_card_seconds_bucket", le="0.25") == 0
    assert value(text, "aj_card_seconds_bucket", le="+Inf") == 1
    assert value(text, "aj_card_seconds_sum") >= 0.3
