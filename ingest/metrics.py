"""Prometheus metrics of the ingest process, plus fleet gauges read from Redis at scrape time."""

from __future__ import annotations

from collections.abc import Iterator

import redis
from prometheus_client import CollectorRegistry, Counter, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from config.celery import ALL_QUEUES
from store import keys
from store.integrations import STATUSES

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
        pipe.zcard(keys.DEAD_LETTERS)
        pipe.get(keys.STAT_DUPLICATES)
        *depths, dead, dups = pipe.execute()
        depth = GaugeMetricFamily("aj_queue_depth", "Messages waiting per queue", labels=["queue"])
        for queue, n in zip(ALL_QUEUES, depths, strict=True):
            depth.add_metric([queue], float(n))
        yield depth
        yield GaugeMetricFamily("aj_dead_letters", "Dead-lettered events awaiting replay", value=float(dead))
        # A counter kept in Redis (Lua increments it), exposed as a fleet-wide total.
        dup = GaugeMetricFamily("aj_events_duplicate_total", "Duplicate webhook deliveries dropped", value=0)
        dup.samples.clear()
        dup.add_metric([], float(dups or 0))
        yield dup
        counts: dict[str, int] = dict.fromkeys(STATUSES, 0)
        for iid in self.r.smembers(keys.INTEGRATIONS):
            status = str(self.r.hget(keys.integration(str(iid)), "status") or "inactive")
            counts[status] = counts.get(status, 0) + 1
        gauge = GaugeMetricFamily("aj_integrations", "Integrations by status", labels=["status"])
        for status, n in counts.items():
            gauge.add_metric([status], float(n))
        yield gauge


def render(r: redis.Redis) -> bytes:
    registry = CollectorRegistry()
    registry.register(FleetCollector(r))
    return generate_latest(REGISTRY) + generate_latest(registry)
