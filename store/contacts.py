"""Jobber client → Aircall contact map (SPEC F8): what makes contact sync idempotent, and its sweep watermark."""

from __future__ import annotations

import json
from dataclasses import dataclass

import redis


@dataclass(frozen=True)
class Mapping:
    contact_id: str  # "" while a create is in flight
    digest: str


def _map(integration_id: str) -> str:
    return f"aj:contacts:{integration_id}"


def _watermark(integration_id: str) -> str:
    return f"aj:contactsync:{integration_id}"


class ContactMap:
    def __init__(self, r: redis.Redis):
        self.r = r

    def get(self, integration_id: str, client_id: str) -> Mapping | None:
        raw: str | None = self.r.hget(_map(integration_id), client_id)  # type: ignore[assignment]
        if not raw:
            return None
        doc = json.loads(raw)
        return Mapping(contact_id=doc.get("contact_id", ""), digest=doc.get("digest", ""))

    def put(self, integration_id: str, client_id: str, mapping: Mapping) -> None:
        self.r.hset(_map(integration_id), client_id, json.dumps(mapping.__dict__))

    def remove(self, integration_id: str, client_id: str) -> None:
        self.r.hdel(_map(integration_id), client_id)

    def count(self, integration_id: str) -> int:
        return int(self.r.hlen(_map(integration_id)))

    def watermark(self, integration_id: str) -> str | None:
        found: str | None = self.r.get(_watermark(integration_id))  # type: ignore[assignment]
        return found

    def set_watermark(self, integration_id: str, updated_at: str) -> None:
        self.r.set(_watermark(integration_id), updated_at)
