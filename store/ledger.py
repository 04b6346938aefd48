"""The event ledger: each received webhook once, with its outcome, attempts and skips.

The ledger entry *is* the idempotency record: `claim` creates it and enqueues the router task in one
atomic Lua call, so an event is either new-and-enqueued or a duplicate — never claimed-but-lost.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

import redis
import redis.asyncio as aioredis

from store import keys
from store.queues import FAIR_LUA_FUNCTIONS

Outcome = Literal["pending", "done", "skipped", "failed"]

# KEYS: tenant index hash, event key prefix, duplicate counter, integration key prefix
# ARGV: tenant key, event_id, source, event, resource_id, received_at, raw, task_message, queue, ttl_s, routed,
#       lifecycle ('1': enqueue for an inactive integration too; uninstalling it is still wanted),
#       fair depth (> 0: into the integration's lane of a fair queue, store/queues.py; 0: straight onto it)
# Keys are derived inside the script (single Redis or Sentinel; not written for Redis Cluster).
CLAIM_LUA = (
    FAIR_LUA_FUNCTIONS
    + """
local iid = redis.call('HGET', KEYS[1], ARGV[1])
if not iid then return {'unknown', ''} end
if ARGV[11] == '0' then return {'ignored', iid} end
local evkey = KEYS[2] .. ARGV[2]
if redis.call('EXISTS', evkey) == 1 then
  redis.call('INCR', KEYS[3])
  return {'duplicate', iid}
end
local status = redis.call('HGET', KEYS[4] .. iid, 'status')
local outcome, reason = 'pending', ''
if status ~= 'active' and not (ARGV[12] == '1' and status and status ~= 'deleted') then
  outcome = 'skipped'
  reason = 'integration ' .. (status or 'missing')
end
redis.call('HSET', evkey, 'id', ARGV[2], 'integration', iid, 'source', ARGV[3], 'event', ARGV[4],
           'resource_id', ARGV[5], 'received_at', ARGV[6], 'raw', ARGV[7], 'outcome', outcome, 'reason', reason)
redis.call('EXPIRE', evkey, tonumber(ARGV[10]))
local recent = KEYS[4] .. iid .. ':recent'
redis.call('LPUSH', recent, ARGV[2])
redis.call('LTRIM', recent, 0, RECENT_KEPT)
if outcome == 'pending' then
  if tonumber(ARGV[13]) > 0 then
    fair_push(ARGV[9], iid, ARGV[8], tonumber(ARGV[13]))
  else
    redis.call('LPUSH', ARGV[9], ARGV[8])
  end
  return {'enqueued', iid}
