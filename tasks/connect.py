"""Celery tasks of flows/connect.py: names, queues and retry policy; the logic is in the flow."""

from __future__ import annotations

from config.queues import Task
from flows import connect
from worker.app import app


@app.task(name=Task.DISCONNECT_EXPIRED_CONSENTS)
def disconnect_expired() -> dict[str, int]:
    """Celery entry of `flows.connect.disconnect_expired` (its docstring: trigger, idempotency, retries)."""
    return connect.disconnect_expired()
