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

import requests

from config.queues import QUEUE_JOBBER
from flows.recovery import STALE_S, recover_lost_deliveries
from sandbox.scenarios import payloads as p
from store import keys
from store.ledger import Ledger
from store.messages import task_message
from store.queues import FairQueues
from tests.support.poll import until
from tests.support.tenants import make_tenant

LINE = p.number_object(789, e164="+14155550199", name="Support line")
AGENT = p.user_object(456, name="Madelaine Dupont", email="madelaine@acme.com")


def lost(r, tenant, call_id: int, caller: str = "+14155550100") -> str:
    """A `call.ended` whose delivery was lost: pending in the ledger, in no queue."""
    events = p.inbound_answered_call(call_id, token=tenant.webhook_token, number=LINE, external=caller,
                                     agent=AGENT, started_at=1_790_000_000)  # fmt: skip
    ended = next(e for e in events if e["event"] == "call.ended")
    event_id = f"ev_lost{call_id}"
    Ledger(r).record_synthetic(event_id, tenant.id, source="aircall", event="call.ended",
                               resource_id=str(call_id), raw=ended)  # fmt: skip
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
    Ledger(r).set_outcome(gone, "done")  # settled meanwhile: leaves the index  # fmt: skip

    assert recover_lost_deliveries(now=time.time()) == {}  # nothing is stale yet
    assert recover_lost_deliveries(now=later()) == {"in_flight": 3}
    assert r.llen(QUEUE_JOBBER) == 0 and r.llen(keys.lane(QUEUE_JOBBER, tenant.id)) == 1
    assert r.zscore(keys.PENDING, gone) is None

    r.delete(keys.event(in_lane))  # the ledger forgot it (retention): the index forgets it too
    assert recover_lost_deliveries(now=later() + STALE_S + 1) == {"in_flight": 2, "forgotten": 1}


def test_a_lost_delivery_is_sent_again_and_logged_once(r, vendors, worker):
    account = requests.post(f"{vendors.jobber}/_sandbox/accounts", json={"name": "Acme"}, timeout=5).json()
    client = requests.post(f"{vendors.jobber}/_sandbox/accounts/{account['account']['id']}/clients",
                           json={"firstName": "Dana", "lastName": "Lopez", "phones": [{"number": "(415) 555-0100"}]},
                           timeout=5).json()  # fmt: skip
    tenant = make_tenant(jobber=account)
    event_id = lost(r, tenant, 6_100_000_001)

    assert recover_lost_deliveries(now=later()) == {"recovered": 1}
    until(
        lambda: (Ledger(r).get(event_id) or {}).get("outcome") == "done", timeout=30, what="the resent call"
    )

    state = requests.get(f"{vendors.jobber}/_sandbox/state", params={"account_id": account["account"]["id"]},
                         timeout=5).json()  # fmt: skip
    [dana] = [c for c in state["accounts"][0]["clients"] if c["id"] == client["id"]]
    assert len(dana["notes"]) == 1
    assert r.zscore(keys.PENDING, event_id) is None  # settled: out of the index
    assert recover_lost_deliveries(now=later() + STALE_S) == {}


def test_settling_an_event_the_ingest_enqueued_removes_it_from_the_index(r, ingest_url, worker, vendors):
    tenant = make_tenant()  # (tests/flows/test_ingest.py shows the claim putting it in the index)
    events = p.inbound_answered_call(6_200_000_001, token=tenant.webhook_token, number=LINE, external="+14155550100",
                                     agent=AGENT, started_at=1_790_000_000)  # fmt: skip
    ended = next(e for e in events if e["event"] == "call.ended")
    event_id = requests.post(f"{ingest_url}/webhooks/aircall", json=ended, timeout=5).json()["id"]
    until(lambda: (Ledger(r).get(event_id) or {}).get("outcome") not in (None, "pending"), timeout=60,
          what="the event to settle")  # fmt: skip
    assert r.zscore(keys.PENDING, event_id) is None
