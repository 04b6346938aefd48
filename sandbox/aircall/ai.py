"""Conversation-intelligence content for the emulator: builds the REST bodies of `/v1/calls/:id/<kind>`
(reference §6) from a stored call, with optional overrides, deterministically from the call id."""

from __future__ import annotations

import random
from typing import Any

from sandbox.aircall.state import iso_now

_SUMMARIES = (
    "Caller asked for a quote for spring cleanup and agreed on a visit next Tuesday.",
    "Customer reported a leaking outdoor tap; agent booked a technician for Thursday morning.",
    "Follow-up on an unpaid invoice; the customer will pay by card this week.",
)
_TOPICS = (["quote", "scheduling"], ["repair", "plumbing"], ["billing", "payment"])
_ACTIONS = (
    ["Send the quote by email", "Book the visit for Tuesday"],
    ["Dispatch a technician Thursday 9am"],
    ["Send a payment link"],
)


def generate(
    kind: str, call: dict[str, Any], next_id: int, overrides: dict[str, Any] | None = None
) -> dict[str, Any]:
    """REST body for one CI kind. `overrides` may carry `summary` (str), `topics` (list[str]),
    `sentiment` (POSITIVE|NEUTRAL|NEGATIVE), `action_items` (list[str]), `utterances` (list of dicts)."""
    o = overrides or {}
    call_id = int(call["id"])
    pick = random.Random(call_id).randrange(len(_SUMMARIES))
    external = _external_number(call)
    created = iso_now()
    if kind == "transcription":
        user = call.get("user") or {}
        utterances = o.get("utterances") or [
            {
                "start_time": 0.8,
                "end_time": 3.1,
                "text": "Hello, thanks for calling, how can I help?",
                "participant_type": "internal",
                "user_id": user.get("id"),
            },
            {
                "start_time": 3.5,
                "end_time": 8.2,
                "text": _SUMMARIES[pick].split(";")[0] + ".",
                "participant_type": "external",
                "phone_number": external,
            },
            {
                "start_time": 8.9,
                "end_time": 10.4,
                "text": "Sure, I'll take care of it.",
                "participant_type": "internal",
                "user_id": user.get("id"),
            },
        ]
        return {
            "transcription": {
                "id": next_id,
                "call_id": call_id,
                "call_created_at": iso_now(call.get("started_at")),
                "type": "voicemail" if call.get("voicemail") and not call.get("answered_at") else "call",
                "content": {"language": "en", "utterances": utterances},
            }
        }
    if kind == "summary":
        return {
            "summary": {
                "id": next_id,
                "call_id": call_id,
                "created_at": created,
                "content": o.get("summary") or _SUMMARIES[pick],
            }
        }
    if kind == "topics":
        return {
            "topic": {
                "id": next_id,
                "call_id": call_id,
                "created_at": created,
                "content": list(o.get("topics") or _TOPICS[pick]),
            }
        }
    if kind == "sentiments":
        value = o.get("sentiment") or ("POSITIVE", "NEUTRAL", "NEGATIVE")[pick]
        # For sentiments id == call_id (reference §6).
        return {
            "sentiment": {
                "id": call_id,
                "call_id": call_id,
                "participants": [{"phone_number": external, "value": value, "type": "external"}],
            }
        }
    if kind == "action_items":
        # UNCONFIRMED wrapper (reference §6): {"call_id", "action_items": [...]}.
        items = o.get("action_items") or _ACTIONS[pick]
        return {
            "call_id": call_id,
            "action_items": [
                {
                    "id": next_id + i,
                    "content": text,
                    "ai_generated": True,
                    "created_at": created,
                    "created_by": None,
                    "updated_at": created,
                    "updated_by": None,
                }
                for i, text in enumerate(items)
            ],
        }
    raise ValueError(f"unknown AI kind: {kind}")


def _external_number(call: dict[str, Any]) -> str | None:
    for p in call.get("participants") or []:
        if p.get("type") == "external" and p.get("phone_number"):
            return str(p["phone_number"])
    return call.get("raw_digits")
