"""Deliveries lost to a Redis failover, found and sent again (beat, every 5 minutes).

Kombu takes a message off its queue (BRPOP) and then records it as in flight (`unacked`): two writes. If the
master dies between them and the replica had only the first, the message is gone, and no worker or restore
will ever bring it back. The ledger still holds the event as pending, so the sweep looks at the events pending
for longer than STALE_S (the pending index, store/ledger.py) and checks whether their message is still
somewhere. One that is nowhere is enqueued again. Flows are idempotent, so a second delivery (if the sweep
ever raced a message moving between two places) changes nothing in Jobber or Aircall.

Its cost is bounded by what it looks at, never by the backlog, because it runs exactly when backlogs are large
(issue 16). It reads at most MAX_PER_RUN stale events, in pages, and of each only its event name, integration
and outcome (never the raw body); and it never reads a tenant lane or the delayed retries:
- A delayed retry (`aj:due`) is never stale: deferring an event's message moves its pending-index entry to the
  due time, and releasing it to the time it is back in its lane (store/queues.py).
- A tenant lane is first in, first out, and nothing is ever lost from it (every move in or out is one Lua
  call). Its oldest message's publish time (`aj_sent_at`, one LINDEX) tells whether an event handed to the
  lane at its pending-index time can still be in it: if the lane's oldest message is no newer than that
  (give or take LANE_MARGIN_S of clock skew), everything handed in since, the event's message included, is
  still there.
- Only the hand-off to a worker can lose a message, so the rest are looked for where that happens: the Celery
  queue lists (a few dozen messages each: the fair dispatch keeps them short) and the messages workers hold
  (`unacked`: bounded by the fleet's concurrency), each read up to a cap, in one atomic snapshot per page.
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from dataclasses import dataclass

from config.queues import Task, queue_for
from flows.routes import task_for_event
from store.deliveries import LaneOldest, held_messages
from store.ledger import Ledger
from store.queues import resend
from store.redis import RedisClient, sync_client

log = logging.getLogger(__name__)

# Far beyond a dead worker's redelivery (visibility timeout + restore interval, ~35 s) and any dispatch delay
# of a busy lane; a delayed retry is not stale before it is due.
STALE_S = 10 * 60
PAGE = 200  # stale events read per round trip
# Stale events looked at per sweep; the oldest first (a lost message is older than its lane)
MAX_PER_RUN = 2_000


@dataclass(frozen=True)
class _Candidate:
    event_id: str
    handed_at: float  # its pending-index score: when its message was last handed to the queues
    task: str
    queue: str
    integration: str


def recover_lost_deliveries(
    now: float | None = None, stale_s: float = STALE_S, max_events: int = MAX_PER_RUN
) -> dict[str, int]:
    """Re-enqueue pending events whose message nothing holds. Returns counts: recovered, in_flight (on a queue
    or held by a worker), waiting (in its tenant's lane), unchecked (a queue list or the held messages were
    too long to read: next sweep), forgotten (settled, or no longer in the ledger)."""
    r = sync_client()
    ledger = Ledger(r)
    now = time.time() if now is None else now
    counts: Counter[str] = Counter()
    lanes = LaneOldest(r)
    # Offset: stale events left as they were by earlier pages (all but resent, forgotten)
    offset = examined = 0
    while examined < max_events:
        page = ledger.stale_page(now - stale_s, offset, min(PAGE, max_events - examined))
        if not page:
            break
        examined += len(page)
        candidates = _candidates(ledger, page, counts)
        lanes.read({(c.queue, c.integration) for c in candidates})
        outside = []
        for c in candidates:
            if lanes.may_hold(c.queue, c.integration, c.handed_at):
                counts["waiting"] += 1
                offset += 1
            else:
                outside.append(c)
        if outside:
            offset += _look_beyond_lanes(r, ledger, outside, now, counts)
    return dict(counts)


def _candidates(ledger: Ledger, page: list[tuple[str, float]], counts: Counter[str]) -> list[_Candidate]:
    """The page's events still pending (the others leave the index), with where their message would run."""
    found = []
    for (event_id, handed_at), entry in zip(page, ledger.summaries([e for e, _ in page]), strict=True):
        if entry is None or entry.get("outcome") not in (None, "", "pending"):
            ledger.forget_pending(event_id)
            counts["forgotten"] += 1
            continue
        task = task_for_event(entry.get("event", "")) or Task.ROUTE
        found.append(_Candidate(event_id, handed_at, task, queue_for(task), entry.get("integration", "")))
    return found


def _look_beyond_lanes(
    r: RedisClient, ledger: Ledger, candidates: list[_Candidate], now: float, counts: Counter[str]
) -> int:
    """Candidates whose message left their lane: on a queue or held by a worker (in flight), else sent again
    (and handed to its lane now). Returns how many stay in the index as they were (in flight, unchecked)."""
    held, unread = held_messages(r)
    # Read after the snapshot: an event settled since its message left the snapshot is not sent again.
    outcomes = ledger.outcomes([c.event_id for c in candidates])
    left = 0
    for c, outcome in zip(candidates, outcomes, strict=True):
        if outcome is None or outcome not in ("", "pending"):
            ledger.forget_pending(c.event_id)
            counts["forgotten"] += 1
        elif c.event_id in held:
            counts["in_flight"] += 1  # left as it is: its time stays when it was handed to its lane
            left += 1
        elif c.queue in unread or "unacked" in unread:
            counts["unchecked"] += 1
            left += 1
        else:
            resend(c.task, [c.event_id], tenant=c.integration, queue=c.queue)
            ledger.touch_pending(c.event_id, now)
            counts["recovered"] += 1
            log.warning(
                "recovery.resent event=%s integration=%s task=%s: its message was in no queue",
                c.event_id,
                c.integration,
                c.task,
            )
    if unread:
        log.warning(
            "recovery.unchecked lists=%s: too long to read; the next sweep looks again", sorted(unread)
        )
    return left
