"""Dead letters: work that exhausted its retries or hit a permanent error, kept until replayed."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any

import redis

from store import keys


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
RELEASE_LUA = """
if redis.call('HGET', KEYS[1], 'replay_claim') ~= ARGV[1] then return 0 end
redis.call('DEL', KEYS[1])
redis.call('ZREM', KEYS[2], ARGV[2])
return 1
"""


class DeadLetters:
    def __init__(self, r: redis.Redis):
        self.r = r

    def add(self, letter: DeadLetter) -> None:
        key = keys.dead_letter(letter.id)
        first = self.r.hget(key, "first_failed_at") or letter.first_failed_at
        # A new failure clears any replay claim: the letter is an unclaimed failure again.
        record = {**letter.__dict__, "first_failed_at": first, "replay_claim": "", "replay_claimed_at": ""}
        record["args"] = json.dumps(letter.args)
        record["kwargs"] = json.dumps(letter.kwargs)
        fields: dict[Any, Any] = {k: ("" if v is None else str(v)) for k, v in record.items()}
        pipe = self.r.pipeline()
        pipe.hset(key, mapping=fields)
        pipe.zadd(keys.DEAD_LETTERS, {letter.id: time.time()})
        pipe.execute()

    def get(self, dead_id: str) -> DeadLetter | None:
        h: dict[str, str] = self.r.hgetall(keys.dead_letter(dead_id))  # type: ignore[assignment]
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
        )

    def list(self, integration: str | None = None) -> list[DeadLetter]:
        ids: list[str] = self.r.zrange(keys.DEAD_LETTERS, 0, -1)  # type: ignore[assignment]
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
        return bool(self.r.eval(RELEASE_LUA, 2, keys.dead_letter(dead_id), keys.DEAD_LETTERS, token, dead_id))

    def remove(self, dead_id: str) -> None:
        pipe = self.r.pipeline()
        pipe.delete(keys.dead_letter(dead_id))
        pipe.zrem(keys.DEAD_LETTERS, dead_id)
        pipe.execute()

    def count(self) -> int:
        return int(self.r.zcard(keys.DEAD_LETTERS))
