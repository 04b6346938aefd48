"""Prometheus metrics of the ingest process, plus fleet gauges read from Redis at scrape time."""

from __future__ import annotations

import time
from collections.abc import Iterator

import redis
from prometheus_client import CollectorRegistry, Counter, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.registry import Collector

from config.queues import ALL_QUEUES
from config.settings import get_settings
from store import keys
from store.api_versions import JobberVersionNotices
from store.fleet import pending_events, queue_backlog, throttled
from store.integrations import STATUSES
from store.keys import TASK_SECONDS_BUCKETS as BUCKETS

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


class FleetCollector(Collector):
    """Gauges that describe the whole fleet, so any ingest process can answer for it."""

    def __init__(self, r: redis.Redis):
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
        counts: dict[str, int] = dict.fromkeys(STATUSES, 0)
        for iid in self.r.smembers(keys.INTEGRATIONS):
            status = str(self.r.hget(keys.integration(str(iid)), "status") or "inactive")
            counts[status] = counts.get(status, 0) + 1
        gauge = GaugeMetricFamily("aj_integrations", "Integrations by status", labels=["status"])
        for status, n in counts.items():
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
            "How long the oldest message waiting for the queue (on it or in a tenant's lane) has waited; 0: none",
            labels=["queue"],
        )
        for queue in backlog:
            sent = queue.oldest_sent_at
            age.add_metric([queue.queue], max(0.0, now - sent) if sent is not None else 0.0)
        yield age
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
        pipe = self.r.pipeline()
        pipe.hgetall(keys.STAT_TASKS)
        pipe.hgetall(keys.STAT_TASK_SECONDS)
        pipe.hgetall(keys.STAT_VENDOR_REQUESTS)
        tasks, seconds, vendor = pipe.execute()
        total = CounterMetricFamily("aj_tasks", "Tasks run, by outcome", labels=["task", "outcome"])
        for field, n in sorted(tasks.items()):
            task, _, outcome = field.rpartition("|")
            total.add_metric([task, outcome], float(n))
        yield total
        requests_total = CounterMetricFamily(
            "aj_vendor_requests", "Vendor requests, by status", labels=["vendor", "status"]
        )
        for field, n in sorted(vendor.items()):
            name, _, status = field.partition("|")
            requests_total.add_metric([name, status], float(n))
        yield requests_total
        cumulative, buckets = 0.0, []
        for bound in (*(str(b) for b in BUCKETS), "+Inf"):
            cumulative += float(seconds.get(f"bucket|{bound}", 0))
            buckets.append((bound, cumulative))
        yield HistogramMetricFamily(
            "aj_task_seconds", "Task duration", buckets=buckets, sum_value=float(seconds.get("sum", 0))
        )


def render(r: redis.Redis) -> bytes:
    registry = CollectorRegistry()
    registry.register(FleetCollector(r))
    return generate_latest(REGISTRY) + generate_latest(registry)
