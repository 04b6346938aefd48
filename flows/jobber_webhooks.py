"""What Jobber tells us (jobber-api.md §4): client changes drop the phone → client cache (SPEC F5), and a
disconnect inside Jobber deactivates the integration (SPEC F10)."""

from __future__ import annotations

import logging

from domain.jobber_webhooks import parse_webhook
from domain.phone import to_e164
from flows.activity import EventContext, run_flow
from flows.vendors import jobber_for, mark_jobber_disconnected, store_for
from store.created_clients import CreatedClients
from store.ledger import Ledger
from store.phones import PhoneCache
from store.queues import enqueue
from store.redis import sync_client

log = logging.getLogger("tasks.jobber_webhooks")


def client_changed(event_id: str) -> str:
    """Forget cached matches the change may have made wrong. Trigger: CLIENT_* webhooks. Idempotency:
    forgetting twice is harmless. Retries: IntegrationTask."""
    return run_flow(event_id, forget_changed_client)


def forget_changed_client(ctx: EventContext) -> str:
    event = parse_webhook({"data": ctx.data})
    if ctx.integration.settings.contact_sync:
        # The client's Aircall contact follows (SPEC F8); its own task, so a spent Aircall budget delays only it.
        enqueue("sync.client", [ctx.integration.id, event.item_id], tenant=ctx.integration.id)
    account, client_id = event.account_id, event.item_id
    # Webhooks carry ids only, so the client is refetched: what numbers it has now, and whether it still counts.
    now = None if event.topic == "CLIENT_DESTROY" else jobber_for(ctx.integration).client_phones(client_id)
    numbers = set()
    if now is not None and not now.archived:
        numbers = {e164 for number, normalized in now.phones if (e164 := normalized or to_e164(number, None))}
    # The client still matches the numbers it has (and was just updated: none is newer), so their entries
    # stay -- a client we just created stays its number's match while Jobber's search does not show it yet.
    # Entries for numbers it lost go; so do other clients' entries for its numbers, which it may now win.
    cache = PhoneCache(ctx.r)
    forgotten = cache.forget_client(account, client_id, keep=numbers)
    forgotten += sum(cache.forget_number(account, e164, unless=client_id) for e164 in numbers)
    CreatedClients(ctx.r).forget_client(account, client_id, keep=numbers)
    return f"forgot {forgotten} cached number(s)"


def jobber_disconnected(event_id: str) -> None:
    """The user disconnected the app inside Jobber. Trigger: APP_DISCONNECT. Idempotency: setting the same
    status twice. Later events of the integration are acknowledged and not processed."""
    r = sync_client()
    ledger = Ledger(r)
    entry = ledger.get(event_id) or {}
    store = store_for()
    integration = store.get(entry.get("integration", ""))
    if integration is None or integration.status == "deleted":
        ledger.record_skip(event_id, "integration deleted")
        return
    mark_jobber_disconnected(integration.id)
    ledger.set_outcome(event_id, "done")
