"""Redis connections from REDIS_URL: one sync client per process (workers, CLI) and an async one (ingest).

REDIS_URL is a plain `redis://` URL or Celery's Sentinel form (config/redis_url.py); with sentinels, the
clients ask them where the master of REDIS_SENTINEL_MASTER is, and follow it after a failover
(store/sentinel.py); a worker's command waits up to REDIS_FAILOVER_WAIT_S for the promotion.

Both retry a command a few times on a dropped connection (a Redis restart or failover), so a restart costs
a short pause instead of errors. Every attempt is bounded by explicit connect and read timeouts: a master
that vanishes without closing TCP (host lost, network partition) fails the attempt instead of hanging it,
whatever redis-py's own defaults are (none before redis-py 8).
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import redis
import redis.asyncio as aioredis
from redis.asyncio.retry import Retry as AsyncRetry
from redis.asyncio.sentinel import Sentinel as AsyncSentinel
from redis.backoff import ExponentialBackoff, NoBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from redis.retry import Retry
from redis.sentinel import Sentinel

from config.redis_url import SentinelTarget, sentinel_target, timeouts
from config.settings import Settings, get_settings
from store.sentinel import AsyncFollowMaster, FollowMaster

INGEST_CLIENT_NAME = "aj-ingest"
RETRIES = 5  # with the backoff below: ~2.5 s of pauses, enough to ride out a restart


def _options(settings: Settings) -> dict[str, Any]:
    return {
        "decode_responses": True,
        "retry_on_error": [RedisConnectionError, RedisTimeoutError],
        "health_check_interval": 30,
        **timeouts(settings),
        "socket_keepalive": True,  # an idle pooled connection to a vanished host is found dead, not reused
    }


# (client, retry, sentinel, connection) classes of each flavour
SYNC = (redis.Redis, Retry, Sentinel, FollowMaster)
ASYNC = (aioredis.Redis, AsyncRetry, AsyncSentinel, AsyncFollowMaster)


def _master(target: SentinelTarget) -> dict[str, Any]:
    return {"db": target.db, "username": target.username, "password": target.password}


def _connect(
    url: str,
    settings: Settings,
    flavour: tuple[Any, ...],
    failover_wait_s: float,
    client_name: str | None = None,
) -> Any:
    redis_class, retry_class, sentinel_class, connection_class = flavour
    options = {**_options(settings), "retry": retry_class(ExponentialBackoff(cap=1.0, base=0.05), RETRIES)}
    if client_name:
        options["client_name"] = client_name  # who a connection is, in Redis's CLIENT LIST
    target = sentinel_target(url)
    if target is None:
        return redis_class.from_url(url, **options)
    # A sentinel that does not answer is skipped for the next one, so retrying it would only add delay.
    nodes = {**timeouts(settings), "retry": retry_class(NoBackoff(), 0)}
    sentinels = sentinel_class(list(target.nodes), sentinel_kwargs=nodes)
    return sentinels.master_for(
        settings.REDIS_SENTINEL_MASTER,
        redis_class=redis_class,
        connection_class=connection_class,
        failover_wait_s=failover_wait_s,
        **_master(target),
        **options,
    )


def connect_sync(settings: Settings, url: str | None = None) -> redis.Redis:
    """A new sync client (not cached: `sync_client` is the per-process one)."""
    client: redis.Redis = _connect(url or settings.REDIS_URL, settings, SYNC, settings.REDIS_FAILOVER_WAIT_S)
    return client


@lru_cache(maxsize=4)
def sync_client(url: str | None = None) -> redis.Redis:
    return connect_sync(get_settings(), url)


def async_client(url: str | None = None, settings: Settings | None = None) -> aioredis.Redis:
    """The ingest's client. It does not wait out a failover: a webhook it cannot store gets a 503 at once
    and the vendor retries (Aircall waits 5 s for an answer, Jobber 1 s)."""
    settings = settings or get_settings()
    client: aioredis.Redis = _connect(url or settings.REDIS_URL, settings, ASYNC, failover_wait_s=0.0,
                                      client_name=INGEST_CLIENT_NAME)  # fmt: skip
    return client
