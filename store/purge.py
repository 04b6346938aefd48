"""What an uninstall removes from Redis, found by one bounded sweep of the keyspace (README "Uninstall").

Most of a tenant's keys carry its integration id in their name (`aj:call:{int}:…`); some carry it only inside
(a ledger entry `aj:ev:{event}`, a dead letter, a session, a sign-in link, a Jobber consent waiting for an
admin), and some are keyed on its Jobber account (the phone cache). No index lists them all, and keeping one
on the ingest's hot path would cost every webhook. Instead a *pass* walks the whole keyspace with SCAN, a
bounded batch at a time, for every integration deleted before the pass began: its cost is one read of each
key name per pass, whatever the number of integrations it purges, and its state (the SCAN cursor, which
integrations and accounts) is saved after every batch, so a worker that dies mid-way leaves a pass the next
run resumes (SCAN returns every key that exists for the whole pass; deleting a key twice is harmless).

Kept by design, never deleted here: the tombstone (`aj:int:{id}`, its token route and set membership: they
go TOMBSTONE_DAYS after the delete, `drop_tombstone`), the idempotency records keyed on the Jobber account and
Aircall company that a reinstall needs (`aj:activity:…`, `aj:ai_tasks:…`, `aj:contacts:…`, `aj:created:…`: ids
and digests, each with its own TTL), locks (seconds), and the fair queues' lanes (ids only; they drain). The
call events and AI content kept under such a scope go, unless a live integration has the scope.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field

from domain.scope import Scope
from store import keys
from store.integrations import IntegrationStore
from store.ledger import THROTTLE_REASONS
from store.redis import RedisClient
from store.sessions import REVOKE_LUA, REVOKED_UNINSTALLED
from store.stats import rate_limit_wait_fields

PASS_BATCH = 1000  # keys read per SCAN step

# Keyed on a Jobber account, holding the tenant's data: deleted when no live integration holds the account.
_ACCOUNT_PREFIXES = ("aj:phone:", "aj:phone_rev:", "aj:jobber:bucket:")
# Keyed on a scope (a Jobber account + an Aircall company, domain/scope.py), holding the tenant's call events
# (numbers, comments), AI content (transcripts) and card claims: deleted unless a live integration -- a
# reinstall for the same company and account -- has that scope. The scope's idempotency records stay (below).
_SCOPE_PREFIXES = ("aj:call:", "aj:ai:", "aj:card:")
# Never deleted by the sweep, whatever their name holds (see the module docstring).
_KEPT_PREFIXES = (
    "aj:lock:",
    "aj:lane:",
    "aj:ring:",
    "aj:activity:",
    "aj:ai_tasks:",
    "aj:ai_task_attempts:",
    "aj:contacts:",
    "aj:contact_scopes",
    "aj:created:",
    "aj:created_rev:",
    "aj:purge",
)
# Keys whose content names the integration: how to read it.
_EVENT, _DEAD, _SESSION, _SIGNIN, _PENDING = (
    "aj:ev:",
    "aj:dead:",
    "aj:session:",
    "aj:signin:",
    "aj:jobber_pending:",
)


@dataclass
class PurgePass:
    """One sweep of the keyspace for `integrations` (deleted before it began)
    and their released `accounts`."""

    cursor: int
    integrations: list[str]
    accounts: list[str]
    started_at: float
    counts: dict[str, int] = field(default_factory=dict)
    scopes: list[str] = field(default_factory=list)  # scope keys of the integrations' call data

    @property
    def new(self) -> bool:
        return self.cursor == 0 and not self.counts.get("scanned")


@dataclass(frozen=True)
class Batch:
    """What one SCAN step found: the next cursor (0: the pass is over), keys deleted, Jobber consents that
    name a purged integration (their digests: the flow hands them to the disconnect sweep), keys read."""

    cursor: int
    deleted: int
    pending_consents: list[str]
    scanned: int


class Purges:
    def __init__(self, r: RedisClient):
        self.r = r

    # ---- which integrations ------------------------------------------------------------------------

    def due(self, now: float | None = None) -> list[str]:
        """Deleted integrations whose data is still to purge."""
        return self.r.zrangebyscore(keys.PURGE_DUE, "-inf", time.time() if now is None else now)

    def tombstones_due(self, now: float | None = None) -> list[str]:
        return self.r.zrangebyscore(keys.TOMBSTONES, "-inf", time.time() if now is None else now)

    def held_accounts(self, accounts: list[str]) -> set[str]:
        """Those of `accounts` some integration holds now (its phone cache is that integration's too)."""
        if not accounts:
            return set()
        holders = self.r.hmget(keys.JOBBER_ACCOUNTS, accounts)
        return {a for a, h in zip(accounts, holders, strict=True) if h}

    # ---- the pass ----------------------------------------------------------------------------------

    def current(self) -> PurgePass | None:
        h = self.r.hgetall(keys.PURGE_PASS)
        if not h:
            return None
        return PurgePass(
            int(h.get("cursor") or 0),
            json.loads(h.get("integrations") or "[]"),
            json.loads(h.get("accounts") or "[]"),
            float(h.get("started_at") or 0),
            json.loads(h.get("counts") or "{}"),
            json.loads(h.get("scopes") or "[]"),
        )

    def start(self, integrations: list[str], now: float | None = None) -> PurgePass:
        """A new pass for `integrations`, with the Jobber accounts they held that nobody holds now."""
        accounts = [a for a in self._tombstone_field(integrations, "purge_jobber_account") if a]
        released = sorted(set(accounts) - self.held_accounts(accounts))
        scopes = sorted({s for s in self._tombstone_field(integrations, "purge_scope") if s})
        found = PurgePass(
            0, sorted(integrations), released, time.time() if now is None else now, scopes=scopes
        )
        self._save(found)
        return found

    def _tombstone_field(self, integrations: list[str], name: str) -> list[str]:
        pipe = self.r.pipeline(transaction=False)
        for iid in integrations:
            pipe.hget(keys.integration(iid), name)
        return [str(a) for a in pipe.execute() if a]

    def live_scopes(self, scopes: list[str]) -> set[str]:
        """Those of `scopes` a live integration has now: the one holding the scope's Jobber account, when its
        own scope is the same (a reinstall for the same Aircall company)."""
        accounts = sorted({s.split(":", 1)[0] for s in scopes})
        holders = self.r.hmget(keys.JOBBER_ACCOUNTS, accounts) if accounts else []
        live: set[str] = set()
        for holder in holders:
            if not holder:
                continue
            h = self.r.hgetall(keys.integration(holder))
            integration = IntegrationStore.from_record(h)
            if integration is not None and integration.status != "deleted" and integration.jobber_account:
                live.add(Scope.of(integration).key)
        return live & set(scopes)

    def _save(self, found: PurgePass) -> None:
        self.r.hset(
            keys.PURGE_PASS,
            mapping={
                "cursor": str(found.cursor),
                "integrations": json.dumps(found.integrations),
                "accounts": json.dumps(found.accounts),
                "started_at": repr(found.started_at),
                "counts": json.dumps(found.counts),
                "scopes": json.dumps(found.scopes),
            },
        )

    def step(self, found: PurgePass, count: int = PASS_BATCH) -> Batch:
        """One SCAN step of the pass:
        delete what in it belongs to the pass's integrations; save the cursor."""
        cursor, scanned = self.r.scan(found.cursor, count=count)
        names = [str(n) for n in scanned]
        ids, accounts = set(found.integrations), set(found.accounts) - self.held_accounts(found.accounts)
        scopes = tuple(
            f"{p}{s}:" for s in set(found.scopes) - self.live_scopes(found.scopes) for p in _SCOPE_PREFIXES
        )
        doomed = [n for n in names if _named_for(n, ids, accounts) or (scopes and n.startswith(scopes))]
        readable = [n for n in names if n not in doomed and _read_as(n)]
        pending: list[str] = []
        pipe = self.r.pipeline(transaction=False)
        for name in readable:
            kind = _read_as(name)
            if kind == "hash":
                pipe.hget(_event_of(name) if name.startswith(_EVENT) else name, "integration")
            else:
                pipe.get(name)
        contents = pipe.execute() if readable else []
        dead_ids: list[str] = []
        for name, content in zip(readable, contents, strict=True):
            if name.startswith(_PENDING):
                if isinstance(content, str) and content:
                    pending.append(name.removeprefix(_PENDING))
            elif content in ids:
                doomed.append(name)
                if name.startswith(_DEAD):
                    dead_ids.append(name.removeprefix(_DEAD))
        events = [_event_of(n).removeprefix(_EVENT) for n in doomed if n.startswith(_EVENT)]
        # A session is revoked, not deleted: a marker without the integration
        # stays until it would have expired.
        sessions = [n for n in doomed if n.startswith(_SESSION)]
        doomed = [n for n in doomed if not n.startswith(_SESSION)]
        pipe = self.r.pipeline(transaction=True)
        for name in sessions:
            pipe.eval(REVOKE_LUA, 1, name, REVOKED_UNINSTALLED)
        if doomed:
            pipe.delete(*doomed)
        if events:
            pipe.zrem(keys.PENDING, *events)
        if dead_ids:
            pipe.zrem(keys.DEAD_LETTERS, *dead_ids)
        found.cursor = int(cursor)
        found.counts["scanned"] = found.counts.get("scanned", 0) + len(names)
        found.counts["deleted"] = found.counts.get("deleted", 0) + len(doomed) + len(sessions)
        pipe.hset(keys.PURGE_PASS, mapping={"cursor": str(found.cursor), "counts": json.dumps(found.counts)})
        pipe.execute()
        return Batch(int(cursor), len(doomed) + len(sessions), pending, len(names))

    def finish(self, found: PurgePass, tombstone_until: float) -> None:
        """The pass is over: its integrations leave the purge index for the tombstone index (and their
        keys without a TTL are deleted once more, should a task in flight have written one meanwhile)."""
        pipe = self.r.pipeline(transaction=True)
        for iid in found.integrations:
            pipe.delete(*keys.integration_state(iid), keys.recent_events(iid))
            pipe.zadd(keys.TOMBSTONES, {iid: tombstone_until})
            # Its 429 counters (fields "integration|reason" of two fleet-wide hashes).
            refused = [f"{iid}|{reason}" for reason in THROTTLE_REASONS]
            pipe.hdel(keys.STAT_THROTTLED, *refused)
            pipe.hdel(keys.STAT_THROTTLED_AT, *refused)
            pipe.hdel(keys.STAT_RATE_LIMIT_WAITS, *rate_limit_wait_fields(iid))  # aj_rate_limit_waits_total
        if found.integrations:
            pipe.zrem(keys.PURGE_DUE, *found.integrations)
        pipe.delete(keys.PURGE_PASS)
        pipe.execute()

    def drop_tombstone(self, integration_id: str) -> bool:
        """The last of a deleted integration: its record, its token route, its place in the set."""
        return bool(
            self.r.eval(
                _DROP_TOMBSTONE_LUA,
                4,
                keys.integration(integration_id),
                keys.WEBHOOK_TOKENS,
                keys.INTEGRATIONS,
                keys.TOMBSTONES,
                integration_id,
            )
        )


# KEYS: the integration, the token index, the set of integrations, the tombstone index. ARGV: integration id.
# Only a deleted integration's record goes (never a live one, whatever the index says).
_DROP_TOMBSTONE_LUA = """
redis.call('ZREM', KEYS[4], ARGV[1])
local status = redis.call('HGET', KEYS[1], 'status')
if status and status ~= 'deleted' then return 0 end
local token = redis.call('HGET', KEYS[1], 'webhook_token_hash')
if token and redis.call('HGET', KEYS[2], token) == ARGV[1] then redis.call('HDEL', KEYS[2], token) end
redis.call('DEL', KEYS[1])
redis.call('SREM', KEYS[3], ARGV[1])
return 1
"""


def _named_for(name: str, integrations: set[str], accounts: set[str]) -> bool:
    """The key's name says it belongs to one of `integrations` (or to one of the released `accounts`)."""
    if name.startswith(_KEPT_PREFIXES):
        return False
    parts = name.split(":")
    if name.startswith(_ACCOUNT_PREFIXES):
        return any(p in accounts for p in parts[2:])
    if len(parts) == 3 and parts[1] == "int":
        return False  # the tombstone itself
    return any(p in integrations for p in parts[1:])


def _read_as(name: str) -> str:
    """How a key that names its integration only inside is read ("" for the other keys)."""
    if name.startswith((_EVENT, _DEAD, _SESSION)):
        if name.startswith(_DEAD) and name.count(":") != 2:
            return ""
        return "hash"
    if name.startswith((_SIGNIN, _PENDING)):
        return "string"
    return ""


def _event_of(name: str) -> str:
    """`aj:ev:{id}` for the entry and for its attempts log `aj:ev:{id}:log`."""
    return name.removesuffix(":log")
