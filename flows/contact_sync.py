"""Contact sync (SPEC F8): every Jobber client with a phone is an Aircall contact (name + numbers).

Changes follow through `CLIENT_*` webhooks (refetched by id), a beat sweep by `updatedAt` catches what
webhooks miss, and turning the setting on backfills every client. The client → contact map makes each step
idempotent; it belongs to the Jobber account and the Aircall company (store/contacts.py), so a reinstall
finds every contact synced before. Each contact we create carries a marker for its client in its
`information`, so one whose mapping was lost (an expired map, a create whose answer never came) is found by a
search and adopted, never created twice. Aircall calls take the company budget at low priority (cards keep
their reserve); a client we created from a call is synced like any other, once, and nothing is ever written
back to Jobber, so there is no echo loop.
"""

from __future__ import annotations

import functools
import logging
import secrets
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any, TypeVar

from clients.aircall import AircallClient
from clients.errors import RateLimited
from clients.jobber import JobberClient
from config.queues import Task
from config.settings import get_settings
from domain.contacts import DesiredContact, desired_contact, information, is_ours, phone_plan
from domain.scope import Scope
from flows.patience import patiently
from flows.vendors import aircall_for, jobber_for, store_for
from store import keys
from store.contacts import ContactMap, Mapping, SweepRun, SweepRuns, SyncStatus
from store.integrations import Integration
from store.locks import hold
from store.queues import enqueue
from store.redis import sync_client

log = logging.getLogger(__name__)

MAX_SEARCHES = 3  # numbers of a client searched for its contact (each a request of the company's budget)
SWEEP_OVERLAP_S = 120  # re-read this much before the watermark (jobber-api.md §5.4)
EPOCH = "1970-01-01T00:00:00Z"
T = TypeVar("T")


