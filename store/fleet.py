"""The fleet's backlog as Redis holds it, for /metrics (ingest/metrics.py) and `ajctl status`: per
shared queue, the messages ready on it, those waiting in tenant lanes in front of it, and when the
oldest of them was sent; the events received and not yet settled; the webhooks refused with 429 per
integration; integrations by status."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import cast

import orjson

from store import keys
from store.integrations import STATUSES
from store.messages import SENT_AT_HEADER
from store.redis import RedisClient


@dataclass(frozen=True)
class QueueBacklog:
    queue: str
    ready: int  # on the Celery queue itself
    in_lanes: int  # in the tenants' lanes in front of it (store/queues.py)
    oldest_sent_at: float | None  # UNIX s; None: nothing waits (or only messages without a sent time)
    lanes: dict[str, int] = field(default_factory=dict)  # tenant (integration id) -> messages in its lane


def queue_backlog(r: RedisClient, queues: Sequence[str], depth: int) -> list[QueueBacklog]:
    """Two round trips whatever the number of queues and tenants; the reads grow with the tenants that have
    work waiting in a lane (two each), nothing else. `depth`: the dispatch depth (FAIR_QUEUE_DEPTH).

    kombu LPUSHes and BRPOPs, so the oldest messages are at the end; but the dispatch LPUSHes a
    lane's waiting message after those already there, so the oldest may be anywhere in the fair
    queues' short lists (at most the dispatch depth): the last `depth` messages are read, and each
    waiting lane's oldest (its last) message."""
    pipe = r.pipeline(transaction=False)
    for queue in queues:
        pipe.llen(queue)
        pipe.lrange(queue, -depth, -1)
        pipe.lrange(keys.ring(queue), 0, -1)  # tenants whose lane in front of the queue holds work
    first = cast(list[object], pipe.execute())
    lengths = cast(list[int], first[0::3])
    listed = cast(list[list[str]], first[1::3])
    rings = cast(list[list[str]], first[2::3])
    pipe = r.pipeline(transaction=False)
    for queue, tenants in zip(queues, rings, strict=True):
        for tenant in tenants:
            pipe.llen(keys.lane(queue, tenant))
            pipe.lindex(keys.lane(queue, tenant), -1)  # a lane's oldest is last too (LPUSH, RPOP)
    lanes = iter(cast(list[object], pipe.execute()))
    found = []
    for queue, ready, on_queue, tenants in zip(queues, lengths, listed, rings, strict=True):
        per_lane, waiting = {}, list(on_queue)
        for tenant in tenants:
            per_lane[tenant] = cast(int, next(lanes))
            tail = cast(str | None, next(lanes))
            if tail is not None:
                waiting.append(tail)
        # A message published before the header existed has no time: it counts for nothing, not a guess.
        sent = [t for t in (sent_at(m) for m in waiting) if t is not None]
        in_lanes = sum(per_lane.values())
        found.append(QueueBacklog(queue, int(ready), in_lanes, min(sent) if sent else None, per_lane))
    return found


def sent_at(message: str) -> float | None:
    """When a queued message was published (its `aj_sent_at` header), if it says."""
    try:
        value = orjson.loads(message)["headers"][SENT_AT_HEADER]
    except (orjson.JSONDecodeError, KeyError, TypeError):
        return None
    return float(value) if isinstance(value, int | float) else None


def pending_events(r: RedisClient) -> tuple[int, float | None]:
    """How many events are received and not yet settled, and when the longest-pending one was last handed to
    the queues (UNIX s; the recovery sweep resends one whose message is lost after 10 minutes)."""
    pipe = r.pipeline(transaction=False)
    pipe.zcard(keys.PENDING)
    pipe.zrange(keys.PENDING, 0, 0, withscores=True)
    count, oldest = pipe.execute()
    return int(count), (float(oldest[0][1]) if oldest else None)


@dataclass(frozen=True)
class Throttled:
    """An integration's webhooks refused with 429 (store.ledger TenantLimits), by reason."""

    integration_id: str
    reason: str  # rate_limited | backlog_full
    refused: int  # since the counters began
    last_at: float | None  # UNIX s of the last refusal


def throttled(r: RedisClient, integration_id: str | None = None) -> list[Throttled]:
    """Refusals per integration and reason (of one integration, when given), the most recent first."""
    pipe = r.pipeline(transaction=False)
    pipe.hgetall(keys.STAT_THROTTLED)
    pipe.hgetall(keys.STAT_THROTTLED_AT)
    counts, lasts = cast(tuple[dict[str, str], dict[str, str]], pipe.execute())
    found = []
    for name, n in counts.items():
        iid, _, reason = str(name).rpartition("|")
        if integration_id is None or iid == integration_id:
            last = lasts.get(name)
            found.append(Throttled(iid, reason, int(n), float(last) if last is not None else None))
    return sorted(found, key=lambda t: -(t.last_at or 0))


def integrations_by_status(r: RedisClient) -> dict[str, int]:
    """How many integrations are in each status (SPEC's four), deleted ones' tombstones included: two round
    trips, one small read per integration."""
    ids = sorted(r.smembers(keys.INTEGRATIONS))
    pipe = r.pipeline(transaction=False)
    for integration_id in ids:
        pipe.hget(keys.integration(integration_id), "status")
    counts: dict[str, int] = dict.fromkeys(STATUSES, 0)
    for status in cast(list[str | None], pipe.execute()):
        counts[status if status in counts else "inactive"] += 1
    return counts


def delayed_and_held(r: RedisClient) -> tuple[int, int]:
    """Messages parked until due (retries, rate-limit waits)
    and messages workers hold now, in one round trip."""
    pipe = r.pipeline(transaction=False)
    pipe.zcard(keys.DUE)
    pipe.hlen(keys.KOMBU_UNACKED)
    due, held = pipe.execute()
    return int(due), int(held)
