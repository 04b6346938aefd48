"""Reconciliation (SPEC F11): list recent Aircall calls and log the ones whose webhooks never came (Aircall
disables a failing webhook and keeps retrying for 12 h only; aircall-api.md §1.3, §9)."""

from __future__ import annotations

import functools
import logging
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from clients.errors import Permanent, VendorError
from config.queues import Task
from config.settings import get_settings
from domain.scope import Scope
from flows.activity import run_flow
from flows.calls import log_call
from flows.maintenance import fan_out, for_integration
from flows.patience import patiently
from flows.vendors import aircall_for
from store.activities import Activities
from store.backfill import ReconcileWatermark
from store.calls import CallStates
from store.integrations import Integration
from store.ledger import Ledger
from store.queues import enqueue
from store.redis import RedisClient, sync_client

log = logging.getLogger(__name__)

# An integration's reconciliation starts at its Jobber connect time (flows/lifecycle.py sets the watermark
# there, store/backfill.py): calls before it are not its to catch up, and a reinstall does not look back into
# its predecessor's time (a reconnect keeps its watermark and catches up from where it was). Without that mark
# (an integration connected some other way), the first run starts at its creation, at most this far back.
LOOKBACK_S = 6 * 3600
GRACE_S = 5 * 60  # a call.ended webhook comes ~30 s after hang-up: only calls older than this count as missed
OVERLAP_S = 15 * 60  # each run re-reads this much of the previous one's window, in case of clock skew
PER_PAGE = 50


# Aircall's lists page through 10,000 items at most (aircall-api.md §2: "use from/to windows to go further").
PAGING_CEILING = 10_000


class CallLister(Protocol):
    """What listing calls needs of Aircall: `AircallClient.list_calls`, one page of a window."""

    def list_calls(self, since: float, until: float, page: int = 1, per_page: int = 50) -> dict[str, Any]: ...


def recent_calls(aircall: CallLister, since: float, until: float) -> Iterator[dict[str, Any]]:
    """Every call started in [since, until], each exactly once (`GET /v1/calls`, page by page).

    Aircall stops paging a list at 10,000 items. A window whose `meta.total` is over the ceiling is halved
    before it is paged; a window that stops short of its total anyway (no next page, or the next page refused:
    which one Aircall does is UNCONFIRMED, and so is the exact ceiling) teaches the real ceiling and is halved
    then; without a `meta.total`, a listing that ends on a full page is halved to make sure. Halves overlap by
    their boundary second (whether `to` is inclusive is UNCONFIRMED) and calls are yielded once by id, so
    neither the order of a listing nor its boundaries can hide or double a call."""
    ceiling = PAGING_CEILING
    seen: set[int] = set()
    windows = [(int(since), int(until))]
    while windows:
        lo, hi = windows.pop()
        listing = _Listing()
        for call in _page_through(aircall, lo, hi, ceiling if hi - lo > 1 else None, listing):
            if int(call["id"]) not in seen:
                seen.add(int(call["id"]))
                yield call
        if not listing.incomplete:
            continue
        if listing.shows_ceiling:
            ceiling = min(ceiling, listing.listed)
        if hi - lo <= 1:  # more calls in a second or two than Aircall pages through: cannot split further
            if listing.total is not None or listing.refused:
                log.warning(
                    "reconcile.window_overfull from=%d to=%d calls=%s listed=%d",
                    lo,
                    hi,
                    listing.total,
                    listing.listed,
                )
            continue
        mid = (lo + hi) // 2
        windows += [(mid, hi), (lo, mid)]  # the older half first (a stack); the boundary second in both


