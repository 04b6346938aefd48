"""kombu's Redis channel builds a redis-py client for each synchronous operation (twice per task); ours keeps
one per channel and connection pool (config/broker_guard.py `reuse_sync_clients`): the same pool, so the same
connections, and a new pool gets a new client."""

from __future__ import annotations

from kombu import Connection

from config.celery import celery_config
from config.settings import get_settings


def test_one_client_per_channel_and_pool(r) -> None:
    celery_config(get_settings())  # what the worker does first: installs the guard and the reuse
    with Connection(get_settings().REDIS_URL) as connection:
        channel = connection.default_channel
        first, second = channel._create_client(), channel._create_client()
        assert first is second and first.connection_pool is channel.pool
        assert first.ping()
        channel._pool = None  # kombu drops its pool after a fork or a lost connection
        renewed = channel._create_client()
        assert renewed is not first and renewed.connection_pool is channel.pool
        assert renewed.ping()
