"""Which flow each event starts: the event → task map the ingest, the router and the recovery sweep share.

The ingest enqueues an event's task directly, so an event costs one task (no router hop in front of every
flow; an insight card reaches Aircall while the phone rings, SPEC F1, §6). Each flow checks what a router
would (the integration is active; lifecycle events also run when inactive). `events.route` remains for
replays of events whose task is unknown, and records "no handler" skips.
"""

from __future__ import annotations

from config.queues import Task
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
EVENT_TASKS: dict[str, Task] = {
    "call.created": Task.POST_CARD,
    "call.ringing_on_agent": Task.POST_CARD,
    **dict.fromkeys(_CALL_LOG_EVENTS, Task.LOG_CALL),
    "message.sent": Task.LOG_MESSAGE,
    "message.received": Task.LOG_MESSAGE,
    **dict.fromkeys(AI_EVENTS, Task.FETCH_AI_INSIGHT),
    "integration.deleted": Task.INTEGRATION_DELETED,
    "jobber.CLIENT_CREATE": Task.CLIENT_CHANGED,
    "jobber.CLIENT_UPDATE": Task.CLIENT_CHANGED,
    "jobber.CLIENT_DESTROY": Task.CLIENT_CHANGED,
    "jobber.APP_DISCONNECT": Task.JOBBER_DISCONNECTED,
}
# Voice-agent data joins its call (SPEC F9), whatever the event's last part.
EVENT_TASK_PREFIXES: dict[str, Task] = {"ai_voice_agent.": Task.LOG_CALL}


def task_for_event(event: str) -> Task | None:
    """The task an event runs, or None when no flow handles it."""
    found = EVENT_TASKS.get(event)
    if found is None:
        found = next((task for prefix, task in EVENT_TASK_PREFIXES.items() if event.startswith(prefix)), None)
    return found
