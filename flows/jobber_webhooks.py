"""What Jobber tells us (jobber-api.md §4): client changes drop the phone → client cache (SPEC F5), and a
disconnect inside Jobber deactivates the integration (SPEC F10)."""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime

from clients.errors import Disconnected
from clients.jobber import Unauthorized
from config.queues import Task
from domain.jobber_webhooks import JobberEvent, WebhookError, parse_webhook
from domain.phone import to_e164
from flows.activity import EventContext, run_flow
from flows.vendors import jobber_for, mark_jobber_disconnected, store_for
from store.created_clients import CreatedClients
from store.integrations import Integration
from store.ledger import Ledger
from store.phones import PhoneCache
from store.queues import enqueue
from store.redis import sync_client

log = logging.getLogger(__name__)


def client_changed(event_id: str) -> str:
    """Forget cached matches the change may have made wrong. Trigger: CLIENT_* webhooks. Idempotency:
    forgetting twice is harmless. Retries: IntegrationTask."""
    return run_flow(event_id, forget_changed_client)


def forget_changed_client(ctx: EventContext) -> str:
    event = parse_webhook({"data": ctx.data})
    if ctx.integration.settings.contact_sync:
        # The client's Aircall contact follows (SPEC F8); its own task, so a spent Aircall
        # budget delays only it.
        enqueue(Task.SYNC_CLIENT, [ctx.integration.id, event.item_id], tenant=ctx.integration.id)
    account, client_id = event.account_id, event.item_id
    # Webhooks carry ids only, so the client is refetched: what numbers it has now, and whether
    # it still counts.
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


# How far Jobber's clock may run behind ours: a disconnect dated this much before the current connection was
# made is still checked with Jobber rather than ignored outright.
CLOCK_SKEW_S = 120.0


def jobber_disconnected(event_id: str) -> None:
    """The user disconnected the app inside Jobber. Trigger: APP_DISCONNECT. Later events of the integration
    are acknowledged and not processed.

    A late, retried or replayed APP_DISCONNECT must not wipe a connection made after it: one dated before the
    current connection (its `occurredAt` against the time we made it) is ignored; any other is confirmed with
    Jobber using the current tokens (a connection Jobber still answers is kept), and the tokens are dropped
    only if they are still that connection's (an atomic check-and-set). Idempotency: the check-and-set.
    Retries: IntegrationTask (Jobber unreachable)."""
    r = sync_client()
    ledger = Ledger(r)
    entry = ledger.get(event_id) or {}
    store = store_for()
    integration = store.get(entry.get("integration", ""))
    if integration is None or integration.status == "deleted":
        ledger.record_skip(event_id, "integration deleted")
        return
    why = _not_this_connection(integration, _webhook_of(entry))
    if not why:
        why = _still_connected(integration)
    if why:
        ledger.record_skip(event_id, why)
        log.info(
            "lifecycle.jobber_disconnect_ignored integration=%s event=%s reason=%s",
            integration.id,
            event_id,
            why,
        )
        return
    mark_jobber_disconnected(integration.id, connection=integration.jobber_connection or "")
    ledger.set_outcome(event_id, "done")


def _webhook_of(entry: dict[str, str]) -> JobberEvent | None:
    try:
        return parse_webhook(json.loads(entry.get("raw") or ""))
    except (ValueError, WebhookError):
        return None  # the body is gone (a replay after it settled): Jobber is asked instead


def _not_this_connection(integration: Integration, event: JobberEvent | None) -> str:
    """Why this disconnect cannot concern the integration's current connection, or ""."""
    secrets = store_for().secrets_of(integration)
    if not secrets.jobber_access_token:
        return "no Jobber connection to disconnect (already disconnected)"
    account = integration.jobber_account
    if event is not None and account is not None and event.account_id != account.id:
        return "the disconnect is for another Jobber account than the one connected now"
    occurred = _timestamp(event.occurred_at) if event is not None else None
    connected = integration.jobber_connected_at
    if occurred is not None and connected is not None and occurred < connected - CLOCK_SKEW_S:
        return (
            f"the disconnect ({event.occurred_at if event else ''}) predates the current Jobber connection "
            f"({datetime.fromtimestamp(connected, UTC).isoformat(timespec='seconds')})"
        )
    return ""


def _still_connected(integration: Integration) -> str:
    """ "" when Jobber confirms the current connection is gone; else why the disconnect is ignored. A
    disconnect Jobber itself reports (the API says so) is recorded by the client's `on_disconnected`."""
    try:
        jobber_for(integration).account()
    except (Disconnected, Unauthorized):
        return ""
    return "Jobber still answers the current connection: the disconnect concerned an earlier one"


def _timestamp(iso: str) -> float | None:
    try:
        when = datetime.fromisoformat(iso.replace("Z", "+00:00"))
    except ValueError:
        return None
    return (when if when.tzinfo else when.replace(tzinfo=UTC)).timestamp()
