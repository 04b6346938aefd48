"""Pure builders of Aircall webhook payloads (reference §1-§3, §6): envelopes, Call / Message / user /
number objects, full call lifecycles, conversation-intelligence, AI Voice Agent and integration events.

Every function returns fresh dicts and does no I/O, so tests and benchmarks can use them directly.
Times are UNIX seconds passed in by the caller (deterministic output for a given input)."""

from __future__ import annotations

import copy
import time
from collections.abc import Iterable, Sequence
from typing import Any

from sandbox.aircall.phones import display_format

API = "https://api.aircall.io/v1"
Event = dict[str, Any]

# Resource family per event prefix. UNCONFIRMED: "conversation_intelligence" for CI events (the reference
# lists the family name but no sample payload); consumers must route on `event`, never on `resource`.
_RESOURCES = {
    "call": "call",
    "message": "message",
    "group_message": "message",
    "contact": "contact",
    "number": "number",
    "user": "user",
    "integration": "integration",
    "ai_voice_agent": "ai_voice_agent",
    "analytics": "analytics",
}
CI_EVENTS = {
    "transcription.created": "transcription",
    "summary.created": "summary",
    "topics.created": "topics",
    "sentiment.created": "sentiments",
    "action_item.created": "action_items",
}


def iso(ts: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime(ts))


def envelope(event: str, data: dict[str, Any], *, token: str, timestamp: int) -> Event:
    """`{resource, event, timestamp, token, data}`; `data` is deep-copied so events never share state."""
    prefix = event.split(".", 1)[0]
    resource = "conversation_intelligence" if event in CI_EVENTS else _RESOURCES.get(prefix, prefix)
    return {
        "resource": resource,
        "event": event,
        "timestamp": int(timestamp),
        "token": token,
        "data": copy.deepcopy(data),
    }


# --- nested objects --------------------------------------------------------------------------------------


def number_object(
    number_id: int = 476258,
    *,
    e164: str = "+14155550199",
    name: str = "Support line",
    country: str = "US",
    time_zone: str = "America/Los_Angeles",
) -> dict[str, Any]:
    """The Aircall line, webhook flavour (with `e164_digits`)."""
    return {
        "id": number_id,
        "direct_link": f"{API}/numbers/{number_id}",
        "name": name,
        "digits": display_format(e164),
        "e164_digits": e164,
        "country": country,
        "time_zone": time_zone,
        "open": True,
        "availability_status": "open",
        "is_ivr": False,
        "live_recording_activated": False,
        "priority": None,
        "messages": {},
    }


def user_object(
    user_id: int = 456, *, name: str = "Madelaine Dupont", email: str = "madelaine@acme.com"
) -> dict[str, Any]:
    return {
        "id": user_id,
        "direct_link": f"{API}/users/{user_id}",
        "name": name,
        "email": email,
        "available": True,
        "availability_status": "available",
        "substatus": "always_opened",
        "time_zone": "America/Los_Angeles",
        "language": "en-US",
        "wrap_up_time": 0,
    }


def comment_object(
    comment_id: int, content: str, posted_at: int, posted_by: dict[str, Any] | None
) -> dict[str, Any]:
    return {"id": comment_id, "content": content, "posted_at": posted_at, "posted_by": _brief(posted_by)}


def tag_object(tag_id: int, name: str, color: str = "#00B388") -> dict[str, Any]:
    return {
        "id": tag_id,
        "direct_link": f"{API}/tags/{tag_id}",
        "name": name,
        "color": color,
        "description": None,
    }


def _brief(user: dict[str, Any] | None) -> dict[str, Any] | None:
    return None if user is None else {k: user[k] for k in ("id", "direct_link", "name", "email") if k in user}


def call_object(
    call_id: int,
    *,
    direction: str,
    number: dict[str, Any],
    external: str,
    started_at: int,
    **fields: Any,
) -> dict[str, Any]:
    """A Call object (webhook flavour) in its `initial` state; `fields` override any key.
    `external` is E.164 or "anonymous"; `raw_digits` gets Aircall's display format."""
    raw = display_format(external)
    call = {
        "id": call_id,
        "direct_link": f"{API}/calls/{call_id}",
        "call_uuid": f"CA{call_id:032x}"[-34:],
        "direction": direction,
        "status": "initial",
        "missed_call_reason": None,
        "started_at": started_at,
        "answered_at": None,
        "ended_at": None,
        "duration": 0,
        "cost": "0",
        "hangup_cause": None,
        "voicemail": None,
        "recording": None,
        "asset": None,
        "raw_digits": raw,
        "archived": False,
        "user": None,
        "number": copy.deepcopy(number),
        "contact": None,
        "assigned_to": None,
        "teams": [{"id": 1, "name": "Support"}] if direction == "inbound" else [],
        "transferred_by": None,
        "transferred_to": None,
        "comments": [],
        "tags": [],
        "participants": [{"type": "external", "phone_number": raw}] if external != "anonymous" else [],
    }
    call.update(fields)
    return call


