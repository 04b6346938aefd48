"""Integrations created straight in the store, for tests that start after the install."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Any

from config.integration import IntegrationSettings
from config.settings import get_settings
from domain.scope import Scope
from store.integrations import IntegrationStore, JobberAccount
from store.redis import sync_client

AIRCALL_TOKEN = "aircall-api-token-SECRET-0001"
JOBBER_ACCESS = "jobber-access-SECRET-0002"
JOBBER_REFRESH = "jobber-refresh-SECRET-0003"


@dataclass
class Tenant:
    id: str
    webhook_token: str


def make_tenant(
    *,
    active: bool = True,
    numbers: list[int] | None = None,
    jobber: dict[str, Any] | None = None,
    aircall: dict[str, Any] | None = None,
    **settings: Any,
) -> Tenant:
    """An installed integration. `jobber`: a sandbox account as returned by `POST /_sandbox/accounts`
    (its tokens and account id are used); `aircall`: a sandbox company from `POST /_sandbox/companies`.
    Without them, placeholders that no vendor accepts."""
    store = IntegrationStore(sync_client(), get_settings().secret_key())
    integration = store.create(
        aircall_api_id=aircall["api_id"] if aircall else "api-id-1",
        aircall_token=aircall["api_token"] if aircall else AIRCALL_TOKEN,
        aircall_auth="basic",
        aircall_company_id=str(aircall["id"]) if aircall else "company-1",
        settings=IntegrationSettings.parse({"numbers": numbers or [789], **settings}),
    )
    webhook_token = "whk-" + secrets.token_hex(8)
    store.bind_webhook(integration.id, "webhook-uuid-1", webhook_token)
    if jobber:
        store.set_jobber_tokens(integration.id, jobber["access_token"], jobber["refresh_token"])
        account = JobberAccount(id=jobber["account"]["id"], name=jobber["account"]["name"])
    else:
        store.set_jobber_tokens(integration.id, JOBBER_ACCESS, JOBBER_REFRESH)
        account = JobberAccount(id=f"acct-{integration.id}", name="Acme Plumbing")
    if active:
        store.connect_jobber_account(integration.id, account)
    return Tenant(id=integration.id, webhook_token=webhook_token)


def scope_of(integration_id: str) -> Scope:
    """The scope an integration's records are keyed on (its Jobber account and Aircall company)."""
    return Scope.of(IntegrationStore(sync_client(), get_settings().secret_key()).require(integration_id))
