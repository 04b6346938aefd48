"""Per-call state: every event snapshot of a call, keyed by event id, so that re-processing is idempotent
and the merge (domain.calls) sees the same set whatever the arrival order.

A snapshot keeps only what the merge, the voice-agent paths and the activity text read (the `Call` model's
fields, nested objects trimmed to their models' fields, and the voice agent's own fields), not a second copy
of the raw event: Aircall's contact, participants, IVR and routing details never reach Jobber.
"""

from __future__ import annotations

import json
import types
import typing
from dataclasses import dataclass
from functools import cache
from typing import Any

from pydantic import BaseModel

from config.settings import get_settings
from domain.calls import Snapshot
from domain.matching import ClientRef
from domain.payloads import Call
from domain.scope import Scope
from store import keys
from store.activities import Activities, ActivityRecord
from store.phones import PhoneCache
from store.redis import RedisClient

# Fields of voice-agent events (domain/voice_agent.py); `call_end_reason` is a Call field.
VOICE_AGENT_FIELDS = frozenset({"ai_voice_agent_name", "summary", "extracted_data"})


def ttl_s() -> int:
    """As long as the ledger remembers the call's events, their snapshots are there to merge late ones."""
    return get_settings().event_ttl_s


@dataclass(frozen=True)
class CallForLogging:
    snapshots: list[Snapshot]
    record: ActivityRecord | None  # its activity in Jobber, once written
    number: str  # the E.164 number whose cached match was read
    cached: ClientRef | None  # that number's cached client, if any


class CallStates:
    def __init__(self, r: RedisClient):
        self.r = r

    def add(self, scope: Scope, call_id: int | str, event_id: str, snapshot: Snapshot) -> list[Snapshot]:
        """Record one snapshot (idempotent) and return all of the call's snapshots."""
        key = keys.call_state(scope, call_id)
        pipe = self.r.pipeline()
        pipe.hset(key, event_id, _dump(snapshot))
        pipe.expire(key, ttl_s())
        pipe.hvals(key)
        values: list[str] = pipe.execute()[-1]
        return [_snapshot(v) for v in values]

    def all(self, scope: Scope, call_id: int | str) -> list[Snapshot]:
        values = self.r.hvals(keys.call_state(scope, call_id))
        return [_snapshot(v) for v in values]

    def for_logging(self, scope: Scope, call_id: str, account_id: str, e164: str) -> CallForLogging:
        """What writing a call's activity reads, in one round trip: the call's snapshots, its activity record,
        and the cached match of `e164` in the Jobber account."""
        pipe = self.r.pipeline(transaction=False)
        pipe.hvals(keys.call_state(scope, call_id))
        pipe.hgetall(keys.activity(scope, "call", call_id))
        pipe.get(keys.phone(account_id, e164))
        states, record, cached = pipe.execute()
        return CallForLogging(
            [_snapshot(v) for v in states], Activities.parse(record), e164, PhoneCache.parse(cached)
        )

    def snapshot(self, scope: Scope, call_id: int | str, event_id: str) -> Snapshot | None:
        """One event's snapshot: what the call flow reads of it, kept after its raw body was dropped."""
        found = self.r.hget(keys.call_state(scope, call_id), event_id)
        return _snapshot(found) if found else None


def compact(data: dict[str, Any]) -> dict[str, Any]:
    """The part of a call or voice-agent event's `data` anything downstream reads; null fields are left out
    (the models read a missing field as null)."""
    fields = _model_fields(Call)
    kept = {}
    for key, value in data.items():
        if value is None:
            continue
        if key in fields:
            kept[key] = _trim(value, fields[key])
        elif key in VOICE_AGENT_FIELDS:
            kept[key] = value
    return kept


@cache
def _model_fields(model: type[BaseModel]) -> dict[str, tuple[type[BaseModel], ...]]:
    """Each field name (and alias) of a model → the models its value may hold (empty for plain values)."""
    found: dict[str, tuple[type[BaseModel], ...]] = {}
    for name, info in model.model_fields.items():
        nested = tuple(_models_in(info.annotation))
        found[name] = nested
        if info.alias:
            found[info.alias] = nested
    return found


def _models_in(annotation: Any) -> list[type[BaseModel]]:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    if typing.get_origin(annotation) in (typing.Union, types.UnionType, list):
        return [m for arg in typing.get_args(annotation) for m in _models_in(arg)]
    return []


def _trim(value: Any, models: tuple[type[BaseModel], ...]) -> Any:
    if not models:
        return value
    if isinstance(value, list):
        return [_trim(v, models) for v in value]
    if not isinstance(value, dict):
        return value
    fields: dict[str, tuple[type[BaseModel], ...]] = {}
    for model in models:
        fields |= _model_fields(model)
    trimmed = {k: _trim(v, fields[k]) for k, v in value.items() if k in fields and v is not None}
    # An object none of whose fields we know still means "present" to the models: keep it as it came.
    return trimmed if trimmed or not value else value


def _dump(snapshot: Snapshot) -> str:
    return json.dumps(
        {"event": snapshot.event, "timestamp": snapshot.timestamp, "data": compact(snapshot.data)},
        separators=(",", ":"),
    )


def _snapshot(raw: str) -> Snapshot:
    doc = json.loads(raw)
    return Snapshot(event=doc["event"], timestamp=int(doc["timestamp"]), data=doc["data"])
