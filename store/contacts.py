"""Jobber client → Aircall contact map (SPEC F8): what makes contact sync idempotent, and its sweep watermark."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any

import redis

from store import keys

STALE_RUN_S = 15 * 60  # a "running" sync not heard from for this long was interrupted (its worker died)


@dataclass(frozen=True)
class Mapping:
    contact_id: str  # "" while a create is in flight
    digest: str


class ContactMap:
    def __init__(self, r: redis.Redis):
        self.r = r

    def get(self, integration_id: str, client_id: str) -> Mapping | None:
        raw: str | None = self.r.hget(keys.contact_map(integration_id), client_id)  # type: ignore[assignment]
        if not raw:
            return None
        doc = json.loads(raw)
        return Mapping(contact_id=doc.get("contact_id", ""), digest=doc.get("digest", ""))

    def put(self, integration_id: str, client_id: str, mapping: Mapping) -> None:
        self.r.hset(keys.contact_map(integration_id), client_id, json.dumps(mapping.__dict__))

    def remove(self, integration_id: str, client_id: str) -> None:
        self.r.hdel(keys.contact_map(integration_id), client_id)

    def count(self, integration_id: str) -> int:
        return int(self.r.hlen(keys.contact_map(integration_id)))

    def watermark(self, integration_id: str) -> str | None:
        found: str | None = self.r.get(keys.contact_sync_watermark(integration_id))  # type: ignore[assignment]
        return found

    def set_watermark(self, integration_id: str, updated_at: str) -> None:
        self.r.set(keys.contact_sync_watermark(integration_id), updated_at)


@dataclass(frozen=True)
class SyncRun:
    """The latest contact-sync run: `running`, `finished`, `failed` or `interrupted`; its counts so far."""

    state: str
    full: bool
    started_at: float
    updated_at: float
    finished_at: float | None
    counts: dict[str, int]
    error: str


class SyncStatus:
    """What the admin's page shows about contact sync, written by the sweep as it goes."""

    def __init__(self, r: redis.Redis):
        self.r = r

    def started(self, integration_id: str, full: bool) -> None:
        now = repr(time.time())
        fields: dict[Any, Any] = {"state": "running", "full": "1" if full else "0", "started_at": now,
                                  "updated_at": now, "finished_at": "", "counts": "{}", "error": ""}  # fmt: skip
        self.r.hset(keys.contact_sync_status(integration_id), mapping=fields)

    def progress(self, integration_id: str, counts: dict[str, int]) -> None:
        fields: dict[Any, Any] = {"updated_at": repr(time.time()), "counts": json.dumps(counts)}
        self.r.hset(keys.contact_sync_status(integration_id), mapping=fields)

    def finished(self, integration_id: str, counts: dict[str, int], error: str = "") -> None:
        now = repr(time.time())
        fields: dict[Any, Any] = {"state": "failed" if error else "finished", "updated_at": now,
                                  "finished_at": now, "counts": json.dumps(counts), "error": error[:300]}  # fmt: skip
        self.r.hset(keys.contact_sync_status(integration_id), mapping=fields)

    def latest(self, integration_id: str, now: float | None = None) -> SyncRun | None:
        h: dict[str, str] = self.r.hgetall(keys.contact_sync_status(integration_id))  # type: ignore[assignment]
        if not h:
            return None
        now = time.time() if now is None else now
        state = h.get("state", "finished")
        updated = float(h.get("updated_at") or 0)
        if state == "running" and now - updated > STALE_RUN_S:
            state = "interrupted"
        return SyncRun(
            state=state,
            full=h.get("full") == "1",
            started_at=float(h.get("started_at") or 0),
            updated_at=updated,
            finished_at=float(h["finished_at"]) if h.get("finished_at") else None,
            counts={k: int(v) for k, v in json.loads(h.get("counts") or "{}").items()},
            error=h.get("error", ""),
        )
