"""Celery tasks of flows/reconcile.py: names, queues and retry policy; the logic is in the flow."""

from __future__ import annotations

from config.queues import Task
from flows import reconcile
from worker.app import app


@app.task(name=Task.RECONCILE_CALLS)
def reconcile_calls() -> int:
    """Celery entry of `flows.reconcile.reconcile_calls` (beat: fans out one task per integration)."""
    return reconcile.reconcile_calls()


@app.task(name=Task.RECONCILE_INTEGRATION)
def reconcile_integration(integration_id: str) -> str:
    """Celery entry of `flows.reconcile.reconcile_integration` (one integration; failures logged, never
    retried: the next beat run is the retry, from the saved watermark)."""
    return reconcile.reconcile_integration(integration_id)