end
redis.call('RPUSH', evkey .. ':log', cjson.encode({kind = 'skip', reason = reason, at = ARGV[6]}))
redis.call('EXPIRE', evkey .. ':log', tonumber(ARGV[10]))
return {'skipped', iid}
""".replace("RECENT_KEPT", str(keys.RECENT_EVENTS_KEPT - 1))
)

ClaimStatus = Literal["unknown", "ignored", "duplicate", "enqueued", "skipped"]


@dataclass(frozen=True)
class Claim:
    status: ClaimStatus
    integration_id: str | None


class AsyncLedger:
    """The ingest side: one round trip per webhook."""

    def __init__(
        self, r: aioredis.Redis, ttl_days: int, fair_depth: int = 0, fair: frozenset[str] = frozenset()
    ):
        self._script = r.register_script(CLAIM_LUA)
        self._ttl = ttl_days * 86400
        self._fair_depth = fair_depth
        self._fair = fair

    async def claim(
        self,
        *,
        tenant_key: str,
        event_id: str,
        source: str,
        event: str,
        resource_id: str,
        received_at: str,
        raw: str,
        task_message: str,
        queue: str,
        routed: bool,
        lifecycle: bool = False,
        tenant_index: str = keys.WEBHOOK_TOKENS,
    ) -> Claim:
        """`tenant_key` is looked up in the hash `tenant_index`: the SHA-256 of an Aircall webhook token in
        WEBHOOK_TOKENS, or a Jobber account id in JOBBER_ACCOUNTS."""
        status, iid = await self._script(
            keys=[tenant_index, keys.event(""), keys.STAT_DUPLICATES, keys.integration("")],
            args=[
                tenant_key, event_id, source, event, resource_id, received_at, raw,
                task_message, queue, self._ttl, "1" if routed else "0", "1" if lifecycle else "0",
                self._fair_depth if queue in self._fair else 0,
            ],
        )  # fmt: skip
        return Claim(status=status, integration_id=iid or None)


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


class Ledger:
    """The worker / CLI side."""

    def __init__(self, r: redis.Redis):
        self.r = r

    def get(self, event_id: str) -> dict[str, str] | None:
        h: dict[str, str] = self.r.hgetall(keys.event(event_id))  # type: ignore[assignment]
        return h or None

    def raw(self, event_id: str) -> dict[str, Any]:
        entry = self.get(event_id)
        if entry is None:
            raise KeyError(f"no event {event_id}")
        payload: dict[str, Any] = json.loads(entry["raw"])
        return payload

    def note_recent(self, integration_id: str, event_id: str) -> None:
        """Events that do not come through the ingest (reconciliation) join the recent activity too."""
        pipe = self.r.pipeline()
        pipe.lpush(keys.recent_events(integration_id), event_id)
        pipe.ltrim(keys.recent_events(integration_id), 0, keys.RECENT_EVENTS_KEPT - 1)
        pipe.execute()

    def recent(self, integration_id: str, limit: int = 25) -> list[dict[str, str]]:
        """The integration's latest events, newest first, as ledger entries (expired ones left out)."""
        ids: list[str] = self.r.lrange(keys.recent_events(integration_id), 0, keys.RECENT_EVENTS_KEPT - 1)  # type: ignore[assignment]
        unique = list(dict.fromkeys(ids))  # a reconciled call may be listed again: once is enough
        pipe = self.r.pipeline()
        fields = (
            "id",
            "integration",
            "event",
            "resource_id",
            "received_at",
            "outcome",
            "reason",
            "settled_at",
        )
        for event_id in unique:
            pipe.hmget(keys.event(event_id), fields)
        found = []
        for values in pipe.execute():
            entry = dict(zip(fields, values, strict=True))
            if entry["id"] and entry["integration"] == integration_id:
                found.append({k: v or "" for k, v in entry.items()})
            if len(found) >= limit:
                break
        return found

    def set_outcome(self, event_id: str, outcome: Outcome, reason: str = "") -> None:
        fields: dict[Any, Any] = {
            "outcome": outcome,
            "reason": reason,
            "settled_at": "" if outcome == "pending" else _now(),
        }
        self.r.hset(keys.event(event_id), mapping=fields)

    def _append(self, event_id: str, entry: dict[str, Any]) -> None:
        key = keys.event_log(event_id)
        pipe = self.r.pipeline()
        pipe.rpush(key, json.dumps({"at": _now(), **entry}))
        pipe.expire(key, 90 * 86400)
        pipe.execute()

    def record_skip(self, event_id: str, reason: str) -> None:
        """The event changes nothing, on purpose; operators see why in `ajctl events show`."""
        self._append(event_id, {"kind": "skip", "reason": reason})
        self.set_outcome(event_id, "skipped", reason)

    def record_attempt(self, event_id: str, *, task: str, kind: str, error: str) -> None:
        self._append(event_id, {"kind": kind, "task": task, "error": error})

    def history(self, event_id: str) -> list[dict[str, Any]]:
        entries: list[str] = self.r.lrange(keys.event_log(event_id), 0, -1)  # type: ignore[assignment]
        return [json.loads(x) for x in entries]

    def show(self, event_id: str) -> dict[str, Any] | None:
        entry = self.get(event_id)
        if entry is None:
            return None
        history = self.history(event_id)
        return {
            "id": entry["id"],
            "integration": entry.get("integration"),
            "event": entry.get("event"),
            "resource_id": entry.get("resource_id"),
            "received_at": entry.get("received_at"),
            "raw": json.loads(entry.get("raw") or "null"),
            "outcome": entry.get("outcome", "pending"),
            "reason": entry.get("reason") or None,
            "settled_at": entry.get("settled_at") or None,
            "attempts": [h for h in history if h.get("kind") != "skip"],
            "skips": [h for h in history if h.get("kind") == "skip"],
        }
