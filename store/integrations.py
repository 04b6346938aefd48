"""Integration records: status, settings, vendor identities, and their tokens encrypted at rest."""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any, Literal, cast

import redis

from config.integration import IntegrationSettings
from store import keys
from store.crypto import Keys, decrypt, encrypt, token_hash
from store.reseal import Outcome, reseal_hash

Status = Literal["active", "inactive", "deleted", "needs_reconnect"]
STATUSES: tuple[Status, ...] = ("active", "inactive", "deleted", "needs_reconnect")
# Why an integration is inactive, for the admin's page (the message says it in words): Jobber never connected,
# disconnected inside Jobber (APP_DISCONNECT), or its Jobber account connected to another integration.
Reason = Literal["", "jobber_not_connected", "jobber_disconnected", "jobber_account_moved"]
REASONS: tuple[Reason, ...] = ("", "jobber_not_connected", "jobber_disconnected", "jobber_account_moved")

# Fields holding secrets; stored only as Fernet ciphertext (suffix `_enc`).
_SECRET_FIELDS = ("aircall_token", "jobber_access_token", "jobber_refresh_token")
SEALED_FIELDS = tuple(f"{f}_enc" for f in _SECRET_FIELDS)  # the hash fields holding Fernet ciphertexts


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
    aircall_budget_key: str | None = (
        None  # the company's shared rate budget (clients.aircall.CompanyIdentity)
    )
    # Aircall refused its AI endpoints (the plan lacks AI Assist): why, and since when (ISO 8601). The
    # integration keeps logging calls; AI insights are skipped with this reason (flows/ai_insights.py).
    ai_unavailable: str | None = None
    ai_unavailable_at: str | None = None
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


