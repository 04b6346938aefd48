"""Catching up on calls: where the beat's reconciliation of an integration's Aircall calls starts next (its
watermark). `ajctl backfill calls` keeps nothing of its own: a call is dealt with once its activity exists."""

from __future__ import annotations

from store import keys
from store.redis import RedisClient


class ReconcileWatermark:
    """Where the integration's next reconciliation starts listing its Aircall calls (UNIX seconds): its
    Jobber connect time at first, then a little before the end of the window the last run read."""

    def __init__(self, r: RedisClient, integration_id: str):
        self.r = r
        self.key = keys.reconcile_watermark(integration_id)

    def get(self) -> float | None:
        found = self.r.get(self.key)
        return float(found) if found else None

    def set(self, since: float) -> None:
        self.r.set(self.key, repr(since))

    def start(self, at: float) -> bool:
        """Start at `at` unless a run has already set where to start; True when this set it."""
        return bool(self.r.set(self.key, repr(at), nx=True))
