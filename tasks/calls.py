"""Call logging (SPEC F2, F4-F6): one activity per call on the matched client, created on `call.ended` and
updated (never duplicated) by later notes, tags, assets, assignment and transfer events."""

from __future__ import annotations

from clients.errors import Permanent
from domain.activity import render_call
from domain.calls import Snapshot, has_ended, line_region, merge_call
from store.activities import Activities
from store.calls import CallStates
from tasks.activity import EventContext, Skip, activity_lock, ensure_client, run_flow, upsert_activity
from tasks.router import handles
from tasks.vendors import jobber_for
from worker.app import app
from worker.retry import IntegrationTask

CALL_LOG_EVENTS = (
    "call.ended", "call.commented", "call.tagged", "call.untagged", "call.comm_assets_generated",
    "call.voicemail_left", "call.assigned", "call.transferred", "call.external_transferred", "call.answered",
    "call.hungup",
)  # fmt: skip


@handles(*CALL_LOG_EVENTS)
@app.task(name="calls.log_activity", base=IntegrationTask, bind=True)
def log_call_activity(self: IntegrationTask, event_id: str) -> str:
    """Merge this event into the call's state and write or update its activity. Trigger: the call events
    above. Idempotency: per-call snapshots keyed by event id + the call → activity map (edit, never a second
    create). Retries: IntegrationTask."""
    return run_flow(event_id, log_call)


def log_call(ctx: EventContext) -> str:
    call_id = ctx.data.get("id")
    if call_id is None:
        raise Permanent("call event without data.id")
    states = CallStates(ctx.r)
    snapshots = states.add(
        ctx.integration.id, call_id, ctx.event_id, Snapshot(ctx.event, ctx.timestamp, ctx.data)
    )
    if not has_ended(snapshots):
        return "recorded; the activity is written when call.ended arrives"
    check = merge_call(snapshots)
    if check.line is None or check.line.id not in ctx.integration.settings.numbers:
        raise Skip(
            f"Aircall number {check.line.id if check.line else '?'} is not connected (settings.numbers)"
        )
    if check.external is None:
        raise Skip(f"withheld or invalid caller number ({check.external_raw!r}): not matched")
    jobber = jobber_for(ctx.integration)
    with activity_lock(ctx, "call", str(call_id)):
        # Re-read inside the lock: a concurrent event may have added a newer snapshot since ours, and the
        # last writer must render the complete state, never an older one.
        call = merge_call(states.all(ctx.integration.id, call_id))
        external = call.external or check.external
        record = Activities(ctx.r).get(ctx.integration.id, "call", str(call.id))
        client_id = (
            record.client_id if record else ensure_client(ctx, jobber, external, line_region(call.line)).id
        )
        return upsert_activity(
            ctx, jobber, "call", str(call.id), client_id, render_call(call), marker=f"Aircall: {call.link}"
        )
