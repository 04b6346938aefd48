"""The event router, for events whose task is not known up front (a replay of an event with no dead letter, an
event type no flow handles): it dispatches by event type (flows/routes.py EVENT_TASKS, the one map the ingest
uses too), or records the event as skipped with the reason, for `ajctl events show`.
"""

from __future__ import annotations

import logging

from config.settings import get_settings
from domain.envelope import LIFECYCLE_EVENTS
from flows.routes import task_for_event
from store.integrations import IntegrationStore
from store.ledger import Ledger
from store.queues import enqueue
from store.redis import sync_client

log = logging.getLogger(__name__)


def _runs_when_inactive(event: str, status: str) -> bool:
    """Lifecycle events must reach an inactive (not deleted) integration: uninstalling it is still wanted."""
    return event in LIFECYCLE_EVENTS and status != "deleted"


def route_event(event_id: str) -> str | None:
    """Dispatch one stored event to its flow. Trigger: ingest (and `ajctl events replay`).
    Idempotency: handlers are idempotent per event; routing twice only re-runs an idempotent handler."""
    return dispatch(event_id)


def dispatch(event_id: str) -> str | None:
    r = sync_client()
    ledger = Ledger(r)
    entry = ledger.get(event_id)
    if entry is None:
        log.warning("events.route.missing event=%s (expired or never stored)", event_id)
        return None
    event, integration_id = entry["event"], entry["integration"]
    integration = IntegrationStore(r, get_settings().secret_key()).get(integration_id)
    if integration is None or not (integration.is_active or _runs_when_inactive(event, integration.status)):
        status = integration.status if integration else "missing"
        ledger.record_skip(event_id, f"integration {status}")
        log.info("events.route.skipped event=%s integration=%s status=%s", event_id, integration_id, status)
        return None
    task_name = task_for_event(event)
    if task_name is None:
        ledger.record_skip(event_id, f"no handler for {event}")
        log.info("events.route.unhandled event=%s type=%s integration=%s", event_id, event, integration_id)
        return None
    enqueue(task_name, [event_id], tenant=integration_id)
    log.info(
        "events.routed event=%s type=%s task=%s integration=%s", event_id, event, task_name, integration_id
    )
    return task_name
