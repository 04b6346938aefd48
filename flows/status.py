"""The fleet's health at a glance (`ajctl status`): what an operator wants first. Everything is read from
Redis: queue backlogs, events pending, dead letters, integrations by status, those whose webhooks were refused
with 429 lately, worker heartbeats, beat's jobs (when each last ran, and whether it is overdue), and the
Jobber API version warnings the workers met (jobber-api.md §1.2)."""

from __future__ import annotations

import time
from typing import Any

from config.queues import ALL_QUEUES
from config.settings import Settings
from store.api_versions import JobberVersionNotices
from store.dead_letters import DeadLetters
from store.fleet import delayed_and_held, integrations_by_status, pending_events, queue_backlog, throttled
from store.redis import RedisClient
from store.stats import BeatJobs
from store.workers import WorkerBeats

THROTTLED_SHOWN_S = 24 * 3600
BEAT_LATE_INTERVALS = 3  # the AjBeatNotRunning alert's threshold (deploy/prometheus/rules.yml)


def _age(now: float, since: float | None) -> float | None:
    return None if since is None else round(max(0.0, now - since), 1)


def _iso(at: float | None) -> str | None:
    return None if at is None else time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(at))


def fleet_status(r: RedisClient, settings: Settings, now: float | None = None) -> dict[str, Any]:
    """One JSON-ready document; ages in seconds (None: nothing waits)."""
    now = time.time() if now is None else now
    backlog = queue_backlog(r, ALL_QUEUES, settings.FAIR_QUEUE_DEPTH)
    pending, oldest_pending = pending_events(r)
    due, unacked = delayed_and_held(r)
    integrations = integrations_by_status(r)
    return {
        "queues": [
            {
                "queue": q.queue,
                "ready": q.ready,
                "in_lanes": q.in_lanes,
                "oldest_age_s": _age(now, q.oldest_sent_at),
            }
            for q in backlog
        ],
        "delayed": int(due),  # retries and rate-limit waits parked until due
        "unacked": int(unacked),  # messages workers hold now
        "events": {"pending": pending, "oldest_pending_age_s": _age(now, oldest_pending)},
        "dead_letters": DeadLetters(r, settings.dead_letter_retention_s).count(),
        "integrations": integrations,
        "workers": [
            {
                "name": w.name,
                "pid": w.pid,
                "held": w.held,
                "last_beat_age_s": _age(now, w.beat_at),
                "up_s": _age(now, w.started_at),
            }
            for w in WorkerBeats(r).all(now)
        ],
        # Beat's jobs as the workers ran them: a job never run counts from when a worker first expected it.
        "beat": [
            {
                "task": job.task,
                "every_s": job.every_s,
                "last_run_at": _iso(job.last_run_at),
                "last_run_age_s": _age(now, job.last_run_at),
                "overdue": now - job.last_or_expected > BEAT_LATE_INTERVALS * job.every_s,
            }
            for job in BeatJobs(r).all()
        ],
        # Integrations whose webhooks were refused with 429 in the last day (README, "One tenant never slows
        # another": Aircall disables a webhook after ~10 failed deliveries in a row).
        "throttled": [
            {
                "integration": t.integration_id,
                "reason": t.reason,
                "refused": t.refused,
                "last_refused_age_s": _age(now, t.last_at),
            }
            for t in throttled(r)
            if t.last_at is not None and now - t.last_at <= THROTTLED_SHOWN_S
        ],
        "jobber_api_version": {
            "configured": settings.JOBBER_API_VERSION,
            "warnings": [
                {
                    "requested": n.requested,
                    "answered": n.answered,
                    "warning": n.warning,
                    "count": n.count,
                    "last_seen_at": _iso(n.last_seen),
                    "last_seen_age_s": _age(now, n.last_seen),
                }
                for n in JobberVersionNotices(r).all()
            ],
        },
    }
