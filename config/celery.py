"""Celery configuration for no loss: late acks, redelivery on worker loss, JSON only, no result backend."""

from __future__ import annotations

from typing import Any

from kombu.entity import Exchange, Queue

from config.broker_guard import guard_detached_transport
from config.redis_url import sentinel_target, timeouts
from config.settings import Settings

# Queues split by what their tasks wait on, so one vendor's outage cannot starve the other (SPEC §7).
QUEUE_CARDS = "cards"  # insight cards: must land while the phone rings; never behind bulk work
QUEUE_DEFAULT = "default"  # routing and Redis-only state merges
QUEUE_JOBBER = "jobber"  # work that mostly waits on Jobber
QUEUE_AIRCALL = "aircall"  # work that mostly waits on Aircall (contact sync, AI fetches)
ALL_QUEUES = (QUEUE_CARDS, QUEUE_DEFAULT, QUEUE_JOBBER, QUEUE_AIRCALL)

# The first task of every accepted webhook (tasks/router.py); the ingest enqueues it by name.
ROUTE_TASK = "events.route"

# Events the ingest enqueues straight to their flow, skipping the router hop: an insight card must reach
# Aircall while the phone rings (SPEC F1, §6). The flow itself checks what the router would.
CARD_TASK = "cards.post"
DIRECT_ROUTES = {
    "call.created": (CARD_TASK, QUEUE_CARDS),
    "call.ringing_on_agent": (CARD_TASK, QUEUE_CARDS),
}

# Task names are stable dotted names; routes go by prefix.
TASK_ROUTES = {
    "events.*": {"queue": QUEUE_DEFAULT},
    "cards.*": {"queue": QUEUE_CARDS},
    "calls.*": {"queue": QUEUE_JOBBER},
    "messages.*": {"queue": QUEUE_JOBBER},
    "ai.fetch_insight": {"queue": QUEUE_AIRCALL},
    "ai.write_note": {"queue": QUEUE_JOBBER},
    "sync.*": {"queue": QUEUE_AIRCALL},
    "lifecycle.*": {"queue": QUEUE_DEFAULT},
    "jobber.*": {"queue": QUEUE_JOBBER},
    "maintenance.*": {"queue": QUEUE_DEFAULT},
}


def visibility_timeout(settings: Settings) -> int:
    """Seconds before an unacknowledged message is handed to another worker.

    Celery keeps retry countdowns (ETA) unacknowledged in the worker, so this must exceed the longest
    retry delay or a waiting retry would be redelivered and run twice. A worker killed with SIGKILL gets its
    message redelivered after this long (a graceful stop hands it back at once).
    """
    if settings.BROKER_VISIBILITY_TIMEOUT_S:
        return settings.BROKER_VISIBILITY_TIMEOUT_S
    return max(2 * settings.RETRY_BACKOFF_MAX_S, 300) + 60


def task_queues() -> list[Queue]:
    """Every queue on the default exchange (""), routed by name: publishing needs no binding lookup in
    Redis, exactly like the ingest's hand-built messages (worker/protocol.py)."""
    default = Exchange("", type="direct")  # type: ignore[no-untyped-call]
    return [Queue(name, default, routing_key=name) for name in ALL_QUEUES]  # type: ignore[no-untyped-call]


# The consumer's BRPOP blocks up to kombu's 1 s polling interval on the broker socket: reads need longer.
BROKER_MIN_READ_TIMEOUT_S = 2.0


def broker_transport_options(settings: Settings) -> dict[str, Any]:
    guard_detached_transport()  # whoever connects with these options gets the guard
    options: dict[str, Any] = {
        "visibility_timeout": visibility_timeout(settings),
        # Sweep for messages of dead workers about every 10 s (kombu's default is ~100 s), so recovery
        # takes the visibility timeout plus seconds, not minutes.
        "unacked_restore_interval": min(10, visibility_timeout(settings)),
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
        "worker_send_task_events": True,  # Flower
        "task_send_sent_event": True,
        "worker_hijack_root_logger": False,
        "enable_utc": True,
        "timezone": "UTC",
    }
