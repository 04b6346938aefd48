"""Where a pending event's message can be, read for the recovery sweep (flows/recovery.py) at a cost
bounded by what it looks at: a tenant lane's oldest message, the Celery queue lists and the messages
workers hold, each read up to a cap."""

from __future__ import annotations

import re
from collections.abc import Iterable

from config.queues import ALL_QUEUES, FAIR_QUEUES
from store import keys
from store.fleet import sent_at
from store.redis import RedisClient

LANE_MARGIN_S = 60.0  # clock skew between the ingest or workers (publish times) and Redis (pending index)
QUEUE_READ_MAX = 512  # messages read from a Celery queue list (they hold ~FAIR_QUEUE_DEPTH)
UNACKED_READ_MAX = 8_192  # messages held by workers read (the fleet's concurrency)
EVENT_ID = re.compile(r"ev_[A-Za-z0-9_]+")


def held_messages(r: RedisClient) -> tuple[set[str], set[str]]:
    """Event ids named by the messages on the Celery queue lists and held by workers, in one atomic snapshot,
    each list read up to its cap; and the lists too long to read whole ("unacked" for the held messages)."""
    pipe = r.pipeline(transaction=True)
    for queue in ALL_QUEUES:
        pipe.llen(queue)
        pipe.lrange(queue, 0, QUEUE_READ_MAX - 1)
    pipe.hlen(keys.KOMBU_UNACKED)
    pipe.hscan(keys.KOMBU_UNACKED, 0, count=UNACKED_READ_MAX)
    *lists, unacked_len, (cursor, unacked) = pipe.execute()
    found: set[str] = set()
    unread: set[str] = set()
    for queue, length, messages in zip(ALL_QUEUES, lists[0::2], lists[1::2], strict=True):
        if int(length) > len(messages):
            unread.add(queue)
        for message in messages:
            found.update(EVENT_ID.findall(message))
    if int(cursor) != 0 or int(unacked_len) > len(unacked):
        unread.add("unacked")
    for message in unacked.values():
        found.update(EVENT_ID.findall(message))
    return found, unread


class LaneOldest:
    """The oldest message's publish time of each tenant lane a sweep meets (one LINDEX per lane per run)."""

    def __init__(self, r: RedisClient):
        self.r = r
        self.oldest: dict[tuple[str, str], float | None] = {}  # None: empty

    def read(self, lanes: Iterable[tuple[str, str]]) -> None:
        new = sorted(
            {lane for lane in lanes if lane not in self.oldest and lane[0] in FAIR_QUEUES and lane[1]}
        )
        if not new:
            return
        pipe = self.r.pipeline(transaction=False)
        for queue, tenant in new:
            pipe.lindex(keys.lane(queue, tenant), -1)  # a lane's oldest is last (LPUSH, RPOP)
        for lane, message in zip(new, pipe.execute(), strict=True):
            # A message without a publish time (an older release's) may be older than anything: assume it is.
            self.oldest[lane] = None if message is None else (sent_at(message) or float("-inf"))

    def may_hold(self, queue: str, tenant: str, handed_at: float) -> bool:
        """Whether a message handed to the lane at `handed_at` may still be in it: the lane is first in, first
        out, so everything handed in since its oldest message was is still there."""
        oldest = self.oldest.get((queue, tenant))
        return oldest is not None and oldest <= handed_at + LANE_MARGIN_S
