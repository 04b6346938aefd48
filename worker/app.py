"""The one Celery app. Importing it registers every task module (their names are the contract with Redis)."""

from __future__ import annotations

import logging
from typing import Any

from celery import Celery, signals

from clients.jobber import prepare_documents
from config.celery import celery_config
from config.logging import configure as configure_logging
from config.settings import settings_or_exit
from worker import metrics as _metrics  # noqa: F401  (registers the task/vendor metric hooks)
from worker import sent_at as _sent_at  # noqa: F401  (stamps every publish with its sent time)
from worker import tracing as _tracing  # noqa: F401  (task spans when OTEL_EXPORTER_OTLP_ENDPOINT is set)
from worker.schedule import BEAT_SCHEDULE
from worker.upkeep import Upkeep

configure_logging()  # JSON lines with the ids of the task in hand (LOG_FORMAT, config/logging.py)


@signals.after_setup_logger.connect
def _quiet_per_task_lines(**_: Any) -> None:
    # Celery's "Task … received" and "… succeeded in …" lines, two per task, cost measurable CPU at fleet
    # rates and say less than the flows' own lines (tasks.activity_logged, tasks.skipped…) and Flower.
    for name in ("celery.worker.strategy", "celery.app.trace"):
        logging.getLogger(name).setLevel(logging.WARNING)


@signals.worker_init.connect
def _prepare_jobber_documents(**_: Any) -> None:
    # Jobber's schema built and every GraphQL document validated before the first task, not by the first
    # burst of cards (clients/jobber.py prepare_documents).
    logging.getLogger(__name__).info("worker.jobber_documents_validated count=%d", prepare_documents())


app = Celery("aircall_jobber")
# The worker, beat and Flower roles all start here:
# a configuration that must not run stops them with one line.
app.conf.update(celery_config(settings_or_exit("worker")))
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
    "tasks.connect",
    "tasks.ai_insights",
    "tasks.contact_sync",
    "tasks.reconcile",
]
