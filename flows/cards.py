"""Caller insight cards (SPEC F1): who is calling, shown in Aircall Workspace while the phone rings.

The ingest enqueues `call.created` / `call.ringing_on_agent` straight onto the dedicated `cards` queue.
Whichever arrives first claims the call; exactly one card is posted per call. A card that could only arrive
after the call ended (hung up, past the ringing window, or a rate-limit wait that outlasts it) is dropped and
recorded as skipped, never retried forever.
"""

from __future__ import annotations

import time
from datetime import datetime

from clients.errors import Permanent, RateLimited
from config.settings import get_settings
from domain.calls import Snapshot, line_region
from domain.cards import custom_card, default_card
from domain.payloads import Call
from domain.phone import to_e164
from flows.activity import EventContext, Skip, find_client, run_flow
from flows.vendors import aircall_for, jobber_for
from store.calls import CallStates
from store.cards import CardClaims

ENDED_EVENTS = {"call.hungup", "call.ended"}


def post_insight_card(event_id: str) -> str:
    """Post the caller's insight card. Trigger: call.created / call.ringing_on_agent (first wins).
    Idempotency: a per-call claim (one card per call). Retries: IntegrationTask, within the ringing window."""
    return run_flow(event_id, post_card)


def post_card(ctx: EventContext) -> str:
    call = Call.model_validate(ctx.data)
    snapshots = CallStates(ctx.r).add(
        ctx.scope, call.id, ctx.event_id, Snapshot(ctx.event, ctx.timestamp, ctx.data)
    )
    if call.direction and call.direction != "inbound":
        raise Skip("outbound call: no insight card")
    line = call.number or next(
        (Call.model_validate(s.data).number for s in snapshots if s.data.get("number")), None
    )
    if line is None or line.id not in ctx.integration.settings.numbers:
        raise Skip(f"Aircall number {line.id if line else '?'} is not connected (settings.numbers)")
    external = to_e164(call.raw_digits, line_region(line))
    if external is None:
        raise Skip(f"withheld or invalid caller number ({call.raw_digits!r}): no card")
    deadline = _deadline(ctx)
    if any(s.event in ENDED_EVENTS for s in snapshots) or time.time() > deadline:
        raise Skip("card dropped: the call is no longer ringing")

    claims = CardClaims(ctx.r)
    claim = claims.claim(ctx.scope, call.id, ctx.event_id)
    if not claim.mine:
        raise Skip(f"one card per call: already handled by {claim.holder}")
    if claim.posted:
        return "card already posted"

    jobber = jobber_for(ctx.integration)
    client = find_client(ctx, jobber, external, line_region(line))
    if client is None:
        raise Skip(f"no Jobber client has {external}: no card")
    card = ctx.integration.settings.insight_card
    if card.custom and card.fields:
        details = jobber.client_card(client.id)
        if not details:
            raise Skip(f"Jobber client {client.id} is gone: no card")
        contents = custom_card(details, card)
    else:
        contents = default_card(client.name, client.web_uri, client.email, client.company_name)

    settings = get_settings()
    aircall = aircall_for(ctx.integration, settings, high_priority=True)
    try:
        aircall.post_insight_card(call.id, contents)
    except RateLimited as exc:
        if time.time() + exc.retry_after > deadline:
            raise Skip("card dropped: Aircall's rate limit outlasts the ringing window") from None
        raise
    except Permanent as exc:
        raise Skip(f"card refused by Aircall (the call has probably ended): {exc}") from None
    # aj_card_seconds: from this event's webhook received (the ringing call's first, which claimed the card).
    received = _received_at(ctx)
    claims.posted(ctx.scope, call.id, ctx.event_id, None if received is None else time.time() - received)
    return "card posted"


def _received_at(ctx: EventContext) -> float | None:
    return datetime.fromisoformat(ctx.received_at).timestamp() if ctx.received_at else None


def _deadline(ctx: EventContext) -> float:
    received = _received_at(ctx)
    return (time.time() if received is None else received) + get_settings().CARD_WINDOW_S
