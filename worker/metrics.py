"""Fleet metrics recorded by the workers in Redis, exported by any ingest's /metrics (ingest/metrics.py):
task outcomes and durations, vendor requests by status. Prometheus scrapes one place for the whole fleet."""

from __future__ import annotations

import threading
import time
from collections import Counter
from typing import Any

from celery.signals import task_postrun, task_prerun

from clients.http import REQUEST_OBSERVERS
from store import keys
from store.redis import sync_client
from worker.retry import Deferred

BUCKETS = keys.TASK_SECONDS_BUCKETS
_started: dict[str, float] = {}
# Vendor requests made by the task running in this thread, written with the task's own counters when it
# ends (one Redis round trip per task, not one per vendor request).
_in_task = threading.local()


@task_prerun.connect
def _start(task_id: str | None = None, **_: Any) -> None:
    if task_id:
        _started[task_id] = time.monotonic()
    _in_task.vendor_requests = Counter()


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
    pipe = sync_client().pipeline(transaction=False)
    for field, count in _take_vendor_requests().items():
        pipe.hincrby(keys.STAT_VENDOR_REQUESTS, field, count)
    pipe.hincrby(keys.STAT_TASKS, f"{task.name}|{outcome}", 1)
    pipe.hincrby(keys.STAT_TASK_SECONDS, f"bucket|{bucket}", 1)
    pipe.hincrbyfloat(keys.STAT_TASK_SECONDS, "sum", elapsed)
    pipe.hincrby(keys.STAT_TASK_SECONDS, "count", 1)
    pipe.execute()


def _take_vendor_requests() -> Counter[str]:
    counts: Counter[str] = getattr(_in_task, "vendor_requests", None) or Counter()
    _in_task.vendor_requests = None
    return counts


def _count_vendor_request(vendor: str, status: str) -> None:
    counts: Counter[str] | None = getattr(_in_task, "vendor_requests", None)
    if counts is not None:
        counts[f"{vendor}|{status}"] += 1
    else:  # outside a task (e.g. the upkeep thread): at once
        sync_client().hincrby(keys.STAT_VENDOR_REQUESTS, f"{vendor}|{status}", 1)


REQUEST_OBSERVERS.append(_count_vendor_request)
