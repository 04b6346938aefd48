"""Calls the AI Voice Agent touched (SPEC F9): which of the four paths the call took, and the agent's notes.

Voice-agent data comes from `ai_voice_agent.*` events with the same call id, before or after `call.ended`.
Their payload shapes are UNCONFIRMED (aircall-api.md documents the family, not the fields): the agent's name
is read from `ai_voice_agent_name`, notes from the `ai_voice_agent.summary` event's `summary` and
`extracted_data`, and an escalation from an `ai_voice_agent.escalated` event or `call_end_reason: "escalated"`
on any snapshot.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from domain.calls import CallView, Snapshot

Path = Literal["agent_only", "transfer_answered", "transfer_missed", "voicemail"]
TAG = "AI Voice Agent"
PREFIX = "ai_voice_agent."


@dataclass(frozen=True)
class VoiceAgentView:
    name: str
    path: Path
    notes: list[str]


def touched(snapshots: list[Snapshot]) -> bool:
    return any(s.event.startswith(PREFIX) or s.data.get("call_end_reason") == "escalated" for s in snapshots)


def voice_agent_view(snapshots: list[Snapshot], call: CallView) -> VoiceAgentView | None:
    if not touched(snapshots):
        return None
    ordered = sorted(snapshots, key=Snapshot.sort_key)
    agent_events = [s for s in ordered if s.event.startswith(PREFIX)]
    escalated = any(
        s.event == f"{PREFIX}escalated" or s.data.get("call_end_reason") == "escalated" for s in ordered
    )
    name = next(
        (str(s.data["ai_voice_agent_name"]) for s in agent_events if s.data.get("ai_voice_agent_name")), TAG
    )
    if not escalated:
        path: Path = "agent_only"
    elif call.answered and call.agent is not None:
        path = "transfer_answered"
    elif call.voicemail:
        path = "voicemail"
    else:
        path = "transfer_missed"
    return VoiceAgentView(name=name, path=path, notes=_notes(agent_events))


def _notes(agent_events: list[Snapshot]) -> list[str]:
    summaries = [s.data for s in agent_events if s.event == f"{PREFIX}summary"]
    if not summaries:
        return []
    latest: dict[str, Any] = summaries[-1]
    notes = [str(latest["summary"]).strip()] if str(latest.get("summary") or "").strip() else []
    extracted = latest.get("extracted_data") or {}
    if isinstance(extracted, dict):
        notes += [f"{key}: {value}" for key, value in extracted.items() if value not in (None, "")]
    return notes
