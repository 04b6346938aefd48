"""Fleet metrics recorded by the workers in Redis, exported by any ingest's /metrics (ingest/metrics.py):
task outcomes and durations, vendor requests by status, Jobber API version warnings (also shown by `ajctl
status`). Prometheus scrapes one place for the whole fleet.

Each worker process counts in memory and adds its counts to Redis about once a second (`flush`, called by its
upkeep thread and at shutdown): one round trip per second per process instead of several per task.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from typing import Any

import redis
from celery.signals import task_postrun, task_prerun

from clients.http import REQUEST_OBSERVERS
from clients.jobber import VERSION_OBSERVERS, VersionNotice
from store import keys
from store.api_versions import JobberVersionNotices
from store.redis import sync_client
from worker.retry import Deferred

BUCKETS = keys.TASK_SECONDS_BUCKETS
_started: dict[str, float] = {}
_lock = threading.Lock()
_tasks: Counter[str] = Counter()  # "task|outcome"
_seconds: Counter[str] = Counter()  # "bucket|<le>", and "count"
_seconds_sum = [0.0]
_vendor: Counter[str] = Counter()  # "vendor|status"
_versions: dict[VersionNotice, tuple[int, float]] = {}  # Jobber version notice -> (answers, last seen)


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
    with _lock:
        _tasks[f"{task.name}|{outcome}"] += 1
        _seconds[f"bucket|{bucket}"] += 1
        _seconds["count"] += 1
        _seconds_sum[0] += elapsed


# Set while a worker's upkeep thread flushes every second; elsewhere (the ingest's OAuth pages, the CLI) a
# vendor request is counted in Redis at once, as nothing would flush it later.
FLUSHING = threading.Event()


def _count_vendor_request(vendor: str, status: str) -> None:
    if not FLUSHING.is_set():
        sync_client().hincrby(keys.STAT_VENDOR_REQUESTS, f"{vendor}|{status}", 1)
        return
    with _lock:
        _vendor[f"{vendor}|{status}"] += 1


def _count_version_notice(notice: VersionNotice) -> None:
    """A Jobber answer with a version warning or another version: counted, with when it was last seen."""
    now = time.time()
    if not FLUSHING.is_set():
        JobberVersionNotices(sync_client()).record(notice.requested, notice.answered, notice.warning, 1, now)
        return
    with _lock:
        count, _ = _versions.get(notice, (0, now))
        _versions[notice] = (count + 1, now)


def flush(r: redis.Redis | None = None) -> int:
    """Add this process's counts since the last flush to Redis; returns how many counters were written."""
    with _lock:
        tasks, seconds, vendor, total = _tasks.copy(), _seconds.copy(), _vendor.copy(), _seconds_sum[0]
        versions = dict(_versions)
        for counter in (_tasks, _seconds, _vendor):
            counter.clear()
        _versions.clear()
        _seconds_sum[0] = 0.0
    if not (tasks or seconds or vendor or versions):
        return 0
    pipe = (r or sync_client()).pipeline(transaction=False)
    for field, count in tasks.items():
        pipe.hincrby(keys.STAT_TASKS, field, count)
    for field, count in seconds.items():
        pipe.hincrby(keys.STAT_TASK_SECONDS, field, count)
    if total:
        pipe.hincrbyfloat(keys.STAT_TASK_SECONDS, "sum", total)
    for field, count in vendor.items():
        pipe.hincrby(keys.STAT_VENDOR_REQUESTS, field, count)
    for notice, (count, last_seen) in versions.items():
        JobberVersionNotices.queue_record(
            pipe, notice.requested, notice.answered, notice.warning, count, last_seen
        )
    try:
        pipe.execute()
    except redis.RedisError:
        _restore(tasks, seconds, vendor, total, versions)  # Redis away for a moment: count them next time
        raise
    return len(tasks) + len(seconds) + len(vendor) + len(versions)


def _restore(
    tasks: Counter[str],
    seconds: Counter[str],
    vendor: Counter[str],
    total: float,
    versions: dict[VersionNotice, tuple[int, float]],
) -> None:
    with _lock:
        _tasks.update(tasks)
        _seconds.update(seconds)
        _vendor.update(vendor)
        _seconds_sum[0] += total
        for notice, (count, last_seen) in versions.items():
            more, latest = _versions.get(notice, (0, last_seen))
            _versions[notice] = (count + more, max(last_seen, latest))


REQUEST_OBSERVERS.append(_count_vendor_request)
VERSION_OBSERVERS.append(_count_version_notice)
