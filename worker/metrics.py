"""Fleet metrics recorded by the workers in Redis, exported by any ingest's /metrics (ingest/metrics.py):
task outcomes and durations, vendor requests by status and their durations, rate-limit waits per integration
and vendor, when each beat job last ran, Jobber API version warnings (the last two also shown by `ajctl
status`). Prometheus scrapes one place for the whole fleet.

Each worker process counts in memory and adds its counts to Redis about once a second (`flush`, called by its
upkeep thread and at shutdown): one round trip per second per process instead of several per task.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import redis
from celery.signals import task_postrun, task_prerun

from clients.http import REQUEST_OBSERVERS
from clients.jobber import VERSION_OBSERVERS, VersionNotice
from store import keys
from store.api_versions import JobberVersionNotices
from store.redis import RedisClient, sync_client
from store.stats import BeatJobs, bucket_of, queue_observation
from worker.retry import DEAD_LETTERED, RATE_LIMIT_OBSERVERS, Deferred
from worker.schedule import BEAT_SCHEDULE

BUCKETS = keys.TASK_SECONDS_BUCKETS
# Beat's jobs: task name -> interval (s). Their runs are recorded for aj_beat_job_last_run_timestamp_seconds.
BEAT_JOBS: dict[str, float] = {e["task"]: float(e["schedule"]) for e in BEAT_SCHEDULE.values()}
_started: dict[str, float] = {}
_lock = threading.Lock()
_tasks: Counter[str] = Counter()  # "task|outcome"
_seconds: Counter[str] = Counter()  # "bucket|<le>", and "count"
_seconds_sum = [0.0]
_vendor: Counter[str] = Counter()  # "vendor|status"
_vendor_seconds: Counter[str] = Counter()  # "vendor|bucket|<le>", "vendor|count"
_vendor_seconds_sum: dict[str, float] = {}  # vendor -> seconds
_rate_limit_waits: Counter[str] = Counter()  # "integration|vendor"
_beat_runs: dict[str, float] = {}  # beat job (task name) -> when it last finished here
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
    if outcome == "success" and retval in ("skipped", DEAD_LETTERED):
        outcome = str(retval)
    elif outcome == "ignored" and isinstance(retval, Deferred):
        outcome = "retry"
    bucket = bucket_of(elapsed, BUCKETS)
    with _lock:
        _tasks[f"{task.name}|{outcome}"] += 1
        _seconds[f"bucket|{bucket}"] += 1
        _seconds["count"] += 1
        _seconds_sum[0] += elapsed
        if outcome == "success" and task.name in BEAT_JOBS:
            _beat_runs[task.name] = time.time()


# Set while a worker's upkeep thread flushes every second; elsewhere (the ingest's OAuth pages, the CLI) a
# vendor request is counted in Redis at once, as nothing would flush it later.
FLUSHING = threading.Event()


def _count_vendor_request(vendor: str, status: str, elapsed_s: float) -> None:
    if not FLUSHING.is_set():
        pipe = sync_client().pipeline(transaction=False)
        pipe.hincrby(keys.STAT_VENDOR_REQUESTS, f"{vendor}|{status}", 1)
        queue_observation(
            pipe, keys.STAT_VENDOR_SECONDS, keys.VENDOR_SECONDS_BUCKETS, elapsed_s, f"{vendor}|"
        )
        pipe.execute()
        return
    bucket = bucket_of(elapsed_s, keys.VENDOR_SECONDS_BUCKETS)
    with _lock:
        _vendor[f"{vendor}|{status}"] += 1
        _vendor_seconds[f"{vendor}|bucket|{bucket}"] += 1
        _vendor_seconds[f"{vendor}|count"] += 1
        _vendor_seconds_sum[vendor] = _vendor_seconds_sum.get(vendor, 0.0) + elapsed_s


def _count_rate_limit_wait(integration_id: str, vendor: str) -> None:
    """Work parked for a vendor's rate limit (worker/retry.py): only ever inside a worker, which flushes."""
    with _lock:
        _rate_limit_waits[f"{integration_id}|{vendor}"] += 1


def _count_version_notice(notice: VersionNotice) -> None:
    """A Jobber answer with a version warning or another version: counted, with when it was last seen."""
    now = time.time()
    if not FLUSHING.is_set():
        JobberVersionNotices(sync_client()).record(notice.requested, notice.answered, notice.warning, 1, now)
        return
    with _lock:
        count, _ = _versions.get(notice, (0, now))
        _versions[notice] = (count + 1, now)


