"""Worker heartbeats: each running worker process says it is alive every few seconds (worker/upkeep.py), so an
operator sees which workers run and what they hold (`ajctl status`) and /metrics how many are alive
(`aj_workers_alive`). A worker that stops beating drops out within a minute; a clean stop removes it at once.

An index (`aj:workers`, name -> last heartbeat) finds them: reading the workers costs one read per live
worker, never a SCAN of the keyspace (/metrics reads it on every scrape)."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any, cast

from store import keys
from store.redis import RedisClient, Value

TTL_S = 60


@dataclass(frozen=True)
class WorkerBeat:
    name: str  # Celery's hostname, e.g. worker.host-1
    pid: int
    held: int  # messages it was working on at its last beat
    started_at: float
    beat_at: float


class WorkerBeats:
    def __init__(self, r: RedisClient):
        self.r = r

    def beat(self, name: str, pid: int, held: int, started_at: float, now: float | None = None) -> None:
        key = keys.worker(name)
        beat_at = time.time() if now is None else now
        fields: dict[str, Value] = {
            "name": name,
            "pid": pid,
            "held": held,
            "started_at": started_at,
            "beat_at": beat_at,
        }
        pipe = self.r.pipeline()  # MULTI: the keys never exist without their TTL
        pipe.hset(key, mapping=fields)
        pipe.expire(key, TTL_S)
        pipe.zadd(keys.WORKERS, {name: beat_at})
        pipe.zremrangebyscore(keys.WORKERS, "-inf", f"({beat_at - TTL_S}")  # stopped beating a minute ago
        pipe.expire(keys.WORKERS, TTL_S)
        pipe.execute()

    def gone(self, name: str) -> None:
        pipe = self.r.pipeline()
        pipe.delete(keys.worker(name))
        pipe.zrem(keys.WORKERS, name)
        pipe.execute()

    @staticmethod
    def queue_alive(pipe: Any, now: float) -> None:
        """How many workers beat within the last minute, as a command of `pipe` (one read)."""
        pipe.zcount(keys.WORKERS, f"({now - TTL_S}", "+inf")

    def alive(self, now: float | None = None) -> int:
        pipe = self.r.pipeline(transaction=False)
        self.queue_alive(pipe, time.time() if now is None else now)
        return int(pipe.execute()[0])

    def all(self, now: float | None = None) -> list[WorkerBeat]:
        """The workers that beat within the last minute, by name."""
        since = (time.time() if now is None else now) - TTL_S
        names = self.r.zrangebyscore(keys.WORKERS, f"({since}", "+inf")
        pipe = self.r.pipeline(transaction=False)
        for name in sorted(names):
            pipe.hgetall(keys.worker(name))
        found = []
        for h in cast(list[dict[str, str]], pipe.execute()):
            if h.get("name"):
                found.append(
                    WorkerBeat(
                        name=h["name"],
                        pid=int(h.get("pid") or 0),
                        held=int(h.get("held") or 0),
                        started_at=float(h.get("started_at") or 0),
                        beat_at=float(h.get("beat_at") or 0),
                    )
                )
        return found
