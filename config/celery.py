"""Celery configuration for no loss: late acks, redelivery on worker loss, JSON only, no result backend."""

from __future__ import annotations

from typing import Any

from kombu.entity import Exchange, Queue

from config.broker_guard import guard_detached_transport, reuse_sync_clients
from config.queues import ALL_QUEUES, QUEUE_DEFAULT, RESTORE_INTERVAL_S, TASK_ROUTES, visibility_timeout
from config.redis_url import sentinel_target, timeouts
from config.settings import Settings


def task_queues() -> list[Queue]:
    """Every queue on the default exchange (""), routed by name: publishing needs no binding lookup in
    Redis, exactly like the ingest's hand-built messages (store/messages.py)."""
    default = Exchange("", type="direct")  # type: ignore[no-untyped-call]
    return [Queue(name, default, routing_key=name) for name in ALL_QUEUES]  # type: ignore[no-untyped-call]


# The consumer's BRPOP blocks up to kombu's 1 s polling interval on the broker socket: reads need longer.
BROKER_MIN_READ_TIMEOUT_S = 2.0


def broker_transport_options(settings: Settings) -> dict[str, Any]:
    guard_detached_transport()  # whoever connects with these options gets the guard
    reuse_sync_clients()
    options: dict[str, Any] = {
        "visibility_timeout": visibility_timeout(settings),
        # Sweep for messages of dead workers every few seconds (kombu's default is ~100 s), so recovery
        # takes the visibility timeout plus seconds, not minutes.
        "unacked_restore_interval": min(RESTORE_INTERVAL_S, visibility_timeout(settings)),
        "unacked_restore_throttle": 1,
        # A broker that vanishes without closing TCP (failover, NAT) must not hang a publish or a consumer.
        "socket_timeout": max(settings.REDIS_SOCKET_TIMEOUT_S, BROKER_MIN_READ_TIMEOUT_S),
        "socket_connect_timeout": settings.REDIS_CONNECT_TIMEOUT_S,
        "socket_keepalive": True,
    }
    if sentinel_target(settings.REDIS_URL) is not None:
        # kombu's SentinelChannel (REDIS_URL `sentinel://…;sentinel://…/db`): the master's name, and how the
        # sentinels are reached -- the same as store/redis.py, which follows the same master.
        from redis.backoff import NoBackoff
        from redis.retry import Retry

        options["master_name"] = settings.REDIS_SENTINEL_MASTER
        # A silent sentinel is skipped for the next one: retrying it would only delay finding the master.
        options["sentinel_kwargs"] = {**timeouts(settings), "retry": Retry(NoBackoff(), 0)}
    return options


def celery_config(settings: Settings) -> dict[str, Any]:
    return {
        "task_queues": task_queues(),
        "broker_url": settings.REDIS_URL,
        "broker_connection_retry_on_startup": True,
        "broker_transport_options": broker_transport_options(settings),
        "result_backend": None,
        "task_ignore_result": True,
        "task_serializer": "json",
        "accept_content": ["json"],
        "task_acks_late": True,
        "task_reject_on_worker_lost": True,
        "worker_prefetch_multiplier": 1,
        "task_default_queue": QUEUE_DEFAULT,
        "task_routes": TASK_ROUTES,
        "task_create_missing_queues": True,
        # Task events cost several publishes per task; Flower turns them on in the workers it watches
        # (its `enable_events`, on by default), so a fleet pays for them only while someone looks.
        "worker_send_task_events": False,
        "task_send_sent_event": False,
        "worker_hijack_root_logger": False,
        "enable_utc": True,
        "timezone": "UTC",
    }
