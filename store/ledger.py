"""The event ledger: each received webhook once, with its outcome, attempts and skips.

The ledger entry *is* the idempotency record: the claim creates it and puts its flow's task (the event → task
map, flows/routes.py, chosen by the ingest) into the tenant's lane of that task's queue, in one atomic Lua
call per batch of claims: an event is either new-and-enqueued, a duplicate, skipped at the door or refused (a
tenant over its limits: 429, nothing stored) -- never claimed-but-lost.

What it keeps, for how long (issue 10; Redis runs with noeviction): the entry lives EVENT_TTL_DAYS, as the
duplicate check and a compact record (event, resource, integration, times, outcome, reason) for `ajctl events
show` and the settings page. The raw body (up to MAX_WEBHOOK_BYTES) is kept only while the flow may read it:
when the event settles it is dropped. A call's flow keeps what it reads in the call's snapshots
(store/calls.py); a failed event's raw body lives on in its dead letter's own copy (store/dead_letters.py).
"""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal, NamedTuple, cast

from redis.exceptions import RedisError

from config.settings import get_settings
from store import keys
from store.dead_letters import DeadLetters
from store.queues import FAIR_LUA_FUNCTIONS
from store.redis import AsyncRedisClient, RedisClient, Value

Outcome = Literal["pending", "done", "skipped", "failed"]

