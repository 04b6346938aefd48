"""Celery tasks of flows/cards.py: names, queues and retry policy; the logic is in the flow."""

from __future__ import annotations

from config.queues import Task
from flows import cards
from worker.app import app
from worker.retry import IntegrationTask


@app.task(name=Task.POST_CARD, base=IntegrationTask, bind=True)
def post_insight_card(self: IntegrationTask, event_id: str) -> str:
    """Celery entry of `flows.cards.post_insight_card` (its docstring: trigger, idempotency, retries)."""
    return cards.post_insight_card(event_id)
