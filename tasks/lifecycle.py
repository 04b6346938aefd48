"""Celery tasks of flows/lifecycle.py: names, queues and retry policy; the logic is in the flow."""

from __future__ import annotations

from flows import lifecycle, purge
from worker.app import app
from worker.retry import IntegrationTask


@app.task(name="lifecycle.integration_deleted", base=IntegrationTask, bind=True)
def integration_deleted(self: IntegrationTask, event_id: str) -> None:
    """Celery entry of `flows.lifecycle.integration_deleted` (its docstring: trigger, idempotency, retries)."""
    return lifecycle.integration_deleted(event_id)


@app.task(name="lifecycle.aircall_activation", base=IntegrationTask, bind=True)
def aircall_activation(self: IntegrationTask, integration_id: str) -> str:
    """Celery entry of `flows.lifecycle.aircall_activation` (its docstring: trigger, idempotency, retries)."""
    return lifecycle.aircall_activation(integration_id)


@app.task(name="lifecycle.purge")
def purge_deleted() -> dict[str, int]:
    """Celery entry of `flows.purge.purge` (its docstring: trigger, idempotency, retries)."""
    return purge.purge()
