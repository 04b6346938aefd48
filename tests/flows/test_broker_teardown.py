"""A worker survives losing its broker connection while it holds unacknowledged messages (a Redis failover
or restart under load).

Celery's reaction to a lost broker (Consumer.on_connection_error_after_connected) is `connection.collect()`,
which detaches the transport from its connection, then `connection.close()`, which closes the channel and
restores its unacknowledged messages -- through a new connection pool, built from the detached transport.
Stock kombu 5.7 raises AttributeError there, which is no connection error, so the worker process exits
("Unrecoverable error"); seen in tests/reliability/test_failover.py. The messages themselves are safe in
the broker's unacked hash and come back after the visibility timeout; the worker must just not die.
"""

from __future__ import annotations

import json

import kombu
import pytest
from kombu.common import ignore_errors

from config.celery import broker_transport_options
from config.settings import Settings
from sandbox.redis_server import RedisServer

pytestmark = pytest.mark.flow


def test_closing_a_collected_broker_connection_with_unacked_messages_is_not_fatal():
    server = RedisServer()
    try:
        settings = Settings(REDIS_URL=server.url)
        conn = kombu.Connection(server.url, transport_options=broker_transport_options(settings))
        channel = conn.default_channel
        kombu.Queue("teardown", routing_key="teardown", channel=channel).declare()
        kombu.Producer(channel).publish({"n": 1}, routing_key="teardown")
        held = channel.basic_get("teardown", no_ack=False)  # delivered, not acknowledged
        assert held is not None and json.loads(held.body) == {"n": 1}

        # Given Celery's teardown order after a lost connection: the transport is detached first ...
        conn._transport.client = None
        # When the connection is closed (errors a lost broker raises are ignored, anything else is fatal)
        ignore_errors(conn, conn.close)

        # Then nothing escaped, and the message waits in the unacked hash for the visibility timeout.
        assert server.client().hlen("unacked") == 1
    finally:
        server.stop()