# KEYS: tenant index hash, event key prefix, duplicate counter, integration key prefix, pending index
# ARGV[1..3], for the whole call: the tenant limits (TenantLimits: webhooks per window, the window in seconds,
# pending bytes; 0 = no limit). Then CLAIM_ARGS values per claim:
#   tenant key, event_id, source, event, resource_id, received_at, raw, task_message, queue, ttl_s, routed,
#   lifecycle ('1': enqueue for an inactive integration too; uninstalling it is still wanted),
#   fair depth (> 0: into the integration's lane of a fair queue, store/queues.py; 0: straight onto it)
# Keys are derived inside the script (single Redis or Sentinel; not written for Redis Cluster).
# An event skipped at the door is settled at once: its raw body is not stored at all.
#
# Tenant limits (issue 16), counted per integration: the webhooks of the current fixed window
# (`aj:rate:{int}`) and the bytes of its pending events (`aj:int:{int}:pending_bytes`: raw body + task
# message, taken off when the event settles, NOTE_LUA). One call carries a batch: a tenant's first claim in it
# reads and counts with one command, its later ones are counted in Lua and added once at the end. A claim over
# either limit stores nothing and answers 'rate_limited' / 'backlog_full' (the ingest's 429); refusals are
# counted per integration and reason in `aj:stat:throttled` (the last one's time in `aj:stat:throttled_at`).
# Why a claim can be refused with a 429 (the reasons counted in keys.STAT_THROTTLED).
THROTTLE_REASONS = ("rate_limited", "backlog_full")
_CLAIM_FUNCTION = (
    """
local RATE_LIMIT, RATE_WINDOW, PENDING_CAP = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local now = nil
local tenants = {}

local function tenant(iid)
  local t = tenants[iid]
  if not t then
    -- window: the window's count once read (this claim's included); later: claims counted here, added at the
    -- end. pending: bytes once read (this claim's included); added: bytes added here, added at the end.
    t = {window = nil, later = 0, pending = nil, added = 0, status = nil}
    tenants[iid] = t
  end
  return t
end

local function refuse(iid, reason)
  if now == nil then now = tonumber(redis.call('TIME')[1]) end
  redis.call('HINCRBY', 'STAT_THROTTLED', iid .. '|' .. reason, 1)
  redis.call('HSET', 'LAST_THROTTLED', iid .. '|' .. reason, now)
  return {reason, iid}
end

local function claim(A)
  local iid = redis.call('HGET', KEYS[1], A[1])
  if not iid then return {'unknown', ''} end
  -- Events no flow handles are acknowledged without a write: they count for nothing.
  if A[11] == '0' then return {'ignored', iid} end
  local t = tenant(iid)
  if t.status == nil then t.status = redis.call('HGET', KEYS[4] .. iid, 'status') end
  local status = t.status
  -- A deleted integration's late deliveries are acknowledged and leave nothing behind (its data is purged).
  if status == 'deleted' then return {'skipped', iid} end
  if RATE_LIMIT > 0 then
    if t.window == nil then  -- the tenant's first claim of this call: counted at once (one command)
      local key = 'RATE_PREFIX' .. iid
      t.window = redis.call('INCR', key)
      if t.window == 1 then redis.call('EXPIRE', key, RATE_WINDOW) end
      if t.window > RATE_LIMIT then return refuse(iid, 'rate_limited') end
    else
      if t.window + t.later >= RATE_LIMIT then return refuse(iid, 'rate_limited') end
      t.later = t.later + 1
    end
  end
  local evkey = KEYS[2] .. A[2]
  if redis.call('EXISTS', evkey) == 1 then
    redis.call('INCR', KEYS[3])
    return {'duplicate', iid}
  end
  local outcome, reason = 'pending', ''
  if status ~= 'active' and not (A[12] == '1' and status and status ~= 'deleted') then
    outcome = 'skipped'
    reason = 'integration ' .. (status or 'missing')
  end
  if outcome == 'pending' then
    local size = #A[7] + #A[8]
    if t.pending == nil then  -- the tenant's first pending event of this call: added at once (one command)
      local key = KEYS[4] .. iid .. ':pending_bytes'
      t.pending = redis.call('INCRBY', key, size)
      if PENDING_CAP > 0 and t.pending > PENDING_CAP then
        t.pending = redis.call('DECRBY', key, size)
        if t.pending <= 0 then redis.call('DEL', key) end
        return refuse(iid, 'backlog_full')
      end
    else
      if PENDING_CAP > 0 and t.pending + t.added + size > PENDING_CAP then
        return refuse(iid, 'backlog_full')
      end
      t.added = t.added + size
    end
    redis.call('HSET', evkey, 'id', A[2], 'integration', iid, 'source', A[3], 'event', A[4],
               'resource_id', A[5], 'received_at', A[6], 'raw', A[7], 'outcome', outcome, 'reason', reason,
               'bytes', size)
  else
    redis.call('HSET', evkey, 'id', A[2], 'integration', iid, 'source', A[3], 'event', A[4],
               'resource_id', A[5], 'received_at', A[6], 'outcome', outcome, 'reason', reason,
               'settled_at', A[6])
  end
  redis.call('EXPIRE', evkey, tonumber(A[10]))
  local recent = KEYS[4] .. iid .. ':recent'
  redis.call('LPUSH', recent, A[2])
  redis.call('LTRIM', recent, 0, RECENT_KEPT)
  if outcome == 'pending' then
    if now == nil then now = tonumber(redis.call('TIME')[1]) end
    redis.call('ZADD', KEYS[5], now, A[2])
    if tonumber(A[13]) > 0 then
      fair_push(A[9], iid, A[8], tonumber(A[13]))
    else
      redis.call('LPUSH', A[9], A[8])
    end
    return {'enqueued', iid}
  end
  redis.call('RPUSH', evkey .. ':log', cjson.encode({kind = 'skip', reason = reason, at = A[6]}))
  redis.call('EXPIRE', evkey .. ':log', tonumber(A[10]))
  return {'skipped', iid}
end

local function count_tenants()
  for iid, t in pairs(tenants) do
    if t.later > 0 then redis.call('INCRBY', 'RATE_PREFIX' .. iid, t.later) end
    if t.added > 0 then redis.call('INCRBY', KEYS[4] .. iid .. ':pending_bytes', t.added) end
  end
end
""".replace("RECENT_KEPT", str(keys.RECENT_EVENTS_KEPT - 1))
    .replace("RATE_PREFIX", keys.webhook_rate(""))
    .replace("STAT_THROTTLED", keys.STAT_THROTTLED)
    .replace("LAST_THROTTLED", keys.STAT_THROTTLED_AT)
)
CLAIM_ARGS = 13
LIMIT_ARGS = 3
# After the LIMIT_ARGS, ARGV holds CLAIM_ARGS values per claim, one claim after the other (the ingest sends
# the claims that arrive together in one call); returns status, integration id for each claim, flat, in order.
CLAIM_LUA = (
    FAIR_LUA_FUNCTIONS
    + _CLAIM_FUNCTION
    + """
local out = {}
for first = FIRST, #ARGV, ARGS do
  local answer = claim({unpack(ARGV, first, first + ARGS - 1)})
  out[#out + 1] = answer[1]
  out[#out + 1] = answer[2]
end
count_tenants()
return out
""".replace("ARGS", str(CLAIM_ARGS)).replace("FIRST", str(LIMIT_ARGS + 1))
)

