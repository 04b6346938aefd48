"""Putting work on the queues: every task the service starts goes through `enqueue`, by tenant, so the fair
queues (store/queues.py) see it. Celery's own `apply_async` would push straight onto the shared list and let a
flooding tenant's work overtake everyone's."""

from __future__ import annotations

import uuid
from functools import lru_cache
from typing import Any

from config.celery import FAIR_QUEUES, queue_for
from config.settings import get_settings
from store.queues import FairQueues
from store.redis import sync_client
from worker.protocol import task_message


@lru_cache(maxsize=4)
def fair_queues(redis_url: str | None = None) -> FairQueues:
    settings = get_settings()
    return FairQueues(sync_client(redis_url or settings.REDIS_URL), settings.FAIR_QUEUE_DEPTH, FAIR_QUEUES)


def enqueue(
    task_name: str,
    args: list[Any],
    kwargs: dict[str, Any] | None = None,
    *,
    tenant: str,
    queue: str | None = None,
) -> str:
    """Start `task_name(*args, **kwargs)` for `tenant` (an integration id; "" for fleet-wide work). Returns
    the task id."""
    queue = queue or queue_for(task_name)
    task_id = str(uuid.uuid4())
    fair_queues().enqueue(
        queue, tenant, task_message(task_name, args, queue, task_id, kwargs=kwargs, tenant=tenant)
    )
    return task_id
