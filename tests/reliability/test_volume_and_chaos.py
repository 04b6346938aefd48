"""At-least-once, unordered delivery at volume, with and without vendor chaos (SPEC §5): every call is
logged exactly once or skipped with its reason; none lost, none doubled.

Real processes (uvicorn ingest, two Celery workers, the sandbox Jobber) on a private Redis with AOF. Every
event of every call lifecycle is delivered twice, all shuffled. Under chaos, Jobber answers 503s, 429s,
THROTTLED and requests slower than the HTTP timeout (the dangerous kind: the write may have happened) while
the calls are logged.
"""

from __future__ import annotations

import threading

import pytest
import redis
import requests

from config.integration import IntegrationSettings
from sandbox.fleet import SECRET, Fleet, post_all
from sandbox.scenarios.library import ScenarioContext, build, delivery_order
from store.integrations import IntegrationStore, JobberAccount
from tests.support.accounting import account_calls, scale
from tests.support.poll import until

pytestmark = [pytest.mark.reliability, pytest.mark.slow]

SHAPES = (
    "inbound_answered",
    "missed",
    "voicemail",
    "outbound",
    "transfer",
    "external_transfer",
    "assigned",
    "untagged",
    "anonymous",
)
CHAOS = [
    {"error_rate": 0.3, "error_status": 503},
    {"throttle": True},
    {"latency_s": 1.5},
    {"error_rate": 0.3, "error_status": 429},
    {},
]


@pytest.fixture
def fleet(vendors):
    f = Fleet()
    f.env |= {
        "JOBBER_API_URL": f"{vendors.jobber}/api/graphql",
        "JOBBER_OAUTH_URL": f"{vendors.jobber}/api/oauth",
        "RETRY_BACKOFF_MAX_S": "2",
        "HTTP_TIMEOUT_S": "1",
    }
    try:
        yield f
    finally:
        f.stop()
        requests.post(f"{vendors.jobber}/_sandbox/faults", json={"reset": True}, timeout=5)


def world(fleet: Fleet, jobber_url: str) -> tuple[str, list[str], list[dict]]:
    account = requests.post(
        f"{jobber_url}/_sandbox/accounts", json={"name": "Volume", "seed_clients": 40, "seed": 5}, timeout=10
    ).json()
    state = requests.get(
        f"{jobber_url}/_sandbox/state", params={"account_id": account["account"]["id"]}, timeout=10
    )
    phones = [
        ph["normalizedPhoneNumber"]
        for c in state.json()["accounts"][0]["clients"]
        if not c.get("isArchived")
        for ph in c.get("phones") or []
        if ph.get("normalizedPhoneNumber")
    ]
    numbers = [
        {
            "id": 8801,
            "name": "Main",
            "digits": "+1 415-555-0190",
            "e164_digits": "+14155550190",
            "country": "US",
        }
    ]
    store = IntegrationStore(redis.Redis.from_url(fleet.redis.url, decode_responses=True), SECRET)
    integration = store.create(
        aircall_api_id="v",
        aircall_token="t",
        aircall_auth="basic",
        aircall_company_id="v",
        settings=IntegrationSettings(numbers=[8801]),
    )
    store.bind_webhook(integration.id, "w", "volume-token")
    store.set_jobber_tokens(integration.id, account["access_token"], account["refresh_token"])
    store.connect_jobber_account(integration.id, JobberAccount(account["account"]["id"], "Volume"))
    return "volume-token", sorted(set(phones))[:30], numbers


# How long Jobber misbehaves: every fault of CHAOS, twice, while the burst is being logged. Then it
# recovers, as a real outage does. Without an end, every retry can land in another fault (a 429 without
# Retry-After parks the event 30 s, clients/jobber.py), so the time to settle would have no bound; with one,
# it is this window, plus the longest single wait (30 s), plus the work.
CHAOS_WINDOW_S = 2 * len(CHAOS)
SETTLE_TIMEOUT_S = scale(150, 600)


def chaos(jobber_url: str, stop: threading.Event) -> None:
    for i in range(CHAOS_WINDOW_S):
        if stop.wait(1.0):
            break
        requests.post(
            f"{jobber_url}/_sandbox/faults", json={"reset": True, **CHAOS[i % len(CHAOS)]}, timeout=5
        )
    requests.post(f"{jobber_url}/_sandbox/faults", json={"reset": True}, timeout=5)


@pytest.mark.parametrize("with_chaos", [False, True], ids=["calm", "chaos"])
@pytest.mark.timeout(SETTLE_TIMEOUT_S + 60)
def test_every_call_once_with_duplicates_shuffling_and_vendor_chaos(fleet, vendors, with_chaos):
    token, externals, numbers = world(fleet, vendors.jobber)
    ctx = ScenarioContext(token=token, externals=externals, numbers=numbers, seed=11)
    lifecycles = scale(4, 25)
    events = [e for shape in SHAPES for e in build(shape, ctx, count=lifecycles)]
    deliveries = delivery_order(events, duplicates=2, shuffle=True, seed=3)
    ingest = fleet.ingest()
    ids = post_all(ingest, deliveries, 16)
    ended = {
        str(e["data"]["id"]): event_id
        for e, event_id in zip(deliveries, ids, strict=True)
        if e["event"] == "call.ended"
    }
    r = redis.Redis.from_url(fleet.redis.url, decode_responses=True)

    stop = threading.Event()
    if with_chaos:
        threading.Thread(target=chaos, args=(vendors.jobber, stop), daemon=True).start()
    fleet.worker(concurrency=8)
    fleet.worker(concurrency=8)
    try:
        until(
            lambda: (
                r.llen("jobber") + r.llen("default") + r.zcard("aj:due") == 0
                and all(r.hget(f"aj:ev:{i}", "outcome") not in (None, "pending") for i in set(ids))
            ),
            timeout=SETTLE_TIMEOUT_S,
            interval=0.5,
            what="every event settled",
        )
    finally:
        stop.set()
    result = account_calls(
        f"{len(ended)} calls x2 shuffled ({'chaos' if with_chaos else 'calm'})",
        r,
        vendors.jobber,
        ended,
        deliveries=len(deliveries),
    )
    assert result.ok, result.line()
    assert result.logged_once + result.skipped == len(ended)  # nothing dead-lettered: retries outlast chaos
