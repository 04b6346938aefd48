"""Celery tasks of flows/reconcile.py: names, queues and retry policy; the logic is in the flow."""

from __future__ import annotations

from flows import reconcile
from worker.app import app


@app.task(name="maintenance.reconcile_calls")
def reconcile_calls() -> dict[str, int]:
    """Celery entry of `flows.reconcile.reconcile_calls` (its docstring: trigger, idempotency, retries)."""
    return reconcile.reconcile_calls()
