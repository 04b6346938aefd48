"""Celery tasks of flows/ai_insights.py: names, queues and retry policy; the logic is in the flow."""

from __future__ import annotations

from config.queues import Task
from flows import ai_insights
from worker.app import app
from worker.retry import IntegrationTask


@app.task(name=Task.FETCH_AI_INSIGHT, base=IntegrationTask, bind=True)
def fetch_insight(self: IntegrationTask, event_id: str) -> str:
    """Celery entry of `flows.ai_insights.fetch_insight` (its docstring: trigger, idempotency, retries)."""
    return ai_insights.fetch_insight(event_id)


@app.task(name=Task.WRITE_AI_NOTE, base=IntegrationTask, bind=True)
def write_note(self: IntegrationTask, integration_id: str, call_id: str) -> str:
    """Celery entry of `flows.ai_insights.write_note` (its docstring: trigger, idempotency, retries)."""
    return ai_insights.write_note(integration_id, call_id)
