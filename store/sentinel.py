"""Connections to the master the sentinels name, that find the new master after a failover.

Two gaps in redis-py's Sentinel-managed connections (8.1), closed here:

1. A command retried after a connection error reconnects through `connect_check_health`, to the address the
   connection already had -- the dead master -- never asking the sentinels again (redis-py #3874, open). So
   the retries of a command caught by a failover all go to the dead master. Here every reconnect goes
   through `connect`, which asks the sentinels on each attempt.
2. `connect` gives up after one round of retries (~2.5 s), shorter than a failover (the sentinels'
   down-after-milliseconds plus an election). With `failover_wait_s`, it keeps trying for that long since
   the master was first found unreachable; the moment is shared by the pool's connections, so a long
   outage costs one wait in all, not one per connection or per retried command.
"""

from __future__ import annotations

import time
from typing import Any

from redis.asyncio.sentinel import SentinelManagedConnection as AsyncSentinelManagedConnection
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from redis.sentinel import SentinelManagedConnection

UNREACHABLE = (RedisConnectionError, RedisTimeoutError)  # MasterNotFoundError is a ConnectionError


def _keep_waiting(pool: Any, wait_s: float) -> bool:
    """True while the master has been unreachable for less than `wait_s` (marks the start if unmarked).
    `pool` is the connections' shared pool proxy; a race between threads only moves the mark a little."""
    now = time.monotonic()
    since = getattr(pool, "aj_unreachable_since", None)
    if since is None:
        pool.aj_unreachable_since = since = now
    return now - since < wait_s


def _reached(pool: Any) -> None:
    pool.aj_unreachable_since = None


class FollowMaster(SentinelManagedConnection):
    """See the module docstring. `failover_wait_s` comes with the other connection kwargs (0: one round)."""

    def __init__(self, **kwargs: Any) -> None:
        self.failover_wait_s = float(kwargs.pop("failover_wait_s", 0.0))
        super().__init__(**kwargs)  # type: ignore[no-untyped-call]

    def connect(self) -> None:
        while True:
            try:
                super().connect()  # type: ignore[no-untyped-call]
            except UNREACHABLE:
                if not _keep_waiting(self.connection_pool, self.failover_wait_s):
                    raise
            else:
                _reached(self.connection_pool)
                return

    def connect_check_health(self, check_health: bool = True, retry_socket_connect: bool = True) -> None:
        if retry_socket_connect and not self._sock:  # a reconnect; connect_to() passes False
            self.connect()
            return
        super().connect_check_health(check_health=check_health, retry_socket_connect=retry_socket_connect)


class AsyncFollowMaster(AsyncSentinelManagedConnection):
    """FollowMaster for redis.asyncio."""

    def __init__(self, **kwargs: Any) -> None:
        self.failover_wait_s = float(kwargs.pop("failover_wait_s", 0.0))
        super().__init__(**kwargs)  # type: ignore[no-untyped-call]

    async def connect(self) -> None:
        while True:
            try:
                await super().connect()  # type: ignore[no-untyped-call]
            except UNREACHABLE:
                if not _keep_waiting(self.connection_pool, self.failover_wait_s):
                    raise
            else:
                _reached(self.connection_pool)
                return

    async def connect_check_health(
        self, check_health: bool = True, retry_socket_connect: bool = True
    ) -> None:
        if retry_socket_connect and not self.is_connected:
            await self.connect()
            return
        await super().connect_check_health(
            check_health=check_health, retry_socket_connect=retry_socket_connect
        )
