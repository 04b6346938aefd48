"""Scheduled upkeep (SPEC F10, F11), run by beat: Aircall webhook health and proactive Jobber token refresh.

A beat job fans out: one task per active integration (`fan_out`), each in its tenant's lane of the `default`
queue (store/queues.py), instead of one task looping over every tenant. So the job's length never grows with
the number of tenants (one long task would outlive the broker's redelivery window and run twice), and a slow
or failing tenant holds nobody else's share. Each share (`for_integration`) logs its failure and never raises:
the next beat run is the retry.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from clients import jobber_oauth
from clients.errors import Permanent, VendorError
from config.queues import Task
from config.settings import get_settings
from flows.lifecycle import WEBHOOK_NAME
from flows.vendors import aircall_for, refresh_jobber, store_for
from store.fleet import throttled
from store.integrations import Integration
from store.queues import enqueue
from store.redis import sync_client

log = logging.getLogger(__name__)

REFRESH_MARGIN_S = 15 * 60  # refresh tokens expiring within the next quarter hour (they live 60 min)


def fan_out(task: Task, wanted: Callable[[Integration], bool] = lambda i: True) -> int:
    """Start `task(integration_id)` for every active integration (that `wanted` keeps), each in its tenant's
    lane; returns how many were started."""
    started = 0
    for integration in store_for().all():
        if integration.is_active and wanted(integration):
            enqueue(task, [integration.id], tenant=integration.id)
            started += 1
    log.info("maintenance.fanned_out task=%s integrations=%d", task, started)
    return started


def for_integration(job: str, integration_id: str, step: Callable[[Integration], str]) -> str:
    """One integration's share of a beat job: `step`'s outcome, "inactive" when there is nothing to do any
    more, or "failed" (logged; the next beat run tries again)."""
    integration = store_for().get(integration_id)
    if integration is None or not integration.is_active:
        return "inactive"
    try:
        return step(integration)
    except VendorError as exc:
        log.warning("maintenance.%s.failed integration=%s error=%s", job, integration.id, exc)
    except Exception:
        # A bug or an unforeseen answer for one tenant: logged with its traceback, and the task ends cleanly.
        log.exception("maintenance.%s.crashed integration=%s", job, integration.id)
    return "failed"


def check_webhook(integration: Integration) -> str:
    """Re-enable an Aircall webhook that Aircall disabled after failed deliveries, or re-create a deleted one
    (aircall-api.md §1.3: disabled webhooks lose events; Aircall retries for 12 h only)."""
    settings = get_settings()
    store = store_for(settings)
    aircall = aircall_for(integration, settings)
    if integration.aircall_webhook_id:
        try:
            webhook = aircall.get_webhook(integration.aircall_webhook_id)
        except Permanent as exc:
            if exc.status != 404:
                raise
        else:
            if webhook.active:
                return "healthy"
            # PUT without `events` resets them to all events, which is what this webhook subscribes to.
            aircall.enable_webhook(webhook.id)
            log.warning(
                "maintenance.webhook_reenabled integration=%s webhook=%s%s",
                integration.id,
                webhook.id,
                _refusals(integration.id),
            )
            return "reenabled"
    webhook = aircall.create_webhook(f"{settings.PUBLIC_URL}/webhooks/aircall", WEBHOOK_NAME)
    store.bind_webhook(integration.id, webhook.id, webhook.token)
    log.warning("maintenance.webhook_recreated integration=%s webhook=%s", integration.id, webhook.id)
    return "recreated"


def _refusals(integration_id: str) -> str:
    """Why Aircall may have disabled the webhook: the integration's webhooks we refused with 429 lately."""
    now = time.time()
    recent = [t for t in throttled(sync_client(), integration_id) if t.last_at and now - t.last_at <= 3600]
    return "".join(
        f" refused_429_{t.reason}={t.refused} last_refused_age_s={now - (t.last_at or now):.0f}"
        for t in recent
    )


def refresh_token(integration: Integration) -> str:
    """Refresh a Jobber access token before it expires, so flows rarely meet a 401."""
    settings = get_settings()
    secrets = store_for(settings).secrets(integration.id)
    access = secrets.jobber_access_token
    if not access:
        return "no_token"
    if not jobber_oauth.expires_soon(
        access, margin_s=REFRESH_MARGIN_S, expires_at=secrets.jobber_access_expires_at
    ):
        return "fresh"
    refresh_jobber(integration, stale=access, settings=settings)
    return "refreshed"


def webhook_health() -> int:
    """Beat, every 5 minutes: every active integration's Aircall webhook exists and is enabled (one
    `maintenance.check_webhook` per integration)."""
    return fan_out(Task.CHECK_WEBHOOK)


def check_webhook_of(integration_id: str) -> str:
    """One integration's webhook health (`check_webhook`): healthy, reenabled, recreated, failed, inactive."""
    return for_integration("webhook_health", integration_id, check_webhook)


def refresh_jobber_tokens() -> int:
    """Beat, every 10 minutes: refresh Jobber access tokens that expire within 15 minutes (one
    `maintenance.refresh_jobber_token` per integration)."""
    return fan_out(Task.RENEW_JOBBER_CONNECTION)


def refresh_token_of(integration_id: str) -> str:
    """One integration's token refresh (`refresh_token`): fresh, refreshed, no_token, failed, inactive."""
    return for_integration("refresh_jobber_tokens", integration_id, refresh_token)