@dataclass
class IntegrationStore:
    r: redis.Redis
    secret_key: Keys

    # ---- reads -----------------------------------------------------------------------------

    def get(self, integration_id: str) -> Integration | None:
        h: dict[str, str] = self.r.hgetall(keys.integration(integration_id))  # type: ignore[assignment]
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
        ids: set[str] = self.r.smembers(keys.INTEGRATIONS)  # type: ignore[assignment]
        found = (self.get(i) for i in sorted(ids))
        return sorted((i for i in found if i is not None), key=lambda i: i.created_at)

    def secrets(self, integration_id: str) -> Secrets:
        """The integration's tokens as stored now (one read)."""
        values: list[str | None] = self.r.hmget(  # type: ignore[assignment]
            keys.integration(integration_id),
            [*(f"{f}_enc" for f in _SECRET_FIELDS), "jobber_access_expires_at"],
        )
        return self._open([*values[:-1]], values[-1])

    def secrets_of(self, integration: Integration) -> Secrets:
        """The tokens that were stored when `integration` was read (no Redis round trip). A token rotated
        since then is met as a 401, and the refresh reads the current pair (`secrets`)."""
        sealed = integration.sealed
        return self._open(
            [sealed.get(f"{f}_enc") for f in _SECRET_FIELDS], sealed.get("jobber_access_expires_at")
        )

    def _open(self, ciphertexts: list[str | None], expires_at: str | None) -> Secrets:
        plain = {
            f: _decrypt_cached(self.secret_key, v) if v else None
            for f, v in zip(_SECRET_FIELDS, ciphertexts, strict=True)
        }
        return Secrets(**plain, jobber_access_expires_at=float(expires_at) if expires_at else None)

    def id_for_jobber_account(self, account_id: str) -> str | None:
        found: str | None = self.r.hget(keys.JOBBER_ACCOUNTS, account_id)  # type: ignore[assignment]
        return found

    def drop_jobber_tokens(self, integration_id: str) -> None:
        """Jobber disconnected the app: its tokens are dead, keep nothing (jobber-api.md §7)."""
        self.r.hdel(
            keys.integration(integration_id),
            "jobber_access_token_enc",
            "jobber_refresh_token_enc",
            "jobber_access_expires_at",
        )

    def id_for_webhook_token(self, token: str) -> str | None:
        found: str | None = self.r.hget(keys.WEBHOOK_TOKENS, token_hash(token))  # type: ignore[assignment]
        return found

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
        mapping: dict[Any, Any] = {
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

    def _update(self, integration_id: str, **fields: str) -> None:
        mapping: dict[Any, Any] = {**fields, "updated_at": now_iso()}
        self.r.hset(keys.integration(integration_id), mapping=mapping)

    def set_settings(self, integration_id: str, settings: IntegrationSettings) -> None:
        self._update(integration_id, settings=settings.model_dump_json())

    def set_status(
        self, integration_id: str, status: Status, message: str | None = None, reason: Reason = ""
    ) -> None:
        self._update(integration_id, status=status, message=message or "", reason=reason)

    def set_ai_unavailable(self, integration_id: str, reason: str) -> None:
        """Aircall refused the AI endpoints: AI logging is unavailable, for `reason` (kept until it works again)."""
        self._update(integration_id, ai_unavailable=reason, ai_unavailable_at=now_iso())

    def clear_ai_unavailable(self, integration_id: str) -> None:
        self.r.hdel(keys.integration(integration_id), "ai_unavailable", "ai_unavailable_at")

    def set_aircall_active(self, integration_id: str, active: bool) -> None:
        self._update(integration_id, aircall_active="1" if active else "0")

    def set_warnings(self, integration_id: str, warnings: list[str]) -> None:
        self._update(integration_id, warnings=json.dumps(warnings))

    def bind_webhook(self, integration_id: str, webhook_id: str, webhook_token: str) -> None:
        """Remember the Aircall webhook and route its token to this integration (hash only, never the token).
        A rebind (the webhook re-created) retires the previous token: two live tokens would deliver twice."""
        self.r.eval(_BIND_LUA, 2, keys.WEBHOOK_TOKENS, keys.integration(integration_id), integration_id,
                    webhook_id, token_hash(webhook_token))  # fmt: skip

    def set_jobber_tokens(
        self, integration_id: str, access_token: str, refresh_token: str, expires_at: float | None = None
    ) -> None:
        """Save a token pair; `expires_at` (from the token answer's `expires_in`) is kept with it, or cleared."""
        self._update(
            integration_id,
            jobber_access_token_enc=encrypt(self.secret_key, access_token),
            jobber_refresh_token_enc=encrypt(self.secret_key, refresh_token),
            jobber_access_expires_at="" if expires_at is None else repr(expires_at),
        )

    def connect_jobber_account(self, integration_id: str, account: JobberAccount) -> str | None:
        """Make this integration the one active connection to `account`; deactivate the previous holder.

        Jobber allows one active connection per account (SPEC F10). Returns the id of the integration that
        was deactivated, if any, so the caller can warn the installer.
        """
        pipe = self.r.pipeline()  # MULTI: read the previous holder and take over atomically
        pipe.hget(keys.JOBBER_ACCOUNTS, account.id)
        pipe.hset(keys.JOBBER_ACCOUNTS, account.id, integration_id)
        previous: str | None = pipe.execute()[0]
        self._update(
            integration_id,
            jobber_account_id=account.id,
            jobber_account_name=account.name,
            status="active",
            message="",
            reason="",
        )
        if previous and previous != integration_id:
            older = self.get(previous)
            if older is not None and older.status != "deleted":
                self.set_status(
                    previous,
                    "inactive",
                    f"Jobber account {account.name} was connected to another Aircall integration; "
                    "Jobber allows one connection per account — reconnect Jobber here to resume",
                    reason="jobber_account_moved",
                )
            return previous
        return None

    def mark_deleted(self, integration_id: str, message: str = "Deleted") -> None:
        """Deleted integrations keep their token route so Aircall's last deliveries are acknowledged (200,
        skipped) instead of counting as failures; their tokens are wiped, and so is the working state that
        has no TTL of its own (the contact map, sync and reconciliation watermarks: keys.integration_state)."""
        integration = self.require(integration_id)
        pipe = self.r.pipeline()
        account = integration.jobber_account
        # Release the account only if we still hold it.
        if account and self.r.hget(keys.JOBBER_ACCOUNTS, account.id) == integration_id:
            pipe.hdel(keys.JOBBER_ACCOUNTS, account.id)
        pipe.hdel(keys.integration(integration_id), *[f"{f}_enc" for f in _SECRET_FIELDS])
        pipe.delete(*keys.integration_state(integration_id))
        pipe.execute()
        self.set_status(integration_id, "deleted", message)

    def reseal(self, integration_id: str) -> Outcome:
        """Seal the integration's tokens with the current SECRET_KEY (store/reseal.py)."""
        return reseal_hash(self.r, keys.integration(integration_id), SEALED_FIELDS, self.secret_key)

    def ids(self) -> list[str]:
        """Every integration id, deleted ones included."""
        return sorted(cast("set[str]", self.r.smembers(keys.INTEGRATIONS)))

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
        jobber_account=account,
        created_at=h.get("created_at", ""),
        updated_at=h.get("updated_at", ""),
        sealed={k: v for k, v in h.items() if k.endswith("_enc") or k == "jobber_access_expires_at"},
    )
