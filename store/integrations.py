"""Integration records: status, settings, vendor identities, and their tokens encrypted at rest."""

from __future__ import annotations

import json
import logging
import secrets
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any, Literal

from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from config.integration import IntegrationSettings
from domain.scope import Scope
from store import keys
from store.crypto import Keys, decrypt, encrypt, token_hash
from store.redis import RedisClient, Value
from store.replication import confirm_field
from store.reseal import Outcome, reseal_hash

log = logging.getLogger(__name__)

Status = Literal["active", "inactive", "deleted", "needs_reconnect"]
STATUSES: tuple[Status, ...] = ("active", "inactive", "deleted", "needs_reconnect")
# Why an integration is inactive, for the admin's page (the message says it in words): Jobber never connected,
# disconnected inside Jobber (APP_DISCONNECT), or its Jobber account connected to another integration.
Reason = Literal["", "jobber_not_connected", "jobber_disconnected", "jobber_account_moved"]
REASONS: tuple[Reason, ...] = ("", "jobber_not_connected", "jobber_disconnected", "jobber_account_moved")

# Fields holding secrets; stored only as Fernet ciphertext (suffix `_enc`).
_SECRET_FIELDS = ("aircall_token", "jobber_access_token", "jobber_refresh_token")
SEALED_FIELDS = tuple(f"{f}_enc" for f in _SECRET_FIELDS)  # the hash fields holding Fernet ciphertexts
# The current Jobber connection: its tokens, which consent they came from (a random id, new at each connect,
# kept across refreshes) and when it was made. Status changes about "the connection" apply only while it is
# still the current one (a refused refresh, a disconnect learnt from Jobber).
_CONNECTION_FIELDS = (
    "jobber_access_token_enc",
    "jobber_refresh_token_enc",
    "jobber_access_expires_at",
    "jobber_connection",
    "jobber_connected_at",
)
# What a deleted integration keeps (README "Uninstall"): enough to acknowledge Aircall's late
# deliveries, and for operators to see it was deleted, until the purge removes the tombstone too
# (TOMBSTONE_S after the delete).
_TOMBSTONE_FIELDS = (
    "created_at",
    "aircall_company_id",
    "aircall_auth",
    "aircall_webhook_id",
    "webhook_token_hash",
)
# A rotated token pair must not be lost (the old refresh token is already dead): its write is retried this
# long on Redis connection errors (redis-py's own retries come first).
PAIR_WRITE_ATTEMPTS = 6


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


@dataclass(frozen=True)
class JobberAccount:
    id: str
    name: str


@dataclass(frozen=True)
class Integration:
    id: str
    status: Status
    message: str | None
    reason: Reason
    settings: IntegrationSettings
    warnings: list[str]
    aircall_company_id: str | None
    aircall_api_id: str | None
    aircall_auth: Literal["basic", "bearer"]
    aircall_webhook_id: str | None
    aircall_active: bool | None  # as last set in Aircall (OAuth installs); None: never set
    jobber_account: JobberAccount | None
    created_at: str
    updated_at: str
    # The company's shared rate budget (clients.aircall.CompanyIdentity)
    aircall_budget_key: str | None = None
    # Aircall refused its AI endpoints (the plan lacks AI Assist): why, and since when (ISO 8601). The
    # integration keeps logging calls; AI insights are skipped with this reason (flows/ai_insights.py).
    ai_unavailable: str | None = None
    ai_unavailable_at: str | None = None
    # The current Jobber connection (see _CONNECTION_FIELDS):
    # None when there is none, or it predates the field.
    jobber_connection: str | None = None
    jobber_connected_at: float | None = None  # UNIX time the connection was made (our clock)
    deleted_at: str | None = None
    # The encrypted token fields as read with the rest (IntegrationStore.secrets_of); never shown or compared.
    sealed: dict[str, str] = field(default_factory=dict, repr=False, compare=False)

    @property
    def is_active(self) -> bool:
        return self.status == "active"

    @property
    def budget_key(self) -> str:
        """What this integration's Aircall rate budget is keyed on: shared with every integration of the same
        company when the company (or a stand-in for it) is known, else its own."""
        return self.aircall_budget_key or self.aircall_company_id or self.id

    def to_public(self) -> dict[str, Any]:
        """The operator view (`ajctl ... --json`): never any secret."""
        return {
            "id": self.id,
            "status": self.status,
            "message": self.message,
            "reason": self.reason or None,
            "warnings": list(self.warnings),
            "settings": self.settings.model_dump(),
            "jobber_account": (
                {"id": self.jobber_account.id, "name": self.jobber_account.name}
                if self.jobber_account
                else None
            ),
            "aircall_company_id": self.aircall_company_id,
            "aircall_budget_key": self.budget_key,
            "aircall_webhook_id": self.aircall_webhook_id,
            "ai_logging_unavailable": (
                {"reason": self.ai_unavailable, "since": self.ai_unavailable_at}
                if self.ai_unavailable
                else None
            ),
            "created_at": self.created_at,
            "updated_at": self.updated_at,
        }


