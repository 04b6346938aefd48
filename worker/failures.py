"""Dead-letter replay (SPEC F11): put failed work back through the same tasks and idempotency records."""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from config.celery import ROUTE_TASK
from config.settings import get_settings
from store.calls import CallStates
from store.dead_letters import DeadLetters
from store.ledger import Ledger
from store.redis import sync_client

log = logging.getLogger("worker.failures")


def select_for_replay(
    ids: list[str], integration_id: str | None, since: datetime | None
) -> tuple[list[str], list[str]]:
    """Which ids can be replayed now, and which cannot (unknown id, filtered out, or an event whose raw body
    is no longer kept anywhere)."""
    r = sync_client()
    dead = DeadLetters(r)
    ledger = Ledger(r)
    candidates = ids or [d.id for d in dead.list(integration_id)]
    since_iso = since.replace(tzinfo=since.tzinfo or UTC).isoformat() if since else None
    selected: list[str] = []
    skipped: list[str] = []
    for cid in candidates:
        letter = dead.get(cid)
        known = letter is not None or _replayable_from_ledger(ledger, cid)
        wrong_tenant = integration_id and letter and letter.integration != integration_id
        too_old = since_iso and letter and letter.last_failed_at < since_iso
        (skipped if not known or wrong_tenant or too_old else selected).append(cid)
    return selected, skipped


def _replayable_from_ledger(ledger: Ledger, event_id: str) -> bool:
    """A settled event has dropped its raw body; a call event can still run from its call's snapshot."""
    entry = ledger.get(event_id)
    if entry is None:
        return False
    if "raw" in entry:
        return True
    snapshot = CallStates(ledger.r).snapshot(
        entry.get("integration", ""), entry.get("resource_id", ""), event_id
    )
    return snapshot is not None


def replay(dead_id: str) -> None:
    """Re-send the failed task (or route the event again) and clear the dead letter."""
    from worker.app import app

    r = sync_client()
    dead = DeadLetters(r)
    ledger = Ledger(r)
    letter = dead.get(dead_id)
    copy = dead.event_copy(dead_id) if letter is not None else None
    # Mark pending before sending: the worker may finish before this function returns. The dead letter
    # goes last, so a crash in between leaves it replayable (handlers are idempotent). Its copy of the raw
    # event re-creates what the flow reads, even after the ledger forgot the event.
    if copy is not None:
        ledger.reopen(dead_id, copy, get_settings().event_ttl_s)
    elif ledger.get(dead_id) is not None:
        ledger.set_outcome(dead_id, "pending", "replayed")
    if letter is not None:
        app.signature(letter.task, args=letter.args, kwargs=letter.kwargs).apply_async()
        dead.remove(dead_id)
    else:
        app.signature(ROUTE_TASK, args=[dead_id]).apply_async()
    log.info("events.replayed id=%s task=%s", dead_id, letter.task if letter else ROUTE_TASK)
