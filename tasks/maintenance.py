"""Celery tasks of flows/maintenance.py: names, queues and retry policy; the logic is in the flow."""

from __future__ import annotations

from flows import maintenance, recovery
from worker.app import app


@app.task(name="maintenance.webhook_health")
def webhook_health() -> dict[str, int]:
    """Celery entry of `flows.maintenance.webhook_health` (its docstring: trigger, idempotency, retries)."""
    return maintenance.webhook_health()


@app.task(name="maintenance.refresh_jobber_tokens")
def refresh_jobber_tokens() -> dict[str, int]:
    """Celery entry of `flows.maintenance.refresh_jobber_tokens` (its docstring: trigger, idempotency, retries)."""
    return maintenance.refresh_jobber_tokens()


@app.task(name="maintenance.recover_lost_deliveries")
def recover_lost_deliveries() -> dict[str, int]:
    """Beat, every 5 minutes: re-enqueue pending events whose message a Redis failover lost
    (`flows.recovery`). Idempotency: the flows'; only events no queue holds are sent again."""
    return recovery.recover_lost_deliveries()