@dataclass(frozen=True)
class Secrets:
    aircall_token: str | None = None
    jobber_access_token: str | None = None
    jobber_refresh_token: str | None = None
    # Not a secret (stored in clear): when the access token expires, if known from the token answer.
    jobber_access_expires_at: float | None = None
    jobber_connection: str = ""  # which connection the pair belongs to ("" before the field existed)


@dataclass
class IntegrationStore:
    r: RedisClient
    secret_key: Keys
    # REDIS_WAIT_REPLICAS / REDIS_WAIT_TIMEOUT_MS: a rotated token pair is confirmed on this many replicas
    # before its access token is used (save_rotated_pair).
    wait_replicas: int = 0
    wait_timeout_ms: int = 500

    # ---- reads -----------------------------------------------------------------------------

    def get(self, integration_id: str) -> Integration | None:
        h = self.r.hgetall(keys.integration(integration_id))
        return _from_hash(h) if h else None

    @staticmethod
    def from_record(h: dict[str, str]) -> Integration | None:
        """An integration from its record as read elsewhere (e.g. with its event, in one round trip)."""
        return _from_hash(h) if h else None

    def require(self, integration_id: str) -> Integration:
        found = self.get(integration_id)
        if found is None:
            raise KeyError(f"no integration {integration_id}")
        return found

    def all(self) -> list[Integration]:
        ids = self.r.smembers(keys.INTEGRATIONS)
        found = (self.get(i) for i in sorted(ids))
        return sorted((i for i in found if i is not None), key=lambda i: i.created_at)

    def secrets(self, integration_id: str) -> Secrets:
        """The integration's tokens as stored now (one read)."""
        values = self.r.hmget(
            keys.integration(integration_id),
            [*(f"{f}_enc" for f in _SECRET_FIELDS), "jobber_access_expires_at", "jobber_connection"],
        )
        return self._open([*values[:-2]], values[-2], values[-1] or "")

    def secrets_of(self, integration: Integration) -> Secrets:
        """The tokens that were stored when `integration` was read (no Redis round trip). A token rotated
        since then is met as a 401, and the refresh reads the current pair (`secrets`)."""
        sealed = integration.sealed
        return self._open(
            [sealed.get(f"{f}_enc") for f in _SECRET_FIELDS],
            sealed.get("jobber_access_expires_at"),
            integration.jobber_connection or "",
        )

    def _open(self, ciphertexts: list[str | None], expires_at: str | None, connection: str) -> Secrets:
        plain = {
            f: _decrypt_cached(self.secret_key, v) if v else None
            for f, v in zip(_SECRET_FIELDS, ciphertexts, strict=True)
        }
        return Secrets(
            **plain,
            jobber_access_expires_at=float(expires_at) if expires_at else None,
            jobber_connection=connection,
        )

    def id_for_jobber_account(self, account_id: str) -> str | None:
        return self.r.hget(keys.JOBBER_ACCOUNTS, account_id)

    def id_for_webhook_token(self, token: str) -> str | None:
        return self.r.hget(keys.WEBHOOK_TOKENS, token_hash(token))

    # ---- writes ----------------------------------------------------------------------------

    def create(
        self,
        *,
        aircall_api_id: str | None,
        aircall_token: str,
        aircall_auth: Literal["basic", "bearer"],
        aircall_company_id: str | None,
        settings: IntegrationSettings,
        aircall_budget_key: str | None = None,
    ) -> Integration:
        integration_id = "int_" + secrets.token_hex(6)
        stamp = now_iso()
        mapping: dict[str, Value] = {
            "id": integration_id,
            "status": "inactive",
            "message": "Jobber is not connected yet",
            "reason": "jobber_not_connected",
            "settings": settings.model_dump_json(),
            "warnings": "[]",
            "aircall_api_id": aircall_api_id or "",
            "aircall_auth": aircall_auth,
            "aircall_company_id": aircall_company_id or "",
            "aircall_budget_key": aircall_budget_key or "",
            "aircall_token_enc": encrypt(self.secret_key, aircall_token),
            "created_at": stamp,
            "updated_at": stamp,
        }
        pipe = self.r.pipeline()
        pipe.hset(keys.integration(integration_id), mapping=mapping)
        pipe.sadd(keys.INTEGRATIONS, integration_id)
        pipe.execute()
        return self.require(integration_id)

    def _write(
        self,
        integration_id: str,
        fields: dict[str, str],
        drop: tuple[str, ...] = (),
        connection: str | None = None,
    ) -> bool:
        """Set `fields` (and remove `drop`) on a live integration: never on a deleted or missing one (a late
        write must not bring a deleted integration back, nor recreate a purged record), and with `connection`
        only while that Jobber connection is the current one. Returns whether it was written."""
        pairs = [x for item in {**fields, "updated_at": now_iso()}.items() for x in item]
        written = self.r.eval(
            _WRITE_LUA,
            1,
            keys.integration(integration_id),
            "*" if connection is None else connection,
            len(pairs),
            *pairs,
            *drop,
        )
        return bool(written)

    def _update(self, integration_id: str, **fields: str) -> None:
        self._write(integration_id, fields)

    def set_settings(self, integration_id: str, settings: IntegrationSettings) -> None:
        self._update(integration_id, settings=settings.model_dump_json())

    def set_status(
        self,
        integration_id: str,
        status: Status,
        message: str | None = None,
        reason: Reason = "",
        *,
        connection: str | None = None,
    ) -> bool:
        """Change the status of a live integration (a deleted one stays deleted: `mark_deleted` is the only
        way there). `connection`: only while that Jobber connection is still the current one (a refused
        refresh must not overwrite a reconnect made meanwhile). Returns whether it was changed."""
        if status == "deleted":
            raise ValueError("use mark_deleted")
        return self._write(
            integration_id,
            {"status": status, "message": message or "", "reason": reason},
            connection=connection,
        )

    def end_jobber_connection(
        self, integration_id: str, message: str, reason: Reason, *, connection: str | None
    ) -> bool:
        """The Jobber connection is gone (disconnected in Jobber, or by the admin): the integration becomes
        inactive with `message`, and its dead tokens are dropped (jobber-api.md §7) -- only while `connection`
        (None: whatever connection it has) is still the current one, so a disconnect that concerns an older
        connection never touches a newer one. Returns whether it was changed."""
        return self._write(
            integration_id,
            {"status": "inactive", "message": message, "reason": reason},
            drop=_CONNECTION_FIELDS,
            connection=connection,
        )

    def set_ai_unavailable(self, integration_id: str, reason: str) -> None:
        """Aircall refused the AI endpoints:
        AI logging is unavailable, for `reason` (kept until it works again)."""
        self._update(integration_id, ai_unavailable=reason, ai_unavailable_at=now_iso())

    def clear_ai_unavailable(self, integration_id: str) -> None:
        self._write(integration_id, {}, drop=("ai_unavailable", "ai_unavailable_at"))

    def set_aircall_active(self, integration_id: str, active: bool) -> None:
        self._update(integration_id, aircall_active="1" if active else "0")

    def set_warnings(self, integration_id: str, warnings: list[str]) -> None:
        self._update(integration_id, warnings=json.dumps(warnings))

    def bind_webhook(self, integration_id: str, webhook_id: str, webhook_token: str) -> None:
        """Remember the Aircall webhook and route its token to this integration (hash only, never the token).
        A rebind (the webhook re-created) retires the previous token: two live tokens would deliver twice."""
        self.r.eval(
            _BIND_LUA,
            2,
            keys.WEBHOOK_TOKENS,
            keys.integration(integration_id),
            integration_id,
            webhook_id,
            token_hash(webhook_token),
        )

    def _sealed_pair(self, access_token: str, refresh_token: str, expires_at: float | None) -> dict[str, str]:
        return {
            "jobber_access_token_enc": encrypt(self.secret_key, access_token),
            "jobber_refresh_token_enc": encrypt(self.secret_key, refresh_token),
            "jobber_access_expires_at": "" if expires_at is None else repr(expires_at),
        }

    def set_jobber_tokens(
        self, integration_id: str, access_token: str, refresh_token: str, expires_at: float | None = None
    ) -> None:
        """Save a token pair; `expires_at` (from the token answer's `expires_in`) is kept with it, or cleared.
        A new connection is made with `connect_jobber` (or this, then `connect_jobber_account`); a refreshed
        pair of the current one with `save_rotated_pair`."""
        self._write(integration_id, self._sealed_pair(access_token, refresh_token, expires_at))

    def save_rotated_pair(
        self,
        integration_id: str,
        connection: str,
        access_token: str,
        refresh_token: str,
        expires_at: float | None = None,
    ) -> bool:
        """Save the pair a refresh returned, before its access token is used (jobber-api.md §2.4): the old
        refresh token is already dead, so losing this write loses the connection. Written only while
        `connection` is current (a reconnect or a delete meanwhile wins: False), retried on Redis connection
        errors, then confirmed on `wait_replicas` replicas when set (raises NotReplicated otherwise: the pair
        is on the master, and the work that retries reads it from there)."""
        sealed = self._sealed_pair(access_token, refresh_token, expires_at)
        key = keys.integration(integration_id)
        for attempt in range(1, PAIR_WRITE_ATTEMPTS + 1):
            try:
                written = self._write(integration_id, sealed, connection=connection)
                if written and self.wait_replicas:
                    confirm_field(
                        self.r,
                        key,
                        "jobber_refresh_token_enc",
                        sealed["jobber_refresh_token_enc"],
                        self.wait_replicas,
                        self.wait_timeout_ms,
                    )
                return written
            except (RedisConnectionError, RedisTimeoutError) as exc:
                if attempt == PAIR_WRITE_ATTEMPTS:
                    log.error("integrations.token_pair_lost integration=%s error=%s", integration_id, exc)
                    raise
                log.warning(
                    "integrations.token_pair_retry integration=%s attempt=%d error=%s",
                    integration_id,
                    attempt,
                    type(exc).__name__,
                )
                time.sleep(min(2.0, 0.1 * 2**attempt))
        return False  # not reached

    def connect_jobber(
        self,
        integration_id: str,
        account: JobberAccount,
        access_token: str,
        refresh_token: str,
        expires_at: float | None = None,
    ) -> str | None:
        """A new Jobber connection, in one step: the pair, the account, a new connection id, active; the
        previous holder of the account becomes inactive and its tokens are dropped (Jobber allows one
        connection per account, SPEC F10: they are dead, or about to be; deleting that integration later must
        not disconnect the account with them). Returns the id of the integration that lost the account."""
        return self._connect(
            integration_id, account, self._sealed_pair(access_token, refresh_token, expires_at)
        )

    def connect_jobber_account(self, integration_id: str, account: JobberAccount) -> str | None:
        """Make this integration the one active connection to `account`, with the tokens it holds (saved with
        `set_jobber_tokens`); see `connect_jobber`."""
        return self._connect(integration_id, account, {})

    def _connect(self, integration_id: str, account: JobberAccount, sealed: dict[str, str]) -> str | None:
        moved = (
            f"Jobber account {account.name} was connected to another Aircall integration; "
            "Jobber allows one connection per account — reconnect Jobber here to resume"
        )
        connection = secrets.token_hex(8)
        pairs = [x for item in sealed.items() for x in item]
        done, previous = self.r.eval(
            _CONNECT_LUA,
            3,
            keys.JOBBER_ACCOUNTS,
            keys.integration(integration_id),
            keys.integration(""),
            integration_id,
            account.id,
            account.name,
            connection,
            repr(time.time()),
            now_iso(),
            moved,
            *pairs,
        )
        if not int(done):
            raise KeyError(f"integration {integration_id} is deleted or missing")
        return str(previous) or None

    def mark_deleted(self, integration_id: str, message: str = "Deleted") -> bool:
        """Deleted integrations keep a small tombstone (_TOMBSTONE_FIELDS) and their token route, so Aircall's
        last deliveries are acknowledged (200, skipped) instead of counting as failures. Everything else goes:
        the tokens and the rest of the record at once, with the working state that has no TTL of its own
        (keys.integration_state); the rest of the tenant's data by the purge (flows/purge.py), which this
        queues. The Jobber account is released if this integration still holds it. Returns False when it was
        already deleted (or is unknown)."""
        done = self.r.eval(
            _DELETE_LUA,
            3 + len(keys.integration_state(integration_id)),
            keys.JOBBER_ACCOUNTS,
            keys.integration(integration_id),
            keys.PURGE_DUE,
            *keys.integration_state(integration_id),
            integration_id,
            message,
            now_iso(),
            repr(time.time()),
            self._scope_key(integration_id),
            *_TOMBSTONE_FIELDS,
        )
        return bool(done)

    def _scope_key(self, integration_id: str) -> str:
        """The scope of what the integration logged ("" with no Jobber account): the purge removes the call
        snapshots and AI content kept under it, unless a live integration (a reinstall) has the same scope."""
        integration = self.get(integration_id)
        if integration is None or integration.jobber_account is None:
            return ""
        return Scope.of(integration).key

    def reseal(self, integration_id: str) -> Outcome:
        """Seal the integration's tokens with the current SECRET_KEY (store/reseal.py)."""
        return reseal_hash(self.r, keys.integration(integration_id), SEALED_FIELDS, self.secret_key)

    def ids(self) -> list[str]:
        """Every integration id, deleted ones included."""
        return sorted(self.r.smembers(keys.INTEGRATIONS))

    def counts_by_status(self) -> dict[str, int]:
        counts: dict[str, int] = dict.fromkeys(STATUSES, 0)
        for integration in self.all():
            counts[integration.status] = counts.get(integration.status, 0) + 1
        return counts


