"""Celery tasks of flows/jobber_webhooks.py: names, queues and retry policy; the logic is in the flow."""

from __future__ import annotations

from flows import jobber_webhooks
from worker.app import app
from worker.retry import IntegrationTask


@app.task(name="jobber.client_changed", base=IntegrationTask, bind=True)
def client_changed(self: IntegrationTask, event_id: str) -> str:
    """Celery entry of `flows.jobber_webhooks.client_changed` (its docstring: trigger, idempotency, retries)."""
    return jobber_webhooks.client_changed(event_id)


@app.task(name="lifecycle.jobber_disconnected", base=IntegrationTask, bind=True)
def jobber_disconnected(self: IntegrationTask, event_id: str) -> None:
    """Celery entry of `flows.jobber_webhooks.jobber_disconnected` (its docstring: trigger, idempotency, retries)."""
    return jobber_webhooks.jobber_disconnected(event_id)
