"""Prometheus metrics of the ingest process, plus fleet gauges read from Redis at scrape time.

A scrape's Redis reads are bounded: a fixed number of round trips, reading counters of fixed size (or one
field per integration that ever had a 429 or a rate-limit wait), one small read per integration (by status),
and two per tenant lane that holds work; never a SCAN, nor the events, delayed retries or dead letters
themselves (tests/flows/test_webhook_answers.py counts a scrape's commands)."""

from __future__ import annotations

import time
from collections.abc import Iterator

from prometheus_client import CollectorRegistry, Counter, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.registry import Collector

from config.queues import ALL_QUEUES
from config.settings import get_settings
from store import keys
from store.api_versions import JobberVersionNotices
from store.fleet import integrations_by_status, pending_events, queue_backlog, throttled
from store.keys import TASK_SECONDS_BUCKETS as BUCKETS
from store.redis import RedisClient
from store.stats import BeatJobs, JobberRefreshes, cumulative, rate_limit_waits
from store.workers import WorkerBeats

REGISTRY = CollectorRegistry(auto_describe=True)

WEBHOOKS_RECEIVED = Counter(
    "aj_webhooks_received",
    "Webhooks accepted (stored or acknowledged)",
    ["source", "event"],
    registry=REGISTRY,
)
WEBHOOKS_REJECTED = Counter(
    "aj_webhooks_rejected", "Webhooks refused with a 4xx", ["reason"], registry=REGISTRY
)
# Answers of this process's webhook receivers: (source, HTTP status) -> count
# (ingest/answers.py). Plain ints, written only by the event loop's thread (a prometheus_client
# Counter's lock costs the hot path ~0.7 µs more).
WEBHOOK_ANSWERS: dict[tuple[str, int], int] = {}


class AnswersCollector(Collector):
    def collect(self) -> Iterator[Metric]:
        family = CounterMetricFamily(
            "aj_webhook_responses",
            "Answers of this process's webhook receivers, by HTTP status (500: a receiver crashed; 503: "
            "Redis unreachable, no replica confirmed, or the process at its --limit-concurrency)",
            labels=["source", "code"],
        )
        for (source, code), n in sorted(dict(WEBHOOK_ANSWERS).items()):  # a copy: the loop keeps counting
            family.add_metric([source, str(code)], float(n))
        yield family


REGISTRY.register(AnswersCollector())


# The fleet-wide counters and histograms (store/stats.py), read with one HGETALL each.
_STAT_HASHES = (
    keys.STAT_TASKS,
    keys.STAT_TASK_SECONDS,
    keys.STAT_VENDOR_REQUESTS,
    keys.STAT_VENDOR_SECONDS,
    keys.STAT_CARD_SECONDS,
    keys.STAT_RATE_LIMIT_WAITS,
    keys.STAT_JOBBER_REFRESHES,
    keys.STAT_BEAT_JOBS,
)


