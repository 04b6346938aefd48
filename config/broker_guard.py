"""A guard on kombu's Redis transport (broker and Sentinel alike), applied by config/celery.py."""

from __future__ import annotations

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
