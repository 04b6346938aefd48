"""What an idempotency record is about: a Jobber account and an Aircall company, not the integration that
happened to write it (SPEC §5: reinstalling for the same company and account logs and syncs nothing twice).

An integration has a new id on every install; the calls, messages and clients it works on do not change. So
"this call is logged", "this action item has its task" and "this client has its contact" are keyed on the
scope plus the resource id, and a reinstall (same company, same Jobber account) finds what the uninstalled
integration did. Another Aircall company taking the Jobber account over is another scope (its calls are other
calls, its contacts live in another company), and so is the same company reinstalled with another Jobber
account (it logs into that account afresh).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


class _Account(Protocol):
    @property
    def id(self) -> str: ...


class _Installed(Protocol):
    """What a scope is read from (store.integrations.Integration)."""

    @property
    def jobber_account(self) -> _Account | None: ...

    @property
    def aircall_company_id(self) -> str | None: ...

    @property
    def budget_key(self) -> str: ...


class NoScope(LookupError):
    """The integration has no Jobber account connected: nothing it could log has a scope yet."""


@dataclass(frozen=True)
class Scope:
    jobber_account: str
    # Aircall's company id; when the credentials do not reveal it, the integration's stand-in for the company
    # (the same one its rate budget is keyed on: `numbers:<id>`, `users:<id>`, ...).
    aircall_company: str

    @classmethod
    def of(cls, integration: _Installed) -> Scope:
        account = integration.jobber_account
        if account is None:
            raise NoScope("Jobber is not connected")
        return cls(account.id, integration.aircall_company_id or integration.budget_key)

    @property
    def key(self) -> str:
        """The scope's part of a Redis key (store/keys.py)."""
        return f"{self.jobber_account}:{self.aircall_company}"

    def __str__(self) -> str:
        return self.key
