"""Named scenarios: realistic sets of Aircall webhook events built from `payloads`, plus the delivery
options (duplicates, shuffle) of the scenario driver. Pure: no I/O; deterministic for a given context."""

from __future__ import annotations

import copy
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sandbox.scenarios import payloads as p
from sandbox.scenarios.payloads import Event

DEFAULT_EXTERNALS = ("+14155550100", "+14155550101", "+14155550102", "+14155550103", "+14155550104")


@dataclass
class ScenarioContext:
    """What scenarios need: the webhook token, the external numbers to call from / text with (pass the
    numbers of seeded Jobber clients to get matches), the Aircall number and user objects, a start
    time, and id counters. `seed` makes ids and choices reproducible."""

    token: str = "sandbox-webhook-token"
    externals: list[str] = field(default_factory=lambda: list(DEFAULT_EXTERNALS))
    numbers: list[dict[str, Any]] = field(default_factory=lambda: [p.number_object()])
    users: list[dict[str, Any]] = field(
        default_factory=lambda: [
            p.user_object(456, name="Madelaine Dupont", email="madelaine@acme.com"),
            p.user_object(457, name="Joe Bloggs", email="joe@acme.com"),
        ]
    )
    start: int = field(default_factory=lambda: int(time.time()))
    seed: int | None = None
    first_call_id: int | None = None
    company_id: int = 1
    integration_id: int = 42
    external_transfer_number: str = "+33612345678"
    spacing_s: int = 15  # virtual seconds between the starts of consecutive lifecycles
    _rng: random.Random = field(init=False, repr=False)
    _call_ids: int = field(init=False, repr=False)
    _n: int = field(init=False, default=0, repr=False)

    def __post_init__(self) -> None:
        self._rng = random.Random(self.seed)
        self._call_ids = self.first_call_id or 1_800_000_000 + self._rng.randrange(10**8)
        if not self.externals or not self.numbers or not self.users:
            raise ValueError("externals, numbers and users must be non-empty")

    def call_id(self) -> int:
        self._call_ids += 1
        return self._call_ids

    def message_id(self) -> str:
        return "SM" + "".join(self._rng.choice("abcdef0123456789") for _ in range(30))

    def slot(self) -> tuple[int, str, dict[str, Any]]:
        """Next (start time, external number, Aircall number): round-robin over the seeded lists."""
        i = self._n
        self._n += 1
        return (
            self.start + i * self.spacing_s,
            self.externals[i % len(self.externals)],
            self.numbers[i % len(self.numbers)],
        )

    def agent(self, k: int = 0) -> dict[str, Any]:
        return self.users[k % len(self.users)]


Scenario = Callable[[ScenarioContext], list[Event]]


def inbound_answered(ctx: ScenarioContext) -> list[Event]:
    """An inbound call answered by the first agent, with a later note, tag and recording."""
    t, ext, num = ctx.slot()
    return p.inbound_answered_call(
        ctx.call_id(), token=ctx.token, number=num, external=ext, agent=ctx.agent(), started_at=t
    )


def missed(ctx: ScenarioContext) -> list[Event]:
    """An inbound call nobody answered (missed_call_reason agents_did_not_answer)."""
    t, ext, num = ctx.slot()
    return p.missed_call(
        ctx.call_id(), token=ctx.token, number=num, external=ext, agent=ctx.agent(), started_at=t
    )


def voicemail(ctx: ScenarioContext) -> list[Event]:
    """An unanswered inbound call where the caller left a voicemail."""
    t, ext, num = ctx.slot()
    return p.voicemail_call(
        ctx.call_id(), token=ctx.token, number=num, external=ext, agent=ctx.agent(), started_at=t
    )


def outbound(ctx: ScenarioContext) -> list[Event]:
    """An outbound call by the second agent, answered, with a note and a tag."""
    t, ext, num = ctx.slot()
    return p.outbound_call(
        ctx.call_id(),
        token=ctx.token,
        number=num,
        external=ext,
        agent=ctx.agent(1),
        started_at=t,
        tags=("Follow-up",),
    )


def transfer(ctx: ScenarioContext) -> list[Event]:
    """An inbound call answered by agent 1 and transferred to agent 2 (call.transferred)."""
    t, ext, num = ctx.slot()
    return p.transferred_call(
        ctx.call_id(),
        token=ctx.token,
        number=num,
        external=ext,
        agent=ctx.agent(0),
        to_agent=ctx.agent(1),
        started_at=t,
    )


def external_transfer(ctx: ScenarioContext) -> list[Event]:
    """An inbound call transferred to an external number (call.external_transferred)."""
    t, ext, num = ctx.slot()
    return p.external_transferred_call(
        ctx.call_id(),
        token=ctx.token,
        number=num,
        external=ext,
        agent=ctx.agent(),
        to_number=ctx.external_transfer_number,
        started_at=t,
    )


def assigned(ctx: ScenarioContext) -> list[Event]:
    """A missed call later assigned to agent 2 (call.assigned)."""
    t, ext, num = ctx.slot()
    return p.assigned_call(
        ctx.call_id(),
        token=ctx.token,
        number=num,
        external=ext,
        agent=ctx.agent(),
        assignee=ctx.agent(1),
        started_at=t,
    )


def untagged(ctx: ScenarioContext) -> list[Event]:
    """An answered call tagged twice, then one tag removed (call.untagged)."""
    t, ext, num = ctx.slot()
    return p.untagged_call(
        ctx.call_id(), token=ctx.token, number=num, external=ext, agent=ctx.agent(), started_at=t
    )


def anonymous(ctx: ScenarioContext) -> list[Event]:
    """A withheld-number inbound call (`raw_digits: "anonymous"`): never matched or created."""
    t, _, num = ctx.slot()
    return p.missed_call(
        ctx.call_id(), token=ctx.token, number=num, external="anonymous", agent=ctx.agent(), started_at=t
    )


