"""Patches on kombu's Redis transport (broker and Sentinel alike), applied by config/celery.py: a guard, and
one client object per pool."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


def guard_detached_transport() -> None:
    """Keep a worker alive when it loses the broker while holding unacknowledged messages.

    On a lost broker connection Celery (5.7) first `collect()`s it, which detaches the transport from the
    connection, then closes it; closing the channel restores its unacknowledged messages through a new
    connection pool, whose parameters kombu (5.7) reads from the detached transport: AttributeError, which
    is no connection error, so the worker exits ("Unrecoverable error") on any failover or Redis restart
    under load (tests/flows/test_broker_teardown.py). As a connection error it is ignored like the other
    teardown failures, and the messages wait in the broker's unacked hash for the visibility timeout.
    """
    from kombu.transport import redis as kombu_redis
    from redis.exceptions import ConnectionError as RedisConnectionError

    original = kombu_redis.Channel._connparams
    if getattr(original, "aj_detached_guard", False):
        return

    def _connparams(self: Any, asynchronous: bool = False) -> Any:
        if self.connection.client is None:
            raise RedisConnectionError("broker connection already closed")
        return original(self, asynchronous)  # type: ignore[no-untyped-call]

    _connparams.aj_detached_guard = True  # type: ignore[attr-defined]
    setattr(kombu_redis.Channel, "_connparams", _connparams)  # noqa: B010 (SentinelChannel inherits it)


_reusing: list[bool] = []  # set once reuse_sync_clients has patched kombu


def reuse_sync_clients() -> None:
    """One redis-py client object per channel and connection pool, instead of a new one for every operation.

    kombu (5.7) builds a new redis-py client around the channel's pool for each synchronous operation:
    twice per task (the unacked index when a message is delivered, and again when it is acknowledged), and
    building one copies its ~200 response callbacks into a fresh case-insensitive dict (5-7 % of a worker's
    CPU under the e2e benchmark, in py-spy). A client holds no connection of its own (each command borrows
    one from the pool), so threads can share it. The same commands reach Redis over the same pool; a new pool
    (kombu makes one after a fork or a lost connection) gets a new client.
    """
    from kombu.transport import redis as kombu_redis

    if _reusing:
        return
    original: Callable[..., Any] = kombu_redis.Channel._create_client

    def _create_client(self: Any, asynchronous: bool = False) -> Any:
        if asynchronous:
            return original(self, asynchronous)
        pool = self.pool  # first, as kombu does: the detached-transport guard applies to it
        client = self.__dict__.get("_aj_sync_client")
        if client is None or client.connection_pool is not pool:
            client = original(self, False)
            self.__dict__["_aj_sync_client"] = client
        return client

    setattr(kombu_redis.Channel, "_create_client", _create_client)  # noqa: B010 (SentinelChannel inherits it)
    _reusing.append(True)
