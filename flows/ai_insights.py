"""AI insights (SPEC F7): one "AI insights" note per call on the call's client, updated as each piece of
content arrives; topics may become client tags and action items open Jobber tasks (one each, never twice).

Each `*.created` webhook fetches its content from Aircall (retried while Aircall answers 404, the content not
being generated yet) and stores it; the note is (re)written once the call's own activity exists, so it lands
on the same client. When the content comes first, the call flow asks for the note after logging the call.

A 403 from the AI endpoints while the credentials work means the company's plan lacks AI Assist: the event is
skipped with that reason and the integration records that AI logging is unavailable (the settings page says
so); it keeps logging calls, and is never marked disconnected. For an hour after that, AI events are skipped
without asking Aircall (each would cost a request of the company's budget); then the next one tries again, and
a success clears the mark.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from clients.aircall import FeatureUnavailable
from clients.jobber import JobberClient
from domain.activity import Activity, call_title
from domain.calls import merge_call
from domain.insights import EVENT_KINDS, ActionItem, parse, render, wanted
from domain.voice_agent import voice_agent_view
from flows.activity import (
    EventContext,
    Skip,
    Tenant,
    activity_lock,
    now_iso,
    run_flow,
    since_attempt,
    upsert_activity,
)
from flows.vendors import aircall_for, jobber_for, store_for
from store.activities import Activities
from store.calls import CallStates
from store.insights import InsightStore
from store.integrations import Integration
from store.redis import RedisClient, sync_client

log = logging.getLogger(__name__)

RECHECK_S = 3600  # how long after Aircall refused AI content the next AI event asks again


def fetch_insight(event_id: str) -> str:
    """Fetch one kind of AI content and update the call's AI-insights note. Trigger: transcription/summary/
    topics/sentiment/action_item .created. Idempotency: content stored per kind; note edited, never
    duplicated; one task per action item. Retries: IntegrationTask (404 while Aircall generates it)."""
    return run_flow(event_id, fetch_and_write)


def write_note(integration_id: str, call_id: str) -> str:
    """(Re)write the AI-insights note of a call whose content arrived before the call was logged."""
    integration = store_for().require(integration_id)
    return write_insights(integration, call_id) if integration.is_active else "integration not active"


def fetch_and_write(ctx: EventContext) -> str:
    settings = ctx.integration.settings
    if not (settings.ai_logging.enabled and settings.aircall_plan_ai_assist):
        raise Skip("AI logging is off (or the Aircall company has no AI Assist)")
    kind = EVENT_KINDS[ctx.event]
    if not wanted(kind, settings.ai_logging):
        raise Skip(f"{kind} logging is switched off")
    call_id = ctx.resource_id
    integration = ctx.integration
    if integration.ai_unavailable and _since(integration.ai_unavailable_at) < RECHECK_S:
        raise Skip(f"AI logging unavailable: {integration.ai_unavailable}")
    try:
        content = aircall_for(integration).conversation_intelligence(call_id, kind)
    except FeatureUnavailable as exc:
        reason = f"the Aircall plan does not include AI Assist ({exc})"
        store_for().set_ai_unavailable(integration.id, reason)
        log.warning("tasks.ai.unavailable integration=%s call=%s error=%s", integration.id, call_id, exc)
        raise Skip(f"AI logging unavailable: {reason}") from None
    if integration.ai_unavailable:
        store_for().clear_ai_unavailable(integration.id)  # Aircall answers again: the plan has AI Assist now
    InsightStore(ctx.r).put(ctx.scope, call_id, kind, content)
    return write_insights(integration, call_id)


def _since(iso: str | None) -> float:
    """Seconds since an ISO 8601 moment (an unreadable one is long ago)."""
    try:
        return (datetime.now(UTC) - datetime.fromisoformat(iso or "")).total_seconds()
    except ValueError:
        return float("inf")


def write_insights(integration: Integration, call_id: str) -> str:
    r = sync_client()
    ctx = Tenant(integration, r)
    scope = ctx.scope
    record = Activities(r).get(scope, "call", call_id)
    if record is None or record.state != "done":
        return "stored; written when the call is logged"
    ai = integration.settings.ai_logging
    jobber = jobber_for(integration)
    with activity_lock(ctx, "ai", call_id) as lock:
        # Read the content inside the lock: a concurrent event may have stored a newer piece since this one,
        # and the last writer must render everything (same rule as the call's own activity).
        snapshots = CallStates(r).all(scope, call_id)
        call = merge_call(snapshots)
        agents = (
            {str(call.agent.id): call.agent.name or "Agent"}
            if call.agent and call.agent.id is not None
            else {}
        )
        insights = parse(InsightStore(r).all(scope, call_id), agents)
        text = render(call_title(call, voice_agent_view(snapshots, call)), insights, ai, call.link)
        if text is None:
            return "nothing switched on to show yet"
        outcome = upsert_activity(
            ctx,
            jobber,
            "ai",
            call_id,
            record.client_id,
            Activity(text.splitlines()[0], text),
            marker=f"Aircall: {call.link}",
            lock=lock,
        )
        if ai.topics and ai.topics_as_tags and insights.topics:
            jobber.add_tags(record.client_id, insights.topics)
        if ai.action_items and ai.action_items_as_tasks:
            _tasks(r, jobber, ctx, call_id, record.client_id, insights.action_items, call.link or "")
    return outcome


def _tasks(
    r: RedisClient,
    jobber: JobberClient,
    ctx: Tenant,
    call_id: str,
    client_id: str,
    items: list[ActionItem],
    link: str,
) -> None:
    """One open Jobber task per action item, never two: the item → task map, checked under the AI lock. An
    item attempted before may have had its task created with the answer lost: it is looked for among the tasks
    created since that attempt, by its instructions (they carry the item id). Real Jobber lists tasks by start
    time, not creation, so "the latest tasks" would not do (jobber-schema-2025-04-16.graphql, Query.tasks)."""
    store, scope = InsightStore(r), ctx.scope
    wanted = [item for item in items if not store.task_for(scope, call_id, item.id)]
    attempts = {item.id: store.task_attempt(scope, call_id, item.id, now_iso()) for item in wanted}
    retried = [started for started, first in attempts.values() if not first]
    created = jobber.tasks_created_since(since_attempt(min(retried))) if retried else []
    for item in wanted:
        marker = f"Aircall action item {item.id} · {link}"
        # The marker is a whole line: item 1 of call 123 is not item 1 of call 1234
        # (`…/calls/123` ⊂ `…/1234`).
        existing = next((t["id"] for t in created if marker in _lines(t.get("instructions"))), None)
        task_id = existing or jobber.create_task(
            client_id, item.text[:255], f"From an Aircall call.\n{marker}"
        )
        store.record_task(scope, call_id, item.id, task_id)
        log.info("tasks.ai.task_created integration=%s call=%s task=%s", ctx.integration.id, call_id, task_id)


def _lines(text: str | None) -> list[str]:
    return [line.strip() for line in (text or "").splitlines()]
