"""Dead-letter replay (SPEC F11): put failed work back through the same tasks and idempotency records."""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from config.celery import ROUTE_TASK
from store.dead_letters import DeadLetters
from store.ledger import Ledger
from store.redis import sync_client

log = logging.getLogger("worker.failures")


def select_for_replay(
    ids: list[str], integration_id: str | None, since: datetime | None
) -> tuple[list[str], list[str]]:
    """Which ids can be replayed now, and which cannot (unknown id, or filtered out)."""
    r = sync_client()
    dead = DeadLetters(r)
    ledger = Ledger(r)
    candidates = ids or [d.id for d in dead.list(integration_id)]
    since_iso = since.replace(tzinfo=since.tzinfo or UTC).isoformat() if since else None
    selected: list[str] = []
    skipped: list[str] = []
    for cid in candidates:
        letter = dead.get(cid)
        known = letter is not None or ledger.get(cid) is not None
        wrong_tenant = integration_id and letter and letter.integration != integration_id
        too_old = since_iso and letter and letter.last_failed_at < since_iso
        (skipped if not known or wrong_tenant or too_old else selected).append(cid)
    return selected, skipped


def replay(dead_id: str) -> None:
    """Re-send the failed task (or route the event again) and clear the dead letter."""
    from worker.app import app

    r = sync_client()
    letter = DeadLetters(r).get(dead_id)
    # Mark pending before sending: the worker may finish before this function returns. The dead letter
    # goes last, so a crash in between leaves it replayable (handlers are idempotent).
    if Ledger(r).get(dead_id) is not None:
        Ledger(r).set_outcome(dead_id, "pending", "replayed")
    if letter is not None:
        app.signature(letter.task, args=letter.args, kwargs=letter.kwargs).apply_async()
        DeadLetters(r).remove(dead_id)
    else:
        app.signature(ROUTE_TASK, args=[dead_id]).apply_async()
    log.info("events.replayed id=%s task=%s", dead_id, letter.task if letter else ROUTE_TASK)
