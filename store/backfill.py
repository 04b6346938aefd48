"""Catching up on calls: how far the beat's reconciliation has listed the integration's Aircall calls (its
watermark). `ajctl backfill calls` keeps nothing of its own: a call is dealt with once its activity exists."""

from __future__ import annotations

import redis

from store import keys


class ReconcileWatermark:
    """The end of the window the last reconciliation read (UNIX seconds), per integration."""

    def __init__(self, r: redis.Redis, integration_id: str):
        self.r = r
        self.key = keys.reconcile_watermark(integration_id)

    def get(self) -> float | None:
        found: str | None = self.r.get(self.key)  # type: ignore[assignment]
        return float(found) if found else None

    def set(self, until: float) -> None:
        self.r.set(self.key, until)
