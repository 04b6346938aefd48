"""Deliveries lost to a Redis failover, found and sent again (beat, every 5 minutes).

Kombu takes a message off its queue (BRPOP) and then records it as in flight (`unacked`): two writes. If the
master dies between them and the replica had only the first, the message is gone, and no worker or restore
will ever bring it back. The ledger still holds the event as pending, so the sweep looks at the events
pending for longer than STALE_S (the pending index, store/ledger.py) and checks whether any queue still
holds their message: the Celery queues, the tenant lanes in front of them, the delayed retries, and the
messages workers hold. One that none holds is enqueued again. Flows are idempotent, so a second delivery
(if the sweep ever raced a message moving between two of those places) changes nothing in Jobber or Aircall.
"""

from __future__ import annotations

import logging
import re
import time
from collections import Counter

import redis

from config.queues import ALL_QUEUES, FAIR_QUEUES, ROUTE_TASK, queue_for, task_for_event
from store import keys
from store.ledger import Ledger
from store.queues import enqueue
from store.redis import sync_client

log = logging.getLogger("flows.recovery")

# Far beyond a dead worker's redelivery (visibility timeout + restore interval, ~35 s) and any dispatch delay
# of a busy lane; a delayed retry waits in `aj:due`, where the sweep sees it.
STALE_S = 10 * 60
EVENT_ID = re.compile(r"ev_[A-Za-z0-9_]+")


def recover_lost_deliveries(now: float | None = None, stale_s: float = STALE_S) -> dict[str, int]:
    """Re-enqueue pending events whose message no queue holds. Returns counts: recovered, in_flight (a queue
    holds it), forgotten (settled, or no longer in the ledger)."""
    r = sync_client()
    ledger = Ledger(r)
    now = time.time() if now is None else now
    counts: Counter[str] = Counter()
    candidates: dict[str, tuple[str, str, str]] = {}  # event id -> (task, queue, integration)
    for event_id in ledger.stale_pending(now - stale_s):
        entry = ledger.get(event_id)
        if entry is None or entry.get("outcome") not in (None, "", "pending"):
            ledger.forget_pending(event_id)
            counts["forgotten"] += 1
            continue
        task = task_for_event(entry.get("event", "")) or ROUTE_TASK
        candidates[event_id] = (task, queue_for(task), entry.get("integration", ""))
    if not candidates:
        return dict(counts)
    held = _events_in_queues(r, {(queue, integration) for _, queue, integration in candidates.values()})
    for event_id, (task, queue, integration) in candidates.items():
        if event_id in held:
            ledger.touch_pending(event_id, now)
            counts["in_flight"] += 1
            continue
        enqueue(task, [event_id], tenant=integration, queue=queue)
        ledger.touch_pending(event_id, now)
        counts["recovered"] += 1
        log.warning("recovery.resent event=%s integration=%s task=%s: its message was in no queue",
                    event_id, integration, task)  # fmt: skip
    return dict(counts)


def _events_in_queues(r: redis.Redis, lanes: set[tuple[str, str]]) -> set[str]:
    """Event ids named by any message waiting or in flight (each message names its event in `argsrepr`)."""
    pipe = r.pipeline(transaction=False)
    for queue in ALL_QUEUES:
        pipe.lrange(queue, 0, -1)
    for queue, integration in lanes:
        if queue in FAIR_QUEUES and integration:
            pipe.lrange(keys.lane(queue, integration), 0, -1)
    pipe.hvals(keys.KOMBU_UNACKED)
    found: set[str] = set()
    for messages in pipe.execute():
        for message in messages:
            found.update(EVENT_ID.findall(message))
    for member, _ in r.zscan_iter(keys.DUE):
        found.update(EVENT_ID.findall(member))
    return found
