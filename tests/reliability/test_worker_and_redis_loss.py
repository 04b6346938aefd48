"""SPEC §5: a worker killed mid-task, or Redis restarted (AOF on), loses nothing and duplicates nothing.

Real processes, as production runs them: uvicorn ingest and Celery workers as subprocesses on a private
Redis with AOF, against the sandbox Jobber over HTTP.
"""

from __future__ import annotations

import signal
import time

import pytest
import redis
import requests

from config.integration import IntegrationSettings
from sandbox.fleet import SECRET, Fleet
from sandbox.scenarios import payloads as p
from store.integrations import IntegrationStore, JobberAccount
from store.ledger import Ledger
from tests.support.accounting import account_calls
from tests.support.poll import until
from tests.support.queues import queued_count

pytestmark = [pytest.mark.reliability, pytest.mark.slow]

LINE = p.number_object(789, e164="+14155550199", name="Support line")
AGENT = p.user_object(456, name="Madelaine Dupont", email="madelaine@acme.com")
CALLER = "+14155550100"


@pytest.fixture
def fleet(vendors):
    f = Fleet()
    # Production defaults on purpose (RETRY_BACKOFF_MAX_S 600, HTTP_TIMEOUT_S 10, the 30 s visibility
    # timeout): recovery after a SIGKILL must not depend on tuning.
    f.env |= {
        "JOBBER_API_URL": f"{vendors.jobber}/api/graphql",
        "JOBBER_OAUTH_URL": f"{vendors.jobber}/api/oauth",
    }
    for name in ("RETRY_BACKOFF_MAX_S", "BROKER_VISIBILITY_TIMEOUT_S", "HTTP_TIMEOUT_S"):
        f.env.pop(name, None)
    try:
        yield f
    finally:
        f.stop()
        requests.post(f"{vendors.jobber}/_sandbox/faults", json={"reset": True}, timeout=5)


def setup_world(fleet: Fleet, jobber_url: str, r: redis.Redis | None = None) -> tuple[str, str, redis.Redis]:
    """A Jobber client for CALLER and an active integration;
    `r`: the store client (the fleet's Redis if None)."""
    account = requests.post(f"{jobber_url}/_sandbox/accounts", json={"name": "Acme"}, timeout=5).json()
    client = requests.post(
        f"{jobber_url}/_sandbox/accounts/{account['account']['id']}/clients",
        json={"firstName": "Dana", "lastName": "Lopez", "phones": [{"number": CALLER}]},
        timeout=5,
    ).json()
    r = r or redis.Redis.from_url(fleet.redis.url, decode_responses=True)
    store = IntegrationStore(r, SECRET)
    integration = store.create(
        aircall_api_id="a",
        aircall_token="t",
        aircall_auth="basic",
        aircall_company_id="1",
        settings=IntegrationSettings(numbers=[789]),
    )
    store.bind_webhook(integration.id, "w", "resilience-token")
    store.set_jobber_tokens(integration.id, account["access_token"], account["refresh_token"])
    store.connect_jobber_account(integration.id, JobberAccount(account["account"]["id"], "Acme"))
    return client["id"], "resilience-token", r


def notes(jobber_url: str, client_id: str) -> list[str]:
    state = requests.get(f"{jobber_url}/_sandbox/state", timeout=5).json()
    clients = [c for a in state["accounts"] for c in a["clients"] if c["id"] == client_id]
    return [n["message"] for n in clients[0]["notes"]]


def call_ended(token: str, call_id: int) -> dict:
    events = p.inbound_answered_call(
        call_id,
        token=token,
        number=LINE,
        external=CALLER,
        agent=AGENT,
        started_at=int(time.time()),
        comments=("Fix the tap.",),
        tags=(),
    )
    return next(e for e in events if e["event"] == "call.ended")


def test_a_worker_killed_mid_task_loses_nothing_and_logs_once(fleet, vendors):
    client_id, token, r = setup_world(fleet, vendors.jobber)
    ingest = fleet.ingest()
    first = fleet.worker(concurrency=4)
    # Jobber answers slowly, so the worker is caught inside the note creation when it dies.
    requests.post(f"{vendors.jobber}/_sandbox/faults", json={"reset": True, "latency_s": 2}, timeout=5)

    event_id = requests.post(
        f"{ingest}/webhooks/aircall", json=call_ended(token, 8_100_000_001), timeout=5
    ).json()["id"]
    # The activity lock is per scope (Jobber account and Aircall company) and call.
    until(
        lambda: r.hlen("unacked") and any(r.scan_iter("aj:lock:activity:*:call:8100000001")),
        timeout=20,
        what="the worker to be inside the Jobber call",
    )
    first.send_signal(signal.SIGKILL)
    killed_at = time.monotonic()
    first.wait(timeout=5)
    requests.post(f"{vendors.jobber}/_sandbox/faults", json={"reset": True}, timeout=5)

    fleet.worker(concurrency=4)  # a new worker picks the message up after the visibility timeout
    # SPEC §7: a killed worker's in-flight events are taken up again within a minute.
    until(
        lambda: Ledger(r).get(event_id).get("outcome") == "done",
        timeout=60,
        what="the event to be redelivered and done within a minute of the SIGKILL",
    )
    recovery_s = round(time.monotonic() - killed_at, 1)
    assert account_calls(
        "worker SIGKILLed mid-write", r, vendors.jobber, {"8100000001": event_id}, recovery_s=recovery_s
    ).ok

    assert (
        len(notes(vendors.jobber, client_id)) == 1
    )  # the note the dead worker started is adopted, not duplicated
    assert notes(vendors.jobber, client_id)[0].startswith("Inbound call answered by Madelaine Dupont")