# KEYS: the token index, the integration. ARGV: integration id, webhook id, new token hash.
_BIND_LUA = """
local old = redis.call('HGET', KEYS[2], 'webhook_token_hash')
if old and old ~= ARGV[3] and redis.call('HGET', KEYS[1], old) == ARGV[1] then
  redis.call('HDEL', KEYS[1], old)
end
redis.call('HSET', KEYS[1], ARGV[3], ARGV[1])
redis.call('HSET', KEYS[2], 'aircall_webhook_id', ARGV[2], 'webhook_token_hash', ARGV[3])
return 1
"""


# KEYS: the integration. ARGV: the connection it must hold ('*': any), how many field/value values follow, the
# field/value pairs to set, then the fields to remove. Nothing is written to a deleted or missing integration.
_WRITE_LUA = """
local status = redis.call('HGET', KEYS[1], 'status')
if not status or status == 'deleted' then return 0 end
if ARGV[1] ~= '*' and (redis.call('HGET', KEYS[1], 'jobber_connection') or '') ~= ARGV[1] then return 0 end
local n = tonumber(ARGV[2])
if n > 0 then redis.call('HSET', KEYS[1], unpack(ARGV, 3, 2 + n)) end
if #ARGV > 2 + n then redis.call('HDEL', KEYS[1], unpack(ARGV, 3 + n)) end
return 1
"""

