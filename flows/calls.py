"""Call logging (SPEC F2, F4-F6): one activity per call on the matched client, created on `call.ended` and
updated (never duplicated) by later notes, tags, assets, assignment and transfer events."""

from __future__ import annotations

import logging

from clients.errors import Permanent
from clients.jobber import JobberClient
from config.queues import Task
from domain.activity import render_call
from domain.calls import Snapshot, has_ended, line_region, merge_call
from domain.voice_agent import voice_agent_view
from flows.activity import EventContext, Skip, activity_lock, ensure_client, run_flow, upsert_activity
from flows.vendors import jobber_for
from store.activities import Activities, ActivityRecord
from store.calls import CallStates
from store.insights import InsightStore
from store.queues import enqueue

log = logging.getLogger(__name__)


def log_call_activity(event_id: str) -> str:
    """Merge this event into the call's state and write or update its activity. Trigger: the call events
    above. Idempotency: per-call snapshots keyed by event id + the call → activity map (edit, never a second
    create). Retries: IntegrationTask."""
    return run_flow(event_id, log_call)


def log_call(ctx: EventContext) -> str:
    call_id = ctx.resource_id  # data.id for call events; the call id of voice-agent events
    if not call_id:
        raise Permanent("call event without a call id")
    states, scope = CallStates(ctx.r), ctx.scope
    snapshots = states.add(scope, call_id, ctx.event_id, Snapshot(ctx.event, ctx.timestamp, ctx.data))
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
    with activity_lock(ctx, "call", call_id) as lock:
        # Re-read inside the lock: a concurrent event may have added a newer snapshot since ours, and the
        # last writer must render the complete state, never an older one. With it, in the same round trip,
        # the call's activity record and the cached match of the number the check saw.
        read = states.for_logging(scope, call_id, ctx.account_id, check.external)
        snapshots, record = read.snapshots, read.record
        call = merge_call(snapshots)
        voice_agent = voice_agent_view(snapshots, call)
        if voice_agent is not None and not ctx.integration.settings.ai_voice_agent_logging:
            _withdraw(ctx, jobber, call_id, record)
            raise Skip("AI Voice Agent call, and ai_voice_agent_logging is off: not logged")
        external = call.external or check.external
        cached = read.cached if external == read.number else None
        client_id = (
            record.client_id
            if record
            else ensure_client(ctx, jobber, external, line_region(call.line), cached=cached).id
        )
        activity = render_call(call, voice_agent)
        outcome = upsert_activity(
            ctx,
            jobber,
            "call",
            call_id,
            client_id,
            activity,
            marker=f"Aircall: {call.link}",
            lock=lock,
            record=record,
        )
    # AI content that arrived before the call was logged (or a changed title): its note follows the call's.
    # Only stored when AI logging is on (flows/ai_insights.py), so otherwise there is nothing to look for.
    if ctx.integration.settings.ai_logging.enabled and InsightStore(ctx.r).all(scope, call_id):
        enqueue(Task.WRITE_AI_NOTE, [ctx.integration.id, call_id], tenant=ctx.integration.id)
    return outcome


def _withdraw(ctx: EventContext, jobber: JobberClient, call_id: str, record: ActivityRecord | None) -> None:
    """The voice agent's involvement became known after the call was logged: take the note back, so the
    final state does not depend on arrival order (SPEC §5). Requests cannot be deleted through the public API
    (jobber-api.md §6), so a request stays, and the operator is told."""
    if record is None or not record.note_id:
        return
    if record.kind == "note":
        jobber.delete_client_note(record.note_id)
        Activities(ctx.r).remove(ctx.scope, "call", call_id)
        log.info("tasks.calls.withdrawn integration=%s call=%s", ctx.integration.id, call_id)
    else:
        log.warning(
            "tasks.calls.request_kept integration=%s call=%s (voice-agent call; requests cannot be deleted)",
            ctx.integration.id,
            call_id,
        )