@dataclass
class _Listing:
    """How paging one window went."""

    listed: int = 0  # calls Aircall listed (before removing those seen in another window)
    total: int | None = None  # `meta.total`, when given
    refused: bool = False  # a page past the ceiling was refused
    too_big: bool = False  # not paged: its total is over the ceiling

    @property
    def full_last_page(self) -> bool:
        return self.listed > 0 and self.listed % PER_PAGE == 0

    @property
    def incomplete(self) -> bool:
        if self.too_big or self.refused:
            return True
        if self.total is not None:
            return self.listed < self.total
        return self.full_last_page  # nothing to compare with: a listing ending on a full page may be cut off

    @property
    def shows_ceiling(self) -> bool:
        """Paging stopped after a full page short of the total: that is the real ceiling. (A window that grew
        while it was paged stops on a partial page: split all the same, it teaches nothing.)"""
        return not self.too_big and self.full_last_page and (self.refused or self.total is not None)


def _page_through(
    aircall: CallLister, lo: int, hi: int, ceiling: int | None, listing: _Listing
) -> Iterator[dict[str, Any]]:
    """The calls of [lo, hi] as far as Aircall pages; `listing` says how it went. `ceiling`: a window whose
    total is over it is not paged at all (it is split first)."""
    page = 1
    while True:
        try:
            body = aircall.list_calls(lo, hi, page=page, per_page=PER_PAGE)
        except Permanent as exc:
            if page == 1 or exc.status != 400:
                raise
            listing.refused = True
            return
        meta = body.get("meta") or {}
        listing.total = meta.get("total") if isinstance(meta.get("total"), int) else None
        if page == 1 and ceiling is not None and listing.total is not None and listing.total > ceiling:
            listing.too_big = True
            return
        for call in body.get("calls") or []:
            listing.listed += 1
            yield call
        if not meta.get("next_page_link"):
            return
        page += 1


def reconcile(integration: Integration, now: float | None = None) -> str:
    """Enqueue the logging of every connected call that ended (more than GRACE_S ago) and has no activity."""
    r = sync_client()
    now = time.time() if now is None else now
    watermark = ReconcileWatermark(r, integration.id)
    since = watermark.get()
    if since is None:
        since = max(_created(integration), now - LOOKBACK_S)
    numbers = set(integration.settings.numbers)
    found, until = 0, now - GRACE_S
    if until > since:
        for call in recent_calls(aircall_for(integration), since, until):
            if _missed(r, integration, call, numbers):
                event_id = _record(r, integration, call, now)
                enqueue(Task.LOG_CALL, [event_id], tenant=integration.id)
                found += 1
        # The next run starts OVERLAP_S before this one's end, never before this one's start.
        watermark.set(max(since, until - OVERLAP_S))
    if found:
        log.warning("reconcile.found integration=%s calls=%d", integration.id, found)
    return f"enqueued {found}" if found else "complete"


BACKFILL_COUNTS = ("logged", "already_logged", "skipped", "failed")


def backfill(
    integration: Integration, since: float, progress: Callable[[str], None] | None = None
) -> dict[str, Any]:
    """`ajctl backfill calls`: log every ended call since `since`, in this process, through the call flow.

    Counts, the same on every run for the same calls: `logged` (this run wrote its activity), `already_logged`
    (the call has its activity in Jobber: the activity map says so), `skipped` (not logged, on purpose: the
    number is not connected, the call started before --since or is still in progress, or the call flow skipped
    it: withheld number, no client and contact creation off, a voice-agent call with that logging off...),
    `failed` (a vendor kept failing; the next run tries again); and `reasons`: skipped calls per reason.

    A call without an activity goes through the call flow again on each run, so it is judged by today's
    settings and Jobber (a client added since, contact creation switched on): nothing is remembered as "dealt
    with" except an activity."""
    r = sync_client()
    numbers = set(integration.settings.numbers)
    activities, ledger, scope = Activities(r), Ledger(r), Scope.of(integration)
    counts: Counter[str] = Counter()
    reasons: Counter[str] = Counter()
    for call in recent_calls(aircall_for(integration), since, time.time()):
        call_id = str(call["id"])
        record = activities.get(scope, "call", call_id)
        reason = None
        if record is not None and record.state == "done":
            outcome = "already_logged"
        elif call.get("status") != "done" or not call.get("ended_at"):
            outcome, reason = "skipped", "still in progress (the next run looks again)"
        elif (reason := _not_logged_because(call, numbers, since)) is not None:
            outcome = "skipped"
        else:
            event_id = _record(r, integration, call, time.time())
            result = _patiently(functools.partial(run_flow, event_id, log_call))
            # "unchanged" / "updated": a webhook logged the call meanwhile.
            outcome = result if result in ("logged", "skipped", "failed") else "already_logged"
            if outcome == "skipped":
                reason = (ledger.get(event_id) or {}).get("reason") or "skipped by the call flow"
        counts[outcome] += 1
        if reason is not None:
            reasons[reason] += 1
        if progress:
            progress(outcome)
    return {**{k: counts.get(k, 0) for k in BACKFILL_COUNTS}, "reasons": dict(reasons.most_common())}


