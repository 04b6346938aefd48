"""Stamps every Celery publish with its sent time, as the ingest stamps its hand-built messages
(store/messages.py): /metrics reads it from the oldest message of each queue. Imported by worker/app.py, so
every process that publishes (workers, beat, ajctl, the settings page's replay) stamps."""

from __future__ import annotations

import time
from typing import Any

from celery.signals import before_task_publish

from store.messages import SENT_AT_HEADER


@before_task_publish.connect
def _stamp_sent_at(headers: dict[str, Any] | None = None, **_: Any) -> None:
    # A retry is a new publish: Celery copies the old headers into it, so the time is set, not kept.
    if headers is not None:
        headers[SENT_AT_HEADER] = time.time()
