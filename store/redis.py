"""Redis connections from REDIS_URL: one sync client per process (workers, CLI) and an async one (ingest).

REDIS_URL is a plain `redis://` URL or Celery's Sentinel form (config/redis_url.py); with sentinels, the
clients ask them where the master of REDIS_SENTINEL_MASTER is, and follow it after a failover
(store/sentinel.py); a worker's command waits up to REDIS_FAILOVER_WAIT_S for the promotion.

Both retry a command a few times on a dropped connection (a Redis restart or failover), so a restart costs
a short pause instead of errors. Every attempt is bounded by explicit connect and read timeouts: a master
that vanishes without closing TCP (host lost, network partition) fails the attempt instead of hanging it,
whatever redis-py's own defaults are (none before redis-py 8).

`RedisClient` and `AsyncRedisClient` are what the rest of the product sees of these clients: the commands
it uses, with the types a client built here returns (`decode_responses=True`: strings, never bytes; sync:
never an awaitable). redis-py's own annotations cover every client flavour at once (`str | bytes |
Awaitable[...]`), so they are narrowed once, here, rather than at each call. The Protocols are structural
and change nothing at run time (the key-layout tests hand fakeredis clients to the store classes).
`RedisError` is what a store call raises when Redis fails, for the layers above that catch it without
importing redis.
"""

from __future__ import annotations

import builtins
from collections.abc import Callable, Mapping, Sequence
from functools import lru_cache
from types import TracebackType
from typing import Any, Literal, Protocol, Self, cast, overload

import redis
import redis.asyncio as aioredis
from redis.asyncio.retry import Retry as AsyncRetry
from redis.asyncio.sentinel import Sentinel as AsyncSentinel
from redis.backoff import ExponentialBackoff, NoBackoff
from redis.connection import HiredisRespSerializer
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisError
from redis.exceptions import TimeoutError as RedisTimeoutError
from redis.lock import Lock
from redis.retry import Retry
from redis.sentinel import Sentinel
from redis.utils import HIREDIS_AVAILABLE

from config.redis_url import SentinelTarget, sentinel_target, timeouts
from config.settings import Settings, get_settings
from store.sentinel import AsyncFollowMaster, FollowMaster

__all__ = [
    "AsyncRedisClient",
    "AsyncRedisPipeline",
    "AsyncRedisScript",
    "RedisClient",
    "RedisError",
    "RedisPipeline",
    "RedisScript",
    "Value",
    "async_client",
    "connect_sync",
    "sync_client",
]

INGEST_CLIENT_NAME = "aj-ingest"
RETRIES = 5  # with the backoff below: ~2.5 s of pauses, enough to ride out a restart

Value = str | bytes | int | float  # what a command writes (redis-py encodes numbers as their text)
Bound = float | str  # a sorted set score bound: a number, "-inf", "+inf" or "(12.5" (exclusive)


class RedisScript(Protocol):
    """A Lua script registered on a sync client (`register_script`): EVALSHA, loaded again if Redis lost it.
    What it returns is what the script returns, so `Any` (each caller reads its own script's shape)."""

    def __call__(self, keys: Sequence[str] | None = None, args: Sequence[Value] | None = None) -> Any: ...


