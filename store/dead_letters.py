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


class DeadLetters:
    def __init__(self, r: redis.Redis):
        self.r = r

    def add(self, letter: DeadLetter) -> None:
        key = keys.dead_letter(letter.id)
        first = self.r.hget(key, "first_failed_at") or letter.first_failed_at
        record = {**letter.__dict__, "first_failed_at": first}
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

    def remove(self, dead_id: str) -> None:
        pipe = self.r.pipeline()
        pipe.delete(keys.dead_letter(dead_id))
        pipe.zrem(keys.DEAD_LETTERS, dead_id)
        pipe.execute()

    def count(self) -> int:
        return int(self.r.zcard(keys.DEAD_LETTERS))
