"""The activity text of SPEC §4: plain text, one labelled line each, absent values omitted."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from domain.calls import CallView
from domain.payloads import Message, Number, User
from domain.phone import to_e164
from domain.voice_agent import TAG as VOICE_AGENT_TAG
from domain.voice_agent import VoiceAgentView

DIRECTION = {"answered": "Inbound", "missed": "Missed", "voicemail": "Voicemail", "outbound": "Outbound"}


@dataclass(frozen=True)
class Activity:
    title: str
    text: str  # includes the title as its first line


def duration(seconds: int | None) -> str | None:
    if not seconds or seconds <= 0:
        return None
    hours, rest = divmod(int(seconds), 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}h{minutes:02d}m{secs:02d}s"
    return f"{minutes}m{secs:02d}s" if minutes else f"{secs}s"


def when(moment: datetime | None) -> str | None:
    return moment.strftime("%Y-%m-%d %H:%M UTC") if moment else None


def line_label(line: Number | None, e164: str | None) -> str | None:
    number = e164 or (line.digits if line else None)
    if number is None:
        return None
    return f"{number} ({line.name})" if line and line.name else number


def agent_label(user: User | None) -> str | None:
    if user is None or not (user.name or user.email):
        return None
    if user.name and user.email:
        return f"{user.name} <{user.email}>"
    return user.name or user.email


def call_title(call: CallView, voice_agent: VoiceAgentView | None = None) -> str:
    agent = call.agent.name if call.agent and call.agent.name else None
    external = call.external or "a withheld number"
    if voice_agent is not None:
        name = voice_agent.name
        return {
            "agent_only": f"Inbound call handled by {name}",
            "transfer_answered": f"Inbound call transferred by {name}, answered by {agent or 'an agent'}",
            "transfer_missed": f"Missed call transferred by {name}",
            "voicemail": f"Voicemail from {external} after an escalation by {name}",
        }[voice_agent.path]
    if call.kind == "answered":
        return f"Inbound call answered by {agent}" if agent else "Inbound call answered"
    if call.kind == "missed":
        return "Missed inbound call"
    if call.kind == "voicemail":
        return f"Voicemail from {external}"
    title = f"Outbound call by {agent}" if agent else f"Outbound call to {external}"
    return title if call.answered else f"{title} (not answered)"


VOICE_AGENT_DIRECTION = {
    "agent_only": "Inbound",
    "transfer_answered": "Inbound",
    "transfer_missed": "Missed",
    "voicemail": "Voicemail",
}


def render_call(call: CallView, voice_agent: VoiceAgentView | None = None) -> Activity:
    """The call's activity; with `voice_agent`, one of the four AI Voice Agent variants of SPEC F9."""
    title = call_title(call, voice_agent)
    external = call.external or (call.external_raw or None)
    line = line_label(call.line, call.line_e164)
    inbound = call.kind != "outbound"
    started = when(call.started_at)
    length = duration(call.duration_s)
    tags = (
        call.tags
        if voice_agent is None
        else [VOICE_AGENT_TAG, *(t for t in call.tags if t != VOICE_AGENT_TAG)]
    )
    timing = " · ".join(
        p
        for p in (f"Started: {started}" if started else None, f"Duration: {length}" if length else None)
        if p
    )
    lines: list[str | None] = [
        title,
        f"Direction: {VOICE_AGENT_DIRECTION[voice_agent.path] if voice_agent else DIRECTION[call.kind]}",
        _labelled("From", external if inbound else line),
        _labelled("To", line if inbound else external),
        _labelled("Agent", agent_label(call.agent)),
        timing or None,
        _labelled("Recording", call.recording),
        _labelled("Voicemail", call.voicemail),
        _labelled("Assigned to", call.assigned_to),
        _labelled("Transfers", "; ".join(call.transfers) if call.transfers else None),
        _labelled("Tags", ", ".join(tags) if tags else None),
    ]
    if call.notes:
        lines += ["Notes:", *[f"- {note}" for note in call.notes]]
    if voice_agent is not None and voice_agent.notes:
        lines += ["AI Voice Agent notes:", *[f"- {note}" for note in voice_agent.notes]]
    lines.append(_labelled("Aircall", call.link))
    return Activity(title=title, text="\n".join(line for line in lines if line))


def message_kind(message: Message) -> str:
    if (message.channel or "").lower() == "whatsapp":
        return "WhatsApp message"
    return "MMS" if message.media else "SMS"


def render_message(message: Message, sent: bool) -> Activity:
    line = message.number
    region = (line.country if line else None) or "US"
    external = to_e164(message.external, region) or message.external
    line_text = line_label(
        line, (line.e164_digits if line else None) or to_e164(line.digits if line else None, region)
    )
    kind = message_kind(message)
    title = f"{kind} sent to {external}" if sent else f"{kind} received from {external}"
    lines: list[str | None] = [
        title,
        f"Direction: {'Sent' if sent else 'Received'}",
        _labelled("From", line_text if sent else external),
        _labelled("To", external if sent else line_text),
        _labelled("Agent", agent_label(message.user) if sent else None),
        _labelled("Message", (message.body or "").strip() or None),
        *[_labelled("Media", m.url) for m in message.media],
        _labelled("Aircall", message.direct_link),
    ]
    return Activity(title=title, text="\n".join(line for line in lines if line))


def _labelled(label: str, value: str | None) -> str | None:
    return f"{label}: {value}" if value else None
