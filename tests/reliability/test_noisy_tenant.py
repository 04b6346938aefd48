"""One tenant never slows another (issue 10, SPEC §7): while tenant A floods the fleet with calls, or its
Jobber answers THROTTLED for minutes, tenant B's calls are still logged within seconds.

Real processes (uvicorn ingest, a Celery worker, the sandbox Jobber) on a private Redis. Fairness is shown
relative to A's backlog, not by a clock: B's call is logged while most of A's flood is still waiting.
"""

from __future__ import annotations

import json
import time
from datetime import datetime

import pytest
import redis
import requests

from config.integration import IntegrationSettings
from sandbox.fleet import SECRET, Fleet, post_all
from sandbox.scenarios import payloads as p
from store.integrations import IntegrationStore, JobberAccount
from tests.support.accounting import account_calls, scale
from tests.support.poll import until

pytestmark = [pytest.mark.reliability, pytest.mark.slow]

AGENT = p.user_object(456, name="Madelaine Dupont", email="madelaine@acme.com")


@pytest.fixture
def fleet(vendors):
    f = Fleet()
    f.env |= {
        "JOBBER_API_URL": f"{vendors.jobber}/api/graphql",
        "JOBBER_OAUTH_URL": f"{vendors.jobber}/api/oauth",
    }
    try:
        yield f
    finally:
        f.stop()
        requests.post(f"{vendors.jobber}/_sandbox/faults", json={"reset": True}, timeout=5)


def tenant(fleet: Fleet, jobber_url: str, name: str, line_id: int, caller: str) -> tuple[str, dict]:
    """An integration on its own Jobber account with one client; (webhook token, account)."""
    account = requests.post(f"{jobber_url}/_sandbox/accounts", json={"name": name}, timeout=5).json()
    requests.post(
        f"{jobber_url}/_sandbox/accounts/{account['account']['id']}/clients",
        json={"firstName": name, "lastName": "Client", "phones": [{"number": caller}]},
        timeout=5,
    )
    store = IntegrationStore(redis.Redis.from_url(fleet.redis.url, decode_responses=True), SECRET)
    integration = store.create(
        aircall_api_id=name,
        aircall_token="t",
        aircall_auth="basic",
        aircall_company_id=name,
        settings=IntegrationSettings(numbers=[line_id]),
    )
    token = f"token-{name}"
    store.bind_webhook(integration.id, f"w-{name}", token)
    store.set_jobber_tokens(integration.id, account["access_token"], account["refresh_token"])
    store.connect_jobber_account(integration.id, JobberAccount(account["account"]["id"], name))
    return token, account


def call_ended(token: str, call_id: int, line_id: int, caller: str) -> dict:
    line = p.number_object(line_id, e164=f"+1415555{line_id % 10000:04d}", name="Line")
    events = p.inbound_answered_call(
        call_id,
        token=token,
        number=line,
        external=caller,
        agent=AGENT,
        started_at=int(time.time()),
        comments=(),
        tags=(),
    )
    return next(e for e in events if e["event"] == "call.ended")


def settled_at(r: redis.Redis, event_id: str) -> float | None:
    entry = r.hgetall(f"aj:ev:{event_id}")
    if entry.get("outcome") != "done" or not entry.get("settled_at"):
        return None
    return (
        datetime.fromisoformat(entry["settled_at"]) - datetime.fromisoformat(entry["received_at"])
    ).total_seconds()


def pending(r: redis.Redis, ids: list[str]) -> int:
    pipe = r.pipeline()
    for event_id in ids:
        pipe.hget(f"aj:ev:{event_id}", "outcome")
    return sum(1 for outcome in pipe.execute() if outcome in (None, "pending"))