def _with(call: dict[str, Any], **changes: Any) -> dict[str, Any]:
    out = copy.deepcopy(call)
    out.update(changes)
    return out


def _answer(call: dict[str, Any], agent: dict[str, Any], at: int) -> dict[str, Any]:
    participants = [p for p in call["participants"] if p.get("type") != "user"]
    participants.append({"type": "user", "id": agent["id"], "name": agent["name"]})
    return _with(
        call, status="answered", answered_at=at, user=copy.deepcopy(agent), participants=participants
    )


def _hangup(call: dict[str, Any], at: int) -> dict[str, Any]:
    return _with(
        call, status="done", ended_at=at, duration=at - call["started_at"], hangup_cause="normal_clearing"
    )


def recording_url(call_id: int) -> str:
    # Pre-signed S3-style URL: expires (1 h); the `asset` link is the stable one (reference §2).
    return f"https://aircall-recordings.s3.amazonaws.com/{call_id}/recording.mp3?X-Amz-Expires=3600&X-Amz-Signature=abc"


def voicemail_url(call_id: int) -> str:
    return f"https://aircall-voicemails.s3.amazonaws.com/{call_id}/voicemail.mp3?X-Amz-Expires=3600&X-Amz-Signature=abc"


def _events(token: str, steps: Iterable[tuple[str, dict[str, Any], int]]) -> list[Event]:
    return [envelope(name, data, token=token, timestamp=ts) for name, data, ts in steps]


def _after_call(
    call: dict[str, Any],
    t: int,
    agent: dict[str, Any] | None,
    comments: Sequence[str],
    tags: Sequence[str],
    first_ids: int,
) -> list[tuple[str, dict[str, Any], int]]:
    """Later `call.commented` / `call.tagged` (one event per note / tag, cumulative snapshots)."""
    steps: list[tuple[str, dict[str, Any], int]] = []
    for i, text in enumerate(comments):
        t += 20
        call = _with(call, comments=[*call["comments"], comment_object(first_ids + i, text, t, agent)])
        steps.append(("call.commented", call, t))
    for i, name in enumerate(tags):
        t += 5
        call = _with(call, tags=[*call["tags"], tag_object(first_ids + 100 + i, name)])
        steps.append(("call.tagged", call, t))
    return steps


# --- call lifecycles -------------------------------------------------------------------------------------


def inbound_answered_call(
    call_id: int,
    *,
    token: str,
    number: dict[str, Any],
    external: str,
    agent: dict[str, Any],
    started_at: int,
    ring_s: int = 6,
    talk_s: int = 185,
    comments: Sequence[str] = ("Customer wants a quote for spring cleanup.",),
    tags: Sequence[str] = ("Quote",),
) -> list[Event]:
    """created → ringing_on_agent → answered → hungup → ended (+30 s) → commented, tagged,
    comm_assets_generated. Each event carries the full Call snapshot at its time."""
    c0 = call_object(call_id, direction="inbound", number=number, external=external, started_at=started_at)
    ringing = _with(c0, user=copy.deepcopy(agent))
    answered = _answer(c0, agent, started_at + ring_s)
    hung = _hangup(answered, started_at + ring_s + talk_s)
    ended = _with(
        hung, recording=recording_url(call_id), asset=f"https://assets.aircall.io/recording/{call_id}"
    )
    t_end = hung["ended_at"] + 30
    later = _after_call(ended, t_end, agent, comments, tags, call_id % 100000 * 10)
    final = later[-1][1] if later else ended
    steps = [
        ("call.created", c0, started_at),
        ("call.ringing_on_agent", ringing, started_at + 1),
        ("call.answered", answered, started_at + ring_s),
        ("call.hungup", _with(hung, recording=None), hung["ended_at"]),
        ("call.ended", ended, t_end),
        *later,
        ("call.comm_assets_generated", final, (later[-1][2] if later else t_end) + 30),
    ]
    return _events(token, steps)


