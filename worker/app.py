"""The one Celery app. Importing it registers every task module (their names are the contract with Redis)."""

from __future__ import annotations

import logging

from celery import Celery

from config.celery import celery_config
from config.settings import get_settings
from worker import metrics as _metrics  # noqa: F401  (registers the task/vendor metric hooks)
from worker.schedule import BEAT_SCHEDULE
from worker.upkeep import Upkeep

logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")

app = Celery("aircall_jobber")
app.conf.update(celery_config(get_settings()))
app.conf.beat_schedule = BEAT_SCHEDULE
app.steps["worker"].add(Upkeep)
app.conf.include = [
    "tasks.router",
    "tasks.lifecycle",
    "tasks.calls",
    "tasks.messages",
    "tasks.cards",
    "tasks.jobber_webhooks",
    "tasks.maintenance",
    "tasks.ai_insights",
    "tasks.contact_sync",
    "tasks.reconcile",
]
