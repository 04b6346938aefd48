"""Redis connections from REDIS_URL: one sync client per process (workers, CLI) and an async one (ingest)."""

from __future__ import annotations

from functools import lru_cache

import redis
import redis.asyncio as aioredis

from config.settings import get_settings


@lru_cache(maxsize=4)
def sync_client(url: str | None = None) -> redis.Redis:
    return redis.Redis.from_url(
        url or get_settings().REDIS_URL, decode_responses=True, health_check_interval=30
    )


def async_client(url: str | None = None) -> aioredis.Redis:
    return aioredis.Redis.from_url(url or get_settings().REDIS_URL, decode_responses=True)