class RedisPipeline(Protocol):
    """A sync pipeline: commands are queued (each returns the pipeline) and `execute` answers them all, in
    order, with the types the client's own commands return."""

    def __enter__(self) -> Self: ...
    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc_value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None: ...
    def execute(self) -> list[Any]: ...

    def get(self, name: str) -> Self: ...
    def getdel(self, name: str) -> Self: ...
    def set(self, name: str, value: Value, ex: int | None = None, *, nx: bool = False) -> Self: ...
    def delete(self, *names: str) -> Self: ...
    def exists(self, *names: str) -> Self: ...
    def expire(self, name: str, time: int) -> Self: ...
    def eval(self, script: str, numkeys: int, *keys_and_args: Value) -> Self: ...
    def hset(
        self,
        name: str,
        key: str | None = None,
        value: Value | None = None,
        mapping: Mapping[str, Value] | None = None,
    ) -> Self: ...
    def hsetnx(self, name: str, key: str, value: Value) -> Self: ...
    def hget(self, name: str, key: str) -> Self: ...
    def hgetall(self, name: str) -> Self: ...
    def hmget(self, name: str, keys: Sequence[str]) -> Self: ...
    def hvals(self, name: str) -> Self: ...
    def hexists(self, name: str, key: str) -> Self: ...
    def hdel(self, name: str, *keys: str) -> Self: ...
    def hlen(self, name: str) -> Self: ...
    def hincrby(self, name: str, key: str, amount: int = 1) -> Self: ...
    def hincrbyfloat(self, name: str, key: str, amount: float = 1.0) -> Self: ...
    def hscan(
        self, name: str, cursor: int = 0, match: str | None = None, count: int | None = None
    ) -> Self: ...
    def sadd(self, name: str, *values: Value) -> Self: ...
    def srem(self, name: str, *values: Value) -> Self: ...
    def zadd(self, name: str, mapping: Mapping[str, float], nx: bool = False, xx: bool = False) -> Self: ...
    def zrem(self, name: str, *values: Value) -> Self: ...
    def zcard(self, name: str) -> Self: ...
    def zcount(self, name: str, min: Bound, max: Bound) -> Self: ...
    def zrange(self, name: str, start: int, end: int, *, withscores: bool = False) -> Self: ...
    def zremrangebyscore(self, name: str, min: Bound, max: Bound) -> Self: ...
    def lpush(self, name: str, *values: Value) -> Self: ...
    def lrange(self, name: str, start: int, end: int) -> Self: ...
    def llen(self, name: str) -> Self: ...
    def lindex(self, name: str, index: int) -> Self: ...
    def ltrim(self, name: str, start: int, end: int) -> Self: ...
    def info(self, section: str | None = None) -> Self: ...
    def wait(self, num_replicas: int, timeout: int) -> Self: ...


class RedisClient(Protocol):
    """The sync client (`sync_client`), as the product uses it: each command with what it returns."""

    def get(self, name: str) -> str | None: ...
    def getdel(self, name: str) -> str | None: ...
    @overload
    def set(
        self, name: str, value: Value, ex: int | None = None, *, nx: bool = False, get: Literal[False] = False
    ) -> bool | None: ...
    @overload
    def set(
        self, name: str, value: Value, ex: int | None = None, *, nx: bool = False, get: Literal[True]
    ) -> str | None:
        """With `get=True`: the value the key held before (None: none), whether or not this one was set."""

    def delete(self, *names: str) -> int: ...
    def exists(self, *names: str) -> int: ...
    def expire(self, name: str, time: int) -> bool: ...
    def eval(self, script: str, numkeys: int, *keys_and_args: Value) -> Any:
        """What the script returns: `Any`, as for `RedisScript`."""

    def register_script(self, script: str) -> RedisScript: ...
    def lock(
        self,
        name: str,
        timeout: float | None = None,
        *,
        sleep: float = 0.1,
        blocking: bool = True,
        blocking_timeout: float | None = None,
        thread_local: bool = True,
    ) -> Lock: ...
    def pipeline(self, transaction: bool = True) -> RedisPipeline: ...
    def scan(
        self, cursor: int = 0, match: str | None = None, count: int | None = None
    ) -> tuple[int, list[str]]: ...

    def hset(
        self,
        name: str,
        key: str | None = None,
        value: Value | None = None,
        mapping: Mapping[str, Value] | None = None,
    ) -> int: ...
    def hsetnx(self, name: str, key: str, value: Value) -> int: ...
    def hget(self, name: str, key: str) -> str | None: ...
    def hgetall(self, name: str) -> dict[str, str]: ...
    def hmget(self, name: str, keys: Sequence[str]) -> list[str | None]: ...
    def hkeys(self, name: str) -> list[str]: ...
    def hvals(self, name: str) -> list[str]: ...
    def hdel(self, name: str, *keys: str) -> int: ...
    def hlen(self, name: str) -> int: ...
    def hexists(self, name: str, key: str) -> bool: ...
    def hincrby(self, name: str, key: str, amount: int = 1) -> int: ...
    def hincrbyfloat(self, name: str, key: str, amount: float = 1.0) -> float: ...

    def sadd(self, name: str, *values: Value) -> int: ...
    def srem(self, name: str, *values: Value) -> int: ...
    def smembers(self, name: str) -> builtins.set[str]: ...  # (`set` is the command, in here)

    def zadd(self, name: str, mapping: Mapping[str, float], nx: bool = False, xx: bool = False) -> int: ...
    def zrem(self, name: str, *values: Value) -> int: ...
    def zcard(self, name: str) -> int: ...
    def zcount(self, name: str, min: Bound, max: Bound) -> int: ...
    @overload
    def zrange(self, name: str, start: int, end: int, *, withscores: Literal[False] = False) -> list[str]: ...
    @overload
    def zrange(
        self, name: str, start: int, end: int, *, withscores: Literal[True]
    ) -> list[tuple[str, float]]: ...
    @overload
    def zrangebyscore(
        self,
        name: str,
        min: Bound,
        max: Bound,
        start: int | None = None,
        num: int | None = None,
        withscores: Literal[False] = False,
    ) -> list[str]: ...
    @overload
    def zrangebyscore(
        self,
        name: str,
        min: Bound,
        max: Bound,
        start: int | None = None,
        num: int | None = None,
        *,
        withscores: Literal[True],
    ) -> list[tuple[str, float]]: ...
    def zremrangebyscore(self, name: str, min: Bound, max: Bound) -> int: ...

    def lpush(self, name: str, *values: Value) -> int: ...
    def lrange(self, name: str, start: int, end: int) -> list[str]: ...
    def llen(self, name: str) -> int: ...
    def lindex(self, name: str, index: int) -> str | None: ...
    def ltrim(self, name: str, start: int, end: int) -> bool: ...


