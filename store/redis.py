"""Redis connections from REDIS_URL: one sync client per process (workers, CLI) and an async one (ingest).

Both retry a command a few times on a dropped connection (a Redis restart or failover), so a restart costs
a short pause instead of errors.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import redis
import redis.asyncio as aioredis
from redis.backoff import ExponentialBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from config.settings import get_settings


def _resilience() -> dict[str, Any]:
    return {
        "retry_on_error": [RedisConnectionError, RedisTimeoutError],
        "health_check_interval": 30,
        "socket_connect_timeout": 5,
    }


@lru_cache(maxsize=4)
def sync_client(url: str | None = None) -> redis.Redis:
    from redis.retry import Retry

    return redis.Redis.from_url(
        url or get_settings().REDIS_URL,
        decode_responses=True,
        retry=Retry(ExponentialBackoff(cap=1.0, base=0.05), 5),
        **_resilience(),
    )


def async_client(url: str | None = None) -> aioredis.Redis:
    from redis.asyncio.retry import Retry

    return aioredis.Redis.from_url(
        url or get_settings().REDIS_URL,
        decode_responses=True,
        retry=Retry(ExponentialBackoff(cap=1.0, base=0.05), 5),
        **_resilience(),
    )
