"""Message logging (SPEC F3-F6): one activity per SMS / MMS / WhatsApp message on the matched client."""

from __future__ import annotations

from pydantic import ValidationError

from clients.errors import Permanent
from domain.activity import render_message
from domain.payloads import Message
from domain.phone import to_e164
from flows.activity import EventContext, Skip, activity_lock, ensure_client, run_flow, upsert_activity
from flows.vendors import jobber_for
from store.activities import Activities


def log_message_activity(event_id: str) -> str:
    """Write the activity of one message. Trigger: message.sent / message.received. Idempotency: the
    message → activity map. Retries: IntegrationTask."""
    return run_flow(event_id, log_message)


def log_message(ctx: EventContext) -> str:
    try:
        message = Message.model_validate(ctx.data)
    except ValidationError as exc:
        raise Permanent(f"unreadable message payload: {exc.error_count()} problems") from None
    line = message.number
    if line is None or line.id not in ctx.integration.settings.numbers:
        raise Skip(f"Aircall number {line.id if line else '?'} is not connected (settings.numbers)")
    region = (line.country or "US").upper()
    external = to_e164(message.external, region)
    if external is None:
        raise Skip(f"withheld or invalid number ({message.external!r}): not matched")
    activity = render_message(message, sent=ctx.event == "message.sent")
    marker = f"Aircall: {message.direct_link}" if message.direct_link else activity.text
    jobber = jobber_for(ctx.integration)
    with activity_lock(ctx, "message", message.id) as lock:
        record = Activities(ctx.r).get(ctx.scope, "message", message.id)
        if record is not None and record.state == "done":
            return "already logged"
        client_id = record.client_id if record else ensure_client(ctx, jobber, external, region).id
        return upsert_activity(
            ctx, jobber, "message", message.id, client_id, activity, marker=marker, lock=lock
        )
