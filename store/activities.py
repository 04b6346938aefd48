"""The activity map: which Jobber note (or request + note) holds each call's or message's activity.

It is the idempotency record of logging. A record is written as `creating` *before* the Jobber create and
`done` after it, so a crash in between is detected on retry and resolved by looking the note (or the request,
by the marker in its title) up in Jobber instead of creating a second one.

Records are keyed on their scope (the Jobber account and the Aircall company, domain/scope.py), not on the
integration: they outlive it, so a reinstall for the same company and account edits what the uninstalled
integration logged instead of logging it again. They expire after TTL_S (180 days: as far back as a backfill
reaches, and longer than Aircall keeps a webhook retrying).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Literal

from domain.scope import Scope
from store import keys
from store.redis import RedisClient, Value

TTL_S = 180 * 86400

State = Literal["creating", "done"]
Kind = Literal["note", "request"]  # a note on the client, or a request with the note on it


@dataclass(frozen=True)
class ActivityRecord:
    state: State
    kind: Kind
    client_id: str
    note_id: str | None = None
    request_id: str | None = None
    text_hash: str | None = None
    started_at: str | None = None  # ISO 8601, when the first create was attempted: what a retry looks after


def text_hash(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:16]


class Activities:
    def __init__(self, r: RedisClient):
        self.r = r

    def get(self, scope: Scope, resource: str, resource_id: str) -> ActivityRecord | None:
        h = self.r.hgetall(keys.activity(scope, resource, resource_id))
        return self.parse(h)

    @staticmethod
    def parse(h: dict[str, str]) -> ActivityRecord | None:
        if not h:
            return None
        return ActivityRecord(
            state="done" if h.get("state") == "done" else "creating",
            kind="request" if h.get("kind") == "request" else "note",
            client_id=h["client_id"],
            note_id=h.get("note_id") or None,
            request_id=h.get("request_id") or None,
            text_hash=h.get("text_hash") or None,
            started_at=h.get("started_at") or None,
        )

    def remove(self, scope: Scope, resource: str, resource_id: str) -> None:
        self.r.delete(keys.activity(scope, resource, resource_id))

    def put(self, scope: Scope, resource: str, resource_id: str, record: ActivityRecord) -> None:
        key = keys.activity(scope, resource, resource_id)
        fields: dict[str, Value] = {k: v for k, v in record.__dict__.items() if v is not None}
        pipe = self.r.pipeline()
        pipe.delete(key)
        pipe.hset(key, mapping=fields)
        pipe.expire(key, TTL_S)
        pipe.execute()