def ai_insights(ctx: ScenarioContext) -> list[Event]:
    """An answered call followed by all five CI events."""
    events = inbound_answered(ctx)
    return events + p.ai_insight_events(p.final_call(events), token=ctx.token, after=events[-1]["timestamp"])


def messages(ctx: ScenarioContext) -> list[Event]:
    """SMS received and answered, an MMS with a photo, and a WhatsApp message."""
    t, ext, num = ctx.slot()
    mk = p.message_object
    items = [
        mk(
            ctx.message_id(),
            direction="inbound",
            number=num,
            external=ext,
            body="Can you come Tuesday?",
            created_at=t,
        ),
        mk(
            ctx.message_id(),
            direction="outbound",
            number=num,
            external=ext,
            body="Yes, Tuesday 9am works.",
            created_at=t + 60,
            user=ctx.agent(),
        ),
        mk(
            ctx.message_id(),
            direction="inbound",
            number=num,
            external=ext,
            body="Here is the leak",
            created_at=t + 120,
            media=[p.media_item("leak.jpg")],
        ),
        mk(
            ctx.message_id(),
            direction="inbound",
            number=num,
            external=ext,
            body="Thanks! See you then.",
            created_at=t + 180,
            channel="whatsapp",
        ),
    ]
    return [p.message_event(m, token=ctx.token, timestamp=t + 60 * i) for i, m in enumerate(items)]


# The summary event's other shapes seen in public payloads: parallel question / answer arrays with the summary
# as an object, and no summary at all.
_AIVA_SHAPES: dict[str, dict[str, Any]] = {
    "flat": {},
    "parallel": {
        "extracted_data": p.parallel_answers(),
        "summary": {"content": "Burst pipe; tomorrow morning."},
    },
    "no_summary": {"summary": None},
}


def _aiva(path: str, shape: str = "flat") -> Scenario:
    def scenario(ctx: ScenarioContext) -> list[Event]:
        t, ext, num = ctx.slot()
        return p.aiva_call(
            ctx.call_id(),
            token=ctx.token,
            number=num,
            external=ext,
            started_at=t,
            path=path,
            agent=ctx.agent(),
            **_AIVA_SHAPES[shape],
        )

    scenario.__doc__ = f"AI Voice Agent call, path {path}, {shape} summary payload (UNCONFIRMED shapes)."
    return scenario


def integration_deleted(ctx: ScenarioContext) -> list[Event]:
    """The uninstall signal (integration.deleted)."""
    return [
        p.integration_deleted(
            token=ctx.token, timestamp=ctx.start, integration_id=ctx.integration_id, company_id=ctx.company_id
        )
    ]


def calls_ended(ctx: ScenarioContext) -> list[Event]:
    """Only the `call.ended` of an answered inbound call: the unit of the end-to-end benchmark."""
    return [e for e in inbound_answered(ctx) if e["event"] == "call.ended"]


DEMO_MIX: tuple[str, ...] = (
    "inbound_answered",
    "missed",
    "voicemail",
    "outbound",
    "messages",
    "transfer",
    "external_transfer",
    "ai_insights",
    "assigned",
    "untagged",
    "aiva_agent_only",
    "aiva_transfer_answered",
    "aiva_transfer_missed",
    "aiva_voicemail",
    "anonymous",
)


def demo(ctx: ScenarioContext) -> list[Event]:
    """A realistic mix for the demo: every call shape, messages, AI insights and AI Voice Agent calls,
    interleaved by time as Aircall would send them."""
    return [e for name in DEMO_MIX for e in SCENARIOS[name](ctx)]


SCENARIOS: dict[str, Scenario] = {
    "inbound_answered": inbound_answered,
    "missed": missed,
    "voicemail": voicemail,
    "outbound": outbound,
    "transfer": transfer,
    "external_transfer": external_transfer,
    "assigned": assigned,
    "untagged": untagged,
    "anonymous": anonymous,
    "ai_insights": ai_insights,
    "messages": messages,
    "aiva_agent_only": _aiva("agent_only"),
    "aiva_transfer_answered": _aiva("transfer_answered"),
    "aiva_transfer_missed": _aiva("transfer_missed"),
    "aiva_voicemail": _aiva("voicemail"),
    "aiva_agent_only_parallel_answers": _aiva("agent_only", "parallel"),
    "aiva_transfer_missed_no_summary": _aiva("transfer_missed", "no_summary"),
    "integration_deleted": integration_deleted,
    "calls_ended": calls_ended,
    "demo": demo,
}


def build(name: str, ctx: ScenarioContext | None = None, count: int = 1) -> list[Event]:
    """Run scenario `name` `count` times (fresh ids and numbers each time) and order all events by
    timestamp (stable), as a real account with overlapping calls would emit them."""
    if name not in SCENARIOS:
        raise KeyError(f"unknown scenario {name!r}; known: {', '.join(sorted(SCENARIOS))}")
    ctx = ctx or ScenarioContext()
    events = [e for _ in range(max(1, count)) for e in SCENARIOS[name](ctx)]
    return sorted(events, key=lambda e: e["timestamp"])


def delivery_order(
    events: list[Event], *, duplicates: int = 1, shuffle: bool = False, seed: int | None = None
) -> list[Event]:
    """At-least-once, unordered delivery: each event `duplicates` times (copies follow each other unless
    shuffled), then optionally shuffled (seeded)."""
    if duplicates < 1:
        raise ValueError("duplicates must be >= 1")
    out = [copy.deepcopy(e) for e in events for _ in range(duplicates)]
    if shuffle:
        random.Random(seed).shuffle(out)
    return out
