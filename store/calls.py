"""Per-call state: every event snapshot of a call, keyed by event id, so that re-processing is idempotent
and the merge (domain.calls) sees the same set whatever the arrival order."""

from __future__ import annotations

import json

import redis

from domain.calls import Snapshot

TTL_S = 30 * 86400  # late AI events and comments arrive hours later; a month is plenty


def _key(integration_id: str, call_id: int | str) -> str:
    return f"aj:call:{integration_id}:{call_id}"


class CallStates:
    def __init__(self, r: redis.Redis):
        self.r = r

    def add(
        self, integration_id: str, call_id: int | str, event_id: str, snapshot: Snapshot
    ) -> list[Snapshot]:
        """Record one snapshot (idempotent) and return all of the call's snapshots."""
        key = _key(integration_id, call_id)
        doc = json.dumps({"event": snapshot.event, "timestamp": snapshot.timestamp, "data": snapshot.data})
        pipe = self.r.pipeline()
        pipe.hset(key, event_id, doc)
        pipe.expire(key, TTL_S)
        pipe.hvals(key)
        values: list[str] = pipe.execute()[-1]
        return [_snapshot(v) for v in values]

    def all(self, integration_id: str, call_id: int | str) -> list[Snapshot]:
        values: list[str] = self.r.hvals(_key(integration_id, call_id))  # type: ignore[assignment]
        return [_snapshot(v) for v in values]


def _snapshot(raw: str) -> Snapshot:
    doc = json.loads(raw)
    return Snapshot(event=doc["event"], timestamp=int(doc["timestamp"]), data=doc["data"])