class Syncer:
    """Contact sync for one integration, with its vendor clients."""

    def __init__(self, integration: Integration, wait_for_budget: bool = False):
        settings = get_settings()
        self.integration = integration
        self.r = sync_client()
        self.map = ContactMap(self.r)
        self.scope = Scope.of(integration)  # the map is the Jobber account's and the Aircall company's
        self.jobber: JobberClient = jobber_for(integration)
        self.aircall: AircallClient = aircall_for(integration, settings)
        self.wait_for_budget = wait_for_budget  # sweeps wait in place; single-client tasks retry instead

    def _call(self, fn: Callable[[], T]) -> T:
        """Call Aircall; in-process sweeps wait out its rate limit (as long as it says, within the budget),
        tasks let the retry policy park them instead."""
        if not self.wait_for_budget:
            return fn()
        return patiently(fn, budget_s=get_settings().RATE_LIMIT_BUDGET_S, retry_on=(RateLimited,))

    def sync_client(
        self,
        client_id: str,
        client: dict[str, Any] | None = None,
        fetched: bool = False,
        read_at: float | None = None,
    ) -> str:
        """created | updated | deleted | unchanged. `client` saves the refetch when a page already has it
        (read from Jobber at `read_at`)."""
        if not fetched:
            read_at = time.time()
            client = self.jobber.client_for_sync(client_id)
        read_at = time.time() if read_at is None else read_at
        with hold(self.r, keys.lock("contact", self.scope.key, client_id), wait_s=30):
            mapped = self.map.get(self.scope, client_id)
            if mapped is not None and mapped.read_at > read_at:
                # The contact already shows data read after ours (a webhook's sync overtook this page, or the
                # other way round): ours is stale, and applying it would undo a newer change. Read it again.
                read_at = time.time()
                client = self.jobber.client_for_sync(client_id)
            desired = desired_contact(client)
            if desired is None:
                if mapped is None:
                    return "unchanged"
                if mapped.contact_id:
                    self._call(lambda: self.aircall.delete_contact(mapped.contact_id))
                self.map.remove(self.scope, client_id)
                return "deleted"
            if mapped is not None and mapped.contact_id and mapped.digest == desired.digest():
                return "unchanged"
            if mapped is not None and mapped.contact_id:
                contact = self._call(lambda: self.aircall.get_contact(mapped.contact_id))
                if contact is not None:
                    self._update(contact, desired)
                    self.map.put(self.scope, client_id, Mapping(mapped.contact_id, desired.digest(), read_at))
                    return "updated"
            return self._create(
                client_id, desired, interrupted=mapped is not None and not mapped.contact_id, read_at=read_at
            )

    def _update(self, contact: dict[str, Any], desired: DesiredContact) -> bool:
        """Bring the contact's name and numbers to `desired` (its `information` is left alone); True when
        something had to change."""
        contact_id = str(contact["id"])
        changed = False
        if any((contact.get(k) or "") != v for k, v in desired.fields().items()):
            self._call(lambda: self.aircall.update_contact(contact_id, desired.fields()))
            changed = True
        plan = phone_plan(desired, contact.get("phone_numbers") or [])
        for label, value in plan.add:  # add before removing: a contact keeps at least one number
            self._call(functools.partial(self.aircall.add_contact_phone, contact_id, label, value))
        for phone_id in plan.remove:
            self._call(functools.partial(self.aircall.delete_contact_phone, contact_id, phone_id))
        return changed or bool(plan.add or plan.remove)

    def _create(self, client_id: str, desired: DesiredContact, interrupted: bool, read_at: float) -> str:
        # A contact of ours may exist without its mapping after a create whose answer was lost
        # (`interrupted`), or when the scope's map expired and was started again (not complete): look for it
        # first (a search costs a request of the company's budget). A complete map needs no search: every
        # create records its mapping before it is sent, so a client without one has no contact of ours.
        if interrupted or not self.map.open(self.scope):
            found = self._find_ours(client_id, desired)
            if found is not None:
                changed = self._update(found, desired)
                self.map.put(self.scope, client_id, Mapping(str(found["id"]), desired.digest(), read_at))
                log.info(
                    "tasks.contact_sync.adopted integration=%s client=%s contact=%s",
                    self.integration.id,
                    client_id,
                    found["id"],
                )
                return "updated" if changed else "unchanged"
        self.map.put(self.scope, client_id, Mapping("", "", read_at))
        fields = {**desired.fields(), "information": information(client_id)}
        contact = self._call(lambda: self.aircall.create_contact(fields, list(desired.phones)))
        self.map.put(self.scope, client_id, Mapping(str(contact["id"]), desired.digest(), read_at))
        return "created"

    def _find_ours(self, client_id: str, desired: DesiredContact) -> dict[str, Any] | None:
        """The contact we created for this client, found by its numbers and told apart by the marker in its
        `information` (domain.contacts.marker): a contact someone else made with the same name and number is
        not ours. A client whose numbers all changed since is searched by its first few. Contact search is
        eventually consistent (aircall-api.md §5): a contact created moments ago may not be found yet."""
        for _, number in desired.phones[:MAX_SEARCHES]:
            found = self._call(functools.partial(self.aircall.search_contacts, number))
            ours = sorted((c for c in found if is_ours(c, client_id)), key=lambda c: int(c["id"]))
            if ours:
                return ours[0]
        return None

    # ---- sweeps: page by page, one run at a time per integration ------------------------------------

    def begin(self, full: bool = False) -> SweepRun | None:
        """Start (or resume a stalled) sweep of every client changed since the watermark (all with `full`);
        None when a sweep is already running (a full one asked for then follows it)."""
        self.map.open(self.scope)  # every sweep renews the map's TTL: a map in use never expires
        runs = SweepRuns(self.r)
        mark = self.map.watermark(self.integration.id)
        since = EPOCH if full or not mark else _minus(mark, SWEEP_OVERLAP_S)
        if not runs.start(self.integration.id, secrets.token_hex(6), full, since, mark or EPOCH):
            return None
        run = runs.get(self.integration.id)
        if run is not None and not run.counts:
            SyncStatus(self.r).started(self.integration.id, run.full)
        return run

    def page(self, run: SweepRun, progress: Callable[[str], None] | None = None) -> SweepRun | None:
        """Sync one page of the run; the advanced run, or None when the run is over (watermark moved)."""
        read_at = time.time()
        clients, cursor = self.jobber.clients_changed(run.since, run.after or None)
        counts: Counter[str] = Counter(run.counts)
        newest = run.newest
        for client in clients:
            outcome = self.sync_client(client["id"], client, fetched=True, read_at=read_at)
            counts[outcome] += 1
            newest = max(newest, client.get("updatedAt") or newest)
            if progress:
                progress(outcome)
        runs, status = SweepRuns(self.r), SyncStatus(self.r)
        advanced = replace(run, after=cursor or "", newest=newest, counts=_summary(counts))
        if cursor is not None:
            if not runs.advance(self.integration.id, advanced):
                return None  # another run took over (this one had stalled): it carries on
            status.progress(self.integration.id, advanced.counts)
            return advanced
        self.map.set_watermark(self.integration.id, newest)
        status.finished(self.integration.id, advanced.counts)
        if runs.finish(self.integration.id, run.run_id):
            enqueue(Task.SYNC_SWEEP, [self.integration.id], {"full": True}, tenant=self.integration.id)
        return None

    def sweep(self, full: bool = False, progress: Callable[[str], None] | None = None) -> dict[str, int]:
        """The whole sweep in this process (`ajctl sync contacts`), page after page."""
        run = self.begin(full)
        if run is None:
            raise SyncBusy(f"a contact sync of {self.integration.id} is already running")
        while (following := self.page(run, progress)) is not None:
            run = following
        finished = SyncStatus(self.r).latest(self.integration.id)
        return _summary(Counter(finished.counts if finished else run.counts))


