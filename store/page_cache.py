"""What the admin's settings page shows from the vendors (the company's numbers, a client for the card
preview), kept a few minutes per integration so a page view costs no vendor request most of the time."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Literal, TypeVar

from store import keys
from store.redis import RedisClient

TTL_S = 300
What = Literal["numbers", "client"]
T = TypeVar(
    "T"
)  # what `load` reads: JSON-shaped (lists, dicts, strings, numbers), so the cache keeps it as is


class PageCache:
    def __init__(self, r: RedisClient):
        self.r = r

    def get_or_load(self, integration_id: str, what: What, load: Callable[[], T]) -> T:
        """The cached value, or `load()` stored for TTL_S (a vendor error from `load` is not cached)."""
        key = keys.page_cache(integration_id, what)
        hit = self.r.get(key)
        if hit is not None:
            cached: T = json.loads(hit)
            return cached
        value = load()
        self.r.set(key, json.dumps(value), ex=TTL_S)
        return value

    def forget(self, integration_id: str) -> None:
        """After the admin changes something the page shows (reconnecting Jobber, another account)."""
        self.r.delete(keys.page_cache(integration_id, "numbers"), keys.page_cache(integration_id, "client"))