def test_a_write_longer_than_the_visibility_timeout_stays_with_its_worker(fleet, vendors):
    """Workers heartbeat what they hold: a slow Jobber write is never handed to a second worker thread."""
    _, token, r = setup_world(fleet, vendors.jobber)
    fleet.env["BROKER_VISIBILITY_TIMEOUT_S"] = "3"
    ingest = fleet.ingest()
    fleet.worker(concurrency=2)
    requests.post(f"{vendors.jobber}/_sandbox/faults", json={"reset": True, "latency_s": 6}, timeout=5)

    body = call_ended(token, 8_400_000_001)
    event_id = requests.post(f"{ingest}/webhooks/aircall", json=body, timeout=5).json()["id"]
    until(
        lambda: Ledger(r).get(event_id).get("outcome") == "done", timeout=60, what="the slow write to finish"
    )

    # A redelivered copy would have run the task a second time (its lock wait hides it from the ledger, and
    # the activity record keeps it from writing twice): the fleet's task counters show every run.
    until(
        lambda: r.zcard("unacked_index") == 0 and not any(r.llen(q) for q in ("default", "jobber")),
        timeout=30,
        what="every delivery settled",
    )
    # Workers add their counts to Redis about once a second.
    until(lambda: r.hget("aj:stat:tasks", "calls.log_activity|success"), timeout=10, what="the task counts")
    time.sleep(1.5)  # one more flush: a second run, had there been one, is counted by now
    assert r.hget("aj:stat:tasks", "calls.log_activity|success") == "1"
    assert Ledger(r).show(event_id)["attempts"] == []
    assert account_calls(
        "write slower than the visibility timeout", r, vendors.jobber, {"8400000001": event_id}
    ).ok


def test_a_redis_restart_loses_no_accepted_event(fleet, vendors):
    client_id, token, r = setup_world(fleet, vendors.jobber)
    ingest = fleet.ingest()
    events = [call_ended(token, 8_200_000_000 + i) for i in range(5)]
    accepted = [requests.post(f"{ingest}/webhooks/aircall", json=e, timeout=5).json()["id"] for e in events]

    fleet.redis.restart()  # no worker yet: the events exist only in Redis (AOF)
    r = redis.Redis.from_url(fleet.redis.url, decode_responses=True)
    assert queued_count(r) == 5  # one task per event, in its flow's queue or tenant lane
    fleet.worker(concurrency=4)
    until(
        lambda: all(Ledger(r).get(i).get("outcome") == "done" for i in accepted),
        timeout=40,
        what="all five logged",
    )
    assert len(notes(vendors.jobber, client_id)) == 5
    calls = {str(8_200_000_000 + i): accepted[i] for i in range(5)}
    assert account_calls("Redis restarted with events queued", r, vendors.jobber, calls).ok
    # The ingest reconnects by itself after the restart.
    again = requests.post(f"{ingest}/webhooks/aircall", json=events[0], timeout=5)
    assert again.status_code == 200 and again.json()["status"] == "duplicate"


def test_the_ingest_answers_503_while_redis_is_down_and_recovers(fleet, vendors):
    _, token, _ = setup_world(fleet, vendors.jobber)
    ingest = fleet.ingest()
    fleet.redis._halt()
    try:
        down = requests.post(f"{ingest}/webhooks/aircall", json=call_ended(token, 8_300_000_001), timeout=30)
        assert down.status_code == 503 and "retry later" in down.json()["error"]
        assert requests.get(f"{ingest}/readyz", timeout=30).status_code == 503
        assert requests.get(f"{ingest}/healthz", timeout=5).status_code == 200  # the process itself is fine
    finally:
        fleet.redis.proc = fleet.redis._start()
    up = requests.post(f"{ingest}/webhooks/aircall", json=call_ended(token, 8_300_000_001), timeout=10)
    assert up.status_code == 200 and up.json()["status"] == "enqueued"
