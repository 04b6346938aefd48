"""The uninstall purge (README "Uninstall"): a deleted integration's data leaves Redis within one pass of the
keyspace (store/purge.py), and its tombstone TOMBSTONE_DAYS later.

Started by the delete itself (`lifecycle.purge`), and by beat every few minutes, which also resumes a pass a
dead worker left half-way. One run at a time (a lock); each run works for at most RUN_S, then hands over to a
new task, so a large keyspace never holds a worker for long and every step is saved.
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from dataclasses import replace

from config.queues import Task
from config.settings import Settings, get_settings
from flows.connect import pending_store
from store import keys
from store.locks import LockBusy, hold
from store.purge import Purges
from store.queues import enqueue
from store.redis import sync_client

log = logging.getLogger(__name__)

RUN_S = 10.0  # a run's share of a pass; the next part is a new task


def purge(
    settings: Settings | None = None, *, run_s: float = RUN_S, now: float | None = None
) -> dict[str, int]:
    """Purge what deleted integrations left. Trigger: a delete, and beat. Idempotency: every step deletes
    what is still there (twice is harmless) and saves the pass's cursor; a run that finds the lock taken does
    nothing. Retries: beat's next run. Returns counts of this run (tests, logs)."""
    settings = settings or get_settings()
    r = sync_client(settings.REDIS_URL)
    purges = Purges(r)
    counts: Counter[str] = Counter()
    try:
        with hold(r, keys.lock("purge"), wait_s=0.1):
            more = _run(purges, settings, counts, run_s, time.time() if now is None else now)
    except LockBusy:
        return {"busy": 1}
    if more:
        enqueue(Task.PURGE, [], tenant="")
    if counts:
        log.info("purge.run %s", " ".join(f"{k}={v}" for k, v in sorted(counts.items())))
    return dict(counts)


def _run(purges: Purges, settings: Settings, counts: Counter[str], run_s: float, now: float) -> bool:
    """Work until the pass is over or the run's time is up; True when there is more to do right away."""
    for integration_id in purges.tombstones_due(now):
        counts["tombstones_dropped"] += purges.drop_tombstone(integration_id)
    deadline = time.monotonic() + run_s
    found = purges.current()
    if found is None:
        due = purges.due(now)
        if not due:
            return False
        found = purges.start(due, now)
        log.info("purge.pass_started integrations=%s", ",".join(found.integrations))
    while True:
        batch = purges.step(found)
        counts["scanned"] += batch.scanned
        counts["deleted"] += batch.deleted
        counts["consents_disconnected"] += _hand_over_consents(
            batch.pending_consents, found.integrations, settings
        )
        if batch.cursor == 0:
            purges.finish(found, tombstone_until=found.started_at + settings.tombstone_s)
            counts["integrations_purged"] += len(found.integrations)
            log.info(
                "purge.pass_done integrations=%s scanned=%d deleted=%d",
                ",".join(found.integrations),
                found.counts.get("scanned", 0),
                found.counts.get("deleted", 0),
            )
            return bool(purges.due(now))
        if time.monotonic() >= deadline:
            return True


def _hand_over_consents(digests: list[str], integrations: list[str], settings: Settings) -> int:
    """Jobber consents started from a purged integration's settings: no admin can attach them
    any more, so they go to the disconnect sweep at once (flows/connect.py), named after no
    integration, so nothing of it stays."""
    if not digests:
        return 0
    store = pending_store(settings)
    handed = 0
    for digest in digests:
        pending = store.peek_digest(digest)
        if pending is None or pending.integration_id not in integrations:
            continue
        taken = store.take_by_digest(digest)
        if taken is None:
            continue  # attached, declined or swept meanwhile
        store.requeue(replace(taken, integration_id=None), time.time())
        handed += 1
    return handed
