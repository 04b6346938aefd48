"""Calls the AI Voice Agent touched (SPEC F9): which of the four paths the call took, and the agent's notes.

Voice-agent data comes from `ai_voice_agent.*` events with the same call id, before or after `call.ended`.
Their payload shapes are UNCONFIRMED (aircall-api.md documents the family, not the fields): the agent's name
is read from `ai_voice_agent_name`, notes from the `ai_voice_agent.summary` event's `summary` and
`extracted_data`, and an escalation from an `ai_voice_agent.escalated` event or `call_end_reason: "escalated"`
on any snapshot. Public payloads disagree on the notes' shapes: `extracted_data` is a flat object of intake
answers or parallel arrays (`{"question": [...], "answer": [...]}`), and `summary` is text, an object or
missing; every reading is rendered as readable `key: value` lines, never a Python repr.
"""

from __future__ import annotations

import json
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
    return VoiceAgentView(name=name, path=path, notes=voice_agent_notes(agent_events))


def voice_agent_notes(snapshots: list[Snapshot]) -> list[str]:
    """The voice agent's notes: the latest `ai_voice_agent.summary` event's summary, then each
    intake answer."""
    summaries = sorted((s for s in snapshots if s.event == f"{PREFIX}summary"), key=Snapshot.sort_key)
    if not summaries:
        return []
    latest = summaries[-1].data
    summary = _summary_text(latest.get("summary"))
    return ([summary] if summary else []) + _answers(latest.get("extracted_data"))


# Where a summary object keeps its text (UNCONFIRMED: no documented shape); other objects are shown whole.
_TEXT_KEYS = ("content", "text", "summary", "value")
_QUESTION_KEYS = ("question", "questions", "key", "keys", "label", "name")
_ANSWER_KEYS = ("answer", "answers", "value", "values")


def _summary_text(summary: Any) -> str:
    if isinstance(summary, dict):
        text = next(
            (summary[k] for k in _TEXT_KEYS if isinstance(summary.get(k), str) and summary[k].strip()), None
        )
        return text.strip() if text else readable(summary)
    return readable(summary)


def _answers(extracted: Any) -> list[str]:
    """`key: value` lines from every shape seen: a flat object, parallel question/answer arrays, a list of
    question/answer (or key/value) objects, the same as JSON text, or plain text."""
    if isinstance(extracted, str):
        try:
            extracted = json.loads(extracted)
        except ValueError:
            return [extracted.strip()] if extracted.strip() else []
    pairs: list[tuple[Any, Any]] = []
    if isinstance(extracted, dict):
        questions = next((extracted[k] for k in _QUESTION_KEYS if isinstance(extracted.get(k), list)), None)
        answers = next((extracted[k] for k in _ANSWER_KEYS if isinstance(extracted.get(k), list)), None)
        if questions is not None and answers is not None:
            pairs = list(zip(questions, answers, strict=False))
        else:
            pairs = list(extracted.items())
    elif isinstance(extracted, list):
        for item in extracted:
            if isinstance(item, dict):
                question = next((item[k] for k in _QUESTION_KEYS if k in item), None)
                answer = next((item[k] for k in _ANSWER_KEYS if k in item), None)
                pairs.append((question, answer) if question is not None else (None, item))
            else:
                pairs.append((None, item))
    lines = []
    for question, answer in pairs:
        value = readable(answer)
        if value:
            lines.append(f"{readable(question)}: {value}" if readable(question) else value)
    return lines


MAX_DEPTH = 8  # deeper than any real voice-agent payload; a hostile one is cut, not followed


def readable(value: Any, depth: int = 0) -> str:
    """A value as a person would write it: lists joined with commas, objects as `key: value`, yes / no.
    Each value is rendered once (linear in the payload's size) and nesting stops at MAX_DEPTH."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if depth >= MAX_DEPTH and isinstance(value, dict | list | tuple):
        return "…"
    if isinstance(value, dict):
        parts = ((k, readable(v, depth + 1)) for k, v in value.items())
        return ", ".join(f"{k}: {text}" for k, text in parts if text)
    if isinstance(value, list | tuple):
        return ", ".join(part for part in (readable(v, depth + 1) for v in value) if part)
    return str(value).strip()
