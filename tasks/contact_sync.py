"""Celery tasks of flows/contact_sync.py: names, queues and retry policy; the logic is in the flow."""

from __future__ import annotations

from config.queues import Task
from flows import contact_sync
from worker.app import app
from worker.retry import IntegrationTask


@app.task(name=Task.SYNC_CLIENT, base=IntegrationTask, bind=True)
def sync_one_client(self: IntegrationTask, integration_id: str, client_id: str) -> str:
    """Celery entry of `flows.contact_sync.sync_one_client` (its docstring: trigger, idempotency, retries)."""
    return contact_sync.sync_one_client(integration_id, client_id)


@app.task(name=Task.SYNC_SWEEP, base=IntegrationTask, bind=True)
def sweep_integration(self: IntegrationTask, integration_id: str, full: bool = False) -> str:
    """Celery entry of `flows.contact_sync.sweep_integration`
    (its docstring: trigger, idempotency, retries)."""
    return contact_sync.sweep_integration(integration_id, full)


@app.task(name=Task.SYNC_SWEEP_PAGE, base=IntegrationTask, bind=True)
def sweep_page(self: IntegrationTask, integration_id: str, run_id: str) -> str:
    """Celery entry of `flows.contact_sync.sweep_page` (its docstring: trigger, idempotency, retries)."""
    return contact_sync.sweep_page(integration_id, run_id)


@app.task(name=Task.SYNC_SWEEP_ALL)
def sweep_all() -> int:
    """Celery entry of `flows.contact_sync.sweep_all` (its docstring: trigger, idempotency, retries)."""
    return contact_sync.sweep_all()