def _not_logged_because(call: dict[str, Any], numbers: set[int], since: float) -> str | None:
    """Why a backfill does not run this ended call through the flow, or None (the same words as the flow's
    own skip for an unconnected number). Aircall's `from` is taken to filter on the start of the call; which
    timestamp it really filters on is UNCONFIRMED, so the start is checked again."""
    number_id = (call.get("number") or {}).get("id")
    if number_id not in numbers:
        return f"Aircall number {number_id} is not connected (settings.numbers)"
    if int(call.get("started_at") or 0) < int(since):
        return f"started before --since ({int(since)})"
    return None


def _patiently(run: Callable[[], str], attempts: int = 5) -> str:
    """Inline runs (the CLI) wait out rate limits and retry transient failures a few times."""
    try:
        return patiently(run, budget_s=get_settings().RATE_LIMIT_BUDGET_S, transient_attempts=attempts)
    except VendorError as exc:
        log.warning("backfill.failed error=%s", exc)
        return "failed"


def _missed(r: RedisClient, integration: Integration, call: dict[str, Any], numbers: set[int]) -> bool:
    if call.get("status") != "done" or not call.get("ended_at"):
        return False
    number = call.get("number") or {}
    if number.get("id") not in numbers:
        return False
    return not _dealt_with(r, integration, str(call["id"]))


def _dealt_with(r: RedisClient, integration: Integration, call_id: str) -> bool:
    """The call has an activity, or its call.ended went through the flow (logged, or skipped on purpose), by
    this integration or an earlier one of the same scope (a reinstall)."""
    scope = Scope.of(integration)
    if Activities(r).get(scope, "call", call_id) is not None:
        return True
    return any(s.event == "call.ended" for s in CallStates(r).all(scope, call_id))


def _created(integration: Integration) -> float:
    try:
        return datetime.fromisoformat(integration.created_at).timestamp()
    except ValueError:
        return 0.0


def _record(r: RedisClient, integration: Integration, call: dict[str, Any], now: float) -> str:
    """A ledger entry for a `call.ended` built from the API's call object: it then goes through the same flow
    and idempotency as webhooks (each reconciliation re-enqueues it until logged; repeats are harmless)."""
    event_id = f"ev_reconcile_{integration.id}_{call['id']}"
    raw = {
        "resource": "call",
        "event": "call.ended",
        "timestamp": int(now),
        "token": "[reconcile]",
        "data": call,
    }
    Ledger(r).record_synthetic(
        event_id, integration.id, source="reconcile", event="call.ended", resource_id=str(call["id"]), raw=raw
    )
    return event_id


def reconcile_calls() -> int:
    """Beat, every 15 minutes: log the calls whose webhooks were missed, one
    `maintenance.reconcile_integration` task per active integration (flows/maintenance.py `fan_out`)."""
    return fan_out(Task.RECONCILE_INTEGRATION)


def reconcile_integration(integration_id: str) -> str:
    """One integration's reconciliation (`reconcile`), its failure logged."""
    return for_integration("reconcile_calls", integration_id, reconcile)
