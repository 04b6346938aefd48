"""Celery tasks of flows/calls.py: names, queues and retry policy; the logic is in the flow."""

from __future__ import annotations

from config.queues import Task
from flows import calls
from worker.app import app
from worker.retry import IntegrationTask


@app.task(name=Task.LOG_CALL, base=IntegrationTask, bind=True)
def log_call_activity(self: IntegrationTask, event_id: str) -> str:
    """Celery entry of `flows.calls.log_call_activity` (its docstring: trigger, idempotency, retries)."""
    return calls.log_call_activity(event_id)