class AsyncRedisScript(Protocol):
    """A Lua script registered on the async client."""

    async def __call__(
        self, keys: Sequence[str] | None = None, args: Sequence[Value] | None = None
    ) -> Any: ...


class AsyncRedisPipeline(Protocol):
    """A pipeline of the async client: commands queue (no await), `execute` is awaited."""

    def exists(self, *names: str) -> Self: ...
    def hget(self, name: str, key: str) -> Self: ...
    def set(self, name: str, value: Value, ex: int | None = None) -> Self: ...
    def execute_command(self, *args: Value) -> Self: ...
    async def execute(self) -> list[Any]: ...


class AsyncRedisClient(Protocol):
    """The ingest's client (`async_client`), as the ingest uses it."""

    async def ping(self) -> bool: ...
    async def hexists(self, name: str, key: str) -> bool: ...
    def register_script(self, script: str) -> AsyncRedisScript: ...
    def pipeline(self, transaction: bool = True) -> AsyncRedisPipeline: ...
    async def aclose(self) -> None: ...


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


def connect_sync(settings: Settings, url: str | None = None) -> RedisClient:
    """A new sync client (not cached: `sync_client` is the per-process one)."""
    return cast(
        RedisClient, _connect(url or settings.REDIS_URL, settings, SYNC, settings.REDIS_FAILOVER_WAIT_S)
    )


@lru_cache(maxsize=4)
def sync_client(url: str | None = None) -> RedisClient:
    return connect_sync(get_settings(), url)


def async_client(url: str | None = None, settings: Settings | None = None) -> AsyncRedisClient:
    """The ingest's client. It does not wait out a failover: a webhook it cannot store gets a 503 at once
    and the vendor retries (Aircall waits 5 s for an answer, Jobber 1 s)."""
    settings = settings or get_settings()
    url = url or settings.REDIS_URL
    client = _connect(url, settings, ASYNC, failover_wait_s=0.0, client_name=INGEST_CLIENT_NAME)
    pool = client.connection_pool
    pool.connection_class = hiredis_packing(pool.connection_class)
    return cast(AsyncRedisClient, client)


_HIREDIS_PACK: Callable[..., list[bytes]] = HiredisRespSerializer().pack


class _HiredisPacking:
    """Commands packed by hiredis (C) rather than in Python. redis-py does so for its sync connections
    when hiredis is installed, not for redis.asyncio's: there, packing a claim batch (store/ledger.py, a
    dozen arguments per webhook) was about a twentieth of the ingest's CPU. The same serializer as the
    sync client's, so the bytes sent are the same."""

    def pack_command(self, *args: Any) -> list[bytes]:
        return _HIREDIS_PACK(*args)


@lru_cache(maxsize=8)
def hiredis_packing(connection_class: type) -> type:
    """`connection_class` (plain, TLS, unix socket or Sentinel-managed) packing with hiredis when it is
    installed; unchanged otherwise."""
    if not HIREDIS_AVAILABLE or issubclass(connection_class, _HiredisPacking):
        return connection_class
    return type(connection_class.__name__, (_HiredisPacking, connection_class), {})
