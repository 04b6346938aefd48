"""Which flow each event starts: the event → task map the ingest, the router and the recovery sweep share.

The ingest enqueues an event's task directly, so an event costs one task (no router hop in front of every
flow; an insight card reaches Aircall while the phone rings, SPEC F1, §6). Each flow checks what a router
would (the integration is active; lifecycle events also run when inactive). `events.route` remains for
replays of events whose task is unknown, and records "no handler" skips.
"""

from __future__ import annotations

from config.queues import CALL_TASK, CARD_TASK
from domain.envelope import AI_EVENTS

_CALL_LOG_EVENTS = (
    "call.ended",
    "call.commented",
    "call.tagged",
    "call.untagged",
    "call.comm_assets_generated",
    "call.voicemail_left",
    "call.assigned",
    "call.transferred",
    "call.external_transferred",
    "call.answered",
    "call.hungup",
)
EVENT_TASKS: dict[str, str] = {
    "call.created": CARD_TASK,
    "call.ringing_on_agent": CARD_TASK,
    **dict.fromkeys(_CALL_LOG_EVENTS, CALL_TASK),
    "message.sent": "messages.log_activity",
    "message.received": "messages.log_activity",
    **dict.fromkeys(AI_EVENTS, "ai.fetch_insight"),
    "integration.deleted": "lifecycle.integration_deleted",
    "jobber.CLIENT_CREATE": "jobber.client_changed",
    "jobber.CLIENT_UPDATE": "jobber.client_changed",
    "jobber.CLIENT_DESTROY": "jobber.client_changed",
    "jobber.APP_DISCONNECT": "lifecycle.jobber_disconnected",
}
# Voice-agent data joins its call (SPEC F9), whatever the event's last part.
EVENT_TASK_PREFIXES: dict[str, str] = {"ai_voice_agent.": CALL_TASK}


def task_for_event(event: str) -> str | None:
    """The task an event runs, or None when no flow handles it."""
    found = EVENT_TASKS.get(event)
    if found is None:
        found = next((task for prefix, task in EVENT_TASK_PREFIXES.items() if event.startswith(prefix)), None)
    return found
