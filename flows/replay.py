"""Dead-letter replay (SPEC F11): put failed work back through the same tasks and idempotency records."""

from __future__ import annotations

import logging
import secrets
from datetime import UTC, datetime

from config.queues import Task
from config.settings import get_settings
from domain.scope import Scope
from store.calls import CallStates
from store.dead_letters import DeadLetters
from store.integrations import IntegrationStore
from store.ledger import Ledger
from store.queues import enqueue, resend
from store.redis import sync_client

log = logging.getLogger(__name__)


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
    entry, record = ledger.get_with_integration(event_id)
    if entry is None:
        return False
    if "raw" in entry:
        return True
    integration = IntegrationStore.from_record(record)
    if integration is None or integration.jobber_account is None:
        return False  # its call's snapshots are keyed on a scope it does not have
    snapshot = CallStates(ledger.r).snapshot(Scope.of(integration), entry.get("resource_id", ""), event_id)
    return snapshot is not None


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
    if letter is None and letters.just_replayed(dead_id):
        # Its letter was there a moment ago and another replay sent it: this is not a replay from the ledger.
        log.info("events.replay_skipped id=%s reason=replayed_by_another_replay", dead_id)
        return False
    copy = letters.event_copy(dead_id) if letter is not None else None
    entry = ledger.get(dead_id)
    # Mark pending before sending: the worker may finish before this function returns. The claimed letter
    # goes last, so a crash in between leaves it replayable (its claim goes stale; handlers are idempotent).
    # The letter's copy of the raw event re-creates what the flow reads, even after the ledger forgot it.
    if copy is not None:
        ledger.reopen(dead_id, copy, get_settings().event_ttl_s)
    elif entry is not None:
        ledger.set_outcome(dead_id, "pending", "replayed")
    tenant = (letter.integration if letter else None) or (entry or copy or {}).get("integration", "")
    if letter is not None:
        resend(  # by the name it failed under, in the trace it was part of
            letter.task, letter.args, letter.kwargs, tenant=tenant, traceparent=letter.traceparent or None
        )
        letters.release(dead_id, token)
    else:
        enqueue(Task.ROUTE, [dead_id], tenant=tenant)
    log.info("events.replayed id=%s task=%s", dead_id, letter.task if letter else Task.ROUTE)
    return True
