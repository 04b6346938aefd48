"""Vendor clients for one integration: Aircall with its credentials; Jobber with its (encrypted) tokens,
refreshed single-flight per account and persisted before use (SPEC F10), and paced on the cost bucket."""

from __future__ import annotations

import logging

from clients import jobber_oauth
from clients.aircall import AircallClient
from clients.errors import Disconnected, Permanent
from clients.jobber import JobberClient
from config.settings import Settings, get_settings
from store import keys
from store.budgets import AircallBudget, JobberCostPacer
from store.integrations import Integration, IntegrationStore
from store.locks import hold
from store.queues import enqueue
from store.redis import sync_client

log = logging.getLogger("tasks.vendors")

RECONNECT_MESSAGE = "Jobber connection expired — reconnect Jobber to resume"
DISCONNECTED_MESSAGE = "Disconnected from Jobber — reinstall the integration to resume"  # SPEC F10


def store_for(settings: Settings | None = None) -> IntegrationStore:
    settings = settings or get_settings()
    return IntegrationStore(sync_client(settings.REDIS_URL), settings.secret_key())


def aircall_for(
    integration: Integration, settings: Settings | None = None, *, high_priority: bool = False
) -> AircallClient:
    """An Aircall client with the integration's credentials, drawing on its company's shared request budget
    (AIRCALL_RATE_LIMIT_PER_MIN). Only insight cards are high priority; everything else leaves them a reserve."""
    settings = settings or get_settings()
    token = store_for(settings).secrets_of(integration).aircall_token or ""
    budget = AircallBudget(sync_client(settings.REDIS_URL), integration.budget_key,
                           settings.AIRCALL_RATE_LIMIT_PER_MIN, high_priority=high_priority)  # fmt: skip
    if integration.aircall_auth == "bearer":
        return AircallClient(
            settings.AIRCALL_API_URL, bearer_token=token, timeout=settings.HTTP_TIMEOUT_S, budget=budget
        )
    return AircallClient(settings.AIRCALL_API_URL, api_id=integration.aircall_api_id, api_token=token,
                         timeout=settings.HTTP_TIMEOUT_S, budget=budget)  # fmt: skip


def jobber_client(access_token: str, settings: Settings) -> JobberClient:
    """A bare client for a token (install-time checks); flows use `jobber_for`."""
    return JobberClient(
        settings.JOBBER_API_URL,
        access_token,
        api_version=settings.JOBBER_API_VERSION,
        timeout=settings.HTTP_TIMEOUT_S,
    )


def jobber_for(integration: Integration, settings: Settings | None = None) -> JobberClient:
    settings = settings or get_settings()
    store = store_for(settings)
    secrets = store.secrets_of(integration)
    access = secrets.jobber_access_token
    if not access:
        raise Disconnected("Jobber is not connected", vendor="jobber")
    if jobber_oauth.expires_soon(access, expires_at=secrets.jobber_access_expires_at):
        access = refresh_jobber(integration, stale=access, settings=settings)
    account = integration.jobber_account.id if integration.jobber_account else integration.id
    return JobberClient(
        settings.JOBBER_API_URL,
        access,
        api_version=settings.JOBBER_API_VERSION,
        timeout=settings.HTTP_TIMEOUT_S,
        refresh=lambda: refresh_jobber(integration, stale=access, settings=settings),
        pacer=JobberCostPacer(sync_client(settings.REDIS_URL), account),
        on_disconnected=lambda refused: mark_jobber_disconnected(
            integration.id, settings, refused_token=refused
        ),
    )


def mark_jobber_disconnected(
    integration_id: str, settings: Settings | None = None, *, refused_token: str | None = None
) -> bool:
    """The app was disconnected from the integration's Jobber account (the APP_DISCONNECT webhook, or an API
    answer saying so): the integration becomes inactive with SPEC F10's message, its dead tokens are dropped,
    and the install shows as inactive in Aircall. `refused_token`: the access token Jobber refused; when the
    integration holds another one now (reconnected since), it is left alone. Returns whether it was marked."""
    store = store_for(settings)
    integration = store.get(integration_id)
    if integration is None or integration.status == "deleted":
        return False
    if refused_token is not None and store.secrets(integration_id).jobber_access_token != refused_token:
        return False
    already = integration.status == "inactive" and integration.reason == "jobber_disconnected"
    store.set_status(integration_id, "inactive", DISCONNECTED_MESSAGE, reason="jobber_disconnected")
    store.drop_jobber_tokens(integration_id)
    if not already:
        # The seed's lifecycle: the install shows as inactive in Aircall too, until Jobber is reconnected.
        enqueue("lifecycle.aircall_activation", [integration_id], tenant=integration_id)
        log.warning("lifecycle.jobber_disconnected integration=%s", integration_id)
    return True


def refresh_jobber(integration: Integration, *, stale: str, settings: Settings) -> str:
    """A new access token, refreshing at most once at a time per Jobber account.

    With rotation a refresh token works once: two workers refreshing together would break the connection
    (jobber-api.md §8.2). Inside the lock we re-read the tokens: if another worker already refreshed, its
    token is used; otherwise we refresh and save the new pair before returning it.
    """
    store = store_for(settings)
    account = integration.jobber_account.id if integration.jobber_account else integration.id
    with hold(sync_client(settings.REDIS_URL), keys.lock("jobber_refresh", account), wait_s=20):
        secrets = store.secrets(integration.id)
        if (
            secrets.jobber_access_token
            and secrets.jobber_access_token != stale
            and not jobber_oauth.expires_soon(
                secrets.jobber_access_token, expires_at=secrets.jobber_access_expires_at
            )
        ):
            return secrets.jobber_access_token
        if not (settings.JOBBER_CLIENT_ID and settings.JOBBER_CLIENT_SECRET and secrets.jobber_refresh_token):
            raise Permanent(
                "cannot refresh the Jobber token: JOBBER_CLIENT_ID / JOBBER_CLIENT_SECRET not set",
                vendor="jobber",
            )
        try:
            pair = jobber_oauth.refresh(
                settings.JOBBER_OAUTH_URL,
                settings.JOBBER_CLIENT_ID,
                settings.JOBBER_CLIENT_SECRET.get_secret_value(),
                secrets.jobber_refresh_token,
                timeout=settings.HTTP_TIMEOUT_S,
            )
        except Disconnected:
            store.set_status(integration.id, "needs_reconnect", RECONNECT_MESSAGE)
            log.warning("jobber.refresh.rejected integration=%s", integration.id)
            raise
        store.set_jobber_tokens(integration.id, pair.access_token, pair.refresh_token, pair.expires_at)
        log.info("jobber.refresh.ok integration=%s", integration.id)
        return pair.access_token