class SyncBusy(RuntimeError):
    """A contact sync of this integration is already running (one at a time)."""


def _summary(counts: Counter[str]) -> dict[str, int]:
    return {k: counts.get(k, 0) for k in ("created", "updated", "deleted", "unchanged")}


def _minus(iso: str, seconds: int) -> str:
    moment = datetime.fromisoformat(iso.replace("Z", "+00:00")) - timedelta(seconds=seconds)
    return moment.isoformat().replace("+00:00", "Z")


def sync_one_client(integration_id: str, client_id: str) -> str:
    """Bring one client's Aircall contact up to date. Trigger: CLIENT_* webhooks. Idempotency: the client →
    contact map. Retries: IntegrationTask (a spent Aircall budget waits without costing an attempt)."""
    integration = store_for().require(integration_id)
    if not (integration.is_active and integration.settings.contact_sync):
        return "contact sync off"
    return Syncer(integration).sync_client(client_id)


def sweep_integration(integration_id: str, full: bool = False) -> str:
    """Start a sweep of the clients changed since the last one (all with `full`: the backfill when sync is
    turned on). Trigger: beat, turning sync on, the settings page. Single flight: while one runs, this does
    nothing (a full sweep asked for follows it). The pages run as `sync.sweep_page` tasks."""
    integration = store_for().require(integration_id)
    if not (integration.is_active and integration.settings.contact_sync):
        return "contact sync off"
    run = Syncer(integration).begin(full)
    if run is None:
        return "already running"
    enqueue(Task.SYNC_SWEEP_PAGE, [integration_id, run.run_id], tenant=integration_id)
    return f"started {run.run_id}"


def sweep_page(integration_id: str, run_id: str) -> str:
    """One page of a sweep, then the next page as its own task. Idempotency: the client → contact map (a
    page redone after a crash or a rate-limit wait changes nothing twice); the run's saved cursor. Retries:
    IntegrationTask (rate limits wait outside the worker, holding nothing)."""
    integration = store_for().require(integration_id)
    if not (integration.is_active and integration.settings.contact_sync):
        return "contact sync off"
    runs = SweepRuns(sync_client())
    run = runs.get(integration_id)
    if run is None or run.run_id != run_id:
        return "superseded"
    following = Syncer(integration).page(run)
    if following is not None:
        enqueue(Task.SYNC_SWEEP_PAGE, [integration_id, run_id], tenant=integration_id)
        return f"page done, {following.counts}"
    return "sweep finished"


def sweep_all() -> int:
    """Beat, every 10 minutes: a sweep per integration with contact sync on."""
    started = 0
    for integration in store_for().all():
        if integration.is_active and integration.settings.contact_sync:
            enqueue(Task.SYNC_SWEEP, [integration.id], tenant=integration.id)
            started += 1
    return started
