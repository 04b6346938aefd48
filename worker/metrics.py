"""Fleet metrics recorded by the workers in Redis, exported by any ingest's /metrics (ingest/metrics.py):
task outcomes and durations, vendor requests by status. Prometheus scrapes one place for the whole fleet."""

from __future__ import annotations

import time
from typing import Any

from celery.signals import task_postrun, task_prerun

from clients.http import REQUEST_OBSERVERS
from store import keys
from store.redis import sync_client
from worker.retry import Deferred

BUCKETS = keys.TASK_SECONDS_BUCKETS
_started: dict[str, float] = {}


@task_prerun.connect
def _start(task_id: str | None = None, **_: Any) -> None:
    if task_id:
        _started[task_id] = time.monotonic()


@task_postrun.connect
def _finish(
    task_id: str | None = None, task: Any = None, state: str | None = None, retval: Any = None, **_: Any
) -> None:
    began = _started.pop(task_id or "", None)
    if task is None or began is None:
        return
    elapsed = time.monotonic() - began
    outcome = (state or "unknown").lower()
    if outcome == "success" and retval == "skipped":
        outcome = "skipped"
    elif outcome == "ignored" and isinstance(retval, Deferred):
        outcome = "retry"
    bucket = next((str(b) for b in BUCKETS if elapsed <= b), "+Inf")
    pipe = sync_client().pipeline()
    pipe.hincrby(keys.STAT_TASKS, f"{task.name}|{outcome}", 1)
    pipe.hincrby(keys.STAT_TASK_SECONDS, f"bucket|{bucket}", 1)
    pipe.hincrbyfloat(keys.STAT_TASK_SECONDS, "sum", elapsed)
    pipe.hincrby(keys.STAT_TASK_SECONDS, "count", 1)
    pipe.execute()


def _count_vendor_request(vendor: str, status: str) -> None:
    sync_client().hincrby(keys.STAT_VENDOR_REQUESTS, f"{vendor}|{status}", 1)


REQUEST_OBSERVERS.append(_count_vendor_request)