def missed_call(
    call_id: int,
    *,
    token: str,
    number: dict[str, Any],
    external: str,
    agent: dict[str, Any] | None,
    started_at: int,
    ring_s: int = 25,
    reason: str = "agents_did_not_answer",
) -> list[Event]:
    """created → ringing_on_agent → hungup → ended; `missed_call_reason` set, no `user`, no answer."""
    c0 = call_object(call_id, direction="inbound", number=number, external=external, started_at=started_at)
    steps: list[tuple[str, dict[str, Any], int]] = [("call.created", c0, started_at)]
    if agent is not None:
        steps.append(("call.ringing_on_agent", _with(c0, user=copy.deepcopy(agent)), started_at + 1))
    ended = _with(_hangup(c0, started_at + ring_s), missed_call_reason=reason, hangup_cause="no_answer")
    steps += [("call.hungup", ended, ended["ended_at"]), ("call.ended", ended, ended["ended_at"] + 30)]
    return _events(token, steps)


def voicemail_call(
    call_id: int,
    *,
    token: str,
    number: dict[str, Any],
    external: str,
    agent: dict[str, Any] | None,
    started_at: int,
    ring_s: int = 25,
    message_s: int = 40,
) -> list[Event]:
    """created → ringing → voicemail_left → hungup → ended → comm_assets_generated (voicemail URL + asset).
    UNCONFIRMED: `status` stays "done" (some third-party types use "voicemail")."""
    c0 = call_object(call_id, direction="inbound", number=number, external=external, started_at=started_at)
    t_hang = started_at + ring_s + message_s
    ended = _with(
        _hangup(c0, t_hang),
        missed_call_reason="agents_did_not_answer",
        voicemail=voicemail_url(call_id),
        asset=f"https://assets.aircall.io/voicemail/{call_id}",
    )
    steps: list[tuple[str, dict[str, Any], int]] = [("call.created", c0, started_at)]
    if agent is not None:
        steps.append(("call.ringing_on_agent", _with(c0, user=copy.deepcopy(agent)), started_at + 1))
    steps += [
        ("call.voicemail_left", ended, t_hang),
        ("call.hungup", _with(ended, voicemail=None, asset=None), t_hang),
        ("call.ended", ended, t_hang + 30),
        ("call.comm_assets_generated", ended, t_hang + 60),
    ]
    return _events(token, steps)


def outbound_call(
    call_id: int,
    *,
    token: str,
    number: dict[str, Any],
    external: str,
    agent: dict[str, Any],
    started_at: int,
    answered: bool = True,
    talk_s: int = 95,
    comments: Sequence[str] = ("Confirmed the visit for Tuesday 9am.",),
    tags: Sequence[str] = (),
) -> list[Event]:
    """created (agent set) → answered (callee picked up) → hungup → ended → commented/tagged."""
    c0 = call_object(
        call_id,
        direction="outbound",
        number=number,
        external=external,
        started_at=started_at,
        user=copy.deepcopy(agent),
        participants=[
            {"type": "user", "id": agent["id"], "name": agent["name"]},
            {"type": "external", "phone_number": display_format(external)},
        ],
    )
    steps: list[tuple[str, dict[str, Any], int]] = [("call.created", c0, started_at)]
    if answered:
        ans = _with(c0, status="answered", answered_at=started_at + 8)
        steps.append(("call.answered", ans, started_at + 8))
        hung = _hangup(ans, started_at + 8 + talk_s)
        ended = _with(
            hung, recording=recording_url(call_id), asset=f"https://assets.aircall.io/recording/{call_id}"
        )
    else:
        hung = ended = _with(_hangup(c0, started_at + 30), hangup_cause="no_answer")
    t_end = hung["ended_at"] + 30
    steps += [("call.hungup", hung, hung["ended_at"]), ("call.ended", ended, t_end)]
    steps += _after_call(ended, t_end, agent, comments, tags, call_id % 100000 * 10)
    return _events(token, steps)