class FleetCollector(Collector):
    """Gauges that describe the whole fleet, so any ingest process can answer for it."""

    def __init__(self, r: RedisClient):
        self.r = r

    def collect(self) -> Iterator[Metric]:
        pipe = self.r.pipeline()
        for queue in ALL_QUEUES:
            pipe.llen(queue)
        pipe.zcount(keys.DEAD_LETTERS, time.time() - get_settings().dead_letter_retention_s, "+inf")
        pipe.get(keys.STAT_DUPLICATES)
        *depths, dead, dups = pipe.execute()
        depth = GaugeMetricFamily("aj_queue_depth", "Messages waiting per queue", labels=["queue"])
        for queue, n in zip(ALL_QUEUES, depths, strict=True):
            depth.add_metric([queue], float(n))
        yield depth
        yield GaugeMetricFamily("aj_dead_letters", "Dead-lettered events awaiting replay", value=float(dead))
        # A counter kept in Redis (Lua increments it), exposed as a fleet-wide total.
        yield CounterMetricFamily(
            "aj_events_duplicate", "Duplicate webhook deliveries dropped", value=float(dups or 0)
        )
        # Refused with 429 per integration (store.ledger TenantLimits): alert on it, since Aircall disables a
        # webhook after ~10 failed deliveries in a row (README, "One tenant never slows another").
        refused = CounterMetricFamily(
            "aj_webhooks_throttled",
            "Webhooks refused with 429 (reason rate_limited: over WEBHOOK_RATE_LIMIT; backlog_full: over "
            "TENANT_PENDING_MAX_BYTES), per integration",
            labels=["integration", "reason"],
        )
        last = GaugeMetricFamily(
            "aj_webhooks_throttled_last_seen_timestamp_seconds",
            "When an integration's webhook was last refused with 429 (UNIX time)",
            labels=["integration", "reason"],
        )
        for t in throttled(self.r):
            refused.add_metric([t.integration_id, t.reason], float(t.refused))
            if t.last_at is not None:
                last.add_metric([t.integration_id, t.reason], t.last_at)
        yield refused
        yield last
        gauge = GaugeMetricFamily("aj_integrations", "Integrations by status", labels=["status"])
        for status, n in integrations_by_status(self.r).items():
            gauge.add_metric([status], float(n))
        yield gauge
        yield from self._task_metrics()
        yield from self._memory_metrics()
        yield from self._version_metrics()

    def _memory_metrics(self) -> Iterator[Metric]:
        """What to alert on before a full Redis (noeviction) refuses writes: memory, and how long the oldest
        message of each queue has waited (README, "Redis memory")."""
        pipe = self.r.pipeline(transaction=False)
        pipe.info("memory")
        pipe.hlen(keys.KOMBU_UNACKED)
        memory, unacked = pipe.execute()
        backlog = queue_backlog(self.r, ALL_QUEUES, get_settings().FAIR_QUEUE_DEPTH)
        pending, oldest_pending = pending_events(self.r)
        yield GaugeMetricFamily(
            "aj_redis_used_memory_bytes", "Redis used_memory", value=float(memory["used_memory"])
        )
        yield GaugeMetricFamily(
            "aj_redis_maxmemory_bytes",
            "Redis maxmemory (0: no limit)",
            value=float(memory.get("maxmemory", 0)),
        )
        now = time.time()
        age = GaugeMetricFamily(
            "aj_queue_oldest_message_age_seconds",
            "How long the oldest message waiting for the queue (on it or in a tenant's lane) "
            "has waited; 0: none",
            labels=["queue"],
        )
        for queue in backlog:
            sent = queue.oldest_sent_at
            age.add_metric([queue.queue], max(0.0, now - sent) if sent is not None else 0.0)
        yield age
        lanes = GaugeMetricFamily(
            "aj_tenant_backlog",
            "Messages waiting in each tenant's lane in front of a queue (only tenants with waiting work)",
            labels=["queue", "integration"],
        )
        for queue in backlog:
            for tenant, n in sorted(queue.lanes.items()):
                lanes.add_metric([queue.queue, tenant], float(n))
        yield lanes
        yield GaugeMetricFamily(
            "aj_queue_unacked", "Messages delivered to workers and not yet acknowledged", value=float(unacked)
        )
        yield GaugeMetricFamily(
            "aj_events_pending", "Events received and not yet settled", value=float(pending)
        )
        yield GaugeMetricFamily(
            "aj_events_pending_oldest_age_seconds",
            "Since the longest-pending event was last handed to the queues (the recovery sweep resends one "
            "whose message is lost after 10 minutes); 0: none",
            value=max(0.0, now - oldest_pending) if oldest_pending is not None else 0.0,
        )

    def _version_metrics(self) -> Iterator[Metric]:
        """Jobber answers with a version warning or another version than asked (jobber-api.md §1.2)."""
        notices = JobberVersionNotices(self.r)
        total = CounterMetricFamily(
            "aj_jobber_api_version_warnings",
            "Jobber answers carrying a version warning or served with another version than requested",
            labels=["requested", "answered"],
        )
        for (requested, answered), n in sorted(notices.counts().items()):
            total.add_metric([requested, answered], float(n))
        yield total
        seen = GaugeMetricFamily(
            "aj_jobber_api_version_warning_last_seen_timestamp_seconds",
            "When such an answer was last seen (UNIX time; kept 30 days)",
            labels=["requested", "answered"],
        )
        for notice in notices.all():
            seen.add_metric([notice.requested, notice.answered], notice.last_seen)
        yield seen

    def _task_metrics(self) -> Iterator[Metric]:
        """What the workers (and any process that refreshed a token or posted a card) counted in Redis."""
        now = time.time()
        pipe = self.r.pipeline(transaction=False)
        for key in _STAT_HASHES:
            pipe.hgetall(key)
        WorkerBeats.queue_alive(pipe, now)
        tasks, seconds, vendor, vendor_seconds, card_seconds, waits, refreshes, beat, alive = pipe.execute()
        total = CounterMetricFamily("aj_tasks", "Tasks run, by outcome", labels=["task", "outcome"])
        for field, n in sorted(tasks.items()):
            task, _, outcome = field.rpartition("|")
            total.add_metric([task, outcome], float(n))
        yield total
        buckets, sum_value = cumulative(seconds, BUCKETS)
        yield HistogramMetricFamily("aj_task_seconds", "Task duration", buckets=buckets, sum_value=sum_value)
        requests_total = CounterMetricFamily(
            "aj_vendor_requests", "Vendor requests, by status", labels=["vendor", "status"]
        )
        for field, n in sorted(vendor.items()):
            name, _, status = field.partition("|")
            requests_total.add_metric([name, status], float(n))
        yield requests_total
        latency = HistogramMetricFamily(
            "aj_vendor_request_seconds", "Vendor requests' duration, answered or not", labels=["vendor"]
        )
        for name in sorted({f.partition("|")[0] for f in vendor_seconds}):
            buckets, sum_value = cumulative(vendor_seconds, keys.VENDOR_SECONDS_BUCKETS, f"{name}|")
            latency.add_metric([name], buckets, sum_value)
        yield latency
        buckets, sum_value = cumulative(card_seconds, keys.CARD_SECONDS_BUCKETS)
        yield HistogramMetricFamily(
            "aj_card_seconds",
            "A ringing call's webhook received (the event that claimed its card) to its insight card posted",
            buckets=buckets,
            sum_value=sum_value,
        )
        parked = CounterMetricFamily(
            "aj_rate_limit_waits",
            "Times an integration's work was parked to wait for a vendor's rate limit",
            labels=["integration", "vendor"],
        )
        for (integration, name), n in sorted(rate_limit_waits(waits).items()):
            parked.add_metric([integration, name], float(n))
        yield parked
        refreshed = CounterMetricFamily(
            "aj_jobber_token_refreshes",
            "Refreshes of integrations' Jobber tokens, by outcome",
            labels=["outcome"],
        )
        for outcome, n in JobberRefreshes.read(refreshes).items():
            refreshed.add_metric([outcome], float(n))
        yield refreshed
        yield GaugeMetricFamily(
            "aj_workers_alive",
            "Worker processes that sent a heartbeat within the last minute",
            value=float(alive),
        )
        # `task`, not `job`: Prometheus gives every scraped series its own `job` label (the scrape job).
        last_run = GaugeMetricFamily(
            "aj_beat_job_last_run_timestamp_seconds",
            "When the beat job last ran to completion (UNIX time); before its first run, when a worker first "
            "expected it",
            labels=["task"],
        )
        interval = GaugeMetricFamily(
            "aj_beat_job_interval_seconds", "The beat job's interval in the schedule", labels=["task"]
        )
        for job in BeatJobs.read(beat):
            last_run.add_metric([job.task], job.last_or_expected)
            interval.add_metric([job.task], job.every_s)
        yield last_run
        yield interval


def render(r: RedisClient) -> bytes:
    registry = CollectorRegistry()
    registry.register(FleetCollector(r))
    return generate_latest(REGISTRY) + generate_latest(registry)
