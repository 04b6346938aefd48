"""Queues and routes, as data: which queue each task runs on and which task each event starts.

Plain Python (no Celery or kombu import): the ingest, the flows and the store read it; config/celery.py
builds Celery's configuration from it.
"""

from __future__ import annotations

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
    """How many messages each fair queue keeps ready in front of the workers; the rest wait in tenant lanes."""
    return {
        queue: settings.CARDS_QUEUE_DEPTH if queue == QUEUE_CARDS else settings.FAIR_QUEUE_DEPTH
        for queue in FAIR_QUEUES
    }


ROUTE_TASK = "events.route"
CARD_TASK = "cards.post"
CALL_TASK = "calls.log_activity"


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
    "connect.*": {"queue": QUEUE_DEFAULT},
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
