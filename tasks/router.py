"""Celery tasks of flows/router.py: names, queues and retry policy; the logic is in the flow."""

from __future__ import annotations

from config.queues import Task
from flows import router
from worker.app import app
from worker.retry import IntegrationTask


@app.task(name=Task.ROUTE, base=IntegrationTask, bind=True)
def route_event(self: IntegrationTask, event_id: str) -> str | None:
    """Celery entry of `flows.router.route_event` (its docstring: trigger, idempotency, retries)."""
    return router.route_event(event_id)
