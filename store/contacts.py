"""Jobber client → Aircall contact map (SPEC F8): what makes contact sync idempotent, and its sweep watermark.

The map is keyed on its scope (the Jobber account and the Aircall company, domain/scope.py), not on the
integration: it outlives the integration, so a reinstall for the same company and account finds every contact
already synced instead of creating a second one. It expires CONTACT_MAP_TTL_S after its last write or sweep
(a sweep runs every 10 minutes while contact sync is on, so a map in use never expires).

A scope whose map expired may still have contacts of ours in Aircall: `aj:contact_scopes` remembers which
scopes ever synced, and a map opened again for one of them is marked incomplete, so that a client without a
mapping is looked for in Aircall before a contact is created for it (flows/contact_sync.py).
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from datetime import UTC, datetime

from domain.scope import Scope
from store import keys
from store.redis import RedisClient, Value

STALE_RUN_S = 15 * 60  # a "running" sync not heard from for this long was interrupted (its worker died)
CONTACT_MAP_TTL_S = 180 * 86400
# A field of the map that is no client id (Jobber ids are base64: never a colon): "1" when every contact of
# ours in Aircall has its mapping here, "0" when some may have none (the map expired and was started again).
_COMPLETE = ":complete"


@dataclass(frozen=True)
class Mapping:
    contact_id: str  # "" while a create is in flight
    digest: str
    # When the client data the contact now shows was read from Jobber (UNIX s): data read before that is older
    # than what the contact shows, and must not be applied over it.
    read_at: float = 0.0


class ContactMap:
    def __init__(self, r: RedisClient):
        self.r = r

    def open(self, scope: Scope) -> bool:
        """Start (or renew) the scope's map; True when it is complete: a client without a mapping has no
        contact of ours in Aircall. A scope that never synced starts complete; one whose map expired does not.
        (Two first opens at once may both see the scope as known and mark the map incomplete: that costs
        searches, never a duplicate.)"""
        key = keys.contact_map(scope)
        pipe = self.r.pipeline(transaction=False)
        pipe.hget(key, _COMPLETE)
        pipe.expire(key, CONTACT_MAP_TTL_S)
        complete: str | None = pipe.execute()[0]
        if complete is None:
            now = datetime.now(UTC).isoformat(timespec="seconds")
            first = self.r.hsetnx(keys.CONTACT_SCOPES, scope.key, now)
            pipe = self.r.pipeline(transaction=False)
            pipe.hsetnx(key, _COMPLETE, "1" if first else "0")
            pipe.expire(key, CONTACT_MAP_TTL_S)
            pipe.hget(key, _COMPLETE)
            complete = pipe.execute()[-1]
        return complete == "1"

    def get(self, scope: Scope, client_id: str) -> Mapping | None:
        raw = self.r.hget(keys.contact_map(scope), client_id)
        if not raw:
            return None
        doc = json.loads(raw)
        return Mapping(
            contact_id=doc.get("contact_id", ""),
            digest=doc.get("digest", ""),
            read_at=float(doc.get("read_at") or 0.0),
        )

    def put(self, scope: Scope, client_id: str, mapping: Mapping) -> None:
        pipe = self.r.pipeline()
        pipe.hset(keys.contact_map(scope), client_id, json.dumps(mapping.__dict__))
        pipe.expire(keys.contact_map(scope), CONTACT_MAP_TTL_S)
        pipe.execute()

    def remove(self, scope: Scope, client_id: str) -> None:
        self.r.hdel(keys.contact_map(scope), client_id)

    def count(self, scope: Scope) -> int:
        pipe = self.r.pipeline(transaction=False)
        pipe.hlen(keys.contact_map(scope))
        pipe.hexists(keys.contact_map(scope), _COMPLETE)
        size, marked = pipe.execute()
        return int(size) - int(bool(marked))

    def watermark(self, integration_id: str) -> str | None:
        return self.r.get(keys.contact_sync_watermark(integration_id))

    def set_watermark(self, integration_id: str, updated_at: str) -> None:
        self.r.set(keys.contact_sync_watermark(integration_id), updated_at)


@dataclass(frozen=True)
class SyncRun:
    """The latest contact-sync run: `running`, `finished`, `failed` or `interrupted`; its counts so far."""

    state: str
    full: bool
    started_at: float
    updated_at: float
    finished_at: float | None
    counts: dict[str, int]
    error: str


class SyncStatus:
    """What the admin's page shows about contact sync, written by the sweep as it goes."""

    def __init__(self, r: RedisClient):
        self.r = r

    def started(self, integration_id: str, full: bool) -> None:
        now = repr(time.time())
        fields: dict[str, Value] = {
            "state": "running",
            "full": "1" if full else "0",
            "started_at": now,
            "updated_at": now,
            "finished_at": "",
            "counts": "{}",
            "error": "",
        }
        self.r.hset(keys.contact_sync_status(integration_id), mapping=fields)

    def progress(self, integration_id: str, counts: dict[str, int]) -> None:
        fields: dict[str, Value] = {"updated_at": repr(time.time()), "counts": json.dumps(counts)}
        self.r.hset(keys.contact_sync_status(integration_id), mapping=fields)

    def finished(self, integration_id: str, counts: dict[str, int], error: str = "") -> None:
        now = repr(time.time())
        fields: dict[str, Value] = {
            "state": "failed" if error else "finished",
            "updated_at": now,
            "finished_at": now,
            "counts": json.dumps(counts),
            "error": error[:300],
        }
        self.r.hset(keys.contact_sync_status(integration_id), mapping=fields)

    def latest(self, integration_id: str, now: float | None = None) -> SyncRun | None:
        h = self.r.hgetall(keys.contact_sync_status(integration_id))
        if not h:
            return None
        now = time.time() if now is None else now
        state = h.get("state", "finished")
        updated = float(h.get("updated_at") or 0)
        if state == "running" and now - updated > STALE_RUN_S:
            state = "interrupted"
        return SyncRun(
            state=state,
            full=h.get("full") == "1",
            started_at=float(h.get("started_at") or 0),
            updated_at=updated,
            finished_at=float(h["finished_at"]) if h.get("finished_at") else None,
            counts={k: int(v) for k, v in json.loads(h.get("counts") or "{}").items()},
            error=h.get("error", ""),
        )


