"""Vendor clients for one integration: Aircall with its credentials; Jobber with its (encrypted) tokens,
refreshed single-flight per account and persisted before use (SPEC F10), and paced on the cost bucket."""

from __future__ import annotations

import logging

from clients import jobber_oauth
from clients.aircall import AircallClient
from clients.errors import Disconnected, Permanent, Transient, VendorError
from clients.jobber import JobberClient
from config.queues import Task
from config.settings import Settings, get_settings
from store import keys
from store.budgets import AircallBudget, JobberCostPacer
from store.integrations import Integration, IntegrationStore
from store.locks import hold
from store.queues import enqueue
from store.redis import RedisError, sync_client
from store.replication import NotReplicated
from store.stats import JobberRefreshes, RefreshOutcome

log = logging.getLogger(__name__)

RECONNECT_MESSAGE = "Jobber connection expired — reconnect Jobber to resume"
DISCONNECTED_MESSAGE = "Disconnected from Jobber — reinstall the integration to resume"  # SPEC F10


def store_for(settings: Settings | None = None) -> IntegrationStore:
    settings = settings or get_settings()
    return IntegrationStore(
        sync_client(settings.REDIS_URL),
        settings.secret_key(),
        settings.REDIS_WAIT_REPLICAS,
        settings.REDIS_WAIT_TIMEOUT_MS,
    )


def aircall_for(
    integration: Integration, settings: Settings | None = None, *, high_priority: bool = False
) -> AircallClient:
    """An Aircall client with the integration's credentials, drawing on its company's shared
    request budget (AIRCALL_RATE_LIMIT_PER_MIN). Only insight cards are high priority;
    everything else leaves them a reserve."""
    settings = settings or get_settings()
    token = store_for(settings).secrets_of(integration).aircall_token or ""
    budget = AircallBudget(
        sync_client(settings.REDIS_URL),
        integration.budget_key,
        settings.AIRCALL_RATE_LIMIT_PER_MIN,
        high_priority=high_priority,
    )
    if integration.aircall_auth == "bearer":
        return AircallClient(
            settings.AIRCALL_API_URL, bearer_token=token, timeout=settings.HTTP_TIMEOUT_S, budget=budget
        )
    return AircallClient(
        settings.AIRCALL_API_URL,
        api_id=integration.aircall_api_id,
        api_token=token,
        timeout=settings.HTTP_TIMEOUT_S,
        budget=budget,
    )


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
        # Jobber says the app was disconnected: that concerns the connection these tokens belong to.
        on_disconnected=lambda _refused: mark_jobber_disconnected(
            integration.id, settings, connection=secrets.jobber_connection
        ),
    )


def mark_jobber_disconnected(
    integration_id: str,
    settings: Settings | None = None,
    *,
    connection: str | None = None,
    message: str = DISCONNECTED_MESSAGE,
) -> bool:
    """The app was disconnected from the integration's Jobber account (the APP_DISCONNECT webhook, confirmed;
    an API answer saying so; the admin's "Disconnect Jobber"): the integration becomes inactive with `message`
    (SPEC F10's by default), its dead tokens are dropped, and the install shows as inactive in Aircall.
    `connection`: the Jobber connection this is about; when the integration holds another one now (reconnected
    since), or was deleted, nothing changes (one atomic check-and-set). Returns whether it was marked."""
    store = store_for(settings)
    before = store.get(integration_id)
    if before is None or before.status == "deleted":
        return False
    if not store.end_jobber_connection(integration_id, message, "jobber_disconnected", connection=connection):
        return False
    if not (before.status == "inactive" and before.reason == "jobber_disconnected"):
        # The seed's lifecycle: the install shows as inactive in Aircall too, until Jobber is reconnected.
        enqueue(Task.AIRCALL_ACTIVATION, [integration_id], tenant=integration_id)
        log.warning("lifecycle.jobber_disconnected integration=%s", integration_id)
    return True


def _count_refresh(settings: Settings, outcome: RefreshOutcome) -> None:
    """aj_jobber_token_refreshes_total{outcome}: a refresh asked of Jobber (or impossible to ask). Counting
    never stands in the way of saving a rotated pair."""
    try:
        JobberRefreshes(sync_client(settings.REDIS_URL)).count(outcome)
    except RedisError as exc:
        log.warning("jobber.refresh.not_counted outcome=%s error=%s", outcome, type(exc).__name__)


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
            _count_refresh(settings, "failed")
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
            _count_refresh(settings, "failed")
            # Only if the refused refresh token is still the current connection's: a reconnect (or a delete)
            # made while it was on its way is left as it is.
            store.set_status(
                integration.id, "needs_reconnect", RECONNECT_MESSAGE, connection=secrets.jobber_connection
            )
            log.warning("jobber.refresh.rejected integration=%s", integration.id)
            raise
        except VendorError as exc:  # Jobber unreachable, 5xx, an unexpected answer: retried by the caller
            _count_refresh(settings, "failed")
            log.warning("jobber.refresh.failed integration=%s error=%s", integration.id, exc)
            raise
        _count_refresh(settings, "ok")  # Jobber issued a new pair (saved next; a failed save is retried)
        # Saved (retried, and confirmed on replicas when REDIS_WAIT_REPLICAS is set) before it is used.
        try:
            saved = store.save_rotated_pair(
                integration.id,
                secrets.jobber_connection,
                pair.access_token,
                pair.refresh_token,
                pair.expires_at,
            )
        except NotReplicated as exc:
            # The pair is on the master; the retry reads it from there (and tries the replicas again).
            raise Transient(
                f"jobber: refreshed token pair not confirmed on replicas: {exc}", vendor="jobber"
            ) from None
        if not saved:
            log.warning("jobber.refresh.superseded integration=%s", integration.id)
            raise Disconnected("the Jobber connection was replaced or removed meanwhile", vendor="jobber")
        log.info("jobber.refresh.ok integration=%s", integration.id)
        return pair.access_token
