"""Catching up on calls: what `ajctl backfill calls` decided, on purpose, not to log (call id → the reason,
per integration), and how far the beat's reconciliation has looked (its watermark).

A call a backfill skipped before the call flow (number not connected, started before --since) leaves no trace
in the activity map or the call state; this record lets the next run report it as already dealt with, as long
as the same reason still holds.
"""

from __future__ import annotations

import redis

from store import keys

TTL_S = 180 * 86400  # Aircall keeps about six months of calls


class BackfillSkips:
    def __init__(self, r: redis.Redis, integration_id: str):
        self.r = r
        self.key = keys.backfill_skips(integration_id)

    def reason(self, call_id: str) -> str | None:
        found: str | None = self.r.hget(self.key, call_id)  # type: ignore[assignment]
        return found

    def record(self, call_id: str, reason: str) -> None:
        pipe = self.r.pipeline()
        pipe.hset(self.key, call_id, reason)
        pipe.expire(self.key, TTL_S)
        pipe.execute()


class ReconcileWatermark:
    """The end of the window the last reconciliation read (UNIX seconds), per integration."""

    def __init__(self, r: redis.Redis, integration_id: str):
        self.r = r
        self.key = keys.reconcile_watermark(integration_id)

    def get(self) -> float | None:
        found: str | None = self.r.get(self.key)  # type: ignore[assignment]
        return float(found) if found else None

    def set(self, until: float) -> None:
        self.r.set(self.key, until)