# Everything the workers write about an event after the claim, atomically, and only while the entry exists:
# an event the ledger already forgot is not recreated (it would have no TTL, and no body to act on).
# KEYS: event key, its log, its dead letter, the pending index
# ARGV: log line ('' for none), outcome ('' to leave it), reason, now, log lines kept, event TTL (s), event id
# Settling (done / skipped) drops the raw body; failed drops it only once the dead letter holds its own copy.
# Settling (done / skipped / failed) also takes the event's bytes off its integration's pending bytes.
# An entry without a TTL (written by an older release's set_outcome) gets one.
NOTE_LUA = """
local ttl = redis.call('PTTL', KEYS[1])
if ttl == -2 then return 0 end
if ttl == -1 then
  redis.call('EXPIRE', KEYS[1], tonumber(ARGV[6]))
  ttl = tonumber(ARGV[6]) * 1000
end
if ARGV[1] ~= '' then
  redis.call('RPUSH', KEYS[2], ARGV[1])
  redis.call('LTRIM', KEYS[2], -tonumber(ARGV[5]), -1)
  if ttl > 0 then redis.call('PEXPIRE', KEYS[2], ttl) end
end
if ARGV[2] ~= '' then
  local settled = ARGV[2] ~= 'pending'
  redis.call('HSET', KEYS[1], 'outcome', ARGV[2], 'reason', ARGV[3], 'settled_at', settled and ARGV[4] or '')
  if settled then
    redis.call('ZREM', KEYS[4], ARGV[7])
    -- What the claim counted against its integration's pending bytes (TenantLimits), taken off once.
    local held = redis.call('HMGET', KEYS[1], 'bytes', 'integration')
    if held[1] then
      redis.call('HDEL', KEYS[1], 'bytes')
      local counter = 'INT_PREFIX' .. (held[2] or '') .. ':pending_bytes'
      if redis.call('DECRBY', counter, tonumber(held[1]) or 0) <= 0 then redis.call('DEL', counter) end
    end
  else  -- pending again (a replay): its message is on its way
    redis.call('ZADD', KEYS[4], tonumber(redis.call('TIME')[1]), ARGV[7])
  end
  local keep_raw = ARGV[2] == 'failed' and redis.call('HEXISTS', KEYS[3], 'raw') == 0
  if settled and not keep_raw and redis.call('HDEL', KEYS[1], 'raw') == 1 then
    -- The raw body made Redis encode the hash as a hashtable, which it never undoes: written again, the
    -- compact record is a listpack (about a third of the memory).
    local fields = redis.call('HGETALL', KEYS[1])
    redis.call('DEL', KEYS[1])
    redis.call('HSET', KEYS[1], unpack(fields))
    redis.call('PEXPIRE', KEYS[1], ttl)
  end
end
return 1
""".replace("INT_PREFIX", keys.integration(""))

ClaimStatus = Literal[
    "unknown", "ignored", "duplicate", "enqueued", "skipped", "rate_limited", "backlog_full"
]


@dataclass(frozen=True)
class Claim:
    status: ClaimStatus
    integration_id: str | None


@dataclass(frozen=True)
class TenantLimits:
    """What one integration's webhooks may take (config/settings.py; 0 = no limit): `rate` webhooks per fixed
    window of `window_s` seconds, and `pending_bytes` of events received and not yet settled."""

    rate: int = 0
    window_s: int = 10
    pending_bytes: int = 0

    def args(self) -> list[int]:
        return [self.rate, self.window_s, self.pending_bytes]


NO_LIMITS = TenantLimits()
BATCH_MAX_BYTES = 1024 * 1024  # CLAIM_BATCH_MAX_BYTES's default


def batch_size(sizes: list[int], max_bytes: int) -> int:
    """How many of the waiting claims (their sizes in bytes, oldest first) the next call carries: as many as
    fit in `max_bytes`, and always at least one (a claim larger than the cap goes alone)."""
    total = 0
    for n, size in enumerate(sizes):
        total += size
        if total > max_bytes:
            return max(1, n)
    return len(sizes)


class _Waiting(NamedTuple):
    group: tuple[Any, ...]  # the claims of a call share their keys and limits
    args: list[Any]
    size: int
    answer: asyncio.Future[list[str]]


