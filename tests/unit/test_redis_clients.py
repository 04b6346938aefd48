"""Every Redis client the service builds has explicit connect and read timeouts (a master that vanishes
without closing TCP must not hang a request or a worker), and a Sentinel REDIS_URL drives the store and the
broker alike. Building a client opens no connection, so no server is needed here."""

from __future__ import annotations

import pytest
from pydantic import ValidationError
from redis.asyncio.connection import AbstractConnection
from redis.asyncio.connection import Connection as AsyncConnection
from redis.asyncio.sentinel import SentinelConnectionPool as AsyncSentinelPool
from redis.sentinel import SentinelConnectionPool

from config.celery import celery_config
from config.settings import Settings
from store.redis import _HiredisPacking, async_client, connect_sync
from store.sentinel import AsyncFollowMaster, FollowMaster

SENTINELS = "sentinel://127.0.0.1:26379/2;sentinel://127.0.0.1:26380/2;sentinel://127.0.0.1:26381/2"
TIMEOUTS = {"REDIS_SOCKET_TIMEOUT_S": 0.7, "REDIS_CONNECT_TIMEOUT_S": 0.3}


def assert_timeouts(connection_kwargs: dict) -> None:
    assert connection_kwargs["socket_timeout"] == 0.7
    assert connection_kwargs["socket_connect_timeout"] == 0.3
    assert connection_kwargs["socket_keepalive"] is True


@pytest.mark.parametrize("build", [connect_sync, lambda s: async_client(settings=s)], ids=["sync", "async"])
def test_plain_url_clients_have_explicit_timeouts(build):
    client = build(Settings(REDIS_URL="redis://127.0.0.1:6390/4", **TIMEOUTS))

    assert_timeouts(client.connection_pool.connection_kwargs)
    assert client.connection_pool.connection_kwargs["db"] == 4


@pytest.mark.parametrize(
    ("build", "pool_class", "connection_class", "failover_wait_s"),
    [
        (connect_sync, SentinelConnectionPool, FollowMaster, 9.0),  # a worker waits out a failover
        (lambda s: async_client(settings=s), AsyncSentinelPool, AsyncFollowMaster, 0.0),  # the ingest: 503
    ],
    ids=["sync", "async"],
)
def test_sentinel_url_clients_follow_the_named_master_with_timeouts(
    build, pool_class, connection_class, failover_wait_s
):
    client = build(
        Settings(REDIS_URL=SENTINELS, REDIS_SENTINEL_MASTER="aj-master", REDIS_FAILOVER_WAIT_S=9, **TIMEOUTS)
    )

    pool = client.connection_pool
    assert isinstance(pool, pool_class)
    assert issubclass(pool.connection_class, connection_class)  # the async one packs with hiredis (below)
    assert pool.connection_kwargs["failover_wait_s"] == failover_wait_s
    assert pool.service_name == "aj-master"
    assert pool.connection_kwargs["db"] == 2
    assert pool.connection_kwargs["decode_responses"] is True
    assert_timeouts(pool.connection_kwargs)
    # The clients that ask the sentinels where the master is must not hang on a vanished sentinel either.
    nodes = pool.sentinel_manager.sentinels
    assert [(n.connection_pool.connection_kwargs["port"]) for n in nodes] == [26379, 26380, 26381]
    for node in nodes:
        assert node.connection_pool.connection_kwargs["socket_timeout"] == 0.7
        assert node.connection_pool.connection_kwargs["socket_connect_timeout"] == 0.3
        assert node.connection_pool.connection_kwargs["retry"].get_retries() == 0


def test_the_broker_uses_the_same_sentinels_master_and_timeouts():
    conf = celery_config(Settings(REDIS_URL=SENTINELS, REDIS_SENTINEL_MASTER="aj-master", **TIMEOUTS))

    assert conf["broker_url"] == SENTINELS
    options = conf["broker_transport_options"]
    assert options["master_name"] == "aj-master"
    assert options["sentinel_kwargs"]["socket_timeout"] == 0.7
    assert options["sentinel_kwargs"]["socket_connect_timeout"] == 0.3
    assert options["sentinel_kwargs"]["retry"].get_retries() == 0  # a silent sentinel: ask the next one
    assert options["socket_connect_timeout"] == 0.3
    assert options["socket_timeout"] >= 0.7  # the broker's own reads (BRPOP polling) may wait longer


def test_a_plain_broker_url_gets_no_sentinel_options():
    options = celery_config(Settings(REDIS_URL="redis://127.0.0.1:6390/0", **TIMEOUTS))[
        "broker_transport_options"
    ]

    assert "master_name" not in options and "sentinel_kwargs" not in options
    assert options["socket_connect_timeout"] == 0.3


def test_settings_refuse_a_replica_wait_longer_than_the_read_timeout():
    # WAIT blocks the connection: a read timeout shorter than it would turn every slow replica into an error.
    with pytest.raises(ValidationError, match="REDIS_WAIT_TIMEOUT_MS"):
        Settings(REDIS_WAIT_REPLICAS=1, REDIS_WAIT_TIMEOUT_MS=800, REDIS_SOCKET_TIMEOUT_S=0.5)
    with pytest.raises(ValidationError, match="REDIS_URL"):
        Settings(REDIS_URL="sentinel://s1/0;sentinel://s2/1")


PACKED = [
    ("EVALSHA", "abc", 2, "k1", "k2", "h\u00e9llo", b"\x00raw", 12, 1.5, -3),
    ("SCRIPT LOAD", "return 1"),
    (b"CLIENT SETNAME", "aj-ingest"),
    ("SET", bytearray(b"k"), memoryview(b"v")),
]


@pytest.mark.parametrize("url", ["redis://127.0.0.1:6379/0", "rediss://127.0.0.1:6380/0", SENTINELS])
def test_the_ingest_client_packs_commands_with_hiredis_as_redis_py_would(url):
    """redis.asyncio packs commands in Python; the ingest's connections, whatever their kind (plain, TLS,
    Sentinel-managed), pack them with hiredis (store.redis._HiredisPacking): the same bytes on the wire."""
    kind = async_client(url, Settings(**TIMEOUTS)).connection_pool.connection_class
    assert kind.__mro__[1] is _HiredisPacking
    assert issubclass(kind, AbstractConnection)  # whose pack_command (in Python) is the one replaced
    by_python = AbstractConnection.pack_command
    reference = AsyncConnection(host="127.0.0.1")  # built, never connected
    for args in PACKED:
        expected = b"".join(bytes(chunk) for chunk in by_python(reference, *args))
        assert b"".join(_HiredisPacking().pack_command(*args)) == expected, args
