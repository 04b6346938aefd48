"""Contact sync (SPEC F8): every Jobber client with a phone is an Aircall contact (name + numbers).

Changes follow through `CLIENT_*` webhooks (refetched by id), a beat sweep by `updatedAt` catches what
webhooks miss, and turning the setting on backfills every client. The client → contact map makes each step
idempotent. Aircall calls take the company budget at low priority (cards keep their reserve); a client we
created from a call is synced like any other, once, and nothing is ever written back to Jobber, so there is
no echo loop.
"""

from __future__ import annotations

import functools
import logging
import time
from collections import Counter
from collections.abc import Callable
from typing import Any, TypeVar

from clients.aircall import AircallClient
from clients.errors import RateLimited
from clients.jobber import JobberClient
from config.settings import get_settings
from domain.contacts import DesiredContact, desired_contact, phone_plan
from store.contacts import ContactMap, Mapping, SyncStatus
from store.integrations import Integration
from store.locks import hold
from store.redis import sync_client
from tasks.vendors import aircall_for, jobber_for, store_for
from worker.app import app
from worker.enqueue import enqueue
from worker.retry import IntegrationTask

log = logging.getLogger("tasks.contact_sync")

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
        self.jobber: JobberClient = jobber_for(integration)
        self.aircall: AircallClient = aircall_for(integration, settings)
        self.wait_for_budget = wait_for_budget  # sweeps wait in place; single-client tasks retry instead

    def _call(self, fn: Callable[[], T]) -> T:
        while True:
            try:
                return fn()
            except RateLimited as exc:
                if not self.wait_for_budget:
                    raise
                time.sleep(exc.retry_after)

    def sync_client(self, client_id: str, client: dict[str, Any] | None = None, fetched: bool = False) -> str:
        """created | updated | deleted | unchanged. `client` saves the refetch when a page already has it."""
        if not fetched:
            client = self.jobber.client_for_sync(client_id)
        desired = desired_contact(client)
        with hold(self.r, f"aj:lock:contact:{self.integration.id}:{client_id}", wait_s=30):
            mapped = self.map.get(self.integration.id, client_id)
            if desired is None:
                if mapped is None:
                    return "unchanged"
                if mapped.contact_id:
                    self._call(lambda: self.aircall.delete_contact(mapped.contact_id))
                self.map.remove(self.integration.id, client_id)
                return "deleted"
            if mapped is not None and mapped.contact_id and mapped.digest == desired.digest():
                return "unchanged"
            if mapped is not None and mapped.contact_id:
                contact = self._call(lambda: self.aircall.get_contact(mapped.contact_id))
                if contact is not None:
                    self._update(contact, desired)
                    self.map.put(self.integration.id, client_id, Mapping(mapped.contact_id, desired.digest()))
                    return "updated"
            return self._create(client_id, desired, interrupted=mapped is not None and not mapped.contact_id)

    def _update(self, contact: dict[str, Any], desired: DesiredContact) -> None:
        contact_id = str(contact["id"])
        if any((contact.get(k) or "") != v for k, v in desired.fields().items()):
            self._call(lambda: self.aircall.update_contact(contact_id, desired.fields()))
        plan = phone_plan(desired, contact.get("phone_numbers") or [])
        for label, value in plan.add:  # add before removing: a contact keeps at least one number
            self._call(functools.partial(self.aircall.add_contact_phone, contact_id, label, value))
        for phone_id in plan.remove:
            self._call(functools.partial(self.aircall.delete_contact_phone, contact_id, phone_id))

    def _create(self, client_id: str, desired: DesiredContact, interrupted: bool) -> str:
        if interrupted:
            # A create was in flight when a worker died: Aircall may hold the contact already. Contact search
            # is eventually consistent (aircall-api.md §5), so this is best effort.
            found = self._call(lambda: self.aircall.request("GET", "/v1/contacts/search",
                                                            params={"phone_number": desired.phones[0][1]}))  # fmt: skip
            for contact in found.get("contacts") or []:
                if (contact.get("last_name") or "") == desired.last_name and (
                    contact.get("first_name") or ""
                ) == desired.first_name:
                    self._update(contact, desired)
                    self.map.put(
                        self.integration.id, client_id, Mapping(str(contact["id"]), desired.digest())
                    )
                    return "updated"
        self.map.put(self.integration.id, client_id, Mapping("", ""))
        contact = self._call(lambda: self.aircall.create_contact(desired.fields(), list(desired.phones)))
        self.map.put(self.integration.id, client_id, Mapping(str(contact["id"]), desired.digest()))
        return "created"

    def sweep(self, full: bool = False, progress: Callable[[str], None] | None = None) -> dict[str, int]:
        """Every client changed since the watermark (all of them with `full`), oldest change first. The
        run's progress is recorded for the admin's page (SyncStatus)."""
        counts: Counter[str] = Counter()
        status = SyncStatus(self.r)
        status.started(self.integration.id, full)
        mark = self.map.watermark(self.integration.id)
        since = EPOCH if full or not mark else _minus(mark, SWEEP_OVERLAP_S)
        newest, cursor = mark or EPOCH, None
        try:
            while True:
                clients, cursor = self.jobber.clients_changed(since, cursor)
                for client in clients:
                    outcome = self.sync_client(client["id"], client, fetched=True)
                    counts[outcome] += 1
                    newest = max(newest, client.get("updatedAt") or newest)
                    if progress:
                        progress(outcome)
                status.progress(self.integration.id, _summary(counts))
                if cursor is None:
                    break
        except Exception as exc:
            status.finished(self.integration.id, _summary(counts), error=str(exc) or type(exc).__name__)
            raise
        self.map.set_watermark(self.integration.id, newest)
        status.finished(self.integration.id, _summary(counts))
        return _summary(counts)


def _summary(counts: Counter[str]) -> dict[str, int]:
    return {k: counts.get(k, 0) for k in ("created", "updated", "deleted", "unchanged")}


def _minus(iso: str, seconds: int) -> str:
    from datetime import datetime, timedelta

    moment = datetime.fromisoformat(iso.replace("Z", "+00:00")) - timedelta(seconds=seconds)
    return moment.isoformat().replace("+00:00", "Z")


@app.task(name="sync.client", base=IntegrationTask, bind=True)
def sync_one_client(self: IntegrationTask, integration_id: str, client_id: str) -> str:
    """Bring one client's Aircall contact up to date. Trigger: CLIENT_* webhooks. Idempotency: the client →
    contact map. Retries: IntegrationTask (a spent Aircall budget waits without costing an attempt)."""
    integration = store_for().require(integration_id)
    if not (integration.is_active and integration.settings.contact_sync):
        return "contact sync off"
    return Syncer(integration).sync_client(client_id)


@app.task(name="sync.sweep", base=IntegrationTask, bind=True)
def sweep_integration(self: IntegrationTask, integration_id: str, full: bool = False) -> dict[str, int] | str:
    """Sync every client changed since the last sweep (all with `full`: the backfill when sync is turned on)."""
    integration = store_for().require(integration_id)
    if not (integration.is_active and integration.settings.contact_sync):
        return "contact sync off"
    counts = Syncer(integration, wait_for_budget=True).sweep(full=full)
    log.info("sync.sweep integration=%s %s", integration_id, counts)
    return counts


@app.task(name="sync.sweep_all")
def sweep_all() -> int:
    """Beat, every 10 minutes: a sweep per integration with contact sync on."""
    started = 0
    for integration in store_for().all():
        if integration.is_active and integration.settings.contact_sync:
            enqueue("sync.sweep", [integration.id], tenant=integration.id)
            started += 1
    return started