RUN_TTL_S = 86400
RUN_STALE_S = 15 * 60  # a run not advanced for this long lost its page task; the next sweep resumes it


@dataclass(frozen=True)
class SweepRun:
    """One contact-sync sweep, advanced page by page by separate tasks (or a CLI loop)."""

    run_id: str
    full: bool
    since: str  # updatedAt window start of this run's query
    after: str  # Jobber cursor of the next page ("" = first page)
    newest: str  # latest updatedAt seen: the watermark once the run finishes
    counts: dict[str, int]
    updated_at: float
    pending_full: bool  # a full sweep was asked for while this one ran: it follows


# KEYS[1] run hash. ARGV: run id, full, since, newest, now, stale_after, ttl.
# A new run starts when none is in progress, or when the one in progress stopped advancing (stale): then it is
# resumed under the new run id, keeping its window and cursor. Otherwise a full sweep asked for is remembered.
_START_LUA = """
local cur = redis.call('HGET', KEYS[1], 'run_id')
local at = tonumber(redis.call('HGET', KEYS[1], 'updated_at') or '') or 0
if cur and tonumber(ARGV[5]) - at < tonumber(ARGV[6]) then
  if ARGV[2] == '1' then redis.call('HSET', KEYS[1], 'pending_full', '1') end
  return 0
end
if not cur then
  redis.call('HSET', KEYS[1], 'full', ARGV[2], 'since', ARGV[3], 'after', '', 'newest', ARGV[4],
             'counts', '{}', 'pending_full', '0')
end
redis.call('HSET', KEYS[1], 'run_id', ARGV[1], 'updated_at', ARGV[5])
redis.call('EXPIRE', KEYS[1], tonumber(ARGV[7]))
return 1
"""
# KEYS[1] run hash. ARGV: run id, after, newest, counts json, now, ttl. Only the run's owner advances it.
_ADVANCE_LUA = """
if redis.call('HGET', KEYS[1], 'run_id') ~= ARGV[1] then return 0 end
redis.call('HSET', KEYS[1], 'after', ARGV[2], 'newest', ARGV[3], 'counts', ARGV[4], 'updated_at', ARGV[5])
redis.call('EXPIRE', KEYS[1], tonumber(ARGV[6]))
return 1
"""


class SweepRuns:
    """Single-flight contact-sync runs with a saved cursor:
    a crash or a rate limit resumes, never restarts."""

    def __init__(self, r: RedisClient):
        self.r = r

    def start(self, integration_id: str, run_id: str, full: bool, since: str, newest: str) -> bool:
        """True when `run_id` now owns the integration's run (new, or a stale one resumed)."""
        return bool(
            self.r.eval(
                _START_LUA,
                1,
                keys.contact_sync_run(integration_id),
                run_id,
                "1" if full else "0",
                since,
                newest,
                repr(time.time()),
                RUN_STALE_S,
                RUN_TTL_S,
            )
        )

    def get(self, integration_id: str) -> SweepRun | None:
        h = self.r.hgetall(keys.contact_sync_run(integration_id))
        if not h.get("run_id"):
            return None
        return SweepRun(
            run_id=h["run_id"],
            full=h.get("full") == "1",
            since=h.get("since", ""),
            after=h.get("after", ""),
            newest=h.get("newest", ""),
            counts=json.loads(h.get("counts") or "{}"),
            updated_at=float(h.get("updated_at") or 0),
            pending_full=h.get("pending_full") == "1",
        )

    def advance(self, integration_id: str, run: SweepRun) -> bool:
        return bool(
            self.r.eval(
                _ADVANCE_LUA,
                1,
                keys.contact_sync_run(integration_id),
                run.run_id,
                run.after,
                run.newest,
                json.dumps(run.counts),
                repr(time.time()),
                RUN_TTL_S,
            )
        )

    def finish(self, integration_id: str, run_id: str) -> bool:
        """End the run (if still ours); True when a full sweep was asked for meanwhile."""
        run = self.get(integration_id)
        if run is None or run.run_id != run_id:
            return False
        self.r.delete(keys.contact_sync_run(integration_id))
        return run.pending_full
