"""What Jobber tells us (jobber-api.md §4): client changes drop the phone → client cache (SPEC F5), and a
disconnect inside Jobber deactivates the integration (SPEC F10)."""

from __future__ import annotations

import logging

from domain.jobber_webhooks import parse_webhook
from domain.phone import to_e164
from flows.activity import EventContext, run_flow
from flows.vendors import jobber_for, mark_jobber_disconnected, store_for
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
    cache = PhoneCache(ctx.r)
    forgotten = cache.forget_client(event.account_id, event.item_id)
    if event.topic != "CLIENT_DESTROY":
        # The client's numbers may now belong to it rather than to a client cached for them earlier (a new
        # client, a new phone, or simply "most recently updated" moving): drop those entries too. Webhooks
        # carry ids only, so the client is refetched.
        phones = jobber_for(ctx.integration).client_phones(event.item_id) or []
        for number, normalized in phones:
            e164 = normalized or to_e164(number, None)
            if e164:
                forgotten += cache.forget_number(event.account_id, e164)
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