@dataclass(frozen=True, slots=True)
class Inbound:
    """One webhook as the ingest hands it to the claim."""

    source: str  # "aircall" | "jobber"
    # Looked up in the hash `tenant_index`: the SHA-256 of an Aircall webhook token in WEBHOOK_TOKENS, or a
    # Jobber account id in JOBBER_ACCOUNTS.
    tenant_key: str
    event_id: str
    event: str
    resource_id: str
    received_at: str  # ISO 8601
    raw: str  # the body to keep while the event is pending (the Aircall token redacted)
    task_message: str  # its flow's task message ("" for an event no flow handles)
    queue: str
    routed: bool  # a flow handles it
    lifecycle: bool = False  # it also runs for an inactive integration (uninstalling it is still wanted)
    tenant_index: str = keys.WEBHOOK_TOKENS
    # The tenant limits apply (a refusal: `rate_limited` / `backlog_full`, nothing stored).
    limited: bool = False


# The claim script's keys after the tenant index (KEYS[2..5] of CLAIM_LUA): the same for every claim.
_CLAIM_KEYS = (keys.event(""), keys.STAT_DUPLICATES, keys.integration(""), keys.PENDING)


class AsyncLedger:
    """The ingest side: one Lua call per webhook. Claims made while an earlier batch is on its way to Redis
    wait and go together, in one call of the claim script: under load a round trip carries many webhooks
    (redis-py's cost is per call, not per claim), and a lone webhook is sent at once. A call carries at most
    `batch_max_bytes` of claims, so one call never holds Redis (and every other tenant) for long."""

    def __init__(
        self,
        r: AsyncRedisClient,
        ttl_days: float,
        fair_depth: int = 0,
        fair: frozenset[str] = frozenset(),
        *,
        depths: dict[str, int] | None = None,
        limits: TenantLimits = NO_LIMITS,
        batch_max_bytes: int = BATCH_MAX_BYTES,
    ):
        """`fair_depth` / `depths` (per queue): messages kept ready on the fair queues `fair`; `limits`: what
        a tenant's claims made with `limited=True` may take."""
        self._script = r.register_script(CLAIM_LUA)
        self._ttl = max(1, round(ttl_days * 86400))
        self._depths = {queue: (depths or {}).get(queue, fair_depth) for queue in fair}
        self._limits = limits
        self._batch_max_bytes = batch_max_bytes
        self._waiting: list[_Waiting] = []
        self._sending = False

    async def claim(self, inbound: Inbound) -> Claim:
        """Store the event once and enqueue its task (see `Inbound`); claims arriving while a batch is in
        flight go together in the next call of the script."""
        script_keys = (inbound.tenant_index, *_CLAIM_KEYS)
        limits = self._limits if inbound.limited else NO_LIMITS
        args = [
            inbound.tenant_key,
            inbound.event_id,
            inbound.source,
            inbound.event,
            inbound.resource_id,
            inbound.received_at,
            inbound.raw,
            inbound.task_message,
            inbound.queue,
            self._ttl,
            "1" if inbound.routed else "0",
            "1" if inbound.lifecycle else "0",
            self._depths.get(inbound.queue, 0),
        ]
        answer: asyncio.Future[list[str]] = asyncio.get_running_loop().create_future()
        size = len(inbound.raw) + len(inbound.task_message)
        self._waiting.append(_Waiting((script_keys, limits), args, size, answer))
        if not self._sending:
            self._sending = True
            asyncio.get_running_loop().create_task(self._send())
        status, iid = await answer
        return Claim(status=cast(ClaimStatus, status), integration_id=iid or None)

    async def _send(self) -> None:
        """Send what waits, one batch (at most `batch_max_bytes`) per round trip, until nothing does."""
        try:
            while self._waiting:
                n = batch_size([w.size for w in self._waiting], self._batch_max_bytes)
                batch, self._waiting = self._waiting[:n], self._waiting[n:]
                await self._send_batch(batch)
        finally:
            self._sending = False

    async def _claim_batch(self, batch: list[_Waiting]) -> list[Any]:
        """Each claim's (status, integration id), or the RedisError that stopped its call. Claims with other
        keys (Aircall and Jobber webhooks use different tenant indexes) or limits go in calls of their own."""
        groups: dict[tuple[Any, ...], list[int]] = {}
        for i, waiting in enumerate(batch):
            groups.setdefault(waiting.group, []).append(i)
        results: list[Any] = [None] * len(batch)
        for (group_keys, limits), members in groups.items():
            try:
                flat = await self._script(
                    keys=list(group_keys), args=[*limits.args(), *(a for i in members for a in batch[i].args)]
                )
            except RedisError as exc:  # this group's claims fail (answered 503); another group's may stand
                for i in members:
                    results[i] = exc
                continue
            for n, i in enumerate(members):
                results[i] = flat[2 * n : 2 * n + 2]
        return results

    async def _send_batch(self, batch: list[_Waiting]) -> None:
        try:
            results = await self._claim_batch(batch)
        except BaseException as exc:  # not Redis (that is per group, above): fail every claim, then go on up
            for waiting in batch:
                if not waiting.answer.done():
                    waiting.answer.set_exception(exc if isinstance(exc, Exception) else RedisError(repr(exc)))
            if not isinstance(exc, Exception):
                raise
            return
        for waiting, result in zip(batch, results, strict=True):
            if waiting.answer.done():  # its request was cancelled (client gone)
                continue
            if isinstance(result, Exception):
                waiting.answer.set_exception(result)
            else:
                waiting.answer.set_result(result)


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


