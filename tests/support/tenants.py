"""Integrations created straight in the store, for tests that start after the install."""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from config.integration import IntegrationSettings
from config.settings import get_settings
from store.integrations import IntegrationStore, JobberAccount
from store.redis import sync_client

AIRCALL_TOKEN = "aircall-api-token-SECRET-0001"
JOBBER_ACCESS = "jobber-access-SECRET-0002"
JOBBER_REFRESH = "jobber-refresh-SECRET-0003"


@dataclass
class Tenant:
    id: str
    webhook_token: str


def make_tenant(*, active: bool = True, numbers: list[int] | None = None) -> Tenant:
    store = IntegrationStore(sync_client(), get_settings().secret_key())
    integration = store.create(
        aircall_api_id="api-id-1",
        aircall_token=AIRCALL_TOKEN,
        aircall_auth="basic",
        aircall_company_id="company-1",
        settings=IntegrationSettings(numbers=numbers or [789]),
    )
    webhook_token = "whk-" + secrets.token_hex(8)
    store.bind_webhook(integration.id, "webhook-uuid-1", webhook_token)
    store.set_jobber_tokens(integration.id, JOBBER_ACCESS, JOBBER_REFRESH)
    if active:
        store.connect_jobber_account(
            integration.id, JobberAccount(id=f"acct-{integration.id}", name="Acme Plumbing")
        )
    return Tenant(id=integration.id, webhook_token=webhook_token)
