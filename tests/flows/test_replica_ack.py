"""A webhook answered 200 is on a replica too (REDIS_WAIT_REPLICAS): the ingest WAITs after its
store-and-enqueue call and answers 503 -- the vendor retries -- when no replica confirms in time.

A real master and replica (sandbox/redis_server.py); a replica that stops confirming is a SIGSTOPped one
(it stays connected, it just never acknowledges), which is what a slow or partitioned replica looks like.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Iterator

import pytest
import requests

from config.integration import IntegrationSettings
from config.settings import Settings
from ingest.app import create_app
from sandbox.common import ServerThread
from sandbox.redis_server import RedisServer
from store import keys
from store.crypto import token_hash
from store.integrations import IntegrationStore, JobberAccount
from store.ledger import AsyncLedger, Inbound
from store.redis import async_client
from store.replication import NotReplicated, ReplicatedLedger
from tests.flows.test_jobber_webhooks import signed, webhook
from tests.support.payloads import call_event

pytestmark = pytest.mark.flow

TOKEN = "replica-ack-token"
ACCOUNT = "replica-ack-account"


@pytest.fixture(scope="module")
def pair() -> Iterator[tuple[RedisServer, RedisServer]]:
    master = RedisServer(appendonly=True)
    replica = RedisServer(appendonly=True, replica_of=master)
    store = IntegrationStore(master.client(), os.environ["SECRET_KEY"])
    integration = store.create(
        aircall_api_id="a",
        aircall_token="t",
        aircall_auth="basic",
        aircall_company_id="1",
        settings=IntegrationSettings(numbers=[789]),
    )
    store.bind_webhook(integration.id, "w", TOKEN)
    store.set_jobber_tokens(integration.id, "access", "refresh")
    store.connect_jobber_account(integration.id, JobberAccount(ACCOUNT, "Acme"))
    yield master, replica
    replica.stop()
    master.stop()


def ingest(master: RedisServer, replicas: int) -> ServerThread:
    # Generous: on a busy test machine a healthy replica's acknowledgement can take over 100 ms.
    settings = Settings(REDIS_URL=master.url, REDIS_WAIT_REPLICAS=replicas, REDIS_WAIT_TIMEOUT_MS=1000)
    return ServerThread(create_app(settings)).start()


@pytest.fixture
def acking(pair) -> Iterator[str]:
    server = ingest(pair[0], replicas=1)
    yield server.url
    server.stop()
    pair[1].thaw()


def post(url: str, body: dict) -> requests.Response:
    return requests.post(f"{url}/webhooks/aircall", json=body, timeout=5)


def test_a_200_means_the_replica_already_holds_the_event(pair, acking):
    _, replica = pair

    answer = post(acking, call_event(TOKEN))

    assert answer.status_code == 200 and answer.json()["status"] == "enqueued", answer.text
    # No polling: the acknowledgement itself is the promise that the replica has it.
    assert replica.client().exists(keys.event(answer.json()["id"]))


@pytest.mark.slow
def test_no_replica_confirmation_means_503_and_the_retry_too_until_one_confirms(pair, acking):
    _, replica = pair
    body = call_event(TOKEN)
    replica.freeze()

    first = post(acking, body)
    retry = post(acking, body)  # a duplicate now, but its original was never confirmed either

    assert first.status_code == 503 and "replica" in first.json()["error"]
    assert retry.status_code == 503
    replica.thaw()
    again = post(acking, body)
    assert again.status_code == 200 and again.json()["status"] == "duplicate"
    assert replica.client().exists(keys.event(again.json()["id"]))


def test_jobber_webhooks_wait_for_the_replica_too(pair, acking):
    _, replica = pair
    body = webhook("CLIENT_UPDATE", ACCOUNT, item="Z2lkOi8vSm9iYmVyL0NsaWVudC85OQ==")
    replica.freeze()

    refused = requests.post(f"{acking}/webhooks/jobber", data=body, headers=signed(body), timeout=5)

    assert refused.status_code == 503
    replica.thaw()
    accepted = requests.post(f"{acking}/webhooks/jobber", data=body, headers=signed(body), timeout=5)
    assert accepted.status_code == 200 and accepted.json()["status"] == "duplicate"


def test_nothing_to_store_needs_no_replica(pair, acking):
    _, replica = pair
    replica.freeze()

    unknown = post(acking, call_event("not-a-token"))
    unrouted = post(acking, {**call_event(TOKEN), "event": "contact.created", "resource": "contact"})

    assert unknown.status_code == 401
    assert unrouted.status_code == 200 and unrouted.json()["status"] == "ignored"


def test_with_the_setting_off_the_replica_is_not_waited_for(pair):
    _, replica = pair
    server = ingest(pair[0], replicas=0)
    replica.freeze()
    try:
        assert post(server.url, call_event(TOKEN)).status_code == 200
    finally:
        replica.thaw()
        server.stop()


def test_an_event_missing_where_the_wait_runs_is_not_confirmed(pair):
    """After a failover the confirmation may run on a new master (redis-py reconnects): a WAIT there says
    nothing about a write made on the old one, so the event must be found there first."""
    master, _ = pair
    elsewhere = RedisServer()  # stands for the new master, which never received the event
    body = call_event(TOKEN)

    async def claim() -> None:
        settings = Settings(REDIS_URL=master.url)
        old, new = async_client(settings=settings), async_client(elsewhere.url, settings=settings)
        ledger = ReplicatedLedger(AsyncLedger(old, ttl_days=1), new, replicas=0, timeout_ms=100)
        try:
            missing = Inbound(
                source="aircall",
                tenant_key=token_hash(TOKEN),
                event_id=f"ev_missing_{body['data']['id']}",
                event="call.ended",
                resource_id=str(body["data"]["id"]),
                received_at="2026-01-01T00:00:00",
                raw="{}",
                task_message="{}",
                queue="replica-ack-test",
                routed=True,
            )
            await ledger.claim(missing)
        finally:
            await old.aclose()
            await new.aclose()

    try:
        with pytest.raises(NotReplicated, match="not on the master"):
            asyncio.run(claim())
    finally:
        elsewhere.stop()