# KEYS: the account index, the integration, the integration key prefix.
# ARGV: integration id, account id, account name, new connection id, connected at, now (ISO), the message for
# the integration that loses the account, then the token fields to set (field/value pairs; none: keep them).
# Returns {1, previous holder or ''}, or {0, ''} for a deleted or missing integration.
_CONNECT_LUA = """
local status = redis.call('HGET', KEYS[2], 'status')
if not status or status == 'deleted' then return {0, ''} end
local before = redis.call('HGET', KEYS[2], 'jobber_account_id')
if before and before ~= '' and before ~= ARGV[2] and redis.call('HGET', KEYS[1], before) == ARGV[1] then
  redis.call('HDEL', KEYS[1], before)  -- moving to another account releases the one it held
end
local previous = redis.call('HGET', KEYS[1], ARGV[2]) or ''
redis.call('HSET', KEYS[1], ARGV[2], ARGV[1])
redis.call('HSET', KEYS[2], 'jobber_account_id', ARGV[2], 'jobber_account_name', ARGV[3],
           'jobber_connection', ARGV[4], 'jobber_connected_at', ARGV[5], 'status', 'active', 'message', '',
           'reason', '', 'updated_at', ARGV[6])
if #ARGV > 7 then redis.call('HSET', KEYS[2], unpack(ARGV, 8)) end
if previous == '' or previous == ARGV[1] then return {1, ''} end
local older = KEYS[3] .. previous
local was = redis.call('HGET', older, 'status')
if not was or was == 'deleted' then return {1, ''} end
redis.call('HSET', older, 'status', 'inactive', 'message', ARGV[7], 'reason', 'jobber_account_moved',
           'updated_at', ARGV[6])
redis.call('HDEL', older, 'jobber_access_token_enc', 'jobber_refresh_token_enc', 'jobber_access_expires_at',
           'jobber_connection', 'jobber_connected_at')
return {1, previous}
"""