@pytest.mark.parametrize("trouble", ["flood", "throttled"])
def test_a_noisy_tenant_does_not_starve_another(fleet, vendors, trouble):
    token_a, account_a = tenant(fleet, vendors.jobber, "Alpha", 7001, "+14155550101")
    token_b, _ = tenant(fleet, vendors.jobber, "Bravo", 7002, "+14155550102")
    r = redis.Redis.from_url(fleet.redis.url, decode_responses=True)
    ingest = fleet.ingest()
    flood = scale(600, 2000)
    if trouble == "throttled":
        # A's Jobber account answers THROTTLED for the whole test (its cost bucket deep in debt).
        requests.post(
            f"{vendors.jobber}/_sandbox/bucket",
            json={"account_id": account_a["account"]["id"], "available": -10_000_000},
            timeout=5,
        )
    else:
        # Every Jobber request takes a while, as real Jobber's do: A's flood is minutes of work.
        requests.post(f"{vendors.jobber}/_sandbox/faults", json={"reset": True, "latency_s": 0.2}, timeout=5)

    a_events = [call_ended(token_a, 9_500_000_000 + i, 7001, "+14155550101") for i in range(flood)]
    a_ids = post_all(ingest, a_events, 16)  # accepted before any worker runs: a real backlog
    fleet.worker(concurrency=8)
    # Being worked on: some of A's calls logged, or (throttled) parked to wait for A's Jobber.
    until(
        lambda: pending(r, a_ids) < flood or r.zcard("aj:due") > 0,
        timeout=60,
        what="A's flood being worked on",
    )

    b_calls = {str(9_600_000_000 + i): "" for i in range(3)}
    for call_id in b_calls:
        b_calls[call_id] = post_all(ingest, [call_ended(token_b, int(call_id), 7002, "+14155550102")], 1)[0]
    until(
        lambda: all(settled_at(r, e) is not None for e in b_calls.values()),
        timeout=60,
        what="B's calls logged",
    )
    a_waiting = pending(r, a_ids)
    b_seconds = max(settled_at(r, e) or 0 for e in b_calls.values())

    # B was served while most of A's flood still waited its turn.
    assert a_waiting > flood // 2, (a_waiting, flood)
    result = account_calls(
        f"noisy tenant A ({trouble}): tenant B",
        r,
        vendors.jobber,
        b_calls,
        b_latency_s=round(b_seconds, 2),
        a_flood=flood,
        a_still_waiting=a_waiting,
    )
    assert result.ok and result.logged_once == len(b_calls)


def test_a_tenant_over_its_pending_cap_is_refused_until_its_events_settle(fleet, vendors):
    """Real processes: tenant A's events fill its share of Redis (TENANT_PENDING_MAX_BYTES) while no worker
    runs, so its next webhooks get 429 and nothing of them is stored, while tenant B's are accepted; once
    a worker has settled A's events, A's refused webhooks (Aircall's retries) are accepted, and every call is
    logged once."""
    token_a, _ = tenant(fleet, vendors.jobber, "Alpha", 7001, "+14155550101")
    token_b, _ = tenant(fleet, vendors.jobber, "Bravo", 7002, "+14155550102")
    r = redis.Redis.from_url(fleet.redis.url, decode_responses=True)
    a_events = [call_ended(token_a, 9_700_000_000 + i, 7001, "+14155550101") for i in range(30)]
    fleet.env |= {"TENANT_PENDING_MAX_BYTES": str(10 * (len(json.dumps(a_events[0])) + 1200))}
    ingest = fleet.ingest()

    # Given A's pending events fill its share
    answers = [requests.post(f"{ingest}/webhooks/aircall", json=e, timeout=10) for e in a_events]
    statuses = [a.status_code for a in answers]
    accepted = {
        str(e["data"]["id"]): a.json()["id"]
        for e, a in zip(a_events, answers, strict=True)
        if a.status_code == 200
    }
    refused = [e for e, a in zip(a_events, answers, strict=True) if a.status_code == 429]
    assert 5 <= len(accepted) <= 15 and len(accepted) + len(refused) == len(a_events), statuses
    # B is served all the same
    b_calls = {str(9_800_000_000 + i): "" for i in range(3)}
    for call_id in b_calls:
        b_calls[call_id] = post_all(ingest, [call_ended(token_b, int(call_id), 7002, "+14155550102")], 1)[0]

    # When a worker settles A's events, A's retried webhooks are accepted again
    fleet.worker(concurrency=8)
    until(lambda: pending(r, list(accepted.values())) == 0, timeout=60, what="A's accepted calls logged")
    for event in refused:  # what Aircall's retries do
        accepted[str(event["data"]["id"])] = post_all(ingest, [event], 1)[0]
    every = list(accepted.values()) + list(b_calls.values())
    until(lambda: pending(r, every) == 0, timeout=60, what="every call logged")

    scenario = "tenant A over its pending cap: A and B"
    result = account_calls(scenario, r, vendors.jobber, accepted | b_calls, a_refused_at_first=len(refused))
    assert result.ok and result.logged_once == len(a_events) + len(b_calls)
