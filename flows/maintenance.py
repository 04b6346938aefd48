"""Scheduled upkeep (SPEC F10, F11), run by beat: Aircall webhook health and proactive Jobber token refresh.

Each job walks the active integrations; one tenant's failure is logged and never stops the others.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable

from clients import jobber_oauth
from clients.errors import Permanent, VendorError
from config.settings import get_settings
from flows.lifecycle import WEBHOOK_NAME
from flows.vendors import aircall_for, refresh_jobber, store_for
from store.integrations import Integration

log = logging.getLogger("tasks.maintenance")

REFRESH_MARGIN_S = 15 * 60  # refresh tokens expiring within the next quarter hour (they live 60 min)


def each_active(job: str, step: Callable[[Integration], str]) -> dict[str, int]:
    counts: Counter[str] = Counter()
    for integration in store_for().all():
        if not integration.is_active:
            continue
        try:
            counts[step(integration)] += 1
        except VendorError as exc:
            counts["failed"] += 1
            log.warning("maintenance.%s.failed integration=%s error=%s", job, integration.id, exc)
        except Exception:
            # A bug or an unforeseen answer for one tenant: every other tenant still gets the job.
            counts["failed"] += 1
            log.exception("maintenance.%s.crashed integration=%s", job, integration.id)
    return dict(counts)


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
            log.warning("maintenance.webhook_reenabled integration=%s webhook=%s", integration.id, webhook.id)
            return "reenabled"
    webhook = aircall.create_webhook(f"{settings.PUBLIC_URL}/webhooks/aircall", WEBHOOK_NAME)
    store.bind_webhook(integration.id, webhook.id, webhook.token)
    log.warning("maintenance.webhook_recreated integration=%s webhook=%s", integration.id, webhook.id)
    return "recreated"


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


def webhook_health() -> dict[str, int]:
    """Beat, every 5 minutes: every active integration's Aircall webhook exists and is enabled."""
    return each_active("webhook_health", check_webhook)


def refresh_jobber_tokens() -> dict[str, int]:
    """Beat, every 10 minutes: refresh Jobber access tokens that expire within 15 minutes."""
    return each_active("refresh_jobber_tokens", refresh_token)