# KEYS[1] the event. ARGV[1] the integration key prefix. Returns both hashes as flat field/value lists.
_ENTRY_AND_INTEGRATION_LUA = """
local entry = redis.call('HGETALL', KEYS[1])
for i = 1, #entry, 2 do
  if entry[i] == 'integration' then
    return {entry, redis.call('HGETALL', ARGV[1] .. entry[i + 1])}
  end
end
return {entry, {}}
"""


def _pairs(flat: list[str]) -> dict[str, str]:
    return dict(zip(flat[::2], flat[1::2], strict=True))


class Ledger:
    """The worker / CLI side."""

    def __init__(self, r: RedisClient):
        self.r = r
        self._note = r.register_script(NOTE_LUA)

    def get(self, event_id: str) -> dict[str, str] | None:
        h = self.r.hgetall(keys.event(event_id))
        return h or None

    def get_with_integration(self, event_id: str) -> tuple[dict[str, str] | None, dict[str, str]]:
        """The event's entry and its integration's record, in one round trip (what every flow reads first)."""
        entry, integration = self.r.eval(
            _ENTRY_AND_INTEGRATION_LUA, 1, keys.event(event_id), keys.integration("")
        )
        return (_pairs(entry) or None), _pairs(integration)

    def raw(self, event_id: str) -> dict[str, Any]:
        """The raw event, while the ledger keeps it (KeyError once the event settled or expired)."""
        body = self.r.hget(keys.event(event_id), "raw")
        if body is None:
            raise KeyError(f"no raw body for event {event_id}")
        payload: dict[str, Any] = json.loads(body)
        return payload

    def reopen(self, event_id: str, copy: dict[str, str], ttl_s: int) -> None:
        """Make the event pending again with its raw body, from a dead letter's copy (`ajctl events replay`):
        the flow reads it exactly as at the first delivery, even after the ledger forgot the event."""
        key = keys.event(event_id)
        fields: dict[str, Value] = {
            **copy,
            "id": event_id,
            "outcome": "pending",
            "reason": "replayed",
            "settled_at": "",
        }
        pipe = self.r.pipeline()
        pipe.hset(key, mapping=fields)
        pipe.expire(key, ttl_s)
        pipe.execute()

    def record_synthetic(
        self,
        event_id: str,
        integration_id: str,
        *,
        source: str,
        event: str,
        resource_id: str,
        raw: dict[str, Any],
    ) -> None:
        """A pending entry for an event that no webhook brought (reconciliation rebuilds a missed `call.ended`
        from the API), so it goes through the same flow and idempotency; writing it again is harmless."""
        entry: dict[str, Value] = {
            "id": event_id,
            "integration": integration_id,
            "source": source,
            "event": event,
            "resource_id": resource_id,
            "received_at": _now(),
            "raw": json.dumps(raw),
            "outcome": "pending",
            "reason": "",
        }
        pipe = self.r.pipeline()
        pipe.hset(keys.event(event_id), mapping=entry)
        pipe.expire(keys.event(event_id), get_settings().event_ttl_s)
        pipe.zadd(keys.PENDING, {event_id: time.time()})
        pipe.execute()
        self.note_recent(integration_id, event_id)

    def stale_page(self, older_than: float, offset: int, limit: int) -> list[tuple[str, float]]:
        """Pending events last handed to the queues before `older_than` (UNIX s), oldest first, from `offset`:
        (event id, when)."""
        found = self.r.zrangebyscore(
            keys.PENDING, "-inf", older_than, start=offset, num=limit, withscores=True
        )
        return [(str(event_id), float(at)) for event_id, at in found]

    SUMMARY_FIELDS = ("outcome", "event", "integration")

    def summaries(self, event_ids: list[str]) -> list[dict[str, str] | None]:
        """Each event's outcome, name and integration (None once forgotten), in one round trip; never the raw
        body (the recovery sweep reads these exactly when backlogs are large)."""
        pipe = self.r.pipeline(transaction=False)
        for event_id in event_ids:
            pipe.hmget(keys.event(event_id), self.SUMMARY_FIELDS)
        found: list[dict[str, str] | None] = []
        for values in pipe.execute():
            entry = {k: v for k, v in zip(self.SUMMARY_FIELDS, values, strict=True) if v is not None}
            found.append(entry or None)
        return found

    def outcomes(self, event_ids: list[str]) -> list[str | None]:
        """Each event's outcome (None once forgotten), in one round trip."""
        pipe = self.r.pipeline(transaction=False)
        for event_id in event_ids:
            pipe.hget(keys.event(event_id), "outcome")
        return [None if o is None else str(o) for o in pipe.execute()]

    def touch_pending(self, event_id: str, at: float | None = None) -> None:
        """Its message was handed to the queues again (recovery)."""
        self.r.zadd(keys.PENDING, {event_id: time.time() if at is None else at})

    def forget_pending(self, event_id: str) -> None:
        """No longer tracked: settled, or the ledger forgot the event."""
        self.r.zrem(keys.PENDING, event_id)

    def note_recent(self, integration_id: str, event_id: str) -> None:
        """Events that do not come through the ingest (reconciliation) join the recent activity too."""
        pipe = self.r.pipeline()
        pipe.lpush(keys.recent_events(integration_id), event_id)
        pipe.ltrim(keys.recent_events(integration_id), 0, keys.RECENT_EVENTS_KEPT - 1)
        pipe.execute()

    def recent(self, integration_id: str, limit: int = 25) -> list[dict[str, str]]:
        """The integration's latest events, newest first, as ledger entries (expired ones left out)."""
        ids = self.r.lrange(keys.recent_events(integration_id), 0, keys.RECENT_EVENTS_KEPT - 1)
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

    def _write(self, event_id: str, line: dict[str, Any] | None, outcome: str = "", reason: str = "") -> None:
        log_line = json.dumps({"at": _now(), **line}) if line else ""
        self._note(
            keys=[keys.event(event_id), keys.event_log(event_id), keys.dead_letter(event_id), keys.PENDING],
            args=[
                log_line,
                outcome,
                reason,
                _now(),
                keys.EVENT_LOG_KEPT,
                get_settings().event_ttl_s,
                event_id,
            ],
        )

    def set_outcome(self, event_id: str, outcome: Outcome, reason: str = "") -> None:
        """Record how the event ended (or `pending` again, for a replay); settling drops its raw body. An
        event the ledger no longer has is left alone."""
        self._write(event_id, None, outcome, reason)

    def record_skip(self, event_id: str, reason: str) -> None:
        """The event changes nothing, on purpose; operators see why in `ajctl events show`."""
        self._write(event_id, {"kind": "skip", "reason": reason}, "skipped", reason)

    def record_attempt(self, event_id: str, *, task: str, kind: str, error: str) -> None:
        self._write(event_id, {"kind": kind, "task": task, "error": error})

    def history(self, event_id: str) -> list[dict[str, Any]]:
        entries = self.r.lrange(keys.event_log(event_id), 0, -1)
        return [json.loads(x) for x in entries]

    def show(self, event_id: str) -> dict[str, Any] | None:
        entry = self.get(event_id)
        if entry is None:
            return None
        history = self.history(event_id)
        # A failed event's raw body lives in its dead letter; a settled one's was dropped when it settled.
        raw = entry.get("raw") or DeadLetters(self.r).raw_copy(event_id)
        return {
            "id": entry["id"],
            "integration": entry.get("integration"),
            "event": entry.get("event"),
            "resource_id": entry.get("resource_id"),
            "received_at": entry.get("received_at"),
            "raw": json.loads(raw) if raw else None,
            "raw_dropped_at": None if raw else (entry.get("settled_at") or entry.get("received_at")),
            "outcome": entry.get("outcome", "pending"),
            "reason": entry.get("reason") or None,
            "settled_at": entry.get("settled_at") or None,
            "attempts": [h for h in history if h.get("kind") != "skip"],
            "skips": [h for h in history if h.get("kind") == "skip"],
        }