@dataclass
class _Counts:
    """What a process counted since its last flush."""

    tasks: Counter[str] = field(default_factory=Counter)
    seconds: Counter[str] = field(default_factory=Counter)
    seconds_sum: float = 0.0
    vendor: Counter[str] = field(default_factory=Counter)
    vendor_seconds: Counter[str] = field(default_factory=Counter)
    vendor_seconds_sum: dict[str, float] = field(default_factory=dict)
    rate_limit_waits: Counter[str] = field(default_factory=Counter)
    beat_runs: dict[str, float] = field(default_factory=dict)
    versions: dict[VersionNotice, tuple[int, float]] = field(default_factory=dict)

    def __len__(self) -> int:
        parts = (self.tasks, self.seconds, self.vendor, self.vendor_seconds, self.rate_limit_waits)
        return sum(map(len, parts)) + len(self.beat_runs) + len(self.versions)


def _take() -> _Counts:
    """This process's counts since the last flush; the in-memory ones start again from zero."""
    with _lock:
        taken = _Counts(
            tasks=_tasks.copy(),
            seconds=_seconds.copy(),
            seconds_sum=_seconds_sum[0],
            vendor=_vendor.copy(),
            vendor_seconds=_vendor_seconds.copy(),
            vendor_seconds_sum=dict(_vendor_seconds_sum),
            rate_limit_waits=_rate_limit_waits.copy(),
            beat_runs=dict(_beat_runs),
            versions=dict(_versions),
        )
        for counter in (_tasks, _seconds, _vendor, _vendor_seconds, _rate_limit_waits):
            counter.clear()
        for kept in (_vendor_seconds_sum, _beat_runs, _versions):
            kept.clear()
        _seconds_sum[0] = 0.0
    return taken


def flush(r: RedisClient | None = None) -> int:
    """Add this process's counts since the last flush to Redis; returns how many counters were written."""
    counts = _take()
    if not len(counts):
        return 0
    pipe = (r or sync_client()).pipeline(transaction=False)
    for name, count in counts.tasks.items():
        pipe.hincrby(keys.STAT_TASKS, name, count)
    for name, count in counts.seconds.items():
        pipe.hincrby(keys.STAT_TASK_SECONDS, name, count)
    if counts.seconds_sum:
        pipe.hincrbyfloat(keys.STAT_TASK_SECONDS, "sum", counts.seconds_sum)
    for name, count in counts.vendor.items():
        pipe.hincrby(keys.STAT_VENDOR_REQUESTS, name, count)
    for name, count in counts.vendor_seconds.items():
        pipe.hincrby(keys.STAT_VENDOR_SECONDS, name, count)
    for vendor, total in counts.vendor_seconds_sum.items():
        pipe.hincrbyfloat(keys.STAT_VENDOR_SECONDS, f"{vendor}|sum", total)
    for name, count in counts.rate_limit_waits.items():
        pipe.hincrby(keys.STAT_RATE_LIMIT_WAITS, name, count)
    BeatJobs.queue_runs(pipe, counts.beat_runs, BEAT_JOBS)
    for notice, (count, last_seen) in counts.versions.items():
        JobberVersionNotices.queue_record(
            pipe, notice.requested, notice.answered, notice.warning, count, last_seen
        )
    try:
        pipe.execute()
    except redis.RedisError:
        _restore(counts)  # Redis away for a moment: count them next time
        raise
    return len(counts)


def _restore(counts: _Counts) -> None:
    with _lock:
        _tasks.update(counts.tasks)
        _seconds.update(counts.seconds)
        _seconds_sum[0] += counts.seconds_sum
        _vendor.update(counts.vendor)
        _vendor_seconds.update(counts.vendor_seconds)
        for vendor, total in counts.vendor_seconds_sum.items():
            _vendor_seconds_sum[vendor] = _vendor_seconds_sum.get(vendor, 0.0) + total
        _rate_limit_waits.update(counts.rate_limit_waits)
        for task, at in counts.beat_runs.items():
            _beat_runs[task] = max(at, _beat_runs.get(task, 0.0))
        for notice, (count, last_seen) in counts.versions.items():
            more, latest = _versions.get(notice, (0, last_seen))
            _versions[notice] = (count + more, max(last_seen, latest))


def register_schedule(r: RedisClient | None = None) -> None:
    """A worker starts: beat's jobs are expected from now on (aj_beat_job_*, `ajctl status`), even before
    their first run, so a beat that never started shows as jobs overdue."""
    BeatJobs(r or sync_client()).register(BEAT_JOBS, time.time())


REQUEST_OBSERVERS.append(_count_vendor_request)
VERSION_OBSERVERS.append(_count_version_notice)
RATE_LIMIT_OBSERVERS.append(_count_rate_limit_wait)
