"""Celery tasks of flows/lifecycle.py: names, queues and retry policy; the logic is in the flow."""

from __future__ import annotations

from config.queues import Task
from flows import lifecycle, purge
from worker.app import app
from worker.retry import IntegrationTask


@app.task(name=Task.INTEGRATION_DELETED, base=IntegrationTask, bind=True)
def integration_deleted(self: IntegrationTask, event_id: str) -> None:
    """Celery entry of `flows.lifecycle.integration_deleted`
    (its docstring: trigger, idempotency, retries)."""
    return lifecycle.integration_deleted(event_id)


@app.task(name=Task.AIRCALL_ACTIVATION, base=IntegrationTask, bind=True)
def aircall_activation(self: IntegrationTask, integration_id: str) -> str:
    """Celery entry of `flows.lifecycle.aircall_activation` (its docstring: trigger, idempotency, retries)."""
    return lifecycle.aircall_activation(integration_id)


@app.task(name=Task.PURGE)
def purge_deleted() -> dict[str, int]:
    """Celery entry of `flows.purge.purge` (its docstring: trigger, idempotency, retries)."""
    return purge.purge()
