"""Celery tasks of flows/maintenance.py: names, queues and retry policy; the logic is in the flow."""

from __future__ import annotations

from config.queues import Task
from flows import maintenance, recovery
from worker.app import app


@app.task(name=Task.WEBHOOK_HEALTH)
def webhook_health() -> int:
    """Celery entry of `flows.maintenance.webhook_health` (beat: fans out one task per integration)."""
    return maintenance.webhook_health()


@app.task(name=Task.CHECK_WEBHOOK)
def check_webhook(integration_id: str) -> str:
    """Celery entry of `flows.maintenance.check_webhook_of` (one integration; failures logged, never retried:
    the next beat run is the retry)."""
    return maintenance.check_webhook_of(integration_id)


@app.task(name=Task.RENEW_JOBBER_CONNECTIONS)
def refresh_jobber_tokens() -> int:
    """Celery entry of `flows.maintenance.refresh_jobber_tokens` (beat: fans out one task per integration)."""
    return maintenance.refresh_jobber_tokens()


@app.task(name=Task.RENEW_JOBBER_CONNECTION)
def refresh_jobber_token(integration_id: str) -> str:
    """Celery entry of `flows.maintenance.refresh_token_of` (one integration; failures logged, never retried:
    the next beat run is the retry)."""
    return maintenance.refresh_token_of(integration_id)


@app.task(name=Task.RECOVER_LOST_DELIVERIES)
def recover_lost_deliveries() -> dict[str, int]:
    """Beat, every 5 minutes: re-enqueue pending events whose message a Redis failover lost
    (`flows.recovery`). Idempotency: the flows'; only events nothing holds are sent again. Bounded: at most
    MAX_PER_RUN stale events per run."""
    return recovery.recover_lost_deliveries()