def transferred_call(
    call_id: int,
    *,
    token: str,
    number: dict[str, Any],
    external: str,
    agent: dict[str, Any],
    to_agent: dict[str, Any],
    started_at: int,
) -> list[Event]:
    """Internal transfer: answered by `agent`, `call.transferred` to `to_agent` (who then handles it)."""
    c0 = call_object(call_id, direction="inbound", number=number, external=external, started_at=started_at)
    answered = _answer(c0, agent, started_at + 5)
    moved = _with(
        _answer(answered, to_agent, started_at + 5),
        answered_at=started_at + 5,
        transferred_by=_brief(agent),
        transferred_to=copy.deepcopy(to_agent),
    )
    hung = _hangup(moved, started_at + 240)
    ended = _with(
        hung, recording=recording_url(call_id), asset=f"https://assets.aircall.io/recording/{call_id}"
    )
    steps = [
        ("call.created", c0, started_at),
        ("call.ringing_on_agent", _with(c0, user=copy.deepcopy(agent)), started_at + 1),
        ("call.answered", answered, started_at + 5),
        ("call.transferred", moved, started_at + 60),
        ("call.hungup", hung, hung["ended_at"]),
        ("call.ended", ended, hung["ended_at"] + 30),
        *_after_call(
            ended,
            hung["ended_at"] + 30,
            to_agent,
            ("Billing question, resolved.",),
            ("Billing",),
            call_id % 100000 * 10,
        ),
    ]
    return _events(token, steps)


def external_transferred_call(
    call_id: int,
    *,
    token: str,
    number: dict[str, Any],
    external: str,
    agent: dict[str, Any],
    to_number: str,
    started_at: int,
    transferred_by: dict[str, Any] | None = None,
) -> list[Event]:
    """Answered by `agent`, then `call.external_transferred` to `to_number` (E.164). Only that event
    carries `external_transferred_to` / `external_caller_number` (reference §1.4). `transferred_by` is
    documented for transfers to users and teams only: absent here unless given; the call's `user` is then the
    agent who transferred."""
    c0 = call_object(call_id, direction="inbound", number=number, external=external, started_at=started_at)
    answered = _answer(c0, agent, started_at + 4)
    by = {"transferred_by": _brief(transferred_by)} if transferred_by else {}
    xfer = _with(
        answered,
        **by,
        external_transferred_to=display_format(to_number),
        external_caller_number=display_format(external),
    )
    hung = _hangup(_with(answered, **by), started_at + 120)
    steps = [
        ("call.created", c0, started_at),
        ("call.answered", answered, started_at + 4),
        ("call.external_transferred", xfer, started_at + 50),
        ("call.hungup", hung, hung["ended_at"]),
        ("call.ended", hung, hung["ended_at"] + 30),
    ]
    return _events(token, steps)


def assigned_call(
    call_id: int,
    *,
    token: str,
    number: dict[str, Any],
    external: str,
    agent: dict[str, Any],
    assignee: dict[str, Any],
    started_at: int,
) -> list[Event]:
    """A missed call that is then assigned to `assignee` for follow-up (`call.assigned`)."""
    events = missed_call(
        call_id, token=token, number=number, external=external, agent=agent, started_at=started_at
    )
    last = events[-1]
    assigned = _with(last["data"], assigned_to=copy.deepcopy(assignee))
    return [*events, envelope("call.assigned", assigned, token=token, timestamp=last["timestamp"] + 120)]


def untagged_call(
    call_id: int,
    *,
    token: str,
    number: dict[str, Any],
    external: str,
    agent: dict[str, Any],
    started_at: int,
) -> list[Event]:
    """Answered call tagged "Quote" and "Urgent", then "Urgent" removed (`call.untagged`)."""
    events = inbound_answered_call(
        call_id,
        token=token,
        number=number,
        external=external,
        agent=agent,
        started_at=started_at,
        tags=("Quote", "Urgent"),
    )
    last = events[-1]
    data = _with(last["data"], tags=[t for t in last["data"]["tags"] if t["name"] != "Urgent"])
    return [*events, envelope("call.untagged", data, token=token, timestamp=last["timestamp"] + 60)]


# --- messages --------------------------------------------------------------------------------------------


