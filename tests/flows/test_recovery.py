"""Deliveries lost to a Redis failover (flows/recovery.py): a pending event whose message no queue holds is
sent again and logged once; one whose message still waits somewhere is left alone.

The loss itself (kombu's pop replicated, its in-flight record not) is what `record_synthetic` leaves behind:
a pending ledger entry, in the pending index, with no message anywhere. The failover test in
tests/reliability/ shows the whole path with a real Sentinel failover.

The test without a worker runs first: the module's embedded worker, once started, would drain the queues.
"""

from __future__ import annotations

import json
import time

import pytest
import requests

from config.queues import ALL_QUEUES, QUEUE_JOBBER
from flows.recovery import MAX_PER_RUN, PAGE, STALE_S, recover_lost_deliveries
from sandbox.scenarios import payloads as p
from store import keys
from store.ledger import Ledger
from store.messages import task_message
from store.queues import FairQueues
from tests.support.poll import until
from tests.support.tenants import make_tenant

pytestmark = pytest.mark.flow

LINE = p.number_object(789, e164="+14155550199", name="Support line")
AGENT = p.user_object(456, name="Madelaine Dupont", email="madelaine@acme.com")


def lost(r, tenant, call_id: int, caller: str = "+14155550100") -> str:
    """A `call.ended` whose delivery was lost: pending in the ledger, in no queue."""
    events = p.inbound_answered_call(
        call_id,
        token=tenant.webhook_token,
        number=LINE,
        external=caller,
        agent=AGENT,
        started_at=1_790_000_000,
    )
    ended = next(e for e in events if e["event"] == "call.ended")
    event_id = f"ev_lost{call_id}"
    Ledger(r).record_synthetic(
        event_id, tenant.id, source="aircall", event="call.ended", resource_id=str(call_id), raw=ended
    )
    return event_id


def later() -> float:
    return time.time() + STALE_S + 1


def test_events_whose_message_still_waits_are_left_alone(r):
    tenant = make_tenant()
    queues = FairQueues(r, depth=64, fair=frozenset({QUEUE_JOBBER}))
    delayed, in_lane, held, gone = (lost(r, tenant, n) for n in (1, 2, 3, 4))
    queues.defer(
        QUEUE_JOBBER,
        tenant.id,
        task_message("calls.log_activity", [delayed], QUEUE_JOBBER),
        time.time() + 3600,
    )
    r.lpush(keys.lane(QUEUE_JOBBER, tenant.id), task_message("calls.log_activity", [in_lane], QUEUE_JOBBER))
    r.hset(
        keys.KOMBU_UNACKED,
        "tag-1",
        json.dumps([json.loads(task_message("calls.log_activity", [held], QUEUE_JOBBER)), "", QUEUE_JOBBER]),
    )
    Ledger(r).set_outcome(gone, "done")  # settled meanwhile: leaves the index
    # The held one left the lane minutes before the one still in it was handed in
    # (the lane is first in, first out).
    r.zadd(keys.PENDING, {held: time.time() - 300})

    assert recover_lost_deliveries(now=time.time()) == {}  # nothing is stale yet
    # The delayed retry is not stale before it is due; the one in its lane waits there; a worker holds one.
    assert recover_lost_deliveries(now=later()) == {"waiting": 1, "in_flight": 1}
    assert r.llen(QUEUE_JOBBER) == 0 and r.llen(keys.lane(QUEUE_JOBBER, tenant.id)) == 1
    assert r.zscore(keys.PENDING, gone) is None
    assert r.zscore(keys.PENDING, delayed) >= time.time() + 3000  # due in an hour

    r.delete(keys.event(in_lane))  # the ledger forgot it (retention): the index forgets it too
    assert recover_lost_deliveries(now=later()) == {"in_flight": 1, "forgotten": 1}


def backlog(r, tenant, n: int, handed_at: float, body_bytes: int) -> list[str]:
    """`n` pending events of `tenant` handed to its `jobber` lane at `handed_at` (+ a ms each), each
    with a raw body of `body_bytes` (written as the claim script writes them); the first FAIR_QUEUE_DEPTH
    are dispatched."""
    ids, pipe = [], r.pipeline(transaction=False)
    for i in range(n):
        event_id = f"ev_backlog{i}"
        pipe.hset(
            keys.event(event_id),
            mapping={
                "id": event_id,
                "integration": tenant.id,
                "source": "aircall",
                "event": "call.ended",
                "resource_id": str(i),
                "received_at": "2026-12-01T00:00:00+00:00",
                "raw": "x" * body_bytes,
                "outcome": "pending",
                "reason": "",
            },
        )
        pipe.zadd(keys.PENDING, {event_id: handed_at + i / 1000})
        ids.append(event_id)
    pipe.execute()
    queues = FairQueues(r, depth=64, fair=frozenset({QUEUE_JOBBER}))
    for i, event_id in enumerate(ids):
        message = task_message("calls.log_activity", [event_id], QUEUE_JOBBER, sent_at=handed_at + i / 1000)
        queues.enqueue(QUEUE_JOBBER, tenant.id, message)
    return ids


