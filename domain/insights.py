"""AI insights (SPEC F7): Aircall conversation-intelligence content → the "AI insights" note of a call.

Content comes from `/v1/calls/:id/{transcription,summary,topics,sentiments,action_items}` (aircall-api.md §6);
shapes are read leniently (the action_items wrapper is UNCONFIRMED).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from config.integration import AiLogging

# Webhook event → the endpoint (and stored kind) it announces.
EVENT_KINDS = {
    "transcription.created": "transcription",
    "summary.created": "summary",
    "topics.created": "topics",
    "sentiment.created": "sentiments",
    "action_item.created": "action_items",
}
SETTING_OF_KIND = {
    "transcription": "transcription",
    "summary": "summary",
    "topics": "topics",
    "sentiments": "sentiment",
    "action_items": "action_items",
}
SENTIMENT = {"POSITIVE": "Positive", "NEUTRAL": "Neutral", "NEGATIVE": "Negative"}


def wanted(kind: str, ai: AiLogging) -> bool:
    """Is this kind switched on? (`ai_logging.enabled` itself is checked by the flow.)"""
    return bool(getattr(ai, SETTING_OF_KIND[kind]))


@dataclass(frozen=True)
class ActionItem:
    id: str
    text: str


@dataclass
class Insights:
    summary: str | None = None
    topics: list[str] = field(default_factory=list)
    sentiment: str | None = None
    action_items: list[ActionItem] = field(default_factory=list)
    transcription: list[tuple[str, str]] = field(default_factory=list)  # (speaker, text)


def parse(contents: dict[str, Any], agent_names: dict[str, str]) -> Insights:
    """`contents`: kind → the endpoint's JSON body. `agent_names`: Aircall user id → name."""
    out = Insights()
    summary = (contents.get("summary") or {}).get("summary") or {}
    if isinstance(summary.get("content"), str) and summary["content"].strip():
        out.summary = summary["content"].strip()
    topics = (contents.get("topics") or {}).get("topic") or {}
    out.topics = [str(t).strip() for t in (topics.get("content") or []) if str(t).strip()]
    sentiment = (contents.get("sentiments") or {}).get("sentiment") or {}
    values = [
        p.get("value") for p in sentiment.get("participants") or [] if p.get("type", "external") == "external"
    ]
    out.sentiment = SENTIMENT.get(str(values[0]).upper()) if values else None
    body = contents.get("action_items") or {}
    items = body.get("action_items") if isinstance(body, dict) else body
    for item in items or []:
        text = str(item.get("content") or "").strip() if isinstance(item, dict) else str(item).strip()
        if text:
            out.action_items.append(
                ActionItem(id=str(item.get("id") if isinstance(item, dict) else text), text=text)
            )
    transcript = ((contents.get("transcription") or {}).get("transcription") or {}).get("content") or {}
    for u in transcript.get("utterances") or []:
        text = str(u.get("text") or "").strip()
        if text:
            out.transcription.append((_speaker(u, agent_names), text))
    return out


def _speaker(utterance: dict[str, Any], agent_names: dict[str, str]) -> str:
    kind = utterance.get("participant_type")
    if kind == "external":
        return "Caller"
    if kind == "ai_voice_agent":
        return "AI Voice Agent"
    return agent_names.get(str(utterance.get("user_id")), "Agent")


def render(call_title: str, insights: Insights, ai: AiLogging, link: str | None) -> str | None:
    """The note of SPEC §4 with only the parts switched on and present; None when there is nothing yet."""
    lines = [f"AI insights — {call_title}"]
    if ai.summary and insights.summary:
        lines.append(f"Summary: {insights.summary}")
    if ai.topics and insights.topics:
        lines.append(f"Topics: {', '.join(insights.topics)}")
    if ai.sentiment and insights.sentiment:
        lines.append(f"Sentiment: {insights.sentiment}")
    if ai.action_items and insights.action_items:
        lines += ["Action items:", *[f"- {a.text}" for a in insights.action_items]]
    if ai.transcription and insights.transcription:
        lines += ["Transcription:", *[f"- {who}: {text}" for who, text in insights.transcription]]
    if len(lines) == 1:
        return None
    if link:
        lines.append(f"Aircall: {link}")
    return "\n".join(lines)
