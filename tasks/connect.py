"""Celery tasks of flows/connect.py: names, queues and retry policy; the logic is in the flow."""

from __future__ import annotations

from flows import connect
from worker.app import app


@app.task(name="connect.disconnect_expired")
def disconnect_expired() -> dict[str, int]:
    """Celery entry of `flows.connect.disconnect_expired` (its docstring: trigger, idempotency, retries)."""
    return connect.disconnect_expired()
