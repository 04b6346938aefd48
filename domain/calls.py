"""A call's final state from its event snapshots, whatever order they arrived in (SPEC §5).

Each call event carries a full Call snapshot built at the envelope `timestamp`. The merge never looks at
arrival order: it sorts snapshots by (build time, lifecycle rank, content) and picks each field by rule.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from domain.payloads import Call, Number, User
from domain.phone import region_of, to_e164

# Lifecycle rank breaks ties between snapshots built in the same second.
_RANK = {
    "call.created": 0,
    "call.ringing_on_agent": 1,
    "call.agent_declined": 2,
    "call.answered": 3,
    "call.transferred": 4,
    "call.external_transferred": 4,
    "call.unsuccessful_transfer": 4,
    "call.hungup": 5,
    "call.voicemail_left": 6,
    "call.ended": 7,
    "call.assigned": 8,
    "call.commented": 8,
    "call.tagged": 8,
    "call.untagged": 8,
    "call.comm_assets_generated": 9,
}

Kind = Literal["answered", "missed", "voicemail", "outbound"]


@dataclass(frozen=True)
class Snapshot:
    event: str
    timestamp: int
    data: dict[str, Any]

    def sort_key(self) -> tuple[int, int, str]:
        return (self.timestamp, _RANK.get(self.event, 5), json.dumps(self.data, sort_keys=True, default=str))


@dataclass(frozen=True)
class CallView:
    """Everything the activity text needs, already decided."""

    id: int
    kind: Kind
    answered: bool
    external: str | None  # E.164, None when withheld
    external_raw: str | None
    line: Number | None
    agent: User | None
    started_at: datetime | None
    duration_s: int | None
    recording: str | None
    voicemail: str | None
    assigned_to: str | None
    transfers: list[str] = field(default_factory=list)
    tags: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    link: str | None = None

    @property
    def line_e164(self) -> str | None:
        if self.line is None:
            return None
        return self.line.e164_digits or to_e164(self.line.digits, self.line.country)


def line_region(line: Number | None) -> str | None:
    """The Aircall line's country: the default region for the other party's number (SPEC F5)."""
    if line is None:
        return None
    return (line.country or "").upper() or region_of(line.e164_digits or to_e164(line.digits, None))


def has_ended(snapshots: list[Snapshot]) -> bool:
    return any(s.event == "call.ended" for s in snapshots)


def merge_call(snapshots: list[Snapshot]) -> CallView:
    """The call as it is after every snapshot we have; requires a `call.ended` snapshot. Snapshots of other
    families about the call (voice agent, AI) are ignored here."""
    ordered = sorted((s for s in snapshots if s.event.startswith("call.")), key=Snapshot.sort_key)
    calls = [(s, Call.model_validate(s.data)) for s in ordered]
    ended = [c for s, c in calls if s.event == "call.ended"]
    if not ended:
        raise ValueError("call has not ended yet")
    base = ended[-1]
    base_time = max(s.timestamp for s, _ in calls if s.event == "call.ended")
    after = [c for s, c in calls if s.timestamp >= base_time]  # the final record and what came after it

    def latest(attr: str) -> Any:
        for call in reversed(after):
            value = getattr(call, attr)
            if value not in (None, "", []):
                return value
        return None

    line = base.number or next((c.number for _, c in reversed(calls) if c.number), None)
    external = to_e164(base.raw_digits, line_region(line))
    answered = base.answered_at is not None
    voicemail = latest("voicemail") or latest("voicemail_short_url")
    if base.direction == "outbound":
        kind: Kind = "outbound"
    elif voicemail:
        kind = "voicemail"
    elif answered:
        kind = "answered"
    else:
        kind = "missed"
    recording = (
        None
        if kind == "voicemail"
        else (latest("asset") or latest("recording") or latest("recording_short_url"))
    )
    if kind == "voicemail":
        # The stable asset link is preferred over expiring URLs (aircall-api.md §2); for a voicemail call
        # the asset is the voicemail.
        voicemail = latest("asset") or voicemail
    assigned = latest("assigned_to")
    return CallView(
        id=base.id,
        kind=kind,
        answered=answered,
        external=external,
        external_raw=base.raw_digits,
        line=line,
        agent=base.user if answered or kind == "outbound" else None,
        started_at=base.started_at,
        duration_s=base.duration,
        recording=recording,
        voicemail=voicemail,
        assigned_to=getattr(assigned, "name", None),
        transfers=_transfers(calls, line),
        tags=[t.name for t in after[-1].tags if t.name],
        notes=_notes(calls),
        link=base.direct_link or f"https://api.aircall.io/v1/calls/{base.id}",
    )


def _notes(calls: list[tuple[Snapshot, Call]]) -> list[str]:
    """Agent comments from every snapshot, once each (by id), oldest first."""
    seen: dict[str, tuple[float, str]] = {}
    for _, call in calls:
        for comment in call.comments:
            key = str(comment.id) if comment.id is not None else comment.content
            when = comment.posted_at.timestamp() if comment.posted_at else 0.0
            if comment.content.strip():
                seen.setdefault(key, (when, comment.content.strip()))
    return [text for _, text in sorted(seen.values())]


def _transfers(calls: list[tuple[Snapshot, Call]], line: Number | None) -> list[str]:
    found: list[str] = []
    for snap, call in calls:
        by = call.transferred_by.name if call.transferred_by and call.transferred_by.name else None
        if snap.event == "call.transferred" and call.transferred_to is not None:
            to = call.transferred_to.name or "another agent"
            step = f"{by or 'Agent'} → {to}"
        elif snap.event == "call.external_transferred" and call.external_transferred_to:
            number = to_e164(call.external_transferred_to, line_region(line)) or call.external_transferred_to
            # `transferred_by` is documented for transfers to users and teams (aircall-api.md §2); on an
            # external transfer the call is still the transferring agent's, so its `user` names them
            # when it is absent.
            by = by or (call.user.name if call.user and call.user.name else None)
            step = f"{by or 'Agent'} → {number} (external)"
        else:
            continue
        if step not in found:
            found.append(step)
    return found
