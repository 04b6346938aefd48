"""Queues and routes, as data: which queue each task runs on and which task each event starts.

Plain Python (no Celery or kombu import): the ingest, the flows and the store read it; config/celery.py
builds Celery's configuration from it.
"""

from __future__ import annotations

from enum import StrEnum

from config.settings import Settings

# Queues split by what their tasks wait on, so one vendor's outage cannot starve the other (SPEC §7).
QUEUE_CARDS = "cards"  # insight cards: must land while the phone rings; never behind bulk work
QUEUE_DEFAULT = "default"  # routing and Redis-only state merges
QUEUE_JOBBER = "jobber"  # work that mostly waits on Jobber
QUEUE_AIRCALL = "aircall"  # work that mostly waits on Aircall (one client's contact, AI fetches)
QUEUE_SYNC = "sync"  # contact-sync sweeps, page by page: bulk work never ahead of a call's logging
ALL_QUEUES = (QUEUE_CARDS, QUEUE_DEFAULT, QUEUE_JOBBER, QUEUE_AIRCALL, QUEUE_SYNC)
# Queues whose work waits in per-tenant lanes and is dispatched round-robin (store/queues.py): one tenant's
# flood never delays another's. Every queue: a burst of one tenant's ringing calls must not hold another
# tenant's card past its ringing window either, so cards have lanes too, with a short queue in front of the
# workers (CARDS_QUEUE_DEPTH) so that a card waits behind few others.
FAIR_QUEUES = frozenset(ALL_QUEUES)


def queue_depths(settings: Settings) -> dict[str, int]:
    """How many messages each fair queue keeps ready in front of the workers;
    the rest wait in tenant lanes."""
    return {
        queue: settings.CARDS_QUEUE_DEPTH if queue == QUEUE_CARDS else settings.FAIR_QUEUE_DEPTH
        for queue in FAIR_QUEUES
    }


class Task(StrEnum):
    """Every task's name, once: the decorators (tasks/), the queues below, the beat schedule
    (worker/schedule.py), the event routing (flows/routes.py) and every `enqueue` (store/queues.py, typed on
    it) read them here. Stable dotted names, never the module path: renaming a module must not orphan the
    messages in flight."""

    ROUTE = "events.route"  # replays of events whose task is unknown; "no handler" skips
    POST_CARD = "cards.post"
    LOG_CALL = "calls.log_activity"
    LOG_MESSAGE = "messages.log_activity"
    FETCH_AI_INSIGHT = "ai.fetch_insight"
    WRITE_AI_NOTE = "ai.write_note"
    CLIENT_CHANGED = "jobber.client_changed"
    JOBBER_DISCONNECTED = "lifecycle.jobber_disconnected"
    INTEGRATION_DELETED = "lifecycle.integration_deleted"
    AIRCALL_ACTIVATION = "lifecycle.aircall_activation"
    PURGE = "lifecycle.purge"
    SYNC_CLIENT = "sync.client"
    SYNC_SWEEP = "sync.sweep"
    SYNC_SWEEP_PAGE = "sync.sweep_page"
    SYNC_SWEEP_ALL = "sync.sweep_all"
    WEBHOOK_HEALTH = "maintenance.webhook_health"
    CHECK_WEBHOOK = "maintenance.check_webhook"
    RENEW_JOBBER_CONNECTIONS = "maintenance.refresh_jobber_tokens"
    RENEW_JOBBER_CONNECTION = "maintenance.refresh_jobber_token"  # its access token
    RECOVER_LOST_DELIVERIES = "maintenance.recover_lost_deliveries"
    RECONCILE_CALLS = "maintenance.reconcile_calls"
    RECONCILE_INTEGRATION = "maintenance.reconcile_integration"
    DISCONNECT_EXPIRED_CONSENTS = "connect.disconnect_expired"


# The queue each task runs on: every task once (tests/unit/test_task_names.py).
TASK_QUEUES: dict[Task, str] = {
    Task.ROUTE: QUEUE_DEFAULT,
    Task.POST_CARD: QUEUE_CARDS,
    Task.LOG_CALL: QUEUE_JOBBER,
    Task.LOG_MESSAGE: QUEUE_JOBBER,
    Task.FETCH_AI_INSIGHT: QUEUE_AIRCALL,
    Task.WRITE_AI_NOTE: QUEUE_JOBBER,
    Task.CLIENT_CHANGED: QUEUE_JOBBER,
    Task.JOBBER_DISCONNECTED: QUEUE_DEFAULT,
    Task.INTEGRATION_DELETED: QUEUE_DEFAULT,
    Task.AIRCALL_ACTIVATION: QUEUE_DEFAULT,
    Task.PURGE: QUEUE_DEFAULT,
    Task.SYNC_CLIENT: QUEUE_AIRCALL,
    Task.SYNC_SWEEP: QUEUE_SYNC,
    Task.SYNC_SWEEP_PAGE: QUEUE_SYNC,
    Task.SYNC_SWEEP_ALL: QUEUE_AIRCALL,
    Task.WEBHOOK_HEALTH: QUEUE_DEFAULT,
    Task.CHECK_WEBHOOK: QUEUE_DEFAULT,
    Task.RENEW_JOBBER_CONNECTIONS: QUEUE_DEFAULT,
    Task.RENEW_JOBBER_CONNECTION: QUEUE_DEFAULT,
    Task.RECOVER_LOST_DELIVERIES: QUEUE_DEFAULT,
    Task.RECONCILE_CALLS: QUEUE_DEFAULT,
    Task.RECONCILE_INTEGRATION: QUEUE_DEFAULT,
    Task.DISCONNECT_EXPIRED_CONSENTS: QUEUE_DEFAULT,
}
_QUEUE_BY_NAME: dict[str, str] = {task.value: queue for task, queue in TASK_QUEUES.items()}
# Celery's routes, from the same table.
TASK_ROUTES = {name: {"queue": queue} for name, queue in _QUEUE_BY_NAME.items()}


def queue_for(task_name: str) -> str:
    """The queue a task runs on. A name that is no Task (a message stored by an older release, a test's task)
    runs on `default`."""
    return _QUEUE_BY_NAME.get(task_name, QUEUE_DEFAULT)


# How long a running task's message stays invisible without a heartbeat. Workers heartbeat the messages they
# hold (worker/upkeep.py) and retries wait outside the worker (store/queues.py), so this can be short: a
# SIGKILLed worker's messages are back in their queue after this plus one restore interval.
VISIBILITY_TIMEOUT_S = 30
RESTORE_INTERVAL_S = 5


def visibility_timeout(settings: Settings) -> int:
    """Seconds before an unacknowledged message is handed to another worker (see VISIBILITY_TIMEOUT_S)."""
    return settings.BROKER_VISIBILITY_TIMEOUT_S or VISIBILITY_TIMEOUT_S
