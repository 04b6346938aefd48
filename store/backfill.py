"""What `ajctl backfill calls` decided, on purpose, not to log: call id → the reason, per integration.

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
