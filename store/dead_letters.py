"""Dead letters: work that exhausted its retries or hit a permanent error, kept until replayed.

Each keeps its own copy of the raw event (taken from the ledger when the event fails), so a replay works after
the ledger forgot the event; it lives DEAD_LETTER_RETENTION_DAYS after the last failure, then expires. The
index (keys.DEAD_LETTERS) is pruned of letters older than that.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any

from config.settings import get_settings
from store import keys
from store.redis import RedisClient

# KEYS: the letter, the index, the event's ledger entry
# ARGV: id, now (UNIX s), retention (s), then field / value pairs of the letter
# The first failure time survives re-adds; the ledger's raw body and what a replay needs to re-create the
# entry are copied in the same step, so a failed event is never without a body to replay.
ADD_LUA = """
local first = redis.call('HGET', KEYS[1], 'first_failed_at')
redis.call('HSET', KEYS[1], unpack(ARGV, 4))
if first then redis.call('HSET', KEYS[1], 'first_failed_at', first) end
local copy = redis.call('HMGET', KEYS[3], 'raw', 'source', 'received_at')
if copy[1] then
  redis.call('HSET', KEYS[1], 'raw', copy[1], 'source', copy[2] or '', 'received_at', copy[3] or '')
end
redis.call('EXPIRE', KEYS[1], tonumber(ARGV[3]))
redis.call('ZADD', KEYS[2], tonumber(ARGV[2]), ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', tonumber(ARGV[2]) - tonumber(ARGV[3]))
return 1
"""

# What a replay needs to re-create a forgotten ledger entry, besides the raw body.
EVENT_FIELDS = ("integration", "source", "event", "resource_id", "received_at")


@dataclass(frozen=True)
class DeadLetter:
    id: str  # the event id for event-driven work, else the Celery task id
    integration: str | None
    event: str | None
    resource_id: str | None
    task: str
    args: list[Any]
    kwargs: dict[str, Any]
    error: str
    attempts: int
    first_failed_at: str
    last_failed_at: str
    # The failed attempt's W3C trace context, when tracing was on: a replay continues that trace.
    traceparent: str = ""

    def to_public(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "integration": self.integration,
            "event": self.event,
            "resource_id": self.resource_id,
            "task": self.task,
            "error": self.error,
            "attempts": self.attempts,
            "first_failed_at": self.first_failed_at,
            "last_failed_at": self.last_failed_at,
        }


# A replay claims the letter before it re-sends the work: two replays of one letter cannot both run it, and
# the claim token lets the replay delete only the letter it claimed (a fresh failure of the replayed work
# writes a new letter, with no claim, which must stay). A claim older than REPLAY_CLAIM_S is stale: its
# replayer died before re-sending, and the letter can be claimed again.
REPLAY_CLAIM_S = 600
CLAIM_LUA = """
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
local at = tonumber(redis.call('HGET', KEYS[1], 'replay_claimed_at') or '') or 0
if at > 0 and tonumber(ARGV[2]) - at < tonumber(ARGV[3]) then return 0 end
redis.call('HSET', KEYS[1], 'replay_claim', ARGV[1], 'replay_claimed_at', ARGV[2])
return 1
"""
# A released letter leaves a marker for REPLAY_CLAIM_S: a second replay that lost the race to the claim must
# not take the event for one with no letter (a replay from the ledger) and send it again.
RELEASE_LUA = """
if redis.call('HGET', KEYS[1], 'replay_claim') ~= ARGV[1] then return 0 end
redis.call('DEL', KEYS[1])
redis.call('ZREM', KEYS[2], ARGV[2])
redis.call('SET', KEYS[3], ARGV[1], 'EX', tonumber(ARGV[3]))
return 1
"""


class DeadLetters:
    def __init__(self, r: RedisClient, retention_s: int | None = None):
        self.r = r
        self.retention_s = retention_s or get_settings().dead_letter_retention_s
        self._add = r.register_script(ADD_LUA)

    def add(self, letter: DeadLetter) -> None:
        # A new failure clears any replay claim: the letter is an unclaimed failure again.
        record = {
            **letter.__dict__,
            "args": json.dumps(letter.args),
            "kwargs": json.dumps(letter.kwargs),
            "replay_claim": "",
            "replay_claimed_at": "",
        }
        pairs = [x for k, v in record.items() for x in (k, "" if v is None else str(v))]
        self._add(
            keys=[keys.dead_letter(letter.id), keys.DEAD_LETTERS, keys.event(letter.id)],
            args=[letter.id, time.time(), self.retention_s, *pairs],
        )

    def get(self, dead_id: str) -> DeadLetter | None:
        h = self.r.hgetall(keys.dead_letter(dead_id))
        if not h:
            return None
        return DeadLetter(
            id=h["id"],
            integration=h.get("integration") or None,
            event=h.get("event") or None,
            resource_id=h.get("resource_id") or None,
            task=h["task"],
            args=json.loads(h.get("args") or "[]"),
            kwargs=json.loads(h.get("kwargs") or "{}"),
            error=h.get("error", ""),
            attempts=int(h.get("attempts") or 0),
            first_failed_at=h.get("first_failed_at", ""),
            last_failed_at=h.get("last_failed_at", ""),
            traceparent=h.get("traceparent", ""),
        )

    def raw_copy(self, dead_id: str) -> str | None:
        """The dead letter's own copy of the raw event (JSON), if it is an event's."""
        return self.r.hget(keys.dead_letter(dead_id), "raw")

    def event_copy(self, dead_id: str) -> dict[str, str] | None:
        """What re-creates the event's ledger entry for a replay: its raw body and fields, or None."""
        values = self.r.hmget(keys.dead_letter(dead_id), ["raw", *EVENT_FIELDS])
        if not values[0]:
            return None
        return {k: v or "" for k, v in zip(("raw", *EVENT_FIELDS), values, strict=True)}

    def _oldest_kept(self) -> float:
        return time.time() - self.retention_s

    def list(self, integration: str | None = None) -> list[DeadLetter]:
        ids = self.r.zrangebyscore(keys.DEAD_LETTERS, self._oldest_kept(), "+inf")
        letters = [d for d in (self.get(i) for i in ids) if d is not None]
        return [d for d in letters if integration is None or d.integration == integration]

    def claim(self, dead_id: str, token: str, now: float | None = None) -> DeadLetter | None:
        """The letter, claimed by `token` for one replay; None when absent or another replay holds it."""
        stamp = time.time() if now is None else now
        if not self.r.eval(CLAIM_LUA, 1, keys.dead_letter(dead_id), token, stamp, REPLAY_CLAIM_S):
            return None
        return self.get(dead_id)

    def release(self, dead_id: str, token: str) -> bool:
        """Delete the letter if `token`'s claim still holds it (a replayed task that failed again keeps its
        new letter)."""
        return bool(
            self.r.eval(
                RELEASE_LUA,
                3,
                keys.dead_letter(dead_id),
                keys.DEAD_LETTERS,
                keys.dead_letter_replayed(dead_id),
                token,
                dead_id,
                REPLAY_CLAIM_S,
            )
        )

    def just_replayed(self, dead_id: str) -> bool:
        """Was the letter replayed (and released) within the last REPLAY_CLAIM_S?"""
        return bool(self.r.exists(keys.dead_letter_replayed(dead_id)))

    def remove(self, dead_id: str) -> None:
        pipe = self.r.pipeline()
        pipe.delete(keys.dead_letter(dead_id))
        pipe.zrem(keys.DEAD_LETTERS, dead_id)
        pipe.execute()

    def count(self) -> int:
        return int(self.r.zcount(keys.DEAD_LETTERS, self._oldest_kept(), "+inf"))
