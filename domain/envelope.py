"""Aircall webhook envelopes: validation, the events we act on, and the idempotency identity of an event."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

import orjson

# Events the service acts on (SPEC F1-F11). Anything else is acknowledged and ignored, so a new Aircall
# event type never trips Aircall's auto-disable counter (aircall-api.md §1.3).
CALL_EVENTS = frozenset(
    {
        "call.created",
        "call.ringing_on_agent",
        "call.answered",
        "call.hungup",
        "call.ended",
        "call.transferred",
        "call.external_transferred",
        "call.unsuccessful_transfer",
        "call.assigned",
        "call.voicemail_left",
        "call.comm_assets_generated",
        "call.commented",
        "call.tagged",
        "call.untagged",
    }
)
MESSAGE_EVENTS = frozenset({"message.sent", "message.received"})
AI_EVENTS = frozenset(
    {"transcription.created", "summary.created", "topics.created", "sentiment.created", "action_item.created"}
)
# Events that must reach an integration that is no longer active (uninstall, disconnect).
LIFECYCLE_EVENTS = frozenset({"integration.deleted", "jobber.APP_DISCONNECT"})
ROUTED_EVENTS = CALL_EVENTS | MESSAGE_EVENTS | AI_EVENTS | LIFECYCLE_EVENTS
# The AI Voice Agent family (aircall-api.md: names documented, fields not). Any `ai_voice_agent.*` event is
# routed (domain/voice_agent.py reads the family by prefix), but only these names become metric labels.
VOICE_AGENT_EVENTS = frozenset(
    {"ai_voice_agent.started", "ai_voice_agent.ended", "ai_voice_agent.escalated", "ai_voice_agent.summary"}
)
OTHER = "other"
REDACTED = "[redacted]"


def is_routed(event: str) -> bool:
    return event in ROUTED_EVENTS or event.startswith("ai_voice_agent.")


def event_label(event: str) -> str:
    """The event as a metric label: a name the product knows, else "other". The name comes from the sender,
    and every distinct label value is a new time series kept for the life of the process."""
    return event if event in ROUTED_EVENTS or event in VOICE_AGENT_EVENTS else OTHER


class EnvelopeError(ValueError):
    """The body is not a usable Aircall webhook; the message is safe to return to the sender."""


@dataclass(frozen=True)
class Envelope:
    event: str
    token: str
    data: dict[str, Any]
    resource_id: str

    @property
    def routed(self) -> bool:
        return is_routed(self.event)


def parse_envelope(doc: Any) -> Envelope:
    """Check the envelope `{resource, event, timestamp, token, data}` (aircall-api.md §1.1)."""
    if not isinstance(doc, dict):
        raise EnvelopeError("body must be a JSON object")
    event, token, data = doc.get("event"), doc.get("token"), doc.get("data")
    if not isinstance(event, str) or not event:
        raise EnvelopeError("missing field: event")
    if not isinstance(token, str) or not token:
        raise EnvelopeError("missing field: token")
    if not isinstance(data, dict):
        raise EnvelopeError("missing field: data (an object)")
    resource_id = resource_id_of(event, data)
    if is_routed(event) and resource_id is None:
        raise EnvelopeError(
            f"missing field: data.{'integration_id' if event == 'integration.deleted' else 'id'}"
        )
    return Envelope(event=event, token=token, data=data, resource_id=resource_id or "")


def resource_id_of(event: str, data: dict[str, Any]) -> str | None:
    """The id of the thing the event is about: the call for call, AI and voice-agent events (their own
    `id` is the insight's id; `call_id` may be a string, aircall-api.md §6), the message for messages, the
    Aircall integration for `integration.deleted` (its data is `{integration_id, company_id}`, §1.4)."""
    candidates: list[Any] = []
    if event in AI_EVENTS or event.startswith("ai_voice_agent."):
        call = data.get("call")
        candidates += [data.get("call_id"), call.get("id") if isinstance(call, dict) else None]
    if event == "integration.deleted":
        candidates.append(data.get("integration_id"))
    candidates.append(data.get("id"))
    for value in candidates:
        if isinstance(value, bool) or value is None:
            continue
        if isinstance(value, int | str) and str(value).strip():
            return str(value).strip()
    return None


def event_id(tenant_key: str, event: str, data: dict[str, Any]) -> str:
    """Deterministic id of an event delivery: the same tenant, event name and data snapshot give the same id.
    Raises EnvelopeError for data nested deeper than the canonical form can hold.

    Keyed on the data snapshot rather than `(event, data.id)` alone because some events legitimately repeat
    for one call with different content (a second `call.commented`, a `call.tagged` per tag), while a
    redelivery repeats the same snapshot. The envelope `timestamp` is left out: it is build metadata.
    """
    try:
        canonical = orjson.dumps(data, option=orjson.OPT_SORT_KEYS | orjson.OPT_NON_STR_KEYS, default=str)
    except orjson.JSONEncodeError:
        # orjson parses up to 1024 levels but serialises only about 254: the body parsed, yet has no identity.
        raise EnvelopeError("data is nested too deeply") from None
    digest = hashlib.sha256(f"{tenant_key}\x1f{event}\x1f".encode() + canonical).hexdigest()
    return "ev_" + digest[:26]


def redacted_raw(body: str, env: Envelope, doc: Any) -> str:
    """The raw body to store, with every occurrence of the webhook token masked however it was spelled.

    A plain replace covers the usual body; JSON may also spell the token with escapes (`\\u0061`, `\\/`),
    and then the parsed document is written out again in orjson's canonical spelling and masked there (its
    numbers and spacing may then differ from the body's)."""
    token = env.token
    if "\\" not in body:  # no escapes at all (the usual body): the token is spelled as it is
        return body.replace(token, REDACTED)
    plain = token.isprintable() and '"' not in token and "\\" not in token  # needs no escape itself
    if plain and "\\u" not in body and "\\/" not in body:
        return body.replace(token, REDACTED)
    try:
        canonical = orjson.dumps(doc).decode()
    except orjson.JSONEncodeError:
        raise EnvelopeError("body is nested too deeply") from None
    return canonical.replace(orjson.dumps(token).decode()[1:-1], REDACTED)
