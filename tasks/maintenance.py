"""Celery tasks of flows/maintenance.py: names, queues and retry policy; the logic is in the flow."""

from __future__ import annotations

from flows import maintenance
from worker.app import app


@app.task(name="maintenance.webhook_health")
def webhook_health() -> dict[str, int]:
    """Celery entry of `flows.maintenance.webhook_health` (its docstring: trigger, idempotency, retries)."""
    return maintenance.webhook_health()


@app.task(name="maintenance.refresh_jobber_tokens")
def refresh_jobber_tokens() -> dict[str, int]:
    """Celery entry of `flows.maintenance.refresh_jobber_tokens` (its docstring: trigger, idempotency, retries)."""
    return maintenance.refresh_jobber_tokens()