# KEYS: the account index, the integration, the purge index, then the integration's state without a TTL.
# ARGV: integration id, message, now (ISO), now (UNIX s), its scope key (or ""), then the fields the tombstone
# keeps.
_DELETE_LUA = """
local h = redis.call('HGETALL', KEYS[2])
if #h == 0 then return 0 end
local f = {}
for i = 1, #h, 2 do f[h[i]] = h[i + 1] end
if f['status'] == 'deleted' then return 0 end
local account = f['jobber_account_id']
if account and account ~= '' and redis.call('HGET', KEYS[1], account) == ARGV[1] then
  redis.call('HDEL', KEYS[1], account)
end
local keep = {'id', ARGV[1], 'status', 'deleted', 'message', ARGV[2], 'reason', '', 'deleted_at', ARGV[3],
              'updated_at', ARGV[3]}
-- for the purge: its phone cache goes, unless another integration holds it
if account and account ~= '' then
  keep[#keep + 1] = 'purge_jobber_account'
  keep[#keep + 1] = account
end
-- for the purge: its call snapshots and AI content go, unless a reinstall has the scope
if ARGV[5] ~= '' then
  keep[#keep + 1] = 'purge_scope'
  keep[#keep + 1] = ARGV[5]
end
for i = 6, #ARGV do
  if f[ARGV[i]] then
    keep[#keep + 1] = ARGV[i]
    keep[#keep + 1] = f[ARGV[i]]
  end
end
redis.call('DEL', KEYS[2])
redis.call('HSET', KEYS[2], unpack(keep))
for i = 4, #KEYS do redis.call('DEL', KEYS[i]) end
redis.call('ZADD', KEYS[3], tonumber(ARGV[4]), ARGV[1])
return 1
"""


