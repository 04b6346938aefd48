"""Celery tasks of flows/jobber_webhooks.py: names, queues and retry policy; the logic is in the flow."""

from __future__ import annotations

from config.queues import Task
from flows import jobber_webhooks
from worker.app import app
from worker.retry import IntegrationTask


@app.task(name=Task.CLIENT_CHANGED, base=IntegrationTask, bind=True)
def client_changed(self: IntegrationTask, event_id: str) -> str:
    """Celery entry of `flows.jobber_webhooks.client_changed`
    (its docstring: trigger, idempotency, retries)."""
    return jobber_webhooks.client_changed(event_id)


@app.task(name=Task.JOBBER_DISCONNECTED, base=IntegrationTask, bind=True)
def jobber_disconnected(self: IntegrationTask, event_id: str) -> None:
    """Celery entry of `flows.jobber_webhooks.jobber_disconnected`
    (its docstring: trigger, idempotency, retries)."""
    return jobber_webhooks.jobber_disconnected(event_id)
