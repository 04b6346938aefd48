"""Jobber API version notices as the fleet met them (jobber-api.md §1.2): answers carrying a deprecation
warning, or served with another version than the one asked for (a removed version is silently upgraded).
Counted for /metrics and kept with the last warning and when it was seen, for `ajctl status`."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from store import keys
from store.redis import RedisClient

TTL_S = 30 * 86400  # a notice not seen for a month is history: the key goes with the last one


@dataclass(frozen=True)
class SeenNotice:
    requested: str
    answered: str
    warning: str
    last_seen: float  # UNIX seconds
    count: int  # answers with this (requested, answered) pair since the counters began


class JobberVersionNotices:
    def __init__(self, r: RedisClient):
        self.r = r

    @staticmethod
    def queue_record(
        pipe: Any, requested: str, answered: str, warning: str, count: int, last_seen: float
    ) -> None:
        """`count` more answers for (requested, answered),
        the latest at `last_seen`, as commands of `pipe`."""
        field = f"{requested}|{answered}"
        pipe.hincrby(keys.STAT_JOBBER_VERSION_NOTICES, field, count)
        last = {"requested": requested, "answered": answered, "warning": warning, "last_seen": last_seen}
        pipe.hset(keys.JOBBER_VERSION_NOTICES, field, json.dumps(last))
        pipe.expire(keys.JOBBER_VERSION_NOTICES, TTL_S)

    def record(self, requested: str, answered: str, warning: str, count: int, last_seen: float) -> None:
        pipe = self.r.pipeline(transaction=False)
        self.queue_record(pipe, requested, answered, warning, count, last_seen)
        pipe.execute()

    def all(self) -> list[SeenNotice]:
        """Every notice kept, most recently seen first."""
        pipe = self.r.pipeline(transaction=False)
        pipe.hgetall(keys.JOBBER_VERSION_NOTICES)
        pipe.hgetall(keys.STAT_JOBBER_VERSION_NOTICES)
        last, counts = pipe.execute()
        found = []
        for field, raw in last.items():
            try:
                doc = json.loads(raw)
            except ValueError:
                continue
            found.append(
                SeenNotice(
                    requested=str(doc.get("requested") or ""),
                    answered=str(doc.get("answered") or ""),
                    warning=str(doc.get("warning") or ""),
                    last_seen=float(doc.get("last_seen") or 0),
                    count=int(counts.get(field) or 0),
                )
            )
        return sorted(found, key=lambda n: n.last_seen, reverse=True)

    def counts(self) -> dict[tuple[str, str], int]:
        """(requested, answered) -> answers so far: the /metrics counter."""
        raw = self.r.hgetall(keys.STAT_JOBBER_VERSION_NOTICES)
        found: dict[tuple[str, str], int] = {}
        for field, n in raw.items():
            requested, _, answered = field.partition("|")
            found[(requested, answered)] = int(n)
        return found
