"""Worker heartbeats: each running worker process says it is alive every few seconds (worker/upkeep.py), so an
operator sees which workers run and what they hold (`ajctl status`). A worker that stops beating drops out
within a minute; a clean stop removes it at once."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any, cast

import redis

from store import keys

TTL_S = 60


@dataclass(frozen=True)
class WorkerBeat:
    name: str  # Celery's hostname, e.g. worker.host-1
    pid: int
    held: int  # messages it was working on at its last beat
    started_at: float
    beat_at: float


class WorkerBeats:
    def __init__(self, r: redis.Redis):
        self.r = r

    def beat(self, name: str, pid: int, held: int, started_at: float, now: float | None = None) -> None:
        key = keys.worker(name)
        beat_at = time.time() if now is None else now
        fields: dict[Any, Any] = {
            "name": name,
            "pid": pid,
            "held": held,
            "started_at": started_at,
            "beat_at": beat_at,
        }
        pipe = self.r.pipeline()  # MULTI: the key never exists without its TTL
        pipe.hset(key, mapping=fields)
        pipe.expire(key, TTL_S)
        pipe.execute()

    def gone(self, name: str) -> None:
        self.r.delete(keys.worker(name))

    def all(self) -> list[WorkerBeat]:
        names = sorted(cast(list[str], list(self.r.scan_iter(f"{keys.WORKER_PREFIX}*", count=500))))
        pipe = self.r.pipeline(transaction=False)
        for key in names:
            pipe.hgetall(key)
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