def message_object(
    message_id: str,
    *,
    direction: str,
    number: dict[str, Any],
    external: str,
    body: str,
    created_at: int,
    media: Sequence[dict[str, Any]] = (),
    channel: str | None = None,
    user: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """A Message (string id). UNCONFIRMED: timestamps as ISO strings (sources disagree: ms vs ISO)."""
    return {
        "id": message_id,
        "direct_link": f"{API}/messages/{message_id}",
        "direction": direction,
        "status": "received" if direction == "inbound" else "sent",
        "channel": channel,
        "body": body,
        "external_number": display_format(external),
        "raw_digits": display_format(external),
        "media_details": [dict(m) for m in media],
        "created_at": iso(created_at),
        "updated_at": iso(created_at),
        "sent_at": iso(created_at),
        "number": {
            k: number[k]
            for k in ("id", "name", "digits", "country", "time_zone", "availability_status")
            if k in number
        },
        "contact": None,
        "user": _brief(user),
    }


def media_item(file_name: str = "photo.jpg", file_type: str = "image/jpeg") -> dict[str, Any]:
    return {
        "file_name": file_name,
        "file_type": file_type,
        "presigned_url": f"https://aircall-media.s3.amazonaws.com/{file_name}?X-Amz-Expires=3600",
    }


def message_event(message: dict[str, Any], *, token: str, timestamp: int) -> Event:
    """`message.received` for inbound, `message.sent` for outbound messages."""
    name = "message.received" if message["direction"] == "inbound" else "message.sent"
    return envelope(name, message, token=token, timestamp=timestamp)


# --- conversation intelligence, AI Voice Agent, integration --------------------------------------------


def ci_event(
    event: str, call: dict[str, Any], *, token: str, timestamp: int, ci_id: int | None = None
) -> Event:
    """A CI webhook (`transcription.created`, `summary.created`, `topics.created`, `sentiment.created`,
    `action_item.created`). Data carries ids only (UNCONFIRMED whether Aircall embeds content; clients must
    GET the matching `/v1/calls/:id/...` endpoint). `call_id` is a string, as in the docs table."""
    if event not in CI_EVENTS:
        raise ValueError(f"not a CI event: {event}")
    call_id = int(call["id"])
    data = {
        "id": call_id if event == "sentiment.created" else (ci_id or call_id * 10 + len(event)),
        "call_id": str(call_id),
        "call_uuid": call.get("call_uuid"),
        "number_id": (call.get("number") or {}).get("id"),
        "participants": call.get("participants") or [],
        "type": "voicemail" if call.get("voicemail") and not call.get("answered_at") else "call",
        "call_created_at": iso(call["started_at"]),
        "created_at": iso(timestamp),
    }
    return envelope(event, data, token=token, timestamp=timestamp)


def ai_insight_events(call: dict[str, Any], *, token: str, after: int) -> list[Event]:
    """All five CI events for a finished call, spread over the minutes after `after`."""
    return [
        ci_event(name, call, token=token, timestamp=after + 20 * (i + 1)) for i, name in enumerate(CI_EVENTS)
    ]


def aiva_event(
    event: str,
    call: dict[str, Any],
    *,
    token: str,
    timestamp: int,
    agent_id: int = 9001,
    agent_name: str = "Ava (AI Voice Agent)",
    session_id: str | None = None,
    **fields: Any,
) -> Event:
    """An `ai_voice_agent.*` event. Field names follow the reference (Riprock SDK, 3rd-party); types are
    UNCONFIRMED: ids as ints, `created_at` ISO, `started_at`/`ended_at` UNIX s. Extra `fields`
    (call_end_reason, escalation_reason, summary, extracted_data, ...) are merged in."""
    call_id = int(call["id"])
    data: dict[str, Any] = {
        "id": call_id,
        "call_id": call_id,
        "call_uuid": call.get("call_uuid"),
        "ai_voice_agent_id": agent_id,
        "ai_voice_agent_name": agent_name,
        "ai_voice_agent_session_id": session_id or f"aiva-session-{call_id}",
        "number_id": (call.get("number") or {}).get("id"),
        "created_at": iso(timestamp),
    }
    if event in ("ai_voice_agent.started", "ai_voice_agent.ended"):
        data.update(
            external_caller_number=call.get("raw_digits"),
            aircall_number=(call.get("number") or {}).get("digits"),
            started_at=call["started_at"],
        )
    data.update(fields)
    return envelope(event, data, token=token, timestamp=timestamp)


def aiva_call(
    call_id: int,
    *,
    token: str,
    number: dict[str, Any],
    external: str,
    started_at: int,
    path: str = "agent_only",
    agent: dict[str, Any] | None = None,
    summary: Any = "Caller needs a plumber for a burst pipe; prefers tomorrow morning.",
    extracted_data: Any = None,
) -> list[Event]:
    """A call handled by the AI Voice Agent. `path`: agent_only | transfer_answered | transfer_missed |
    voicemail (spec F9). Emits the normal call.* events plus ai_voice_agent.started / escalated /
    summary / ended. UNCONFIRMED: for agent_only, the call is `answered_at` set with `user` null.

    The summary event's shapes vary in public payloads (UNCONFIRMED which Aircall sends): `extracted_data`
    a flat object (the default) or parallel arrays (`parallel_answers()`); `summary` text, an object, or None
    for a payload without it."""
    if path not in ("agent_only", "transfer_answered", "transfer_missed", "voicemail"):
        raise ValueError(f"unknown AIVA path: {path}")
    extracted = (
        extracted_data
        if extracted_data is not None
        else {"name": "Pat Doe", "issue": "Burst pipe", "preferred_time": "Tomorrow 9am"}
    )
    summary_fields = {"summary": summary} if summary is not None else {}
    c0 = call_object(call_id, direction="inbound", number=number, external=external, started_at=started_at)
    t = started_at
    steps: list[tuple[str, dict[str, Any], int]] = [("call.created", c0, t)]
    aiva_started = aiva_event("ai_voice_agent.started", c0, token=token, timestamp=t + 1)
    aiva: list[Event] = [aiva_started]
    if path == "agent_only":
        done = _with(_hangup(_with(c0, status="answered", answered_at=t + 1), t + 150))
        end_reason = "caller_hung_up"
    else:
        aiva.append(
            aiva_event(
                "ai_voice_agent.escalated",
                c0,
                token=token,
                timestamp=t + 90,
                escalation_reason="caller_requested_human",
            )
        )
        end_reason = "escalated"
        if path == "transfer_answered":
            if agent is None:
                raise ValueError("transfer_answered needs an agent")
            ans = _answer(c0, agent, t + 100)
            steps.append(("call.answered", ans, t + 100))
            done = _with(
                _hangup(ans, t + 260),
                recording=recording_url(call_id),
                asset=f"https://assets.aircall.io/recording/{call_id}",
            )
        elif path == "transfer_missed":
            done = _with(
                _hangup(c0, t + 130),
                missed_call_reason="agents_did_not_answer",
                recording=recording_url(call_id),
                asset=f"https://assets.aircall.io/recording/{call_id}",
            )
        else:
            done = _with(
                _hangup(c0, t + 170),
                missed_call_reason="agents_did_not_answer",
                voicemail=voicemail_url(call_id),
                asset=f"https://assets.aircall.io/voicemail/{call_id}",
            )
            steps.append(("call.voicemail_left", done, done["ended_at"]))
    aiva.append(
        aiva_event(
            "ai_voice_agent.ended",
            done,
            token=token,
            timestamp=t + 91 if end_reason == "escalated" else done["ended_at"],
            ended_at=t + 90 if end_reason == "escalated" else done["ended_at"],
            call_end_reason=end_reason,
        )
    )
    aiva.append(
        aiva_event(
            "ai_voice_agent.summary",
            done,
            token=token,
            timestamp=done["ended_at"] + 20,
            **summary_fields,
            extracted_data=extracted,
        )
    )
    steps += [("call.hungup", done, done["ended_at"]), ("call.ended", done, done["ended_at"] + 30)]
    return sorted([*_events(token, steps), *aiva], key=lambda e: e["timestamp"])


def parallel_answers() -> dict[str, list[str]]:
    """`extracted_data` as parallel question / answer arrays, a shape seen in public voice-agent payloads."""
    return {
        "question": ["What is your name?", "What is the problem?", "When can we come?"],
        "answer": ["Pat Doe", "Burst pipe", "Tomorrow 9am"],
    }


def integration_deleted(
    *, token: str, timestamp: int, integration_id: int = 42, company_id: int = 1
) -> Event:
    """Uninstall signal (sent only for webhooks created with OAuth credentials)."""
    return envelope(
        "integration.deleted",
        {"integration_id": integration_id, "company_id": company_id},
        token=token,
        timestamp=timestamp,
    )


def final_call(events: Sequence[Event]) -> dict[str, Any]:
    """The last Call snapshot among `events` (e.g. to build CI events after a lifecycle)."""
    calls = [e["data"] for e in events if e["resource"] == "call"]
    if not calls:
        raise ValueError("no call events")
    return copy.deepcopy(calls[-1])