@lru_cache(maxsize=1024)
def _decrypt_cached(secret_key: Keys, ciphertext: str) -> str:
    """Fernet decryption once per distinct ciphertext per process (every task needs its tenant's token)."""
    return decrypt(secret_key, ciphertext)


def _from_hash(h: dict[str, str]) -> Integration:
    account = (
        JobberAccount(id=h["jobber_account_id"], name=h.get("jobber_account_name", ""))
        if h.get("jobber_account_id")
        else None
    )
    status = h.get("status", "inactive")
    reason = h.get("reason", "")
    return Integration(
        id=h["id"],
        status=status if status in STATUSES else "inactive",
        message=h.get("message") or None,
        reason=reason if reason in REASONS else "",
        settings=IntegrationSettings.model_validate_json(h.get("settings") or "{}"),
        warnings=json.loads(h.get("warnings") or "[]"),
        aircall_company_id=h.get("aircall_company_id") or None,
        aircall_budget_key=h.get("aircall_budget_key") or None,
        aircall_api_id=h.get("aircall_api_id") or None,
        aircall_auth="bearer" if h.get("aircall_auth") == "bearer" else "basic",
        aircall_webhook_id=h.get("aircall_webhook_id") or None,
        aircall_active={"1": True, "0": False}.get(h.get("aircall_active", "")),
        ai_unavailable=h.get("ai_unavailable") or None,
        ai_unavailable_at=h.get("ai_unavailable_at") or None,
        jobber_connection=h.get("jobber_connection") or None,
        jobber_connected_at=float(h["jobber_connected_at"]) if h.get("jobber_connected_at") else None,
        deleted_at=h.get("deleted_at") or None,
        jobber_account=account,
        created_at=h.get("created_at", ""),
        updated_at=h.get("updated_at", ""),
        sealed={k: v for k, v in h.items() if k.endswith("_enc") or k == "jobber_access_expires_at"},
    )
