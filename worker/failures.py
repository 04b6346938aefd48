"""Dead-letter replay (SPEC F11): put failed work back through the same tasks and idempotency records."""

from __future__ import annotations

import logging
import secrets
from datetime import UTC, datetime

from config.celery import ROUTE_TASK
from store.dead_letters import DeadLetters
from store.ledger import Ledger
from store.redis import sync_client
from worker.enqueue import enqueue

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


def replay(dead_id: str) -> bool:
    """Re-send the failed task (or route the event again) and clear the dead letter. False when another
    replay of the same letter is under way (it was claimed first)."""
    r = sync_client()
    letters = DeadLetters(r)
    ledger = Ledger(r)
    token = secrets.token_hex(8)
    letter = letters.claim(dead_id, token)
    if letter is None and letters.get(dead_id) is not None:
        log.info("events.replay_skipped id=%s reason=claimed_by_another_replay", dead_id)
        return False
    entry = ledger.get(dead_id)
    # Mark pending before sending: the worker may finish before this function returns. The claimed letter
    # goes last, so a crash in between leaves it replayable (its claim goes stale; handlers are idempotent).
    if entry is not None:
        ledger.set_outcome(dead_id, "pending", "replayed")
    tenant = (letter.integration if letter else None) or (entry or {}).get("integration", "")
    if letter is not None:
        enqueue(letter.task, letter.args, letter.kwargs, tenant=tenant)
        letters.release(dead_id, token)
    else:
        enqueue(ROUTE_TASK, [dead_id], tenant=tenant)
    log.info("events.replayed id=%s task=%s", dead_id, letter.task if letter else ROUTE_TASK)
    return True
