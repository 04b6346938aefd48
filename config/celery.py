"""Celery configuration for no loss: late acks, redelivery on worker loss, JSON only, no result backend."""

from __future__ import annotations

from typing import Any

from kombu.entity import Exchange, Queue

from config.broker_guard import guard_detached_transport
from config.redis_url import sentinel_target, timeouts
from config.settings import Settings
from domain.envelope import AI_EVENTS

# Queues split by what their tasks wait on, so one vendor's outage cannot starve the other (SPEC §7).
QUEUE_CARDS = "cards"  # insight cards: must land while the phone rings; never behind bulk work
QUEUE_DEFAULT = "default"  # routing and Redis-only state merges
QUEUE_JOBBER = "jobber"  # work that mostly waits on Jobber
QUEUE_AIRCALL = "aircall"  # work that mostly waits on Aircall (one client's contact, AI fetches)
QUEUE_SYNC = "sync"  # contact-sync sweeps, page by page: bulk work never ahead of a call's logging
ALL_QUEUES = (QUEUE_CARDS, QUEUE_DEFAULT, QUEUE_JOBBER, QUEUE_AIRCALL, QUEUE_SYNC)
# Queues whose work waits in per-tenant lanes and is dispatched round-robin (store/queues.py): one tenant's
# flood never delays another's. Cards are per ringing call and dropped after the ringing window: direct.
FAIR_QUEUES = frozenset({QUEUE_DEFAULT, QUEUE_JOBBER, QUEUE_AIRCALL, QUEUE_SYNC})

# Which task each event runs: its flow's entry. The ingest enqueues it directly, so an event costs one task
# (no router hop in front of every flow; an insight card reaches Aircall while the phone rings, SPEC F1, §6).
# Each flow checks what a router would (the integration is active; lifecycle events also run when inactive).
# `events.route` remains for replays of events whose task is unknown, and records "no handler" skips.
ROUTE_TASK = "events.route"
CARD_TASK = "cards.post"
CALL_TASK = "calls.log_activity"
_CALL_LOG_EVENTS = (
    "call.ended", "call.commented", "call.tagged", "call.untagged", "call.comm_assets_generated",
    "call.voicemail_left", "call.assigned", "call.transferred", "call.external_transferred", "call.answered",
    "call.hungup",
)  # fmt: skip
EVENT_TASKS: dict[str, str] = {
    "call.created": CARD_TASK,
    "call.ringing_on_agent": CARD_TASK,
    **dict.fromkeys(_CALL_LOG_EVENTS, CALL_TASK),
    "message.sent": "messages.log_activity",
    "message.received": "messages.log_activity",
    **dict.fromkeys(AI_EVENTS, "ai.fetch_insight"),
    "integration.deleted": "lifecycle.integration_deleted",
    "jobber.CLIENT_CREATE": "jobber.client_changed",
    "jobber.CLIENT_UPDATE": "jobber.client_changed",
    "jobber.CLIENT_DESTROY": "jobber.client_changed",
    "jobber.APP_DISCONNECT": "lifecycle.jobber_disconnected",
}
# Voice-agent data joins its call (SPEC F9), whatever the event's last part.
EVENT_TASK_PREFIXES: dict[str, str] = {"ai_voice_agent.": CALL_TASK}


def task_for_event(event: str) -> str | None:
    """The task an event runs, or None when no flow handles it."""
    found = EVENT_TASKS.get(event)
    if found is None:
        found = next((task for prefix, task in EVENT_TASK_PREFIXES.items() if event.startswith(prefix)), None)
    return found


# Task names are stable dotted names; routes go by prefix.
TASK_ROUTES = {
    "events.*": {"queue": QUEUE_DEFAULT},
    "cards.*": {"queue": QUEUE_CARDS},
    "calls.*": {"queue": QUEUE_JOBBER},
    "messages.*": {"queue": QUEUE_JOBBER},
    "ai.fetch_insight": {"queue": QUEUE_AIRCALL},
    "ai.write_note": {"queue": QUEUE_JOBBER},
    "sync.sweep": {"queue": QUEUE_SYNC},
    "sync.sweep_page": {"queue": QUEUE_SYNC},
    "sync.*": {"queue": QUEUE_AIRCALL},
    "lifecycle.*": {"queue": QUEUE_DEFAULT},
    "jobber.*": {"queue": QUEUE_JOBBER},
    "maintenance.*": {"queue": QUEUE_DEFAULT},
}


def queue_for(task_name: str) -> str:
    """The queue a task runs on, by its dotted name (TASK_ROUTES; exact names before `prefix.*`)."""
    if task_name in TASK_ROUTES:
        return str(TASK_ROUTES[task_name]["queue"])
    prefix = task_name.split(".", 1)[0] + ".*"
    return str(TASK_ROUTES.get(prefix, {"queue": QUEUE_DEFAULT})["queue"])


# How long a running task's message stays invisible without a heartbeat. Workers heartbeat the messages they
# hold (worker/upkeep.py) and retries wait outside the worker (store/queues.py), so this can be short: a
# SIGKILLed worker's messages are back in their queue after this plus one restore interval.
VISIBILITY_TIMEOUT_S = 30
RESTORE_INTERVAL_S = 5


def visibility_timeout(settings: Settings) -> int:
    """Seconds before an unacknowledged message is handed to another worker (see VISIBILITY_TIMEOUT_S)."""
    return settings.BROKER_VISIBILITY_TIMEOUT_S or VISIBILITY_TIMEOUT_S


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
