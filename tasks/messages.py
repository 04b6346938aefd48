"""Celery tasks of flows/messages.py: names, queues and retry policy; the logic is in the flow."""

from __future__ import annotations

from config.queues import Task
from flows import messages
from worker.app import app
from worker.retry import IntegrationTask


@app.task(name=Task.LOG_MESSAGE, base=IntegrationTask, bind=True)
def log_message_activity(self: IntegrationTask, event_id: str) -> str:
    """Celery entry of `flows.messages.log_message_activity`
    (its docstring: trigger, idempotency, retries)."""
    return messages.log_message_activity(event_id)
