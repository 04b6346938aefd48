"""Fleet-wide counters and histograms in Redis (`aj:stat:*`), written by whichever process saw the
thing and exported by any ingest's /metrics (ingest/metrics.py) with one read per hash: histogram
buckets, Jobber token refreshes, rate-limit waits per integration, and when each beat job last ran
(also shown by `ajctl status`)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from store import keys
from store.redis import RedisClient

RefreshOutcome = Literal["ok", "failed"]
REFRESH_OUTCOMES: tuple[RefreshOutcome, ...] = ("ok", "failed")
VENDORS = ("aircall", "jobber")


def bucket_of(value: float, bounds: Sequence[float]) -> str:
    """The histogram bucket (its upper bound, as exported in `le`) that `value` falls in."""
    return next((str(b) for b in bounds if value <= b), "+Inf")


def queue_observation(pipe: Any, key: str, bounds: Sequence[float], value: float, prefix: str = "") -> None:
    """One observation of a histogram kept in the hash `key` (fields `{prefix}bucket|<le>`, `{prefix}count`,
    `{prefix}sum`), as commands of `pipe`."""
    pipe.hincrby(key, f"{prefix}bucket|{bucket_of(value, bounds)}", 1)
    pipe.hincrby(key, f"{prefix}count", 1)
    pipe.hincrbyfloat(key, f"{prefix}sum", value)


def cumulative(
    fields: Mapping[str, str], bounds: Sequence[float], prefix: str = ""
) -> tuple[list[tuple[str, float]], float]:
    """The Prometheus buckets (`le`, cumulative count) and the sum of a histogram read from its hash."""
    total, buckets = 0.0, []
    for bound in (*(str(b) for b in bounds), "+Inf"):
        total += float(fields.get(f"{prefix}bucket|{bound}", 0))
        buckets.append((bound, total))
    return buckets, float(fields.get(f"{prefix}sum", 0))


class JobberRefreshes:
    """Refreshes of integrations' Jobber tokens, by outcome: rare (about one an hour per integration), so each
    is one HINCRBY, from whichever process refreshed (a worker, the ingest's settings page)."""

    def __init__(self, r: RedisClient):
        self.r = r

    def count(self, outcome: RefreshOutcome) -> None:
        self.r.hincrby(keys.STAT_JOBBER_REFRESHES, outcome, 1)

    @staticmethod
    def read(fields: Mapping[str, str]) -> dict[str, int]:
        return {outcome: int(fields.get(outcome, 0)) for outcome in REFRESH_OUTCOMES}


def rate_limit_waits(fields: Mapping[str, str]) -> dict[tuple[str, str], int]:
    """(integration, vendor) -> times its work was parked for the vendor's rate limit, from the hash."""
    found = {}
    for field, n in fields.items():
        integration, _, vendor = field.rpartition("|")
        found[(integration, vendor)] = int(n)
    return found


def rate_limit_wait_fields(integration_id: str) -> list[str]:
    """An integration's fields in the rate-limit-waits hash (the purge drops them with it)."""
    return [f"{integration_id}|{vendor}" for vendor in VENDORS]


@dataclass(frozen=True)
class BeatJob:
    task: str  # the task beat sends, e.g. maintenance.recover_lost_deliveries
    every_s: float  # its interval in the schedule
    last_run_at: float | None  # UNIX s: when it last ran to completion; None: never
    expected_since: float  # when a worker first found it in the schedule (UNIX s)

    @property
    def last_or_expected(self) -> float:
        """What the alert measures the job's lateness from: its last run, or when it was first expected."""
        return self.last_run_at if self.last_run_at is not None else self.expected_since


class BeatJobs:
    """When each beat job last ran (worker/metrics.py records it as the task finishes, beat being the only
    sender of these tasks on a schedule), and its interval, so "beat is not running" shows as jobs overdue."""

    def __init__(self, r: RedisClient):
        self.r = r

    def register(self, schedule: Mapping[str, float], now: float) -> None:
        """A worker starts with `schedule` (task -> interval): every job is expected from now on (unless it
        was already), and jobs no longer scheduled are forgotten (they would look overdue forever)."""
        stale = [
            field for field in self.r.hkeys(keys.STAT_BEAT_JOBS) if field.rpartition("|")[0] not in schedule
        ]
        pipe = self.r.pipeline(transaction=False)
        if stale:
            pipe.hdel(keys.STAT_BEAT_JOBS, *stale)
        for task, every in schedule.items():
            pipe.hset(keys.STAT_BEAT_JOBS, f"{task}|every", every)
            pipe.hsetnx(keys.STAT_BEAT_JOBS, f"{task}|since", now)
        pipe.execute()

    @staticmethod
    def queue_runs(pipe: Any, runs: Mapping[str, float], schedule: Mapping[str, float]) -> None:
        """The jobs that ran (task -> when it finished), as commands of `pipe`."""
        for task, at in runs.items():
            pipe.hset(keys.STAT_BEAT_JOBS, f"{task}|last_run", at)
            pipe.hset(keys.STAT_BEAT_JOBS, f"{task}|every", schedule[task])
            pipe.hsetnx(keys.STAT_BEAT_JOBS, f"{task}|since", at)

    @staticmethod
    def read(fields: Mapping[str, str]) -> list[BeatJob]:
        """The scheduled jobs (those with an interval), by task name."""
        jobs = []
        for field, every in sorted(fields.items()):
            task, _, what = field.rpartition("|")
            if what != "every":
                continue
            last = fields.get(f"{task}|last_run")
            since = float(fields.get(f"{task}|since") or last or 0)
            jobs.append(BeatJob(task, float(every), float(last) if last else None, since))
        return jobs

    def all(self) -> list[BeatJob]:
        return self.read(self.r.hgetall(keys.STAT_BEAT_JOBS))