def test_the_sweep_costs_what_it_looks_at_not_the_backlog(r):
    """Beat's sweep runs exactly when backlogs are large: it reads at most MAX_PER_RUN stale events, never a
    raw body, a tenant lane or the delayed retries, yet finds the one delivery lost behind a deep lane."""
    # Given a tenant whose lane holds a backlog of 3,000 events handed to it an hour ago, 1,000 delayed
    # retries, and one event handed to the lane before them whose message a failover lost
    tenant = make_tenant()
    now = time.time()
    gone = lost(r, tenant, 7)
    r.zadd(keys.PENDING, {gone: now - 2 * 3600})
    waiting = backlog(r, tenant, 3_000, now - 3600, body_bytes=4_096)
    queues = FairQueues(r, depth=64, fair=frozenset({QUEUE_JOBBER}))
    for i in range(1_000):
        queues.defer(
            QUEUE_JOBBER,
            tenant.id,
            task_message("calls.log_activity", [f"ev_retry{i}"], QUEUE_JOBBER, kwargs={"pad": "y" * 1_000}),
            now + 600,
        )
    held_in_redis = sum(int(r.memory_usage(k) or 0) for k in (keys.lane(QUEUE_JOBBER, tenant.id), keys.DUE))
    held_in_redis += 3_000 * 4_096
    r.config_resetstat()
    before = r.info("stats")["total_net_output_bytes"]

    # When the sweep runs
    counts = recover_lost_deliveries(now=now)

    # Then it resent the lost one, looked at no more than MAX_PER_RUN events, and read a small, fixed amount
    read = r.info("stats")["total_net_output_bytes"] - before
    calls = {k.removeprefix("cmdstat_"): v["calls"] for k, v in r.info("commandstats").items()}
    assert counts == {"recovered": 1, "waiting": MAX_PER_RUN - 1}
    assert gone in r.lindex(keys.lane(QUEUE_JOBBER, tenant.id), 0)  # sent again: at the end of its lane
    assert r.llen(keys.lane(QUEUE_JOBBER, tenant.id)) == len(waiting) - 64 + 1
    assert read < 1024 * 1024 < held_in_redis / 10, (read, held_in_redis)
    assert not {"hgetall", "hvals", "zscan", "zrange"} & set(calls), calls
    assert calls.get("lindex", 0) == 1  # the lane's oldest message, once
    assert calls.get("lrange", 0) <= len(ALL_QUEUES) * (MAX_PER_RUN // PAGE)  # the short Celery lists only


def test_a_lost_delivery_is_sent_again_and_logged_once(r, vendors, worker):
    account = requests.post(f"{vendors.jobber}/_sandbox/accounts", json={"name": "Acme"}, timeout=5).json()
    client = requests.post(
        f"{vendors.jobber}/_sandbox/accounts/{account['account']['id']}/clients",
        json={"firstName": "Dana", "lastName": "Lopez", "phones": [{"number": "(415) 555-0100"}]},
        timeout=5,
    ).json()
    tenant = make_tenant(jobber=account)
    event_id = lost(r, tenant, 6_100_000_001)

    assert recover_lost_deliveries(now=later()) == {"recovered": 1}
    until(
        lambda: (Ledger(r).get(event_id) or {}).get("outcome") == "done", timeout=30, what="the resent call"
    )

    state = requests.get(
        f"{vendors.jobber}/_sandbox/state", params={"account_id": account["account"]["id"]}, timeout=5
    ).json()
    [dana] = [c for c in state["accounts"][0]["clients"] if c["id"] == client["id"]]
    assert len(dana["notes"]) == 1
    assert r.zscore(keys.PENDING, event_id) is None  # settled: out of the index
    assert recover_lost_deliveries(now=later() + STALE_S) == {}


def test_settling_an_event_the_ingest_enqueued_removes_it_from_the_index(r, ingest_url, worker, vendors):
    tenant = make_tenant()  # (tests/flows/test_ingest.py shows the claim putting it in the index)
    events = p.inbound_answered_call(
        6_200_000_001,
        token=tenant.webhook_token,
        number=LINE,
        external="+14155550100",
        agent=AGENT,
        started_at=1_790_000_000,
    )
    ended = next(e for e in events if e["event"] == "call.ended")
    event_id = requests.post(f"{ingest_url}/webhooks/aircall", json=ended, timeout=5).json()["id"]
    until(
        lambda: (Ledger(r).get(event_id) or {}).get("outcome") not in (None, "pending"),
        timeout=60,
        what="the event to settle",
    )
    assert r.zscore(keys.PENDING, event_id) is None
